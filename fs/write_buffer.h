// The staged content of a file being written: bytes live in memory up to a bound, then
// move to an unlinked temporary file, so a 10 GiB file never needs 10 GiB of RAM.
// Not thread-safe; the owner (WriteState) serializes access.
#pragma once

#include <cstdint>
#include <string>

#include "core/store.h"

namespace docfs::fs {

class WriteBuffer {
 public:
  // `spill_dir`: where the temporary file goes (the store dir, so it is on the same
  // filesystem and ENOSPC shows up the same way). `memory_limit`: bytes kept in RAM.
  WriteBuffer(std::string spill_dir, uint64_t memory_limit);
  ~WriteBuffer();
  WriteBuffer(const WriteBuffer&) = delete;
  WriteBuffer& operator=(const WriteBuffer&) = delete;

  uint64_t size() const { return size_; }
  // Writes n bytes at off, growing (zero-filled) as needed. Throws IoError (ENOSPC, ...).
  void write(uint64_t off, const void* data, size_t n);
  // Reads up to n bytes at off; short at the end.
  size_t read(uint64_t off, void* buf, size_t n) const;
  void truncate(uint64_t size);
  // Replaces the contents with a copy of `content` (the version being modified).
  void load(const ContentRef& content);
  bool spilled() const { return fd_ >= 0; }

 private:
  void spill(uint64_t needed);

  std::string spill_dir_;
  uint64_t memory_limit_;
  std::string mem_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// Adapts a WriteBuffer for Store::put_stream.
class WriteBufferSource : public ContentSource {
 public:
  explicit WriteBufferSource(const WriteBuffer& buf) : buf_(buf) {}
  uint64_t size() const override { return buf_.size(); }
  size_t read(uint64_t off, void* out, size_t n) override { return buf_.read(off, out, n); }

 private:
  const WriteBuffer& buf_;
};

}  // namespace docfs::fs
