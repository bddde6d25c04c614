// StreamWriter: a file being written, as a map from file ranges to body.bin bytes (see
// store.h). Bytes are appended to runs reserved at the end of body.bin, never moved in
// place; holes are ranges no piece covers.
#include <algorithm>
#include <cstring>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/store_impl.h"

namespace docfs {

namespace {

constexpr uint64_t kMinRun = 1u << 20;
constexpr uint64_t kMaxRun = 256u << 20;
constexpr size_t kCopyChunk = 1u << 20;
constexpr uint64_t kParkAtLeast = 64u << 10;  // smaller run ends are left as garbage
constexpr size_t kMaxParked = 4096;

// Parks [off, off + len) of the current body for the next writer; the caller has already
// counted it in staged_bytes (or drops it from there when it is not worth keeping).
void park(Store::Impl& s, uint64_t off, uint64_t len) {
  if (len < kParkAtLeast || s.parked_runs.size() >= kMaxParked) {
    s.staged_bytes -= std::min(s.staged_bytes, len);
    return;
  }
  s.parked_runs.emplace(len, off);
}

void check_size(uint64_t end) {
  if (end > format::kMaxContentSize)
    throw UsageError(EFBIG, "file size " + std::to_string(end) + " is beyond the largest docfs file (" +
                                std::to_string(format::kMaxContentSize) + " bytes)");
}

}  // namespace

std::unique_ptr<StreamWriter> Store::begin_stream(uint64_t capacity_hint) {
  impl_->require_writable();
  auto w = std::unique_ptr<StreamWriter>(new StreamWriter(impl_.get()));
  w->run_hint_ = std::clamp<uint64_t>(capacity_hint, kMinRun, kMaxRun);
  return w;
}

uint64_t StreamWriter::room_for(uint64_t n) {
  Store::Impl& s = *store_;
  std::unique_lock lk(s.mu);
  s.require_writable();
  if (run_body_ != s.body) {  // never started, or a prune replaced body.bin: its count is gone
    run_body_.reset();
    run_cap_ = run_used_ = run_committed_ = staged_ = 0;
  }
  if (run_body_ && run_used_ + n <= run_cap_) return run_off_ + run_used_;
  // Grown in place, a run doubles (a big sequential write takes few runs). A new run is
  // sized by what the last one used, not by what it reserved: a database file committing
  // a few pages at a time between another file's appends would otherwise double its
  // reservation at each new run, up to kMaxRun, and leave body.bin mostly reserved holes.
  const bool grows_in_place = run_body_ && s.body_end == run_off_ + run_cap_;
  const uint64_t hint = run_body_ && !grows_in_place ? 2 * run_used_ : std::max(run_hint_, run_cap_);
  const uint64_t want = std::max(n, std::clamp<uint64_t>(hint, kMinRun, kMaxRun));
  if (grows_in_place) {
    // Nobody appended after the run: grow it in place.
    const uint64_t extra = run_used_ + want - run_cap_;
    s.body_end += extra;
    s.staged_bytes += extra;
    staged_ += extra;
    run_cap_ += extra;
    run_hint_ = std::min(run_cap_ * 2, kMaxRun);
    return run_off_ + run_used_;
  }
  // A new run. The unused rest of the old one waits for another writer.
  if (run_body_) {
    const uint64_t unused = run_cap_ - run_used_;
    park(s, run_off_ + run_used_, unused);
    staged_ -= std::min(staged_, unused);
  }
  run_body_ = s.body;
  run_used_ = run_committed_ = 0;
  if (auto it = s.parked_runs.lower_bound(n); it != s.parked_runs.end()) {  // smallest that fits
    run_cap_ = it->first;
    run_off_ = it->second;
    s.parked_runs.erase(it);
    staged_ += run_cap_;  // already in s.staged_bytes
    writeback_mark_ = run_off_;
    return run_off_;
  }
  s.flush_locked();  // the body buffer must stay the last bytes of body.bin
  run_off_ = s.body_end;
  run_cap_ = want;
  writeback_mark_ = run_off_;
  s.body_end += want;
  s.staged_bytes += want;
  staged_ += want;
  run_hint_ = std::min(want * 2, kMaxRun);
  return run_off_;
}

void StreamWriter::cut(uint64_t off, uint64_t end) {
  if (off >= end) return;
  auto it = pieces_.lower_bound(off);
  if (it != pieces_.begin()) {
    auto before = std::prev(it);
    if (before->first + before->second.len > off) it = before;
  }
  while (it != pieces_.end() && it->first < end) {
    const uint64_t ps = it->first, pe = ps + it->second.len;
    Piece p = std::move(it->second);
    it = pieces_.erase(it);
    data_bytes_ -= std::min(pe, end) - std::max(ps, off);
    // The parts outside [off, end) stay and keep p's CRC, as the CRC of a body range that
    // holds them (kPutExtentSpans): splitting reads nothing back. A part of a piece
    // without a CRC gets one from prepare().
    const uint64_t co = p.crc_len ? p.crc_off : p.body_off, cl = p.crc_len ? p.crc_len : p.len;
    auto part = [&](uint64_t len, uint64_t body_off) {
      return p.crc ? Piece{len, p.body, body_off, p.crc, co, cl} : Piece{len, p.body, body_off, std::nullopt};
    };
    if (ps < off) pieces_.emplace(ps, part(off - ps, p.body_off));
    if (pe > end) it = pieces_.emplace(end, part(pe - end, p.body_off + (end - ps))).first;
  }
}

void StreamWriter::append_bytes(uint64_t off, const void* data, size_t n) {
  const uint64_t at = room_for(n);
  run_body_->file.pwrite(data, n, at);
  run_used_ += n;
  writeback_mark_ = start_writeback(run_body_->file, writeback_mark_, at + n);  // as Store's appends do
  cut(off, off + n);
  size_ = std::max(size_, off + n);
  data_bytes_ += n;
  // Sequential writes extend one piece (and its CRC) instead of adding pieces.
  auto next = pieces_.lower_bound(off);
  if (next != pieces_.begin()) {
    auto& [poff, p] = *std::prev(next);
    if (poff + p.len == off && p.body == run_body_ && p.body_off + p.len == at && p.crc && p.crc_len == 0) {
      p.crc = crc32c::extend(*p.crc, data, n);
      p.len += n;
      return;
    }
  }
  pieces_.emplace(off, Piece{n, run_body_, at, crc32c::value(data, n)});
}

void StreamWriter::write(uint64_t off, const void* data, size_t n) {
  if (n == 0) return;
  check_size(off + n > off ? off + n : UINT64_MAX);
  append_bytes(off, data, n);
}

size_t StreamWriter::read(uint64_t off, void* buf, size_t n) const {
  if (off >= size_) return 0;
  n = static_cast<size_t>(std::min<uint64_t>(n, size_ - off));
  char* out = static_cast<char*>(buf);
  std::memset(out, 0, n);  // holes
  const uint64_t end = off + n;
  auto it = pieces_.upper_bound(off);
  if (it != pieces_.begin()) --it;
  for (; it != pieces_.end() && it->first < end; ++it) {
    const uint64_t ps = it->first, pe = ps + it->second.len;
    if (pe <= off) continue;
    const uint64_t from = std::max(ps, off), to = std::min(pe, end);
    const size_t len = static_cast<size_t>(to - from);
    size_t got = it->second.body->file.pread(out + (from - off), len, it->second.body_off + (from - ps));
    if (got != len)
      throw IoError(EIO, it->second.body->file.path() + ": staged bytes at offset " +
                             std::to_string(it->second.body_off + (from - ps)) + " are cut short");
  }
  return n;
}

void StreamWriter::truncate(uint64_t size) {
  check_size(size);
  if (size < size_) cut(size, size_);
  size_ = size;
}

void StreamWriter::punch_hole(uint64_t off, uint64_t len) {
  if (off >= size_) return;
  cut(off, off + std::min(len, size_ - off));
}

uint64_t StreamWriter::seek_data(uint64_t off) const {
  if (off >= size_) return size_;
  auto it = pieces_.upper_bound(off);
  if (it != pieces_.begin()) {
    auto before = std::prev(it);
    if (before->first + before->second.len > off) return off;
  }
  return it == pieces_.end() ? size_ : std::min(it->first, size_);
}

uint64_t StreamWriter::seek_hole(uint64_t off) const {
  if (off >= size_) return size_;
  uint64_t pos = off;
  auto it = pieces_.upper_bound(off);
  if (it != pieces_.begin()) --it;
  for (; it != pieces_.end(); ++it) {
    if (it->first + it->second.len <= pos) continue;
    if (it->first > pos) break;
    pos = it->first + it->second.len;
  }
  return std::min(pos, size_);
}

void StreamWriter::load(const ContentRef& content, const std::vector<format::Extent>& extents) {
  pieces_.clear();
  base_ = content.extent_list();
  data_bytes_ = 0;
  for (const auto& x : extents) {
    pieces_.emplace(x.file_off, Piece{x.len, content.body(), x.body_off, x.crc, x.crc_off, x.crc_len});
    data_bytes_ += x.len;
  }
  size_ = content.size();
}

// Copies every piece into runs of the current body.bin, merging pieces (and the holes
// between them) closer than `coalesce_below` into one: bounded by the data, not the size.
void StreamWriter::rewrite_into_run(uint64_t coalesce_below) {
  std::map<uint64_t, Piece> old;
  old.swap(pieces_);
  data_bytes_ = 0;  // append_bytes counts the copies
  std::string buf;
  auto copy_range = [&](uint64_t from, uint64_t to) {  // file range, holes as zeros
    for (uint64_t pos = from; pos < to;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kCopyChunk, to - pos));
      buf.assign(n, '\0');
      auto it = old.upper_bound(pos);
      if (it != old.begin()) --it;
      for (; it != old.end() && it->first < pos + n; ++it) {
        const uint64_t ps = it->first, pe = ps + it->second.len;
        if (pe <= pos) continue;
        const uint64_t a = std::max(ps, pos), b = std::min(pe, pos + n);
        const size_t len = static_cast<size_t>(b - a);
        if (it->second.body->file.pread(buf.data() + (a - pos), len, it->second.body_off + (a - ps)) != len)
          throw IoError(EIO, it->second.body->file.path() + ": staged bytes are cut short");
      }
      append_bytes(pos, buf.data(), n);
      pos += n;
    }
  };
  uint64_t start = 0, end = 0;
  bool open = false;
  for (const auto& [off, p] : old) {
    if (open && off - end < coalesce_below) {
      end = off + p.len;
      continue;
    }
    if (open) copy_range(start, end);
    start = off;
    end = off + p.len;
    open = true;
  }
  if (open) copy_range(start, end);
}

void StreamWriter::join_smallest(size_t target) {
  using It = std::map<uint64_t, Piece>::iterator;
  std::vector<It> v;
  v.reserve(pieces_.size());
  for (It it = pieces_.begin(); it != pieces_.end(); ++it) v.push_back(it);
  if (v.size() <= target) return;
  const size_t need = v.size() - target;
  // joins[i]: piece i and piece i+1 become one. Only pieces that touch (no hole between)
  // are joined, so holes stay holes; the cheapest pairs (fewest bytes to copy) go first,
  // and a piece may join both neighbours (a chain of n pieces is copied once).
  std::vector<std::pair<uint64_t, size_t>> pairs;  // (bytes of both pieces, i)
  for (size_t i = 0; i + 1 < v.size(); ++i)
    if (v[i]->first + v[i]->second.len == v[i + 1]->first) pairs.emplace_back(v[i]->second.len + v[i + 1]->second.len, i);
  const size_t take = std::min(need, pairs.size());
  std::partial_sort(pairs.begin(), pairs.begin() + static_cast<std::ptrdiff_t>(take), pairs.end());
  std::vector<char> joins(v.size(), 0);
  for (size_t k = 0; k < take; ++k) joins[pairs[k].second] = 1;
  // Copy each group of joined pieces into the run as one piece, front to back.
  std::vector<std::pair<uint64_t, uint64_t>> groups;  // file ranges
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && joins[j]) ++j;
    if (j > i) groups.emplace_back(v[i]->first, v[j]->first + v[j]->second.len);
    i = j + 1;
  }
  std::string buf;
  for (const auto& [from, to] : groups) {
    for (uint64_t pos = from; pos < to;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kCopyChunk, to - pos));
      buf.resize(n);
      read(pos, buf.data(), n);
      append_bytes(pos, buf.data(), n);
      pos += n;
    }
  }
}

void StreamWriter::prepare() {
  Store::Impl& s = *store_;
  std::shared_ptr<BodyFile> current;
  {
    std::shared_lock lk(s.mu);
    current = s.body;
  }
  bool moved = false;
  for (const auto& [off, p] : pieces_) moved |= p.body != current;
  if (moved) {
    // A prune replaced body.bin: the bytes this version keeps from the old one move once.
    rewrite_into_run(1);
  }
  for (auto& [off, p] : pieces_) {
    if (p.crc) continue;
    uint32_t crc = 0;
    std::string buf(std::min<uint64_t>(p.len, kCopyChunk), '\0');
    for (uint64_t done = 0; done < p.len;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), p.len - done));
      if (p.body->file.pread(buf.data(), n, p.body_off + done) != n)
        throw IoError(EIO, p.body->file.path() + ": staged bytes at offset " + std::to_string(p.body_off + done) +
                               " are cut short");
      crc = crc32c::extend(crc, buf.data(), n);
      done += n;
    }
    p.crc = crc;
  }
  // Too many pieces for one header entry: join the smallest with a neighbour, copying only
  // those (a quarter of the limit at once, so this is rare); the full rewrite, which merges
  // across holes too, is the last resort.
  if (pieces_.size() > format::kMaxExtents) join_smallest(format::kMaxExtents / 4 * 3);
  for (uint64_t gap = 4096; pieces_.size() > format::kMaxExtents; gap *= 4) rewrite_into_run(gap);
}

void StreamWriter::commit(const DocumentMeta& meta, bool flush) { commit_if(meta, flush, nullptr); }

bool StreamWriter::commit_if(const DocumentMeta& meta, bool flush, const std::vector<format::Extent>* expected) {
  check_id_or_throw(meta.id);
  const std::string meta_bytes = encode_meta_checked(meta);
  const std::string record = format::encode_record_prefix(format::RecordHeader{}, meta.id, meta_bytes);
  Store::Impl& s = *store_;
  for (;;) {
    prepare();
    std::unique_lock lk(s.mu);
    s.require_writable();
    bool ready = true;
    for (const auto& [off, p] : pieces_) ready &= p.body == s.body && p.crc.has_value();
    if (!ready) continue;  // a prune swapped body.bin since prepare(): again
    if (expected) {
      const Location* now = s.index.find(meta.id);
      if (!now || now->extents.get() != expected) return false;
    }
    format::Entry e = put_entry(meta, 0, static_cast<uint32_t>(meta_bytes.size()), 0, size_);
    e.put.extents.reserve(pieces_.size());
    for (const auto& [off, p] : pieces_) e.put.extents.push_back(format::Extent{off, p.len, p.body_off, *p.crc, p.crc_off, p.crc_len});
    e.type = format::extents_entry_type(e.put.extents);
    // Still changing the version it started from: write what changed, when that is smaller.
    if (const Location* now = s.index.find(meta.id); base_ && now && now->extents == base_) {
      format::PutEntry patch;
      format::make_patch(*base_, e.put.extents, &patch);
      if (patch.removed.size() * 8 + patch.extents.size() * format::kSpanExtentSize <
          e.put.extents.size() * format::kExtentSize) {
        e.type = format::EntryType::kPatchExtents;
        e.put.removed = std::move(patch.removed);
        e.put.extents = std::move(patch.extents);
      }
    }
    const bool run_current = run_body_ == s.body;
    if (run_current && s.body_end == run_off_ + run_cap_) {  // give back the unused tail
      s.body_end = run_off_ + run_used_;
      run_cap_ = run_used_;
    }
    e.put.record_off = s.body_end;
    s.append_locked(record, "", e, flush);
    base_ = s.index.find(meta.id)->extents;
    // Written bytes are now a version's (or garbage); only the unused run stays staged.
    s.staged_bytes -= std::min(s.staged_bytes, staged_);
    staged_ = run_current ? run_cap_ - run_used_ : 0;
    s.staged_bytes += staged_;
    run_committed_ = run_used_;
    return true;
  }
}

void StreamWriter::give_back_run() {
  Store::Impl& s = *store_;
  std::unique_lock lk(s.mu);
  if (run_body_ != s.body) return;
  if (s.body_end == run_off_ + run_cap_) {
    s.staged_bytes -= std::min(s.staged_bytes, staged_);
    s.body_end = run_off_ + run_committed_;  // at the tail: give back what no version uses
    try {
      run_body_->file.truncate(s.body_end);
    } catch (...) {
    }
  } else {
    // Bytes written since the last commit are garbage; the never-written end is parked.
    const uint64_t unused = run_cap_ - run_used_;
    s.staged_bytes -= std::min(s.staged_bytes, staged_ - std::min(staged_, unused));
    park(s, run_off_ + run_used_, unused);
  }
  staged_ = 0;
}

StreamWriter::~StreamWriter() {
  try {
    if (run_body_) give_back_run();
  } catch (...) {
  }
}

}  // namespace docfs
