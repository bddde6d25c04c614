// The staged content of a file being written: bytes live in memory up to a bound, then
// move into a StreamWriter that writes them straight into the store's body.bin, so a
// 10 GiB file never needs 10 GiB of RAM and no byte is written twice.
// Not thread-safe; the owner (WriteState) serializes access. The store must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/store.h"

namespace docfs::fs {

class WriteBuffer {
 public:
  // `memory_limit`: bytes kept in RAM before the content moves into body.bin.
  WriteBuffer(Store& store, uint64_t memory_limit);
  WriteBuffer(const WriteBuffer&) = delete;
  WriteBuffer& operator=(const WriteBuffer&) = delete;

  uint64_t size() const { return stream_ ? stream_->size() : mem_.size(); }
  // Writes n bytes at off, growing (zero-filled) as needed. Throws IoError (ENOSPC, ...).
  void write(uint64_t off, const void* data, size_t n);
  // Reads up to n bytes at off; short at the end.
  size_t read(uint64_t off, void* buf, size_t n) const;
  void truncate(uint64_t size);
  // Replaces the contents with a copy of `content` (the version being modified).
  void load(const ContentRef& content);
  // Publishes the content as the newest version of meta.id (flushed to the files).
  void commit(const DocumentMeta& meta);
  bool spilled() const { return stream_ != nullptr; }

 private:
  void spill_if_needed(uint64_t needed);

  Store& store_;
  uint64_t memory_limit_;
  std::string mem_;
  std::unique_ptr<StreamWriter> stream_;
};

}  // namespace docfs::fs
