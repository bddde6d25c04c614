#include "core/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/store_impl.h"

namespace docfs {

using format::Entry;
using format::EntryType;

namespace {

constexpr size_t kFlushThreshold = 4u << 20;     // buffered bytes before an automatic flush
constexpr uint64_t kStreamThreshold = 1u << 20;  // contents above this bypass the buffer
constexpr size_t kCopyChunk = 1u << 20;
constexpr size_t kDirectWrite = 32u << 10;      // contents this big skip the buffer copy

Stat stat_of(const Location& l, const FileLinks& links) {
  uint64_t data = l.content_len;
  if (l.extents) {
    data = 0;
    for (const auto& x : *l.extents) data += x.len;
  }
  return Stat{l.content_len, l.mode, l.uid, l.gid, l.mtime_ns, l.ctime_ns, data, links.nlink, links.file_id};
}

}  // namespace

// ---------------------------------------------------------------- record helpers

Location location_of(const format::PutEntry& p, bool extents) {
  Location l;
  l.record_off = p.record_off;
  l.content_off = p.content_off;
  l.content_len = p.content_len;
  l.meta_len = p.meta_len;
  l.mode = p.mode;
  l.uid = p.uid;
  l.gid = p.gid;
  l.mtime_ns = p.mtime_ns;
  l.ctime_ns = p.ctime_ns;
  if (extents) {
    l.content_off = 0;
    l.extents = std::make_shared<const ExtentList>(p.extents);
  }
  return l;
}

uint64_t content_end(const Location& l) {
  if (!l.extents) return l.content_off + l.content_len;
  uint64_t end = 0;
  for (const auto& x : *l.extents) end = std::max({end, x.body_off + x.len, x.checked_off() + x.checked_len()});
  return end;
}

std::optional<std::string> check_crc_ranges(const File& body, const std::vector<format::Extent>& xs) {
  std::set<std::pair<uint64_t, uint64_t>> done;
  std::string buf;
  for (const auto& x : xs) {
    if (x.own_crc() || !done.emplace(x.crc_off, x.crc_len).second) continue;
    uint32_t crc = 0;
    for (uint64_t at = 0; at < x.crc_len;) {
      buf.resize(static_cast<size_t>(std::min<uint64_t>(x.crc_len - at, 1u << 20)));
      if (body.pread(buf.data(), buf.size(), x.crc_off + at) != buf.size())
        return body.path() + ": checksummed range at offset " + std::to_string(x.crc_off) + " is cut short";
      crc = crc32c::extend(crc, buf.data(), buf.size());
      at += buf.size();
    }
    if (crc != x.crc)
      return body.path() + ": checksummed range at offset " + std::to_string(x.crc_off) + " (" +
             std::to_string(x.crc_len) + " bytes, holding the extent at offset " + std::to_string(x.body_off) +
             ") fails its checksum";
  }
  return std::nullopt;
}

void Store::Impl::require_format_locked(uint32_t version) {
  if (header_version >= version) return;
  format::FileHeader fh{version, generation};
  std::string bytes = format::encode_file_header(format::kHeaderMagic, fh);
  header.pwrite(bytes.data(), bytes.size(), 0);
  header.sync();  // before any entry an older build would call corrupt
  header_version = version;
}

void check_id_or_throw(std::string_view id) {
  IdError e = check_id(id);
  if (e != IdError::kOk)
    throw UsageError(e == IdError::kPartTooLong || e == IdError::kTooLong ? ENAMETOOLONG : EINVAL,
                     describe_id_error(e, id));
}

std::string encode_meta_checked(const DocumentMeta& m) {
  std::string meta = encode_meta(m);
  if (meta.size() > format::kMaxMetaLength)
    throw UsageError(E2BIG, "metadata of " + m.id + " is " + std::to_string(meta.size()) +
                                " bytes, the limit is " + std::to_string(format::kMaxMetaLength));
  return meta;
}

Entry put_entry(const DocumentMeta& m, uint64_t record_off, uint32_t meta_len,
                uint64_t content_off, uint64_t content_len) {
  Entry e;
  e.type = EntryType::kPut;
  e.put = format::PutEntry{m.id, record_off, meta_len, content_off, content_len,
                           m.mode, m.uid, m.gid, m.mtime_ns, m.ctime_ns, {}, {}};
  return e;
}

uint64_t start_writeback(const File& f, uint64_t mark, uint64_t end) {
  // Whole pages only: the page still being filled would otherwise be under writeback when
  // the next write lands in it, and that write would wait for the disk.
  end &= ~uint64_t{4095};
  if (end < mark + kWritebackChunk) return mark;
  // Only a hint: an error here (say EIO) comes back from the fsync that matters.
  ::sync_file_range(f.fd(), static_cast<off64_t>(mark), static_cast<off64_t>(end - mark), SYNC_FILE_RANGE_WRITE);
  return end;
}

uint64_t new_generation() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(now_ns());
}

// ---------------------------------------------------------------- ContentRef

ContentRef::ContentRef(std::shared_ptr<const BodyFile> file, uint64_t offset, uint64_t size)
    : file_(std::move(file)), offset_(offset), size_(size) {}

ContentRef::ContentRef(std::shared_ptr<const BodyFile> file, std::shared_ptr<const std::vector<format::Extent>> extents,
                       uint64_t size)
    : file_(std::move(file)), extents_(std::move(extents)), size_(size) {}

std::vector<ContentRef::Piece> ContentRef::map(uint64_t off, uint64_t n) const {
  std::vector<Piece> out;
  if (off >= size_) return out;
  const uint64_t end = off + std::min(n, size_ - off);
  if (!extents_) {
    out.push_back(Piece{end - off, false, offset_ + off});
    return out;
  }
  const auto& xs = *extents_;
  // First extent that ends after off.
  auto it = std::upper_bound(xs.begin(), xs.end(), off,
                             [](uint64_t o, const format::Extent& x) { return o < x.file_end(); });
  uint64_t pos = off;
  for (; pos < end && it != xs.end(); ++it) {
    if (it->file_off >= end) break;
    if (it->file_off > pos) {
      out.push_back(Piece{it->file_off - pos, true, 0});
      pos = it->file_off;
    }
    uint64_t stop = std::min(end, it->file_end());
    out.push_back(Piece{stop - pos, false, it->body_off + (pos - it->file_off)});
    pos = stop;
  }
  if (pos < end) out.push_back(Piece{end - pos, true, 0});
  return out;
}

size_t ContentRef::read(uint64_t off, void* buf, size_t n) const {
  if (off >= size_) return 0;
  n = static_cast<size_t>(std::min<uint64_t>(n, size_ - off));
  char* p = static_cast<char*>(buf);
  for (const Piece& piece : map(off, n)) {
    const size_t len = static_cast<size_t>(piece.len);
    if (piece.hole) {
      std::memset(p, 0, len);
    } else if (file_->file.pread(p, len, piece.body_off) != len) {
      throw FormatError(file_->file.path() + ": document content at offset " + std::to_string(piece.body_off) +
                        " is cut short (file truncated?)");
    }
    p += len;
  }
  return n;
}

std::string ContentRef::read_all() const {
  if (size_ > (uint64_t{1} << 31))
    throw UsageError(EFBIG, "a document of " + std::to_string(size_) + " bytes is too big to hold in memory");
  std::string s(size_, '\0');
  read(0, s.data(), s.size());
  return s;
}

int ContentRef::fd() const { return file_->file.fd(); }

std::vector<format::Extent> ContentRef::extents(uint32_t contiguous_crc) const {
  if (extents_) return *extents_;
  if (size_ == 0) return {};
  return {format::Extent{0, size_, offset_, contiguous_crc}};
}

uint64_t ContentRef::data_bytes() const {
  if (!extents_) return size_;
  uint64_t n = 0;
  for (const auto& x : *extents_) n += x.len;
  return n;
}

uint64_t ContentRef::seek_data(uint64_t off) const {
  if (off >= size_) return size_;
  if (!extents_) return off;
  for (const auto& x : *extents_)
    if (x.file_end() > off) return std::max(off, x.file_off);
  return size_;
}

uint64_t ContentRef::seek_hole(uint64_t off) const {
  if (off >= size_ || !extents_) return size_;
  uint64_t pos = off;
  for (const auto& x : *extents_) {
    if (x.file_end() <= pos) continue;
    if (x.file_off > pos) return pos;
    pos = x.file_end();
  }
  return std::min(pos, size_);
}

// ---------------------------------------------------------------- header scan

EntryScan scan_entries(const File& f, uint64_t start,
                       const std::function<void(const Entry&, uint64_t)>& fn) {
  return scan_entries(f, start, f.size(), fn);
}

EntryScan scan_entries(const File& f, uint64_t start, uint64_t end,
                       const std::function<void(const Entry&, uint64_t)>& fn) {
  EntryScan scan;
  const uint64_t size = std::min(end, f.size());
  uint64_t pos = start;
  std::string buf;
  uint64_t buf_off = start;  // file offset of buf[0]
  Entry e;                   // reused: its strings keep their buffers
  const size_t kChunk = 4u << 20;
  while (pos < size) {
    // Keep at least one maximal entry in the buffer past pos (or everything left).
    uint64_t have_end = buf_off + buf.size();
    if (have_end - pos < format::kEntryPrefixSize + format::kMaxEntryLength && have_end < size) {
      buf.erase(0, pos - buf_off);
      buf_off = pos;
      size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, size - have_end));
      std::string more = f.pread_string(want, have_end);
      buf += more;
    }
    std::string_view view(buf.data() + (pos - buf_off), buf.size() - (pos - buf_off));
    size_t used = 0;
    std::string why;
    auto status = format::decode_entry(view, &e, &used, &why);
    if (status == format::DecodeStatus::kOk) {
      fn(e, pos);
      pos += used;
      continue;
    }
    // A whole entry whose checksum matches was written as it is: not torn, but invalid
    // (a bug or a crafted file). Refuse that entry alone; the ones after it still apply.
    if (status == format::DecodeStatus::kCorrupt && view.size() >= format::kEntryPrefixSize) {
      uint32_t crc, len;
      std::memcpy(&crc, view.data(), 4);
      std::memcpy(&len, view.data() + 4, 4);
      if (len >= 1 && len <= format::kMaxEntryLength && format::kEntryPrefixSize + uint64_t{len} <= view.size() &&
          crc32c::value(view.data() + 4, 4 + size_t{len}) == crc) {
        if (scan.invalid.size() < EntryScan::kMaxInvalidReported)
          scan.invalid.push_back(f.path() + ": bad entry at offset " + std::to_string(pos) + " skipped: " + why);
        ++scan.invalid_count;
        pos += format::kEntryPrefixSize + len;
        continue;
      }
    }
    // A bad entry is a torn tail when nothing whole can follow it: it runs to the end of
    // the file, or everything after it is zeros (space allocated, data never written).
    bool last = status == format::DecodeStatus::kIncomplete;
    if (!last && view.size() >= format::kEntryPrefixSize) {
      uint32_t len;
      std::memcpy(&len, view.data() + 4, 4);
      last = format::kEntryPrefixSize + uint64_t{len} >= view.size() ||
             (len > format::kMaxEntryLength && view.size() < format::kEntryPrefixSize + format::kMaxEntryLength);
    }
    if (!last && view.size() == size - pos)
      last = std::all_of(view.begin(), view.end(), [](char c) { return c == 0; });
    if (last) {
      scan.torn_bytes = size - pos;
      break;
    }
    scan.corruption = f.path() + ": corrupt entry at offset " + std::to_string(pos) + ": " + why;
    break;
  }
  scan.valid_end = pos;
  return scan;
}

// ---------------------------------------------------------------- open / replay

void Store::Impl::open_files(bool create) {
  const std::string hpath = dir + "/header.bin", bpath = dir + "/body.bin";
  bool have_h = path_exists(hpath), have_b = path_exists(bpath);
  if (!have_h && !have_b) {
    if (!create || read_only)
      throw UsageError(ENOENT, "no store at " + dir + " (create one with: docfs init " + dir + ")");
    // Body first, then header: a store is valid once header.bin exists.
    format::FileHeader fh{format::kNewFileVersion, new_generation()};
    for (auto [path, magic] : {std::pair{bpath, format::kBodyMagic}, std::pair{hpath, format::kHeaderMagic}}) {
      std::string tmp = path + ".new";
      File f = File::open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0644);
      std::string bytes = format::encode_file_header(magic, fh);
      f.pwrite(bytes.data(), bytes.size(), 0);
      f.sync();
      if (::rename(tmp.c_str(), path.c_str()) != 0) throw IoError(errno, "rename " + tmp);
    }
    sync_dir(dir);
  } else if (!have_h || !have_b) {
    throw FormatError("store " + dir + " is missing " + (have_h ? "body.bin" : "header.bin") +
                      " (a damaged store; restore it from a copy or a remote)");
  }

  // A read-only opener can race the two renames at the end of a prune; the generation
  // check catches that and it simply looks again.
  for (int attempt = 0;; ++attempt) {
    int flags = read_only ? O_RDONLY : O_RDWR;
    File b = File::open(bpath, flags), h = File::open(hpath, flags);
    format::FileHeader bh, hh;
    std::string bbytes(format::kFileHeaderSize, '\0'), hbytes(format::kFileHeaderSize, '\0');
    bbytes.resize(b.pread(bbytes.data(), bbytes.size(), 0));
    hbytes.resize(h.pread(hbytes.data(), hbytes.size(), 0));
    if (auto why = format::decode_file_header(bbytes, format::kBodyMagic, &bh))
      throw FormatError(bpath + ": " + *why);
    if (auto why = format::decode_file_header(hbytes, format::kHeaderMagic, &hh))
      throw FormatError(hpath + ": " + *why);
    if (bh.generation != hh.generation) {
      if (read_only && attempt < 100) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      throw FormatError("store " + dir + ": header.bin and body.bin are from different generations (" +
                        "an interrupted prune or files copied from two stores); run docfs fsck " + dir);
    }
    generation = hh.generation;
    header_version = hh.version;
    body = std::make_shared<BodyFile>(std::move(b));
    header = std::move(h);
    return;
  }
}

bool Store::Impl::apply(const Entry& e) {
  switch (e.type) {
    case EntryType::kPut:
    case EntryType::kPutExtents:
    case EntryType::kPutExtentSpans:
    case EntryType::kPatchExtents: {
      const auto& p = e.put;
      uint64_t meta_end = p.record_off + format::kRecordHeaderSize + p.id.size() + p.meta_len;
      Location loc;
      if (e.type == EntryType::kPatchExtents) {
        const Location* base = index.find(p.id);
        auto list = std::make_shared<ExtentList>();
        std::optional<std::string> bad = "there is no previous version with extents";
        if (base && base->extents) bad = format::apply_patch(*base->extents, p, list.get());
        if (bad) {
          if (apply_problems.size() < 100)
            apply_problems.push_back(header.path() + ": a patch of " + p.id + " was skipped: " + *bad);
          return true;  // the document stays at its previous version
        }
        loc = location_of(p, false);
        loc.content_off = 0;
        loc.extents = std::move(list);
      } else {
        loc = location_of(p, format::has_extents(e.type));
      }
      uint64_t data_end = content_end(loc);
      uint64_t limit = read_only ? body_size_at_scan : body_end;
      if (meta_end > limit || data_end > limit || p.record_off < format::kFileHeaderSize)
        return false;
      if (loc.extents)
        for (const auto& x : *loc.extents)
          if (x.body_off < format::kFileHeaderSize || x.checked_off() < format::kFileHeaderSize) return false;
      const bool fragmented_now = loc.extents && loc.extents->size() > Store::kDefragExtents;
      index.upsert(p.id, loc);
      if (fragmented_now)
        fragmented.emplace(p.id);
      else if (!fragmented.empty())
        fragmented.erase(p.id);
      max_referenced_end = std::max({max_referenced_end, data_end, meta_end});
      return true;
    }
    case EntryType::kDelete: {
      if (!fragmented.empty()) fragmented.erase(e.put.id);
      index.erase(e.put.id);
      return true;
    }
    case EntryType::kRename: {
      if (!index.rename(e.put.id, e.to)) return true;
      if (!fragmented.empty()) {
        fragmented.erase(e.to);
        if (fragmented.erase(e.put.id)) fragmented.emplace(e.to);
      }
      return true;
    }
    case EntryType::kLink:
      if (!fragmented.empty()) fragmented.erase(e.put.id);
      index.link(e.to, e.put.id);
      return true;
    case EntryType::kClear:
      index.clear();
      fragmented.clear();
      return true;
  }
  return true;
}

void Store::Impl::replay_from(uint64_t start) {
  body_size_at_scan = body->file.size();
  if (!read_only) body_end = body_size_at_scan;
  if (start == format::kFileHeaderSize) index.reserve(header.size() / 96);
  // The first entry naming body bytes that are not there ends the usable header: what
  // follows was written later, so applying it would show a state that never existed.
  // For a reader that is also where a live writer's newest appends begin: a snapshot.
  bool beyond_body = false;
  uint64_t first_beyond = 0;
  EntryScan scan = scan_entries(header, start, [&](const Entry& e, uint64_t off) {
    if (beyond_body) return;
    if (!apply(e)) {
      beyond_body = true;
      first_beyond = off;
    }
  });
  if (scan.corruption)
    throw FormatError(*scan.corruption + " (run docfs fsck " + dir + " for details)");
  for (const auto& why : scan.invalid) std::cerr << "docfs: " << why << "\n";
  if (scan.invalid_count > scan.invalid.size())
    std::cerr << "docfs: " << dir << ": " << scan.invalid_count << " bad header.bin entries skipped in all\n";
  for (const auto& why : apply_problems) std::cerr << "docfs: " << why << "\n";
  apply_problems.clear();
  header_end = beyond_body ? first_beyond : scan.valid_end;
  if (read_only) return;
  // Drop torn tails so new appends follow whole records. Nothing visible is lost: a torn
  // entry was never applied and body bytes past the last reference are unreachable.
  if (beyond_body) {
    // The body lost bytes that header.bin already names (a power cut reordered the two
    // writes). Entries from there on are the unsynced tail: drop them all, or a later
    // append would make them point at someone else's bytes.
    std::cerr << "docfs: " << dir << ": header.bin entries from offset " << first_beyond
              << " name body bytes lost in a crash; dropping " << (header.size() - first_beyond)
              << " bytes of header.bin\n";
    header.truncate(first_beyond);
    index.clear();
    max_referenced_end = 0;
    replay_from(format::kFileHeaderSize);
    return;
  }
  if (scan.torn_bytes > 0) header.truncate(scan.valid_end);
  uint64_t body_keep = std::max<uint64_t>(max_referenced_end, format::kFileHeaderSize);
  if (body_keep < body_end) {
    body->file.truncate(body_keep);
    body_end = body_keep;
  }
}

void refuse_foreign_files(const std::string& dir) {
  for (auto [name, magic] : {std::pair{"body.bin", format::kBodyMagic}, std::pair{"header.bin", format::kHeaderMagic}}) {
    int fd = ::open((dir + "/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // missing files are open_files()' business
    char head[8];
    ssize_t n = ::pread(fd, head, sizeof head, 0);
    ::close(fd);
    if (n > 0 && std::string_view(head, static_cast<size_t>(n)) != magic.substr(0, static_cast<size_t>(n)))
      throw ForeignStoreError(dir, dir + " is not a docfs store (" + name + " does not start with " + std::string(magic) +
                              "); docfs writes nothing into it");
  }
}

std::unique_ptr<Store> Store::open(const std::string& dir, OpenOptions opts) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  while (impl->dir.size() > 1 && impl->dir.back() == '/') impl->dir.pop_back();
  impl->read_only = opts.read_only;
  if (opts.create && !opts.read_only) {
    if (::mkdir(impl->dir.c_str(), 0755) != 0 && errno != EEXIST)
      throw IoError(errno, "create store directory " + impl->dir);
  }
  struct stat st;
  if (::stat(impl->dir.c_str(), &st) != 0) {
    if (errno == ENOENT)
      throw UsageError(ENOENT, "no store at " + impl->dir + " (create one with: docfs init " + impl->dir + ")");
    throw IoError(errno, "open store " + impl->dir);
  }
  if (!S_ISDIR(st.st_mode)) throw UsageError(ENOTDIR, "store " + impl->dir + " is not a directory");
  // Another program's files (a Jina DocumentArrayMemmap has the same two names) are not
  // read as a store, and nothing is written into their directory, not even our lock file.
  refuse_foreign_files(impl->dir);
  if (!opts.read_only) {
    // Another program's files (a Jina DocumentArrayMemmap has the same two names) get
    // nothing written into their directory, not even our lock file.
    impl->lock = StoreLock::acquire(impl->dir);
    impl->recover_interrupted_prune();
  }
  impl->open_files(opts.create);
  impl->replay_from(format::kFileHeaderSize);
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() {
  if (impl_->read_only) return;
  try {
    std::unique_lock lk(impl_->mu);
    impl_->flush_locked();
  } catch (const std::exception& e) {
    std::cerr << "docfs: " << impl_->dir << ": flush at close failed: " << e.what() << "\n";
  }
}

const std::string& Store::dir() const { return impl_->dir; }
bool Store::read_only() const { return impl_->read_only; }

// ---------------------------------------------------------------- writes

void Store::Impl::require_writable() const {
  if (read_only) throw UsageError(EROFS, "store " + dir + " is open read-only");
}

void Store::Impl::flush_body_locked() {
  if (!body_buf.empty()) {
    body->file.pwrite(body_buf.data(), body_buf.size(), body_end - body_buf.size());
    body_buf.clear();
    body->writeback_mark = start_writeback(body->file, body->writeback_mark, body_end);
  }
}

void Store::Impl::flush_locked() {
  // Body before header: an entry must never reach the file before the bytes it names.
  // On failure the buffers stay, so a later flush retries the same bytes at the same place.
  flush_body_locked();
  if (!header_buf.empty()) {
    header.pwrite(header_buf.data(), header_buf.size(), header_end - header_buf.size());
    header_buf.clear();
  }
}

void Store::Impl::append_locked(std::string_view prefix, std::string_view content, const Entry& entry,
                                bool flush) {
  require_format_locked(format::format_version_for(entry.type));
  std::string entry_bytes = format::encode_entry(entry);
  const uint64_t record_size = prefix.size() + content.size();
  if (flush || content.size() >= kDirectWrite) {
    // Written straight to the file (no copy into the buffer). With flush, all or nothing:
    // if a write fails, both files go back to where they were and the index never hears
    // of it. Without flush, only buffered body bytes must go first (they precede this
    // record); header entries stay buffered, still behind every body byte they name.
    if (flush)
      flush_locked();
    else
      flush_body_locked();
    uint64_t b0 = body_end, h0 = header_end;
    try {
      body->file.pwrite2(prefix, content, b0);
      if (flush) header.pwrite(entry_bytes.data(), entry_bytes.size(), h0);
    } catch (...) {
      try {
        body->file.truncate(b0);
        if (flush) header.truncate(h0);  // without flush the header file was not touched
      } catch (...) {
      }
      throw;
    }
    body_end += record_size;
    body->writeback_mark = start_writeback(body->file, body->writeback_mark, body_end);
    if (!flush) header_buf += entry_bytes;
    header_end += entry_bytes.size();
  } else {
    body_buf.append(prefix);
    body_buf.append(content);
    body_end += record_size;
    header_buf += entry_bytes;
    header_end += entry_bytes.size();
  }
  apply(entry);
  if (body_buf.size() + header_buf.size() > kFlushThreshold) flush_locked();
}

void Store::Impl::ensure_flushed_through(uint64_t end) const {
  {
    std::shared_lock lk(mu);
    if (end <= flushed_body_end()) return;
  }
  std::unique_lock ul(mu);
  const_cast<Impl*>(this)->flush_locked();
}

std::optional<std::pair<Location, std::shared_ptr<BodyFile>>> Store::Impl::locate(std::string_view id) const {
  std::shared_lock lk(mu);
  const Location* l = index.find(id);
  if (!l) return std::nullopt;
  return std::pair{*l, body};
}

void Store::put(const Document& doc, bool flush) {
  check_id_or_throw(doc.meta.id);
  if (doc.content.size() > kStreamThreshold) {
    struct StringSource : ContentSource {
      const std::string& s;
      explicit StringSource(const std::string& str) : s(str) {}
      uint64_t size() const override { return s.size(); }
      size_t read(uint64_t off, void* buf, size_t n) override {
        if (off >= s.size()) return 0;
        n = std::min<size_t>(n, s.size() - off);
        std::memcpy(buf, s.data() + off, n);
        return n;
      }
    } src(doc.content);
    put_stream(doc.meta, src, flush);
    return;
  }
  std::string meta = encode_meta_checked(doc.meta);
  format::RecordHeader h;
  h.content_len = doc.content.size();
  h.content_crc = crc32c::value(doc.content);
  std::string prefix = format::encode_record_prefix(h, doc.meta.id, meta);
  std::unique_lock lk(impl_->mu);
  impl_->require_writable();
  uint64_t off = impl_->body_end;
  impl_->append_locked(prefix, doc.content,
                       put_entry(doc.meta, off, static_cast<uint32_t>(meta.size()), off + prefix.size(), doc.content.size()),
                       flush);
}

void Store::put_stream(const DocumentMeta& meta_in, ContentSource& src, bool flush) {
  check_id_or_throw(meta_in.id);
  const uint64_t len = src.size();
  if (len <= kStreamThreshold) {
    Document d{meta_in, std::string(len, '\0')};
    uint64_t got = 0;
    while (got < len) {
      size_t n = src.read(got, d.content.data() + got, len - got);
      if (n == 0) throw IoError(EIO, "content of " + meta_in.id + " ended early");
      got += n;
    }
    put(d, flush);
    return;
  }
  std::string meta = encode_meta_checked(meta_in);
  std::shared_lock gate(impl_->stream_gate);
  uint64_t off, total;
  const uint64_t prefix_len = format::kRecordHeaderSize + meta_in.id.size() + meta.size();
  {
    std::unique_lock lk(impl_->mu);
    impl_->require_writable();
    impl_->flush_locked();
    off = impl_->body_end;
    total = prefix_len + len;
    impl_->body_end += total;  // reserve; others append after it meanwhile
  }
  const File& body = impl_->body->file;
  try {
    uint32_t crc = 0;
    uint64_t done = 0;
    if (auto known = src.crc32c(); known && src.fd() >= 0) {
      // The bytes are already in a file and checksummed: copy them in the kernel.
      crc = *known;
      loff_t in = 0, out = static_cast<loff_t>(off + prefix_len);
      while (done < len) {
        ssize_t r = ::copy_file_range(src.fd(), &in, body.fd(), &out, len - done, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) break;
        if (r < 0) throw IoError(errno, "write " + body.path() + " at offset " + std::to_string(out));
        if (r == 0) throw IoError(EIO, "content of " + meta_in.id + " ended early");
        done += static_cast<uint64_t>(r);
      }
      if (done < len) {  // no kernel copy here: fall back to reading, and checksum anew
        done = 0;
        crc = 0;
      }
    }
    std::string chunk(done < len ? std::min<uint64_t>(kCopyChunk, len) : 0, '\0');
    while (done < len) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size(), len - done));
      size_t n = src.read(done, chunk.data(), want);
      if (n == 0) throw IoError(EIO, "content of " + meta_in.id + " ended early");
      crc = crc32c::extend(crc, chunk.data(), n);
      body.pwrite(chunk.data(), n, off + prefix_len + done);
      done += n;
    }
    format::RecordHeader h;
    h.content_len = len;
    h.content_crc = crc;
    std::string prefix = format::encode_record_prefix(h, meta_in.id, meta);
    body.pwrite(prefix.data(), prefix.size(), off);
  } catch (...) {
    std::unique_lock lk(impl_->mu);
    if (impl_->body_end == off + total) {  // nobody appended after us: give the space back
      impl_->body_end = off;
      try {
        body.truncate(off);
      } catch (...) {
      }
    }
    throw;
  }
  std::unique_lock lk(impl_->mu);
  impl_->append_locked("", "", put_entry(meta_in, off, static_cast<uint32_t>(meta.size()), off + prefix_len, len), flush);
}

void Store::extend(const std::vector<Document>& docs) {
  for (const auto& d : docs) put(d, false);
  flush();
}

void Store::update_meta(const DocumentMeta& m, bool flush) {
  check_id_or_throw(m.id);
  std::string meta = encode_meta_checked(m);
  std::unique_lock lk(impl_->mu);
  impl_->require_writable();
  const Location* cur = impl_->index.find(m.id);
  if (!cur) throw UsageError(ENOENT, "no document " + m.id);
  const Location loc = *cur;
  if (loc.extents) {  // the extents carry their own CRCs; the record is metadata only
    std::string record = format::encode_record_prefix(format::RecordHeader{}, m.id, meta);
    Entry e = put_entry(m, impl_->body_end, static_cast<uint32_t>(meta.size()), 0, loc.content_len);
    e.put.extents = *loc.extents;
    e.type = format::extents_entry_type(e.put.extents);
    impl_->append_locked(record, "", e, flush);
    return;
  }
  // A metadata-only record carries the CRC of the content it points at (copied from the
  // current version's record), so a reader can check that content wherever it lives.
  if (loc.record_off + format::kRecordHeaderSize > impl_->flushed_body_end()) impl_->flush_locked();
  format::RecordHeader h;
  h.content_crc = format::decode_record_header(
                      impl_->body->file.pread_string(format::kRecordHeaderSize, loc.record_off))
                      .content_crc;
  std::string record = format::encode_record_prefix(h, m.id, meta);
  uint64_t off = impl_->body_end;
  impl_->append_locked(record, "", put_entry(m, off, static_cast<uint32_t>(meta.size()), loc.content_off, loc.content_len), flush);
}

bool Store::remove(std::string_view id, bool flush) {
  std::unique_lock lk(impl_->mu);
  impl_->require_writable();
  if (!impl_->index.find(id)) return false;
  Entry e;
  e.type = EntryType::kDelete;
  e.put.id = std::string(id);
  impl_->append_locked("", "", e, flush);
  return true;
}

void Store::rename(std::string_view from, std::string_view to, bool flush) {
  check_id_or_throw(to);
  std::unique_lock lk(impl_->mu);
  impl_->require_writable();
  if (!impl_->index.find(from)) throw UsageError(ENOENT, "no document " + std::string(from));
  if (from == to) return;
  Entry e;
  e.type = EntryType::kRename;
  e.put.id = std::string(from);
  e.to = std::string(to);
  impl_->append_locked("", "", e, flush);
}

void Store::link(std::string_view existing, std::string_view name, bool flush) {
  check_id_or_throw(name);
  std::unique_lock lk(impl_->mu);
  impl_->require_writable();
  const Location* cur = impl_->index.find(existing);
  if (!cur) throw UsageError(ENOENT, "no document " + std::string(existing));
  if ((cur->mode & 0170000) == 0040000)
    throw UsageError(EPERM, std::string(existing) + " is a directory: directories have no hard links");
  if (impl_->index.find(name)) throw UsageError(EEXIST, std::string(name) + " exists");
  Entry e;
  e.type = EntryType::kLink;
  e.put.id = std::string(name);
  e.to = std::string(existing);
  impl_->append_locked("", "", e, flush);
}

void Store::clear() {
  std::unique_lock lk(impl_->mu);
  impl_->require_writable();
  impl_->append_locked("", "", Entry{}, true);
}

void Store::flush() {
  std::unique_lock lk(impl_->mu);
  if (!impl_->read_only) impl_->flush_locked();
}

void Store::sync() {
  std::unique_lock lk(impl_->mu);
  if (impl_->read_only) return;
  impl_->flush_locked();
  std::shared_ptr<BodyFile> body = impl_->body;
  lk.unlock();  // fsync can take long; the files it syncs stay open through `body`
  body->file.sync();
  std::shared_lock sl(impl_->mu);
  impl_->header.sync();
}

// ---------------------------------------------------------------- reads

size_t Store::size() const {
  std::shared_lock lk(impl_->mu);
  return impl_->index.size();
}

bool Store::contains(std::string_view id) const {
  std::shared_lock lk(impl_->mu);
  return impl_->index.find(id) != nullptr;
}

std::optional<Stat> Store::stat(std::string_view id) const {
  std::shared_lock lk(impl_->mu);
  FileLinks links;
  const Location* l = impl_->index.find(id, &links);
  if (!l) return std::nullopt;
  return stat_of(*l, links);
}

namespace {

// Reads and checks the metadata record at `loc`.
DocumentMeta read_meta(const BodyFile& body, std::string_view id, const Location& loc) {
  const File& f = body.file;
  std::string hdr = f.pread_string(format::kRecordHeaderSize, loc.record_off);
  format::RecordHeader h = format::decode_record_header(hdr);
  if (h.meta_len != loc.meta_len || h.id_len > kMaxIdBytes)
    throw FormatError(f.path() + ": record at offset " + std::to_string(loc.record_off) +
                      " does not match its header entry for " + std::string(id));
  std::string prefix = hdr + f.pread_string(h.id_len + h.meta_len, loc.record_off + hdr.size());
  if (format::record_meta_crc(prefix) != h.meta_crc)
    throw FormatError(f.path() + ": record at offset " + std::to_string(loc.record_off) +
                      " (document " + std::string(id) + ") fails its checksum");
  return decode_meta(std::string_view(prefix).substr(format::kRecordHeaderSize + h.id_len), std::string(id));
}

}  // namespace

std::optional<DocumentMeta> Store::meta(std::string_view id) const {
  auto found = impl_->locate(id);
  if (!found) return std::nullopt;
  const auto& [loc, body] = *found;
  impl_->ensure_flushed_through(loc.record_off + format::kRecordHeaderSize + id.size() + loc.meta_len);
  return read_meta(*body, id, loc);
}

std::optional<ContentRef> Store::content(std::string_view id) const {
  auto found = impl_->locate(id);
  if (!found) return std::nullopt;
  const auto& [loc, body] = *found;
  impl_->ensure_flushed_through(content_end(loc));
  if (loc.extents) return ContentRef(body, loc.extents, loc.content_len);
  return ContentRef(body, loc.content_off, loc.content_len);
}

std::optional<std::pair<ContentRef, std::vector<format::Extent>>> Store::content_extents(std::string_view id) const {
  auto found = impl_->locate(id);
  if (!found) return std::nullopt;
  const auto& [loc, body] = *found;
  impl_->ensure_flushed_through(std::max(content_end(loc), loc.record_off + format::kRecordHeaderSize));
  if (loc.extents) return std::pair{ContentRef(body, loc.extents, loc.content_len), *loc.extents};
  ContentRef ref(body, loc.content_off, loc.content_len);
  // A contiguous version's CRC is in its metadata record (its own content's, or carried).
  uint32_t crc = format::decode_record_header(body->file.pread_string(format::kRecordHeaderSize, loc.record_off)).content_crc;
  return std::pair{ref, ref.extents(crc)};
}

std::optional<Document> Store::get(std::string_view id) const {
  auto found = impl_->locate(id);
  if (!found) return std::nullopt;
  const auto& [loc, body] = *found;
  impl_->ensure_flushed_through(std::max(content_end(loc),
                                         loc.record_off + format::kRecordHeaderSize + loc.meta_len));
  if (loc.extents) {
    Document d{read_meta(*body, id, loc), ContentRef(body, loc.extents, loc.content_len).read_all()};
    for (const auto& x : *loc.extents)
      if (x.own_crc() && crc32c::value(d.content.data() + x.file_off, x.len) != x.crc)
        throw FormatError(body->file.path() + ": content of " + std::string(id) + " at offset " +
                          std::to_string(x.body_off) + " fails its checksum");
    if (auto bad = check_crc_ranges(body->file, *loc.extents))
      throw FormatError(*bad + " (content of " + std::string(id) + ")");
    return d;
  }
  Document d{read_meta(*body, id, loc), ContentRef(body, loc.content_off, loc.content_len).read_all()};
  // Every metadata record carries the CRC of the content its version points at (its own
  // content, or an earlier record's for a metadata-only version).
  std::string hdr = body->file.pread_string(format::kRecordHeaderSize, loc.record_off);
  format::RecordHeader h = format::decode_record_header(hdr);
  if (crc32c::value(d.content) != h.content_crc)
    throw FormatError(body->file.path() + ": content of " + std::string(id) + " at offset " +
                      std::to_string(loc.content_off) + " fails its checksum");
  return d;
}

void Store::for_each(const std::function<void(std::string_view, const Stat&)>& fn) const {
  std::shared_lock lk(impl_->mu);
  impl_->index.for_each(
      [&](std::string_view id, const Location& l, const FileLinks& links) { fn(id, stat_of(l, links)); });
}

std::vector<std::string> Store::ids() const {
  std::vector<std::string> out;
  {
    std::shared_lock lk(impl_->mu);
    out.reserve(impl_->index.size());
    impl_->index.for_each([&](std::string_view id, const Location&) { out.emplace_back(id); });
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Store::ids_in_body_order() const {
  std::vector<std::pair<uint64_t, std::string>> at;
  {
    std::shared_lock lk(impl_->mu);
    at.reserve(impl_->index.size());
    impl_->index.for_each([&](std::string_view id, const Location& l) {
      at.emplace_back(l.extents && !l.extents->empty() ? l.extents->front().body_off : l.content_off, id);
    });
  }
  std::sort(at.begin(), at.end());
  std::vector<std::string> out;
  out.reserve(at.size());
  for (auto& [off, id] : at) out.push_back(std::move(id));
  return out;
}

StoreStats Store::stats() const {
  std::shared_lock lk(impl_->mu);
  StoreStats s;
  s.documents = impl_->index.size();
  s.live_bytes = impl_->index.live_bytes();
  s.body_bytes = impl_->read_only ? impl_->body_size_at_scan : impl_->body_end;
  s.header_bytes = impl_->header_end;
  s.staged_bytes = impl_->staged_bytes;
  uint64_t used = format::kFileHeaderSize + s.live_bytes + s.staged_bytes;
  s.garbage_bytes = s.body_bytes > used ? s.body_bytes - used : 0;
  return s;
}

void Store::reload() {
  std::unique_lock lk(impl_->mu);
  if (!impl_->read_only) return;
  struct stat st;
  std::string hpath = impl_->dir + "/header.bin";
  if (::stat(hpath.c_str(), &st) != 0 || st.st_ino != impl_->header.inode()) {
    // Pruned (or replaced) since we opened: start over from the new pair.
    impl_->index.clear();
    impl_->max_referenced_end = 0;
    impl_->open_files(false);
    impl_->replay_from(format::kFileHeaderSize);
    return;
  }
  impl_->replay_from(impl_->header_end);
}

PruneResult Store::prune() { return impl_->prune(); }

size_t Store::defragment(uint64_t max_bytes) {
  std::vector<std::string> ids;
  {
    std::shared_lock lk(impl_->mu);
    if (impl_->read_only) return 0;
    ids.assign(impl_->fragmented.begin(), impl_->fragmented.end());
  }
  std::map<std::string, const void*, std::less<>> seen;
  seen.swap(impl_->defrag_seen);  // only the compactor thread calls this
  size_t done = 0;
  uint64_t bytes = 0;
  for (const std::string& id : ids) {
    if (bytes >= max_bytes) break;
    auto found = impl_->locate(id);
    if (!found || !found->first.extents) continue;
    const auto& [loc, body] = *found;
    // A version still changing is left for later: rewriting a database between two of its
    // transactions would copy it again and again.
    auto prev = seen.find(id);
    if (prev == seen.end() || prev->second != loc.extents.get()) {
      impl_->defrag_seen[id] = loc.extents.get();
      continue;
    }
    const auto& xs = *loc.extents;
    // Extents separated by holes stay separate: only versions that would shrink a lot.
    size_t runs = 1;
    for (size_t i = 1; i < xs.size(); ++i) runs += xs[i].file_off != xs[i - 1].file_end();
    if (xs.size() <= kDefragExtents || runs * 2 > xs.size()) continue;
    impl_->ensure_flushed_through(std::max(content_end(loc), loc.record_off + format::kRecordHeaderSize + id.size() + loc.meta_len));
    const DocumentMeta m = read_meta(*body, id, loc);
    const ContentRef c(body, loc.extents, loc.content_len);
    // Copied front to back, each old extent checked; logically adjacent extents merge.
    auto w = begin_stream(c.data_bytes());
    std::string buf;
    for (const auto& x : xs) {
      uint32_t crc = 0;
      for (uint64_t off = 0; off < x.len;) {
        buf.resize(static_cast<size_t>(std::min<uint64_t>(x.len - off, kCopyChunk)));
        c.read(x.file_off + off, buf.data(), buf.size());
        crc = crc32c::extend(crc, buf.data(), buf.size());
        w->write(x.file_off + off, buf.data(), buf.size());
        off += buf.size();
      }
      if (x.own_crc() && crc != x.crc)
        throw FormatError(body->file.path() + ": content of " + id + " at offset " + std::to_string(x.body_off) +
                          " fails its checksum (run docfs fsck)");
    }
    if (auto bad = check_crc_ranges(body->file, xs)) throw FormatError(*bad + " (content of " + id + "; run docfs fsck)");
    w->truncate(c.size());
    if (w->commit_if(m, false, loc.extents.get())) ++done;
    bytes += c.data_bytes();
  }
  if (done) flush();
  return done;
}

}  // namespace docfs
