#include "remote/archive.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/store_builder.h"
#include "core/version.h"

namespace docfs::remote {
namespace {

constexpr char kMagic[8] = {'D', 'O', 'C', 'F', 'S', 'A', 'R', 'C'};
constexpr size_t kCrcOffset = 96;
constexpr uint64_t kDirectPullBytes = 64u << 20;  // pulls this big write body.bin with O_DIRECT

template <typename T>
void put_le(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
}

template <typename T>
T get_le(const char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return static_cast<T>(v);
}

// The data ranges of a content with holes (merged where they touch), or nothing when it
// has none and goes out whole.
std::vector<std::pair<uint64_t, uint64_t>> sparse_ranges(const ContentRef& c) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (c.data_bytes() == c.size()) return out;
  uint64_t pos = 0;
  for (const ContentRef::Piece& p : c.map(0, c.size())) {
    if (!p.hole) {
      if (!out.empty() && out.back().first + out.back().second == pos)
        out.back().second += p.len;
      else
        out.emplace_back(pos, p.len);
    }
    pos += p.len;
  }
  return out;
}

std::string record_prefix(const std::string& id, const std::string& meta, const ContentRef& c,
                          const std::vector<std::pair<uint64_t, uint64_t>>& sparse) {
  std::string p;
  p.reserve(16 + id.size() + meta.size());
  put_le<uint32_t>(p, static_cast<uint32_t>(id.size()));
  p += id;
  put_le<uint32_t>(p, static_cast<uint32_t>(meta.size()));
  p += meta;
  if (sparse.empty() && c.data_bytes() == c.size()) {
    put_le<uint64_t>(p, c.size());
    return p;
  }
  put_le<uint64_t>(p, c.size() | kSparseContent);
  put_le<uint32_t>(p, static_cast<uint32_t>(sparse.size()));
  for (const auto& [off, len] : sparse) {
    put_le<uint64_t>(p, off);
    put_le<uint64_t>(p, len);
  }
  return p;
}

}  // namespace

// ---------------------------------------------------------------- header

std::string encode_archive_header(const ArchiveHeader& h) {
  std::string out(kMagic, sizeof kMagic);
  put_le<uint32_t>(out, h.format_version);
  put_le<uint32_t>(out, kArchiveHeaderSize);
  std::string ver = h.docfs_version.substr(0, 15);
  ver.resize(16, '\0');
  out += ver;
  put_le<int64_t>(out, h.created_ns);
  put_le<int64_t>(out, h.expires_ns);
  put_le<uint64_t>(out, h.documents);
  put_le<uint64_t>(out, h.payload_length);
  out.append(reinterpret_cast<const char*>(h.sha256.data()), h.sha256.size());
  put_le<uint32_t>(out, crc32c::value(out.data(), kCrcOffset));
  out.resize(kArchiveHeaderSize, '\0');
  return out;
}

bool has_archive_magic(std::string_view b) {
  return b.size() >= sizeof kMagic && std::memcmp(b.data(), kMagic, sizeof kMagic) == 0;
}

void check_archive_version(uint32_t version, const std::string& where) {
  if (version > kArchiveFormatVersion)
    throw FormatError(where + ": archive format version " + std::to_string(version) +
                      " is newer than this docfs understands (version " + std::to_string(kArchiveFormatVersion) +
                      "); upgrade docfs to pull it");
  if (version == 0) throw FormatError(where + ": archive format version 0 is not valid (corrupt header)");
}

ArchiveHeader decode_archive_header(std::string_view b, const std::string& where) {
  if (b.size() < kArchiveHeaderSize)
    throw FormatError(where + ": archive is " + std::to_string(b.size()) + " bytes, shorter than its " +
                      std::to_string(kArchiveHeaderSize) + "-byte header (truncated)");
  if (std::memcmp(b.data(), kMagic, sizeof kMagic) != 0)
    throw FormatError(where + ": not a docfs archive (bad magic at offset 0)");
  ArchiveHeader h;
  h.format_version = get_le<uint32_t>(b.data() + 8);
  check_archive_version(h.format_version, where);
  if (get_le<uint32_t>(b.data() + kCrcOffset) != crc32c::value(b.data(), kCrcOffset))
    throw FormatError(where + ": archive header checksum mismatch (corrupt header)");
  if (get_le<uint32_t>(b.data() + 12) != kArchiveHeaderSize)
    throw FormatError(where + ": unexpected archive header size " + std::to_string(get_le<uint32_t>(b.data() + 12)));
  h.docfs_version = std::string(b.data() + 16, strnlen(b.data() + 16, 16));
  h.created_ns = get_le<int64_t>(b.data() + 32);
  h.expires_ns = get_le<int64_t>(b.data() + 40);
  h.documents = get_le<uint64_t>(b.data() + 48);
  h.payload_length = get_le<uint64_t>(b.data() + 56);
  std::memcpy(h.sha256.data(), b.data() + 64, 32);
  return h;
}

// ---------------------------------------------------------------- packing

StoreArchiveSource::StoreArchiveSource(const Store& store, int64_t created_ns, int64_t expires_ns)
    : store_(store), hasher_(std::make_unique<BackgroundSha256>()) {
  header_.docfs_version = DOCFS_VERSION;
  header_.created_ns = created_ns;
  header_.expires_ns = expires_ns;
  ids_ = store.ids_in_body_order();  // front to back through body.bin
  // The exact size up front: lets a small archive go in one PUT with a Content-Length.
  header_.format_version = 1;  // unless a document has holes or links: older builds pull it
  link_targets_.resize(ids_.size());
  std::unordered_map<uint64_t, size_t> first_name;  // Stat::file_id -> index in ids_
  for (size_t i = 0; i < ids_.size(); ++i) {
    const std::string& id = ids_[i];
    auto st = store.stat(id);
    if (st && st->file_id != 0) {
      auto [it, first] = first_name.emplace(st->file_id, i);
      if (!first) {  // another name of a file already in the archive
        link_targets_[i] = ids_[it->second];
        header_.format_version = 3;
        payload_size_ += 12 + id.size() + link_targets_[i].size();
        continue;
      }
    }
    auto meta = store.meta(id);
    auto content = store.content(id);
    if (!meta || !content) throw IoError(EIO, "document " + id + " vanished from the store snapshot");
    payload_size_ += 16 + id.size() + encode_meta(*meta).size() + content->data_bytes();
    if (content->data_bytes() != content->size()) {  // holes go as a list of data ranges
      header_.format_version = std::max<uint32_t>(header_.format_version, 2);
      payload_size_ += 4 + 16 * sparse_ranges(*content).size();
    }
  }
  header_.documents = ids_.size();
  header_.payload_length = payload_size_;
}

bool StoreArchiveSource::next_document() {
  if (next_ >= ids_.size()) return false;
  const std::string& target = link_targets_[next_];
  const std::string& id = ids_[next_++];
  if (!target.empty()) {
    prefix_.clear();
    put_le<uint32_t>(prefix_, static_cast<uint32_t>(id.size()));
    prefix_ += id;
    put_le<uint32_t>(prefix_, kLinkRecord);
    put_le<uint32_t>(prefix_, static_cast<uint32_t>(target.size()));
    prefix_ += target;
    content_.reset();
    ranges_.clear();
    prefix_pos_ = 0;
    range_ = 0;
    range_pos_ = 0;
    return true;
  }
  auto meta = store_.meta(id);
  content_ = store_.content(id);
  if (!meta || !content_) throw IoError(EIO, "document " + id + " vanished from the store snapshot");
  ranges_ = sparse_ranges(*content_);
  prefix_ = record_prefix(id, encode_meta(*meta), *content_, ranges_);
  if (ranges_.empty() && content_->size() > 0) ranges_.emplace_back(0, content_->size());
  prefix_pos_ = 0;
  range_ = 0;
  range_pos_ = 0;
  return true;
}

size_t StoreArchiveSource::produce(char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    if (prefix_pos_ < prefix_.size()) {
      size_t k = std::min(n - got, prefix_.size() - prefix_pos_);
      std::memcpy(out + got, prefix_.data() + prefix_pos_, k);
      prefix_pos_ += k;
      got += k;
      continue;
    }
    if (content_ && range_ < ranges_.size()) {
      const auto [off, len] = ranges_[range_];
      size_t want = static_cast<size_t>(std::min<uint64_t>(n - got, len - range_pos_));
      size_t k = content_->read(off + range_pos_, out + got, want);
      if (k == 0) throw IoError(EIO, "content of " + ids_[next_ - 1] + " ended early");
      range_pos_ += k;
      got += k;
      if (range_pos_ == len) {
        ++range_;
        range_pos_ = 0;
      }
      continue;
    }
    if (!next_document()) break;
  }
  produced_ += got;
  return got;
}

bool StoreArchiveSource::next_stage() {
  if (finished_) return false;
  slot_ = (slot_ + 1) % kStages;
  Stage& st = stages_[slot_];
  if (st.ticket) hasher_->wait(st.ticket);  // the hasher may still read the old bytes
  if (st.data.empty()) st.data.resize(kStageSize);
  st.len = produce(st.data.data(), st.data.size());
  st.off = 0;
  if (st.len > 0) {
    st.ticket = hasher_->submit(st.data.data(), st.len);
    return true;
  }
  st.ticket = 0;
  finished_ = true;
  if (produced_ != payload_size_)
    throw IoError(EIO, "store changed while packing: " + std::to_string(produced_) + " bytes instead of " +
                           std::to_string(payload_size_));
  header_.sha256 = hasher_->finish();
  return false;
}

size_t StoreArchiveSource::read(void* buf, size_t n) {
  char* out = static_cast<char*>(buf);
  size_t got = 0;
  while (got < n) {
    Stage& st = stages_[slot_];
    if (st.off == st.len) {
      if (!next_stage()) break;
      continue;
    }
    size_t k = std::min(n - got, st.len - st.off);
    std::memcpy(out + got, st.data.data() + st.off, k);
    st.off += k;
    got += k;
  }
  return got;
}

std::string StoreArchiveSource::head() {
  if (!finished_ && stages_[slot_].off == stages_[slot_].len) next_stage();  // read() may not have seen the end yet
  if (!finished_) throw std::logic_error("archive head requested before the payload was read");
  return encode_archive_header(header_);
}

// ---------------------------------------------------------------- unpacking

namespace {

// Reads the payload in order through a ring of large buffers, each byte read from the file
// once. SHA-256 of each chunk runs on a helper thread while the records in it are parsed and
// written to the store; three buffers let the next read overlap both. `available(n)`
// (optional) blocks until bytes [0, n) of the file are there: a download may still be
// filling it.
class PayloadReader {
 public:
  static constexpr size_t kChunk = 8u << 20;

  PayloadReader(const File& f, uint64_t start, uint64_t end, Progress* p,
                const std::function<void(uint64_t)>* available)
      : f_(f), pos_(start), next_(start), end_(end), progress_(p), available_(available) {
    ::posix_fadvise(f.fd(), static_cast<off_t>(start), static_cast<off_t>(end - start), POSIX_FADV_SEQUENTIAL);
  }
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return end_ - pos_; }

  std::string take(uint64_t n, const char* what) {
    if (n > remaining())
      throw FormatError("record " + std::string(what) + " at archive offset " + std::to_string(pos_) + " claims " +
                        std::to_string(n) + " bytes and runs past the end of the payload");
    std::string s(static_cast<size_t>(n), '\0');
    copy(s.data(), s.size());
    return s;
  }
  template <typename T>
  T take_le(const char* what) {
    if (sizeof(T) > remaining()) take(sizeof(T), what);  // throws
    char b[sizeof(T)];
    if (len_ - off_ >= sizeof(T)) {  // the common case: no copy through a string
      std::memcpy(b, buf_[cur_].data() + off_, sizeof(T));
      off_ += sizeof(T);
      pos_ += sizeof(T);
    } else {
      copy(b, sizeof(T));
    }
    return get_le<T>(b);
  }
  // Copies the next n bytes (n <= remaining()).
  void copy(void* out, size_t n) {
    char* o = static_cast<char*>(out);
    while (n > 0) {
      if (off_ == len_) refill();
      size_t k = std::min(n, len_ - off_);
      std::memcpy(o, buf_[cur_].data() + off_, k);
      off_ += k;
      pos_ += k;
      o += k;
      n -= k;
    }
  }
  void skip(uint64_t n) {
    while (n > 0) {
      if (off_ == len_) refill();
      size_t k = static_cast<size_t>(std::min<uint64_t>(n, len_ - off_));
      off_ += k;
      pos_ += k;
      n -= k;
    }
  }
  // Reads and hashes whatever is left (after a parse failure: was the archive corrupt?).
  Digest finish_hash() {
    if (done_) return digest_;
    skip(remaining());
    done_ = true;
    digest_ = hash_.finish();
    return digest_;
  }

 private:
  void refill() {
    if (next_ >= end_) throw FormatError("archive payload ended early");  // guarded by remaining()
    const int nb = (cur_ + 1) % kBuffers;
    if (tickets_[nb]) hash_.wait(tickets_[nb]);  // the hasher may still read the old bytes
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, end_ - next_));
    if (available_ && *available_) (*available_)(next_ + want);
    std::vector<char>& b = buf_[nb];
    if (b.size() < want) b.resize(kChunk);
    size_t got = 0;
    while (got < want) {
      size_t k = f_.pread(b.data() + got, want - got, next_ + got);
      if (k == 0) throw FormatError(f_.path() + ": archive ended at offset " + std::to_string(next_ + got) + " (truncated)");
      got += k;
    }
    tickets_[nb] = hash_.submit(b.data(), want);
    if (progress_) progress_->add(want);
    cur_ = nb;
    off_ = 0;
    len_ = want;
    next_ += want;
  }

  static constexpr int kBuffers = 3;
  const File& f_;
  uint64_t pos_;   // archive offset of the next byte handed out
  uint64_t next_;  // archive offset of the next byte to read from the file
  uint64_t end_;
  Progress* progress_;
  const std::function<void(uint64_t)>* available_;
  std::vector<char> buf_[kBuffers];
  uint64_t tickets_[kBuffers] = {};  // each buffer's pending hash job
  int cur_ = 0;
  size_t off_ = 0, len_ = 0;  // within buf_[cur_]
  BackgroundSha256 hash_;      // after buf_: stops before they go
  bool done_ = false;
  Digest digest_{};
};

// One document's content for put_stream, taken from the reader in order (put_stream reads
// front to back); anything put_stream did not read is skipped afterwards.
class ContentFromArchive : public ContentSource {
 public:
  ContentFromArchive(PayloadReader& r, uint64_t len) : r_(r), len_(len) {}
  uint64_t size() const override { return len_; }
  size_t read(uint64_t off, void* buf, size_t n) override {
    if (off >= len_) return 0;
    if (off != read_) throw IoError(EIO, "archive content read out of order");
    n = static_cast<size_t>(std::min<uint64_t>(n, len_ - off));
    r_.copy(buf, n);
    read_ += n;
    return n;
  }
  void finish() {
    if (read_ < len_) r_.skip(len_ - read_);
    read_ = len_;
  }

 private:
  PayloadReader& r_;
  uint64_t len_, read_ = 0;
};

std::string parent_of(const std::string& path) {
  auto p = std::filesystem::path(path).parent_path().string();
  return p.empty() ? "." : p;
}

bool is_store_dir(const std::string& dir) { return path_exists(dir + "/header.bin"); }

// A pull builds its store in DIR/.NAME.pull-PID-XXXXXX. One that was killed leaves that
// directory behind: the next pull to the same destination removes those whose PID is gone.
void remove_abandoned_pulls(const std::string& dir, const std::string& prefix) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = name.substr(prefix.size());  // PID-XXXXXX
    const size_t dash = rest.find('-');
    if (dash == 0 || dash == std::string::npos || rest.find_first_not_of("0123456789") != dash) continue;
    const long pid = std::strtol(rest.c_str(), nullptr, 10);
    if (pid <= 0 || pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    remove_tree(e.path().string());
  }
}

}  // namespace

void check_pull_destination(const std::string& dest) {
  struct stat st;
  if (::lstat(dest.c_str(), &st) != 0) {
    if (errno != ENOENT) throw IoError(errno, "stat " + dest);
    if (!std::filesystem::is_directory(parent_of(dest)))
      throw UsageError(ENOENT, "cannot pull into " + dest + ": " + parent_of(dest) + " is not a directory");
    return;
  }
  if (!S_ISDIR(st.st_mode)) throw UsageError(EEXIST, "cannot pull into " + dest + ": it exists and is not a directory");
  if (is_store_dir(dest)) {
    if (int pid = lock_holder_pid(dest); pid != 0)
      throw LockedError("cannot replace store " + dest + ": it is open for writing by pid " + std::to_string(pid) +
                        " (unmount it first)");
    return;
  }
  if (!std::filesystem::is_empty(dest))
    throw UsageError(EEXIST, "cannot pull into " + dest + ": it is a non-empty directory that is not a docfs store");
}

uint64_t build_store_at(const std::string& dest_in, const std::function<uint64_t(StoreBuilder&)>& fill) {
  std::string dest = dest_in;
  while (dest.size() > 1 && dest.back() == '/') dest.pop_back();
  check_pull_destination(dest);
  const std::string tmp_prefix = "." + std::filesystem::path(dest).filename().string() + ".pull-";
  remove_abandoned_pulls(parent_of(dest), tmp_prefix);
  std::string tmpl = parent_of(dest) + "/" + tmp_prefix + std::to_string(::getpid()) + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw IoError(errno, "create temporary directory next to " + dest);
  const std::string tmp = tmpl;
  ::chmod(tmp.c_str(), 0755);
  uint64_t n = 0;
  try {
    {
      StoreBuilder store(tmp, false);
      n = fill(store);
      store.finish();
    }
    if (::rename(tmp.c_str(), dest.c_str()) != 0) {
      if (errno != ENOTEMPTY && errno != EEXIST) throw IoError(errno, "rename " + tmp + " to " + dest);
      if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dest.c_str(), RENAME_EXCHANGE) != 0)
        throw IoError(errno, "replace " + dest);
      remove_tree(tmp);  // now the old store
    }
    sync_dir(parent_of(dest));
  } catch (...) {
    remove_tree(tmp);
    throw;
  }
  return n;
}

UnpackResult unpack_archive(const File& f, uint64_t size, const std::string& dest, Progress* progress,
                            const std::string& where) {
  return unpack_archive(f, size, dest, progress, where, nullptr);
}

UnpackResult unpack_archive(const File& f, uint64_t size, const std::string& dest_in, Progress* progress,
                            const std::string& where, const std::function<void(uint64_t)>& available) {
  std::string dest = dest_in;
  while (dest.size() > 1 && dest.back() == '/') dest.pop_back();
  check_pull_destination(dest);
  UnpackResult res;
  if (available) available(std::min<uint64_t>(size, kArchiveHeaderSize));
  res.header = decode_archive_header(f.pread_string(std::min<uint64_t>(size, kArchiveHeaderSize), 0), where);
  const ArchiveHeader& h = res.header;
  if (h.payload_length != size - kArchiveHeaderSize)
    throw FormatError(where + ": archive length check failed: the header says " +
                      std::to_string(kArchiveHeaderSize + h.payload_length) + " bytes, the object has " +
                      std::to_string(size) + (size < kArchiveHeaderSize + h.payload_length ? " (truncated)" : " (trailing bytes)"));

  const std::string tmp_prefix = "." + std::filesystem::path(dest).filename().string() + ".pull-";
  remove_abandoned_pulls(parent_of(dest), tmp_prefix);
  std::string tmpl = parent_of(dest) + "/" + tmp_prefix + std::to_string(::getpid()) + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw IoError(errno, "create temporary directory next to " + dest);
  const std::string tmp = tmpl;
  ::chmod(tmp.c_str(), 0755);
  try {
    PayloadReader r(f, kArchiveHeaderSize, size, progress, &available);
    try {
      // A big array is written around the page cache (it would only evict the user's
      // working set); a small one through it, so its first readers find it cached.
      StoreBuilder store(tmp, size >= kDirectPullBytes);
      // Names seen so far, kept only when the archive may hold links (version 3): a link
      // must name a document an earlier record holds.
      std::unordered_set<std::string> names;
      const bool may_link = h.format_version >= 3;
      while (r.remaining() > 0) {
        uint32_t id_len = r.take_le<uint32_t>("id length");
        std::string id = r.take(id_len, "id");
        uint32_t meta_len = r.take_le<uint32_t>("meta length");
        if (meta_len == kLinkRecord && may_link) {
          uint32_t target_len = r.take_le<uint32_t>("link target length");
          std::string target = r.take(target_len, "link target");
          if (!names.count(target))
            throw FormatError(where + ": " + id + " is a hard link to " + target +
                              ", which the archive does not hold (a damaged or crafted archive); nothing was pulled");
          store.add_link(id, target);
          names.insert(std::move(id));
          ++res.documents;
          continue;
        }
        if (may_link) names.insert(id);
        DocumentMeta meta = decode_meta(r.take(meta_len, "meta"), id);
        uint64_t content_len = r.take_le<uint64_t>("content length");
        if ((content_len & kSparseContent) && h.format_version >= 2) {  // in version 1, just too long
          const uint64_t size = content_len & ~kSparseContent;
          // Limits first: the range list and its data must fit in what is left.
          const uint32_t n = r.take_le<uint32_t>("range count");
          if (n > format::kMaxExtents || uint64_t{n} * 16 > r.remaining())
            throw FormatError("document " + id + " claims " + std::to_string(n) + " data ranges");
          std::vector<std::pair<uint64_t, uint64_t>> ranges(n);
          uint64_t data = 0;
          for (auto& [off, len] : ranges) {
            off = r.take_le<uint64_t>("range offset");
            len = r.take_le<uint64_t>("range length");
            if (len > r.remaining() || data + len > r.remaining())
              throw FormatError("content of " + id + " runs past the end of the payload");
            data += len;
          }
          ContentFromArchive src(r, data);
          store.add_sparse(meta, size, ranges, src);
          src.finish();
          ++res.documents;
          continue;
        }
        if (content_len > r.remaining()) throw FormatError("content of " + id + " runs past the end of the payload");
        ContentFromArchive src(r, content_len);
        store.add(meta, src);
        src.finish();
        ++res.documents;
      }
      // Written and synced while the last chunks are still being hashed; it only becomes
      // visible (renamed into place) after the checks below.
      store.finish();
      if (r.finish_hash() != h.sha256)
        throw FormatError(where + ": SHA-256 check failed: the payload does not match the header (corrupt archive)");
      if (res.documents != h.documents)
        throw FormatError(where + ": document count check failed: header says " + std::to_string(h.documents) +
                          ", archive holds " + std::to_string(res.documents));
    } catch (...) {
      // A payload that does not parse is most likely corrupt: say so if the hash agrees.
      if (r.finish_hash() != h.sha256)
        throw FormatError(where + ": SHA-256 check failed: the payload does not match the header (corrupt archive)");
      throw;
    }
    // Into place: a plain rename, or an exchange with the store being replaced.
    if (::rename(tmp.c_str(), dest.c_str()) != 0) {
      if (errno != ENOTEMPTY && errno != EEXIST) throw IoError(errno, "rename " + tmp + " to " + dest);
      if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dest.c_str(), RENAME_EXCHANGE) != 0)
        throw IoError(errno, "replace " + dest);
      remove_tree(tmp);  // now the old store
    }
    sync_dir(parent_of(dest));
  } catch (...) {
    remove_tree(tmp);
    throw;
  }
  res.bytes = size;
  return res;
}

}  // namespace docfs::remote
