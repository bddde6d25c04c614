#include "core/store_format.h"

#include <cstring>

#include "core/crc32c.h"

namespace docfs::format {
namespace {

template <class T>
void put_le(std::string& out, T v) {
  char b[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) b[i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
  out.append(b, sizeof(T));
}

template <class T>
T get_le(const char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return static_cast<T>(v);
}

// Reads fields off a payload, remembering whether it ran past the end.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  template <class T>
  T num() {
    if (s_.size() - pos_ < sizeof(T)) {
      bad_ = true;
      return 0;
    }
    T v = get_le<T>(s_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  // Assigns into `out`, reusing its buffer (replay decodes millions of ids).
  void str(std::string& out) {
    uint32_t n = num<uint32_t>();
    if (bad_ || s_.size() - pos_ < n) {
      bad_ = true;
      out.clear();
      return;
    }
    out.assign(s_.data() + pos_, n);
    pos_ += n;
  }
  bool ok_and_done() const { return !bad_ && pos_ == s_.size(); }
  uint64_t left() const { return bad_ ? 0 : s_.size() - pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  bool bad_ = false;
};

void put_str(std::string& out, std::string_view s) {
  put_le<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

}  // namespace

std::string encode_file_header(std::string_view magic, const FileHeader& h) {
  std::string out(magic);
  put_le<uint32_t>(out, h.version);
  put_le<uint32_t>(out, 0);
  put_le<uint64_t>(out, h.generation);
  put_le<uint32_t>(out, crc32c::value(out));
  put_le<uint32_t>(out, 0);
  return out;
}

std::optional<std::string> decode_file_header(std::string_view b, std::string_view magic,
                                              FileHeader* out) {
  if (b.size() < kFileHeaderSize) return "file is shorter than its 32-byte file header";
  if (b.substr(0, 8) != magic)
    return "bad magic (not a docfs " + std::string(magic) + " file)";
  if (get_le<uint32_t>(b.data() + 24) != crc32c::value(b.data(), 24))
    return "file header checksum mismatch";
  out->version = get_le<uint32_t>(b.data() + 8);
  out->generation = get_le<uint64_t>(b.data() + 16);
  if (out->version > kFormatVersion)
    return "format version " + std::to_string(out->version) + " is newer than this build (" +
           std::to_string(kFormatVersion) + "); upgrade docfs";
  if (out->version == 0) return "format version 0 is invalid";
  return std::nullopt;
}

std::string encode_entry(const Entry& e) {
  std::string payload;
  payload.push_back(static_cast<char>(e.type));
  switch (e.type) {
    case EntryType::kPut:
    case EntryType::kPutExtents:
    case EntryType::kPutExtentSpans:
    case EntryType::kPatchExtents: {
      const PutEntry& p = e.put;
      put_str(payload, p.id);
      put_le<uint64_t>(payload, p.record_off);
      put_le<uint32_t>(payload, p.meta_len);
      put_le<uint64_t>(payload, p.content_off);
      put_le<uint64_t>(payload, p.content_len);
      put_le<uint32_t>(payload, p.mode);
      put_le<uint32_t>(payload, p.uid);
      put_le<uint32_t>(payload, p.gid);
      put_le<int64_t>(payload, p.mtime_ns);
      put_le<int64_t>(payload, p.ctime_ns);
      if (e.type == EntryType::kPatchExtents) {
        put_le<uint32_t>(payload, static_cast<uint32_t>(p.removed.size()));
        for (uint64_t off : p.removed) put_le<uint64_t>(payload, off);
      }
      if (has_extents(e.type) || e.type == EntryType::kPatchExtents) {
        put_le<uint32_t>(payload, static_cast<uint32_t>(p.extents.size()));
        for (const Extent& x : p.extents) {
          put_le<uint64_t>(payload, x.file_off);
          put_le<uint64_t>(payload, x.len);
          put_le<uint64_t>(payload, x.body_off);
          put_le<uint32_t>(payload, x.crc);
          if (e.type != EntryType::kPutExtents) {
            put_le<uint64_t>(payload, x.crc_off);
            put_le<uint64_t>(payload, x.crc_len);
          }
        }
      }
      break;
    }
    case EntryType::kDelete:
      put_str(payload, e.put.id);
      break;
    case EntryType::kRename:
    case EntryType::kLink:
      put_str(payload, e.put.id);
      put_str(payload, e.to);
      break;
    case EntryType::kClear:
      break;
  }
  std::string out;
  out.reserve(kEntryPrefixSize + payload.size());
  put_le<uint32_t>(out, 0);  // crc, filled below
  put_le<uint32_t>(out, static_cast<uint32_t>(payload.size()));
  out += payload;
  uint32_t crc = crc32c::value(out.data() + 4, out.size() - 4);
  std::string crc_bytes;
  put_le<uint32_t>(crc_bytes, crc);
  out.replace(0, 4, crc_bytes);
  return out;
}

DecodeStatus decode_entry(std::string_view b, Entry* out, size_t* consumed, std::string* why) {
  if (b.size() < kEntryPrefixSize) return DecodeStatus::kIncomplete;
  uint32_t crc = get_le<uint32_t>(b.data());
  uint32_t len = get_le<uint32_t>(b.data() + 4);
  if (len == 0 || len > kMaxEntryLength) {
    *why = "entry length " + std::to_string(len) + " is out of range";
    return DecodeStatus::kCorrupt;
  }
  if (b.size() - kEntryPrefixSize < len) return DecodeStatus::kIncomplete;
  if (crc32c::value(b.data() + 4, 4 + len) != crc) {
    *why = "entry checksum mismatch";
    return DecodeStatus::kCorrupt;
  }
  Cursor c(b.substr(kEntryPrefixSize + 1, len - 1));
  // Decoded straight into *out so its strings keep their buffers from call to call.
  Entry& e = *out;
  e.type = static_cast<EntryType>(static_cast<uint8_t>(b[kEntryPrefixSize]));
  switch (e.type) {
    case EntryType::kPut:
    case EntryType::kPutExtents:
    case EntryType::kPutExtentSpans:
    case EntryType::kPatchExtents:
      c.str(e.put.id);
      e.put.record_off = c.num<uint64_t>();
      e.put.meta_len = c.num<uint32_t>();
      e.put.content_off = c.num<uint64_t>();
      e.put.content_len = c.num<uint64_t>();
      e.put.mode = c.num<uint32_t>();
      e.put.uid = c.num<uint32_t>();
      e.put.gid = c.num<uint32_t>();
      e.put.mtime_ns = c.num<int64_t>();
      e.put.ctime_ns = c.num<int64_t>();
      e.put.extents.clear();
      e.put.removed.clear();
      if (e.type == EntryType::kPatchExtents) {
        // Limits first: the removed offsets and the count after them must fit the payload.
        const uint32_t r = c.num<uint32_t>();
        if (r > kMaxExtents || uint64_t{r} * 8 + 4 > c.left()) {
          *why = "removed extent count " + std::to_string(r) + " does not match the entry length";
          return DecodeStatus::kCorrupt;
        }
        e.put.removed.resize(r);
        for (uint64_t& off : e.put.removed) off = c.num<uint64_t>();
      }
      if (has_extents(e.type) || e.type == EntryType::kPatchExtents) {
        // Limits first: the count must fit what is left of the payload.
        const bool spans = e.type != EntryType::kPutExtents;
        const uint32_t n = c.num<uint32_t>();
        if (n > kMaxExtents || uint64_t{n} * (spans ? kSpanExtentSize : kExtentSize) != c.left()) {
          *why = "extent count " + std::to_string(n) + " does not match the entry length";
          return DecodeStatus::kCorrupt;
        }
        e.put.extents.resize(n);
        for (Extent& x : e.put.extents) {
          x.file_off = c.num<uint64_t>();
          x.len = c.num<uint64_t>();
          x.body_off = c.num<uint64_t>();
          x.crc = c.num<uint32_t>();
          x.crc_off = spans ? c.num<uint64_t>() : 0;
          x.crc_len = spans ? c.num<uint64_t>() : 0;
        }
        // A patch's added extents alone must be a valid (partial) list of the new size.
        if (auto bad = check_extents(e.put.extents, e.put.content_len)) {
          *why = *bad;
          return DecodeStatus::kCorrupt;
        }
      }
      break;
    case EntryType::kDelete:
      c.str(e.put.id);
      break;
    case EntryType::kRename:
    case EntryType::kLink:
      c.str(e.put.id);
      c.str(e.to);
      break;
    case EntryType::kClear:
      break;
    default:
      *why = "unknown entry type " + std::to_string(static_cast<int>(e.type));
      return DecodeStatus::kCorrupt;
  }
  if (!c.ok_and_done()) {
    *why = "entry payload does not match its type";
    return DecodeStatus::kCorrupt;
  }
  *consumed = kEntryPrefixSize + len;
  return DecodeStatus::kOk;
}

std::optional<std::string> apply_patch(const std::vector<Extent>& base, const PutEntry& p, std::vector<Extent>* out) {
  out->clear();
  out->reserve(base.size() - std::min(base.size(), p.removed.size()) + p.extents.size());
  size_t r = 0, a = 0;
  for (const Extent& x : base) {
    if (r < p.removed.size() && p.removed[r] == x.file_off) {
      ++r;
      continue;
    }
    while (a < p.extents.size() && p.extents[a].file_off < x.file_off) out->push_back(p.extents[a++]);
    out->push_back(x);
  }
  while (a < p.extents.size()) out->push_back(p.extents[a++]);
  if (r != p.removed.size())
    return "the previous version has no extent at file offset " + std::to_string(p.removed[r]) + " to remove";
  return check_extents(*out, p.content_len);
}

void make_patch(const std::vector<Extent>& base, const std::vector<Extent>& target, PutEntry* p) {
  p->removed.clear();
  p->extents.clear();
  size_t i = 0, j = 0;
  while (i < base.size() || j < target.size()) {
    if (i < base.size() && j < target.size() && base[i] == target[j]) {
      ++i, ++j;
    } else if (j == target.size() || (i < base.size() && base[i].file_off <= target[j].file_off)) {
      // Gone or changed (the same offset with other bytes: removed, then added below).
      p->removed.push_back(base[i++].file_off);
    } else {
      p->extents.push_back(target[j++]);
    }
  }
}

EntryType extents_entry_type(const std::vector<Extent>& xs) {
  for (const Extent& x : xs)
    if (!x.own_crc()) return EntryType::kPutExtentSpans;
  return EntryType::kPutExtents;
}

std::optional<std::string> check_extents(const std::vector<Extent>& xs, uint64_t size) {
  if (size > kMaxContentSize) return "size " + std::to_string(size) + " is beyond the largest file";
  if (xs.size() > kMaxExtents) return std::to_string(xs.size()) + " extents, the limit is " + std::to_string(kMaxExtents);
  uint64_t end = 0;
  for (const Extent& x : xs) {
    if (x.len == 0 || x.file_off < end || x.len > size || x.file_off > size - x.len ||
        x.body_off > kMaxContentSize)
      return "extent at file offset " + std::to_string(x.file_off) + " is empty, overlaps or lies past the end";
    if (x.crc_len != 0 && (x.crc_off > x.body_off || x.crc_len > kMaxContentSize ||
                           x.body_off - x.crc_off > x.crc_len - std::min(x.crc_len, x.len) || x.len > x.crc_len))
      return "extent at file offset " + std::to_string(x.file_off) + " lies outside the range its checksum covers";
    end = x.file_end();
  }
  return std::nullopt;
}

std::string encode_record_prefix(RecordHeader h, std::string_view id, std::string_view meta) {
  std::string out;
  out.reserve(kRecordHeaderSize + id.size() + meta.size());
  put_le<uint32_t>(out, 0);
  put_le<uint32_t>(out, h.content_crc);
  put_le<uint32_t>(out, static_cast<uint32_t>(id.size()));
  put_le<uint32_t>(out, static_cast<uint32_t>(meta.size()));
  put_le<uint64_t>(out, h.content_len);
  out.append(id);
  out.append(meta);
  std::string crc;
  put_le<uint32_t>(crc, record_meta_crc(out));
  out.replace(0, 4, crc);
  return out;
}

RecordHeader decode_record_header(std::string_view b) {
  RecordHeader h;
  h.meta_crc = get_le<uint32_t>(b.data());
  h.content_crc = get_le<uint32_t>(b.data() + 4);
  h.id_len = get_le<uint32_t>(b.data() + 8);
  h.meta_len = get_le<uint32_t>(b.data() + 12);
  h.content_len = get_le<uint64_t>(b.data() + 16);
  return h;
}

uint32_t record_meta_crc(std::string_view prefix) {
  return crc32c::value(prefix.data() + 4, prefix.size() - 4);
}

}  // namespace docfs::format
