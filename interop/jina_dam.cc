#include "interop/jina_dam.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <tuple>

#include "interop/docarray_proto.h"

namespace docfs::interop {
namespace {

constexpr int64_t kPageSize = 4096;  // mmap.ALLOCATIONGRANULARITY on Linux, as Jina used
constexpr int kMaxKeyLength = 4096;
constexpr int kJinaDefault = 36;
constexpr int64_t kMaxDocumentBytes = INT32_MAX;  // protobuf parses at most 2 GiB  // DocumentArrayMemmap(path, key_length=36)
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

// What utf32_id accepts, and not empty, without building the string.
bool utf32_id_ok(const char* b, int key_length) {
  bool ended = false;
  for (int i = 0; i < key_length; ++i) {
    uint32_t c = static_cast<unsigned char>(b[4 * i]) | static_cast<unsigned char>(b[4 * i + 1]) << 8 |
                 static_cast<unsigned char>(b[4 * i + 2]) << 16 | static_cast<uint32_t>(static_cast<unsigned char>(b[4 * i + 3])) << 24;
    if (c == 0) {
      if (i == 0) return false;
      ended = true;
    } else if (ended || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
      return false;
    }
  }
  return true;
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

// A row Jina's append() could have written: a non-empty UTF-32 id and either the tombstone
// (-1, -1, -1) or a page-aligned p, 0 <= r < 4096 and r < r+l (a DocumentProto is never
// empty: it has an id). Whether it points inside body.bin is checked apart: such a row is
// damaged, not a sign of the wrong key length. An all-zero row (NUL padding read with a
// wrong key length) is not well-formed.
bool well_formed(const Row& r) {
  if (r.header_id.empty()) return false;
  if (r.tombstone()) return true;
  return r.p >= 0 && r.p % kPageSize == 0 && r.r >= 0 && r.r < kPageSize && r.rl > r.r;
}

// A row's body.bin range, in unsigned arithmetic: p and r+l each fit in int64, not
// always their sum.
uint64_t start_of(const Row& r) { return static_cast<uint64_t>(r.p) + static_cast<uint64_t>(r.r); }
uint64_t end_of(const Row& r) { return static_cast<uint64_t>(r.p) + static_cast<uint64_t>(r.rl); }

bool inside(const Row& r, uint64_t body_size) {
  return r.tombstone() || (static_cast<uint64_t>(r.p) + static_cast<uint64_t>(r.rl) <= body_size);
}

Row row_at(const std::string& header, size_t off, int key_length, bool* id_ok) {
  const char* b = header.data() + off;
  auto id = utf32_id(b, key_length);
  *id_ok = id.has_value();
  return Row{id.value_or(""), le64(b + 4 * key_length), le64(b + 4 * key_length + 8), le64(b + 4 * key_length + 16)};
}

// How well header.bin reads with one key length. Rows must be mostly well-formed (a damaged
// store still has a few bad rows); a tail shorter than a row is a torn last append.
struct Fit {
  int key_length = 0;
  size_t full = 0;       // whole rows
  size_t good = 0;       // well-formed rows
  size_t in_body = 0;    // well-formed rows inside body.bin
  size_t chained = 0;    // live rows starting where the previous live row ended (append order)
  uint64_t tail = 0;     // bytes after the last whole row
  bool plausible() const { return full > 0 && good * 2 > full; }
  // Better first: the share of well-formed rows, of rows inside body.bin, of chained rows
  // (shares, not counts: a shorter key length has more rows), then no torn tail.
  auto rank() const {
    const double n = static_cast<double>(full ? full : 1);
    return std::tuple(static_cast<double>(good) / n, static_cast<double>(in_body) / n,
                      static_cast<double>(chained) / n, tail == 0);
  }
};

Fit fit(const std::string& header, uint64_t body_size, int key_length, bool give_up_early) {
  Fit f;
  f.key_length = key_length;
  const size_t row = 24 + 4 * static_cast<size_t>(key_length);
  f.full = header.size() / row;
  f.tail = header.size() % row;
  uint64_t last_end = 0;  // unsigned: p and r+l are each below 2^63, their sum fits
  for (size_t i = 0; i < f.full; ++i) {
    // The offsets first and the id without building it: this runs for every key length.
    const char* b = header.data() + i * row;
    Row r{"", le64(b + 4 * key_length), le64(b + 4 * key_length + 8), le64(b + 4 * key_length + 16)};
    const bool offsets_ok = r.tombstone() || (r.p >= 0 && r.p % kPageSize == 0 && r.r >= 0 && r.r < kPageSize && r.rl > r.r);
    if (offsets_ok && utf32_id_ok(b, key_length)) {
      ++f.good;
      if (inside(r, body_size)) ++f.in_body;
      if (!r.tombstone()) {
        if (static_cast<uint64_t>(r.p) + static_cast<uint64_t>(r.r) == last_end) ++f.chained;
        last_end = static_cast<uint64_t>(r.p) + static_cast<uint64_t>(r.rl);
      }
    } else if (give_up_early && i + 1 - f.good > 4 && (i + 1 - f.good) > f.good) {
      f.good = 0;  // clearly not this key length: stop reading
      return f;
    }
  }
  return f;
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
  std::vector<std::string> bad;  // per row: "" or why the row cannot be read
  uint64_t tail = 0;
};

Layout read_layout(const std::string& dir, std::optional<int> forced, uint64_t* body_size_out) {
  ReadOnlyFile h(dir + "/header.bin"), b(dir + "/body.bin");
  if (starts_with_docfs_magic(dir + "/header.bin")) throw UsageError(EINVAL, dir + " is a docfs store, not a Jina DAM");
  if (h.size() > kMaxHeaderBytes) throw UsageError(EFBIG, dir + "/header.bin is larger than docfs reads (4 GiB)");
  std::string header = h.read(0, static_cast<size_t>(h.size()));
  *body_size_out = b.size();
  const uint64_t body_size = b.size();
  Fit chosen;
  if (forced) {
    if (*forced < 1 || *forced > kMaxKeyLength) throw UsageError(EINVAL, "key length must be 1.." + std::to_string(kMaxKeyLength));
    chosen = fit(header, body_size, *forced, false);
    if (!chosen.plausible() && !header.empty())
      throw UsageError(EINVAL, dir + " does not read as a Jina DAM with key length " + std::to_string(*forced) +
                                   " (header.bin is " + std::to_string(header.size()) + " bytes, " +
                                   std::to_string(chosen.good) + " of " + std::to_string(chosen.full) +
                                   " rows well-formed)");
  } else if (header.empty()) {
    chosen.key_length = kJinaDefault;  // an empty DAM: any key length reads it
  } else {
    // Jina's default first: a whole, clean header with it is taken as is. Otherwise every
    // length is scored and the best taken; a tie not involving 36 is for the user to settle.
    chosen = fit(header, body_size, kJinaDefault, false);
    if (!(chosen.tail == 0 && chosen.good == chosen.full && chosen.in_body == chosen.full && chosen.full > 0)) {
      std::vector<Fit> fits;
      for (int k = 1; k <= kMaxKeyLength; ++k)
        if (Fit f = fit(header, body_size, k, k != kJinaDefault); f.plausible()) fits.push_back(f);
      std::stable_sort(fits.begin(), fits.end(), [](const Fit& x, const Fit& y) {
        if (x.rank() != y.rank()) return x.rank() > y.rank();
        return x.key_length == kJinaDefault && y.key_length != kJinaDefault;
      });
      const Fit* best = fits.empty() ? nullptr : &fits[0];
      const Fit* second = fits.size() > 1 ? &fits[1] : nullptr;
      if (!best)
        throw UsageError(EINVAL, dir + " is not a Jina DocumentArrayMemmap: no key length makes header.bin (" +
                                     std::to_string(header.size()) +
                                     " bytes) mostly rows of UTF-32 ids and page-split offsets");
      if (second && second->rank() == best->rank() && best->key_length != kJinaDefault)
        throw UsageError(EINVAL, dir + ": header.bin reads as a Jina DAM with key length " +
                                     std::to_string(std::min(best->key_length, second->key_length)) + " and " +
                                     std::to_string(std::max(best->key_length, second->key_length)) +
                                     "; say which with --key-length N");
      chosen = *best;
    }
  }
  Layout out{chosen.key_length, {}, {}, chosen.tail};
  const size_t row = 24 + 4 * static_cast<size_t>(chosen.key_length);
  out.rows.reserve(chosen.full);
  out.bad.reserve(chosen.full);
  for (size_t i = 0; i < chosen.full; ++i) {
    bool id_ok;
    Row r = row_at(header, i * row, chosen.key_length, &id_ok);
    std::string why;
    if (!id_ok || !well_formed(r))
      why = std::string(id_ok ? "" : "its id is not UTF-32 text; ") + "not a row Jina writes (p " + std::to_string(r.p) +
            ", r " + std::to_string(r.r) + ", r+l " + std::to_string(r.rl) + ")";
    else if (!inside(r, body_size))
      why = "it points at body.bin bytes " + std::to_string(static_cast<uint64_t>(r.p) + static_cast<uint64_t>(r.r)) +
            ".." + std::to_string(static_cast<uint64_t>(r.p) + static_cast<uint64_t>(r.rl)) +
            ", past its end (" + std::to_string(body_size) + " bytes)";
    else if (!r.tombstone() && r.rl - r.r > kMaxDocumentBytes)
      why = "its document is " + std::to_string(r.rl - r.r) + " bytes, more than protobuf reads (2 GiB)";
    out.rows.push_back(std::move(r));
    out.bad.push_back(std::move(why));
  }
  return out;
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
    row_size_ = 24 + 4 * static_cast<uint64_t>(layout.key_length);
    if (layout.tail) {
      info_.torn_tail_bytes = layout.tail;
      info_.warnings.push_back("header.bin ends in a torn row: its last " + std::to_string(layout.tail) +
                               " bytes (from byte " + std::to_string(info_.rows * row_size_) +
                               ") are not a whole row of " + std::to_string(row_size_) + " bytes; ignored");
    }
    struct stat st;
    if (::stat((dir + "/embeddings.bin").c_str(), &st) == 0)
      info_.warnings.push_back("embeddings.bin is present (a later Jina 2.x writes one); docfs does not read it: "
                               "each document's embedding comes from its own record in body.bin");
    rows_ = std::move(layout.rows);
    bad_ = std::move(layout.bad);
    // Which row wins for each full id: the last one, as Jina's reopen keeps the last row
    // of each id. Reads each live row's id only (the first field of its protobuf). A row
    // that cannot be read is reported where it stands and replaces nothing.
    std::map<std::string, size_t> last_row;
    for (size_t i = 0; i < rows_.size(); ++i) {
      const Row& r = rows_[i];
      if (!bad_[i].empty()) {
        ++info_.bad_rows;
        order_.push_back(i);
        continue;
      }
      if (r.tombstone()) {
        ++info_.tombstones;
        continue;
      }
      std::string head = body_.read(start_of(r), static_cast<size_t>(std::min<int64_t>(r.rl - r.r, 4200)));
      std::string id = full_id_of(head);
      if (id.empty()) id = r.header_id;
      auto [it, fresh] = last_row.emplace(id, i);
      if (!fresh) {
        ++info_.superseded;
        it->second = i;
      }
    }
    for (const auto& [id, row] : last_row) {
      order_.push_back(row);
      if (utf8_length(id) > static_cast<size_t>(info_.key_length)) ++info_.truncated_ids;
    }
    std::sort(order_.begin(), order_.end());
    info_.live = last_row.size();
    if (info) *info = info_;
  }

  std::optional<Document> next() override {
    if (next_ >= order_.size()) return std::nullopt;
    const size_t row = order_[next_++];
    const Row& r = rows_[row];
    const std::string where = "header row " + std::to_string(row) + " at header.bin byte " + std::to_string(row * row_size_);
    if (!bad_[row].empty()) throw BadDocument(row, r.header_id, where + ": " + bad_[row]);
    std::string bytes = body_.read(start_of(r), static_cast<size_t>(r.rl - r.r));
    try {
      return document_from_proto(bytes, ProtoSchema::kJina2);
    } catch (const Error& e) {
      throw BadDocument(row, r.header_id,
                        std::string(e.what()) + " (" + where + ", body.bin bytes " + std::to_string(start_of(r)) + ".." +
                            std::to_string(end_of(r)) + ")");
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
  std::vector<std::string> bad_;
  std::vector<size_t> order_;  // rows to hand out: the winning row of each id, and bad rows
  uint64_t row_size_ = 0;
  size_t next_ = 0;
  JinaDamInfo info_;
};

}  // namespace

bool looks_like_jina_dam(const std::string& dir, std::optional<int> key_length) {
  struct stat h, b;
  if (::stat((dir + "/header.bin").c_str(), &h) != 0 || ::stat((dir + "/body.bin").c_str(), &b) != 0) return false;
  if (!S_ISREG(h.st_mode) || !S_ISREG(b.st_mode)) return false;
  if (starts_with_docfs_magic(dir + "/header.bin") || starts_with_docfs_magic(dir + "/body.bin")) return false;
  try {
    uint64_t body_size;
    read_layout(dir, key_length, &body_size);
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
