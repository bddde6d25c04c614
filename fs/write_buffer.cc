#include "fs/write_buffer.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace docfs::fs {

WriteBuffer::WriteBuffer(Store& store, uint64_t memory_limit) : store_(store), memory_limit_(memory_limit) {}

void WriteBuffer::spill_if_needed(uint64_t needed) {
  if (stream_ || needed <= memory_limit_) return;
  auto stream = store_.begin_stream(needed * 2);
  stream->write(0, mem_.data(), mem_.size());
  stream_ = std::move(stream);
  std::string().swap(mem_);
}

void WriteBuffer::write(uint64_t off, const void* data, size_t n) {
  const uint64_t end = off + n;
  spill_if_needed(end);
  if (stream_) {
    stream_->write(off, data, n);
    return;
  }
  if (end > mem_.size()) {
    if (end > mem_.capacity()) mem_.reserve(std::max<uint64_t>(end, mem_.capacity() * 2));
    mem_.resize(end);  // zero-fills a sparse gap
  }
  std::memcpy(mem_.data() + off, data, n);
}

size_t WriteBuffer::read(uint64_t off, void* buf, size_t n) const {
  if (stream_) return stream_->read(off, buf, n);
  if (off >= mem_.size()) return 0;
  n = static_cast<size_t>(std::min<uint64_t>(n, mem_.size() - off));
  std::memcpy(buf, mem_.data() + off, n);
  return n;
}

void WriteBuffer::truncate(uint64_t size) {
  spill_if_needed(size);
  if (stream_)
    stream_->truncate(size);
  else
    mem_.resize(size);
}

void WriteBuffer::load(const ContentRef& content) {
  truncate(0);
  std::vector<char> chunk(1 << 20);
  for (uint64_t off = 0; off < content.size();) {
    size_t n = content.read(off, chunk.data(), chunk.size());
    if (n == 0) throw IoError(EIO, "short read of the content being modified");
    write(off, chunk.data(), n);
    off += n;
  }
}

void WriteBuffer::commit(const DocumentMeta& meta) {
  if (stream_) {
    stream_->commit(meta, true);
    return;
  }
  store_.put(Document{meta, mem_}, true);
}

}  // namespace docfs::fs
