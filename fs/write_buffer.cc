#include "fs/write_buffer.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace docfs::fs {
namespace {

// Stored versions smaller than this are copied into memory when modified: they stay one
// contiguous record instead of growing extents (a database of a few hundred KiB fsynced
// per transaction is not: it would be written whole at every commit).
constexpr uint64_t kCopySmallerThan = 64u << 10;

void check_size(uint64_t end) {
  if (end > format::kMaxContentSize)
    throw UsageError(EFBIG, "file size " + std::to_string(end) + " is beyond the largest docfs file");
}

}  // namespace

WriteBuffer::WriteBuffer(Store& store, uint64_t memory_limit) : store_(store), memory_limit_(memory_limit) {}

void WriteBuffer::spill() {
  // Runs start as big as what is already written (a file growing front to back keeps
  // growing), not as the memory bound: a far write into a small file writes little.
  auto stream = store_.begin_stream(mem_.size() * 2);
  stream->write(0, mem_.data(), mem_.size());
  stream_ = std::move(stream);
  std::string().swap(mem_);
}

void WriteBuffer::spill_if_needed(uint64_t needed) {
  if (!stream_ && needed > memory_limit_) spill();
}

void WriteBuffer::write(uint64_t off, const void* data, size_t n) {
  const uint64_t end = off + n;
  check_size(end < off ? UINT64_MAX : end);
  // A write past the end makes a hole: keep it one by going to the stream (memory holds
  // only files written front to back).
  spill_if_needed(off > mem_.size() ? UINT64_MAX : end);
  if (stream_) {
    stream_->write(off, data, n);
    return;
  }
  if (end > mem_.size()) {
    if (end > mem_.capacity()) mem_.reserve(std::max<uint64_t>(end, mem_.capacity() * 2));
    mem_.resize(end);  // zero-fills a small gap
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
  check_size(size);
  spill_if_needed(size > mem_.size() ? UINT64_MAX : size);  // growing adds a hole
  if (stream_)
    stream_->truncate(size);
  else
    mem_.resize(size);
}

void WriteBuffer::punch_hole(uint64_t off, uint64_t len) {
  if (off >= size()) return;
  len = std::min(len, size() - off);
  if (stream_) {
    stream_->punch_hole(off, len);
    return;
  }
  std::memset(mem_.data() + off, 0, len);
}

uint64_t WriteBuffer::seek_data(uint64_t off) const {
  if (stream_) return stream_->seek_data(off);
  return std::min<uint64_t>(off, mem_.size());
}

uint64_t WriteBuffer::seek_hole(uint64_t off) const {
  if (stream_) return stream_->seek_hole(off);
  return mem_.size();
}

void WriteBuffer::load(const ContentRef& content, const std::vector<format::Extent>& extents) {
  if (content.contiguous() && content.size() < std::min(kCopySmallerThan, memory_limit_)) {
    stream_.reset();
    mem_ = content.read_all();
    return;
  }
  if (!stream_) stream_ = store_.begin_stream(0);
  std::string().swap(mem_);
  stream_->load(content, extents);
}

void WriteBuffer::load_copy(const ContentRef& content) {
  truncate(0);
  std::vector<char> chunk(1 << 20);
  uint64_t off = 0;
  for (const ContentRef::Piece& p : content.map(0, content.size())) {
    for (uint64_t done = 0; !p.hole && done < p.len;) {
      size_t n = content.read(off + done, chunk.data(), static_cast<size_t>(std::min<uint64_t>(chunk.size(), p.len - done)));
      if (n == 0) throw IoError(EIO, "short read of the content being modified");
      write(off + done, chunk.data(), n);
      done += n;
    }
    off += p.len;
  }
  truncate(content.size());
}

void WriteBuffer::prepare() {
  if (stream_) stream_->prepare();
}

void WriteBuffer::commit(const DocumentMeta& meta) {
  if (stream_) {
    stream_->commit(meta, true);
    return;
  }
  store_.put(Document{meta, mem_}, true);
  // A file kept open and committed again (a database fsynced per transaction) must not be
  // written whole at every commit: go on from the version just written, as its one extent
  // (nothing is copied), so later commits write only what they change. Small files are
  // cheaper to rewrite than to fragment.
  if (mem_.size() < kCopySmallerThan) return;
  if (auto c = store_.content_extents(meta.id)) {
    auto stream = store_.begin_stream(0);
    stream->load(c->first, c->second);
    stream_ = std::move(stream);
    std::string().swap(mem_);
  }
}

}  // namespace docfs::fs
