#include "interop/jina_dam.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "interop/docarray_proto.h"

namespace docfs::interop {
namespace {

constexpr int64_t kPageSize = 4096;  // mmap.ALLOCATIONGRANULARITY on Linux, as Jina used
constexpr int kMaxKeyLength = 4096;
constexpr size_t kMaxHeaderBytes = size_t{1} << 32;  // 4 GiB of rows: ~25 million documents

class ReadOnlyFile {
 public:
  explicit ReadOnlyFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw IoError(errno, "open " + path);
    struct stat st;
    if (::fstat(fd_, &st) != 0) throw IoError(errno, "stat " + path);
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~ReadOnlyFile() { ::close(fd_); }
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  uint64_t size() const { return size_; }
  std::string read(uint64_t off, size_t n) const {
    std::string out(n, '\0');
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, out.data() + done, n - done, static_cast<off_t>(off + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw IoError(errno, "read " + path_);
      if (r == 0) throw FormatError(path_ + ": ends at byte " + std::to_string(off + done) + ", expected " +
                                    std::to_string(off + n));
      done += static_cast<size_t>(r);
    }
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

struct Row {
  std::string header_id;  // UTF-8, as Jina's numpy str_ (trailing NULs stripped)
  int64_t p, r, rl;
  bool tombstone() const { return p == -1 && r == -1 && rl == -1; }
};

int64_t le64(const char* b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[i]);
  return static_cast<int64_t>(v);
}

// UTF-32LE code points to UTF-8; nullopt when one is not a valid code point or a NUL
// is followed by something else (numpy pads with NULs only at the end).
std::optional<std::string> utf32_id(const char* b, int key_length) {
  std::string out;
  bool ended = false;
  for (int i = 0; i < key_length; ++i) {
    uint32_t c = static_cast<unsigned char>(b[4 * i]) | static_cast<unsigned char>(b[4 * i + 1]) << 8 |
                 static_cast<unsigned char>(b[4 * i + 2]) << 16 | static_cast<uint32_t>(static_cast<unsigned char>(b[4 * i + 3])) << 24;
    if (c == 0) {
      ended = true;
      continue;
    }
    if (ended || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return std::nullopt;
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xe0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

// Every row parses with this key length: ids are UTF-32, offsets page-split and inside
// body.bin. Returns the rows, or nullopt.
std::optional<std::vector<Row>> rows_with(const std::string& header, uint64_t body_size, int key_length) {
  const size_t row = 24 + 4 * static_cast<size_t>(key_length);
  if (header.size() % row != 0) return std::nullopt;
  std::vector<Row> rows;
  rows.reserve(header.size() / row);
  for (size_t off = 0; off < header.size(); off += row) {
    const char* b = header.data() + off;
    auto id = utf32_id(b, key_length);
    if (!id) return std::nullopt;
    Row r{std::move(*id), le64(b + 4 * key_length), le64(b + 4 * key_length + 8), le64(b + 4 * key_length + 16)};
    if (!r.tombstone()) {
      if (r.p < 0 || r.p % kPageSize != 0 || r.r < 0 || r.r >= kPageSize || r.rl < r.r) return std::nullopt;
      if (static_cast<uint64_t>(r.p) + static_cast<uint64_t>(r.rl) > body_size) return std::nullopt;
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

bool starts_with_docfs_magic(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char head[5] = {};
  ssize_t n = ::pread(fd, head, 5, 0);
  ::close(fd);
  return n == 5 && std::memcmp(head, "DOCFS", 5) == 0;
}

struct Layout {
  int key_length;
  std::vector<Row> rows;
};

Layout read_layout(const std::string& dir, std::optional<int> forced, uint64_t* body_size_out) {
  ReadOnlyFile h(dir + "/header.bin"), b(dir + "/body.bin");
  if (starts_with_docfs_magic(dir + "/header.bin")) throw UsageError(EINVAL, dir + " is a docfs store, not a Jina DAM");
  if (h.size() > kMaxHeaderBytes) throw UsageError(EFBIG, dir + "/header.bin is larger than docfs reads (4 GiB)");
  std::string header = h.read(0, static_cast<size_t>(h.size()));
  *body_size_out = b.size();
  if (forced) {
    if (*forced < 1 || *forced > kMaxKeyLength) throw UsageError(EINVAL, "key length must be 1.." + std::to_string(kMaxKeyLength));
    auto rows = rows_with(header, b.size(), *forced);
    if (!rows)
      throw UsageError(EINVAL, dir + " does not read as a Jina DAM with key length " + std::to_string(*forced) +
                                   " (header.bin is " + std::to_string(header.size()) + " bytes)");
    return {*forced, std::move(*rows)};
  }
  // Jina's default first; then every other length, smallest first. Two lengths that both
  // fit are ambiguous only if neither is 36; then the user says which.
  if (auto rows = rows_with(header, b.size(), 36)) return {36, std::move(*rows)};
  std::vector<int> fits;
  std::optional<std::vector<Row>> first;
  for (int k = 1; k <= kMaxKeyLength && fits.size() < 2; ++k) {
    if (auto rows = rows_with(header, b.size(), k)) {
      fits.push_back(k);
      if (!first) first = std::move(rows);
    }
  }
  if (fits.empty())
    throw UsageError(EINVAL, dir + " is not a Jina DocumentArrayMemmap: no key length makes header.bin (" +
                                 std::to_string(header.size()) + " bytes) rows of UTF-32 ids and offsets inside body.bin");
  if (fits.size() > 1)
    throw UsageError(EINVAL, dir + ": header.bin reads as a Jina DAM with key length " + std::to_string(fits[0]) +
                                 " and " + std::to_string(fits[1]) + "; say which with --key-length N");
  return {fits[0], std::move(*first)};
}

// The document id inside a DocumentProto without parsing the rest: field 1, a string,
// which protobuf writers put first.
std::string full_id_of(const std::string& proto) {
  if (proto.size() < 2 || static_cast<unsigned char>(proto[0]) != 0x0a) return "";
  uint64_t len = 0;
  int shift = 0;
  size_t i = 1;
  for (; i < proto.size() && shift < 64; ++i, shift += 7) {
    len |= static_cast<uint64_t>(proto[i] & 0x7f) << shift;
    if (!(proto[i] & 0x80)) break;
  }
  ++i;
  if (i > proto.size() || len > proto.size() - i) return "";
  return proto.substr(i, static_cast<size_t>(len));
}

class JinaDamSource : public DocumentSource {
 public:
  JinaDamSource(const std::string& dir, std::optional<int> key_length, JinaDamInfo* info)
      : dir_(dir), body_(dir + "/body.bin") {
    uint64_t body_size = 0;
    Layout layout = read_layout(dir, key_length, &body_size);
    info_.key_length = layout.key_length;
    info_.rows = layout.rows.size();
    rows_ = std::move(layout.rows);
    // Which row wins for each full id: the last one, as Jina's reopen keeps the last row
    // of each id. Reads each live row's id only (the first field of its protobuf).
    std::map<std::string, size_t> last_row;
    for (size_t i = 0; i < rows_.size(); ++i) {
      const Row& r = rows_[i];
      if (r.tombstone()) {
        ++info_.tombstones;
        continue;
      }
      std::string head = body_.read(static_cast<uint64_t>(r.p + r.r), static_cast<size_t>(std::min<int64_t>(r.rl - r.r, 4200)));
      std::string id = full_id_of(head);
      if (id.empty()) id = r.header_id;
      auto [it, fresh] = last_row.emplace(id, i);
      if (!fresh) {
        ++info_.superseded;
        it->second = i;
      }
    }
    for (const auto& [id, row] : last_row) {
      winners_.push_back(row);
      if (utf8_length(id) > static_cast<size_t>(info_.key_length)) ++info_.truncated_ids;
    }
    std::sort(winners_.begin(), winners_.end());
    info_.live = winners_.size();
    if (info) *info = info_;
  }

  std::optional<Document> next() override {
    if (next_ >= winners_.size()) return std::nullopt;
    const uint64_t index = next_++;
    const Row& r = rows_[winners_[index]];
    std::string bytes = body_.read(static_cast<uint64_t>(r.p + r.r), static_cast<size_t>(r.rl - r.r));
    try {
      return document_from_proto(bytes, ProtoSchema::kJina2);
    } catch (const Error& e) {
      throw BadDocument(index, r.header_id,
                        std::string(e.what()) + " (header row " + std::to_string(winners_[index]) + ", body.bin bytes " +
                            std::to_string(r.p + r.r) + ".." + std::to_string(r.p + r.rl) + ")");
    }
  }

 private:
  static size_t utf8_length(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xc0) != 0x80;
    return n;
  }

  std::string dir_;
  ReadOnlyFile body_;
  std::vector<Row> rows_;
  std::vector<size_t> winners_;
  size_t next_ = 0;
  JinaDamInfo info_;
};

}  // namespace

bool looks_like_jina_dam(const std::string& dir) {
  struct stat h, b;
  if (::stat((dir + "/header.bin").c_str(), &h) != 0 || ::stat((dir + "/body.bin").c_str(), &b) != 0) return false;
  if (!S_ISREG(h.st_mode) || !S_ISREG(b.st_mode)) return false;
  if (starts_with_docfs_magic(dir + "/header.bin") || starts_with_docfs_magic(dir + "/body.bin")) return false;
  try {
    uint64_t body_size;
    read_layout(dir, std::nullopt, &body_size);
    return true;
  } catch (const Error&) {
    return false;
  }
}

JinaDamInfo inspect_jina_dam(const std::string& dir, std::optional<int> key_length) {
  JinaDamInfo info;
  JinaDamSource src(dir, key_length, &info);
  return info;
}

std::unique_ptr<DocumentSource> jina_dam_source(const std::string& dir, std::optional<int> key_length,
                                                JinaDamInfo* info) {
  return std::make_unique<JinaDamSource>(dir, key_length, info);
}

}  // namespace docfs::interop
