// The staged content of a file being written: bytes live in memory up to a bound, then
// move into a StreamWriter that maps file ranges to bytes written straight into the
// store's body.bin, so a 10 GiB file never needs 10 GiB of RAM, no byte is written twice,
// holes stay holes and changing a big file costs the bytes changed, not its size.
// Not thread-safe; the owner (WriteState) serializes access. The store must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/store.h"

namespace docfs::fs {

class WriteBuffer {
 public:
  // `memory_limit`: bytes kept in RAM before the content moves into body.bin.
  WriteBuffer(Store& store, uint64_t memory_limit);
  WriteBuffer(const WriteBuffer&) = delete;
  WriteBuffer& operator=(const WriteBuffer&) = delete;

  uint64_t size() const { return stream_ ? stream_->size() : mem_.size(); }
  uint64_t data_bytes() const { return stream_ ? stream_->data_bytes() : mem_.size(); }
  // Writes n bytes at off, growing as needed (a gap is a hole). Throws UsageError(EFBIG)
  // past the largest file, IoError (ENOSPC, ...).
  void write(uint64_t off, const void* data, size_t n);
  // Reads up to n bytes at off; short at the end.
  size_t read(uint64_t off, void* buf, size_t n) const;
  void truncate(uint64_t size);
  void punch_hole(uint64_t off, uint64_t len);
  uint64_t seek_data(uint64_t off) const;  // size() when there is none
  uint64_t seek_hole(uint64_t off) const;
  // Starts from the version being modified: small ones are copied into memory, others
  // are referenced by their extents (nothing copied).
  void load(const ContentRef& content, const std::vector<format::Extent>& extents);
  // Starts from a version whose extent CRCs are unknown (an unlinked file's content):
  // its data is copied, its holes are kept.
  void load_copy(const ContentRef& content);
  // Data-proportional work of the next commit (CRCs), done without the caller's locks.
  void prepare();
  // Publishes the content as the newest version of meta.id (flushed to the files).
  void commit(const DocumentMeta& meta);
  bool spilled() const { return stream_ != nullptr; }

 private:
  void spill_if_needed(uint64_t needed);
  void spill();

  Store& store_;
  uint64_t memory_limit_;
  std::string mem_;
  std::unique_ptr<StreamWriter> stream_;
};

}  // namespace docfs::fs
