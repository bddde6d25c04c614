// StreamWriter: documents written straight into body.bin (see store.h).
#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/store_impl.h"

namespace docfs {

namespace {

constexpr uint64_t kMinReservation = 64u << 20;

// Copies n bytes between two body files (or within one) in the kernel when it can.
void copy_bytes(const File& from, uint64_t from_off, const File& to, uint64_t to_off, uint64_t n) {
  loff_t in = static_cast<loff_t>(from_off), out = static_cast<loff_t>(to_off);
  uint64_t left = n;
  while (left > 0) {
    ssize_t r = ::copy_file_range(from.fd(), &in, to.fd(), &out, left, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    left -= static_cast<uint64_t>(r);
  }
  std::string buf(std::min<uint64_t>(left, 1u << 20), '\0');
  for (uint64_t done = n - left; done < n;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), n - done));
    size_t got = from.pread(buf.data(), want, from_off + done);
    if (got == 0) {  // a hole past the end of the file: zeros
      std::fill(buf.begin(), buf.end(), '\0');
      got = want;
    }
    to.pwrite(buf.data(), got, to_off + done);
    done += got;
  }
}

}  // namespace

std::unique_ptr<StreamWriter> Store::begin_stream(uint64_t capacity_hint) {
  impl_->require_writable();
  auto w = std::unique_ptr<StreamWriter>(new StreamWriter(impl_.get()));
  w->reserve(std::max(capacity_hint, kMinReservation));
  return w;
}

void StreamWriter::reserve(uint64_t capacity, bool force_move) {
  Store::Impl& s = *store_;
  std::shared_ptr<BodyFile> old_body;
  uint64_t old_record = 0;
  {
    std::unique_lock lk(s.mu);
    s.require_writable();
    const uint64_t our_end = record_off_ + format::kRecordHeaderSize + capacity_;
    if (reserved_ && !force_move && !committed_ && body_ == s.body && s.body_end == our_end) {
      s.body_end += capacity - capacity_;  // nobody appended after us: grow in place
      capacity_ = capacity;
      return;
    }
    s.flush_locked();
    old_body = body_;
    old_record = record_off_;
    body_ = s.body;
    record_off_ = s.body_end;
    writeback_mark_ = record_off_;
    s.body_end += format::kRecordHeaderSize + capacity;
  }
  const bool had_bytes = reserved_ && size_ > 0;
  reserved_ = true;
  capacity_ = capacity;
  committed_ = false;
  if (had_bytes)
    copy_bytes(old_body->file, old_record + format::kRecordHeaderSize, body_->file,
               record_off_ + format::kRecordHeaderSize, size_);
}

void StreamWriter::write(uint64_t off, const void* data, size_t n) {
  if (n == 0) return;
  if (sequential_ && off == size_)
    crc_ = crc32c::extend(crc_, data, n);
  else
    sequential_ = false;
  const uint64_t end = off + n;
  if (committed_ || end > capacity_)
    reserve(std::max({capacity_, end + end / 2, kMinReservation}), committed_);
  const uint64_t base = record_off_ + format::kRecordHeaderSize;
  body_->file.pwrite(data, n, base + off);
  size_ = std::max(size_, end);
  writeback_mark_ = start_writeback(body_->file, writeback_mark_, base + size_);  // as Store's appends do
}

size_t StreamWriter::read(uint64_t off, void* buf, size_t n) const {
  if (off >= size_) return 0;
  n = static_cast<size_t>(std::min<uint64_t>(n, size_ - off));
  size_t got = body_->file.pread(buf, n, record_off_ + format::kRecordHeaderSize + off);
  if (got < n) std::memset(static_cast<char*>(buf) + got, 0, n - got);  // truncated up
  return n;
}

void StreamWriter::truncate(uint64_t size) {
  if (size == size_) return;
  if (size == 0) {
    sequential_ = true;
    crc_ = 0;
  } else {
    sequential_ = false;
  }
  if (committed_ || size > capacity_) reserve(std::max({capacity_, size, kMinReservation}), committed_);
  if (size < size_) {
    // Bytes past the new end must read as zeros if the file grows again.
    const uint64_t from = record_off_ + format::kRecordHeaderSize + size;
    if (::fallocate(body_->file.fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(from), static_cast<off_t>(size_ - size)) != 0) {
      std::string zeros(std::min<uint64_t>(size_ - size, 1u << 20), '\0');
      for (uint64_t done = 0; done < size_ - size;) {
        size_t k = static_cast<size_t>(std::min<uint64_t>(zeros.size(), size_ - size - done));
        body_->file.pwrite(zeros.data(), k, from + done);
        done += k;
      }
    }
  }
  size_ = size;
}

void StreamWriter::commit(const DocumentMeta& meta, bool flush) {
  if (IdError e = check_id(meta.id); e != IdError::kOk)
    throw UsageError(e == IdError::kPartTooLong || e == IdError::kTooLong ? ENAMETOOLONG : EINVAL,
                     describe_id_error(e, meta.id));
  Store::Impl& s = *store_;
  if (committed_) reserve(capacity_, true);  // republishing: a fresh copy, same bytes
  uint32_t crc = crc_;
  if (!sequential_) {
    crc = 0;
    std::string buf(std::min<uint64_t>(size_, 1u << 20), '\0');
    for (uint64_t done = 0; done < size_;) {
      size_t got = read(done, buf.data(), std::min<uint64_t>(buf.size(), size_ - done));
      crc = crc32c::extend(crc, buf.data(), got);
      done += got;
    }
  }
  format::RecordHeader content_header;
  content_header.content_len = size_;
  content_header.content_crc = crc;
  const std::string meta_bytes = encode_meta(meta);
  format::RecordHeader meta_header;  // metadata only; carries the content's CRC
  meta_header.content_crc = crc;
  const std::string meta_record = format::encode_record_prefix(meta_header, meta.id, meta_bytes);
  for (;;) {
    const std::string prefix = format::encode_record_prefix(content_header, "", "");
    body_->file.pwrite(prefix.data(), prefix.size(), record_off_);
    std::unique_lock lk(s.mu);
    if (body_ != s.body) {  // a prune swapped body.bin meanwhile: move into the new one
      lk.unlock();
      reserve(capacity_, true);
      continue;
    }
    // Give back unused reservation at the tail, then append the metadata record.
    const uint64_t content_off = record_off_ + format::kRecordHeaderSize;
    if (s.body_end == content_off + capacity_) {
      s.body_end = content_off + size_;
      capacity_ = size_;
    }
    const uint64_t meta_off = s.body_end;
    format::Entry e;
    e.type = format::EntryType::kPut;
    e.put = format::PutEntry{meta.id, meta_off, static_cast<uint32_t>(meta_bytes.size()), content_off, size_,
                             meta.mode, meta.uid, meta.gid, meta.mtime_ns, meta.ctime_ns};
    s.append_locked(meta_record, "", e, flush);
    break;
  }
  committed_ = true;
}

void StreamWriter::release_reservation() {
  if (!reserved_ || committed_) return;
  Store::Impl& s = *store_;
  std::unique_lock lk(s.mu);
  const uint64_t our_end = record_off_ + format::kRecordHeaderSize + capacity_;
  if (body_ == s.body && s.body_end == our_end) {
    s.body_end = record_off_;  // at the tail: give the space back
    try {
      body_->file.truncate(record_off_);
    } catch (...) {
    }
  }
}

StreamWriter::~StreamWriter() { release_reservation(); }

}  // namespace docfs
