#include "core/document.h"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <algorithm>
#include <bit>
#include <cmath>
#include <chrono>
#include <cstring>
#include <tuple>
#include <sstream>

#include "core/error.h"

namespace docfs {

IdError check_id(std::string_view id) {
  if (id.empty()) return IdError::kEmpty;
  if (id.size() > kMaxIdBytes) return IdError::kTooLong;
  if (id.find('\0') != std::string_view::npos) return IdError::kNul;
  size_t start = 0;
  while (true) {
    size_t slash = id.find('/', start);
    std::string_view part =
        id.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty()) return IdError::kEmptyPart;
    if (part.size() > kMaxIdPartBytes) return IdError::kPartTooLong;
    if (part == "." || part == "..") return IdError::kDotPart;
    if (slash == std::string_view::npos) return IdError::kOk;
    start = slash + 1;
  }
}

std::string describe_id_error(IdError e, std::string_view id) {
  auto shown = [&] {
    std::string s(id.substr(0, 64));
    for (char& c : s)
      if (c == '\0') c = '?';
    return "'" + s + (id.size() > 64 ? "...'" : "'");
  };
  switch (e) {
    case IdError::kOk:
      return "id " + shown() + " is valid";
    case IdError::kEmpty:
      return "id is empty";
    case IdError::kTooLong:
      return "id is " + std::to_string(id.size()) + " bytes, the limit is " +
             std::to_string(kMaxIdBytes);
    case IdError::kPartTooLong: {
      size_t longest = 0, start = 0;
      while (start <= id.size()) {
        size_t slash = id.find('/', start);
        size_t end = slash == std::string_view::npos ? id.size() : slash;
        longest = std::max(longest, end - start);
        start = end + 1;
      }
      return "id " + shown() + " has a part of " + std::to_string(longest) +
             " bytes, the limit is " + std::to_string(kMaxIdPartBytes);
    }
    case IdError::kEmptyPart:
      return "id " + shown() + " has an empty part (leading, trailing or double '/')";
    case IdError::kDotPart:
      return "id " + shown() + " has a '.' or '..' part";
    case IdError::kNul:
      return "id " + shown() + " contains a NUL byte";
  }
  return "invalid id";
}

namespace {

// A tag as stored: a string as its bytes, anything else as JSON text.
std::string tag_wire(const TagValue& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// What cereal writes. The id is not part of it: the record and header entry carry it.
// Loading does not trust lengths: cereal would resize a string or vector to whatever a
// corrupt length says, so every length is checked against the input size first, and
// nesting (chunks, matches, score operands, JSON values) is bounded by kMaxNestingDepth.
//
// Versions: 1 is the first; 2 adds rdev; 3 types the tags (JSON text per value, was a
// string), makes the embedding an n-d array with dtype (was float32 values) and adds the
// DocArray/Jina fields. Older records load as they are and are written back as version 3
// when their document next changes: nothing is rewritten wholesale.
struct MetaWire {
  DocumentMeta* m;
  size_t input_size = 0;

  template <class Archive>
  void save(Archive& ar, const std::uint32_t /*version*/) const {
    save_meta(ar, *m, 0);
  }
  template <class Archive>
  void load(Archive& ar, const std::uint32_t version) {
    load_meta(ar, *m, version, 0);
  }

  template <class Archive>
  static void save_meta(Archive& ar, const DocumentMeta& m, int depth) {
    // What load would refuse is never written.
    if (depth > kMaxNestingDepth)
      throw UsageError(EINVAL, "chunks/matches nest deeper than " + std::to_string(kMaxNestingDepth) + " levels");
    ar(m.mime_type, m.uri);
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(m.tags.size())));
    // A string tag is kept as its bytes (an xattr may hold any bytes), any other as JSON.
    for (const auto& [k, v] : m.tags) ar(k, static_cast<uint8_t>(v.is_string() ? 0 : 1), tag_wire(v));
    save_ndarray(ar, m.embedding);
    ar(m.mode, m.uid, m.gid, m.mtime_ns, m.ctime_ns, m.rdev);
    ar(static_cast<uint8_t>(m.content_field), m.parent_id, m.granularity, m.adjacency, m.weight,
       m.modality, m.offset, m.location);
    save_scores(ar, m.scores);
    save_scores(ar, m.evaluations);
    ar(m.metadata.is_null() ? std::string() : m.metadata.dump(), m.content_hash);
    ar(m.foreign_format, m.foreign_class, m.foreign_record);
    for (const auto* docs : {&m.chunks, &m.matches}) {
      ar(cereal::make_size_tag(static_cast<cereal::size_type>(docs->size())));
      for (const Document& d : *docs) {
        ar(d.meta.id);
        save_meta(ar, d.meta, depth + 1);
        ar(d.content);
      }
    }
  }
  template <class Archive>
  static void save_ndarray(Archive& ar, const NdArray& a) {
    ar(a.dtype, a.shape, a.data, a.cls_name);
  }
  template <class Archive>
  static void save_score(Archive& ar, const NamedScore& s) {
    ar(s.value, s.op_name, s.description, s.ref_id);
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(s.operands.size())));
    for (const NamedScore& o : s.operands) save_score(ar, o);
  }
  template <class Archive>
  static void save_scores(Archive& ar, const std::map<std::string, NamedScore>& scores) {
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(scores.size())));
    for (const auto& [k, s] : scores) {
      ar(k);
      save_score(ar, s);
    }
  }

  template <class Archive>
  void load_meta(Archive& ar, DocumentMeta& m, std::uint32_t version, int depth) {
    if (depth > kMaxNestingDepth) throw FormatError("documents nest deeper than " + std::to_string(kMaxNestingDepth));
    load_string(ar, m.mime_type);
    load_string(ar, m.uri);
    cereal::size_type n = checked_size(ar, 2);
    for (cereal::size_type i = 0; i < n; ++i) {
      std::string k, v;
      uint8_t is_json = 0;
      load_string(ar, k);
      if (version >= 3) ar(is_json);
      load_string(ar, v);
      m.tags[std::move(k)] = is_json ? parse_json_limited(v) : TagValue(std::move(v));
    }
    if (version >= 3) {
      load_ndarray(ar, m.embedding);
    } else {
      n = checked_size(ar, sizeof(float));
      std::vector<float> v(n);
      ar(cereal::binary_data(v.data(), n * sizeof(float)));
      if (n) m.embedding = NdArray::float32(v);
    }
    ar(m.mode, m.uid, m.gid, m.mtime_ns, m.ctime_ns);
    if (version >= 2) ar(m.rdev);
    if (version < 3) return;
    uint8_t field;
    ar(field);
    if (field > static_cast<uint8_t>(ContentField::kUri)) throw FormatError("unknown content field " + std::to_string(field));
    m.content_field = static_cast<ContentField>(field);
    load_string(ar, m.parent_id);
    ar(m.granularity, m.adjacency, m.weight);
    load_string(ar, m.modality);
    ar(m.offset);
    n = checked_size(ar, sizeof(double));
    m.location.resize(n);
    ar(cereal::binary_data(m.location.data(), n * sizeof(double)));
    load_scores(ar, m.scores);
    load_scores(ar, m.evaluations);
    std::string metadata;
    load_string(ar, metadata);
    if (!metadata.empty()) m.metadata = parse_json_limited(metadata);
    load_string(ar, m.content_hash);
    load_string(ar, m.foreign_format);
    load_string(ar, m.foreign_class);
    load_string(ar, m.foreign_record);
    for (auto* docs : {&m.chunks, &m.matches}) {
      n = checked_size(ar, 8);
      for (cereal::size_type i = 0; i < n; ++i) {
        Document d;
        load_string(ar, d.meta.id);
        load_meta(ar, d.meta, version, depth + 1);
        load_string(ar, d.content);
        docs->push_back(std::move(d));
      }
    }
  }
  template <class Archive>
  void load_ndarray(Archive& ar, NdArray& a) {
    load_string(ar, a.dtype);
    cereal::size_type n = checked_size(ar, sizeof(uint64_t));
    a.shape.resize(n);
    ar(cereal::binary_data(a.shape.data(), n * sizeof(uint64_t)));
    load_string(ar, a.data);
    load_string(ar, a.cls_name);
  }
  template <class Archive>
  void load_score(Archive& ar, NamedScore& s, int depth) {
    if (depth > kMaxNestingDepth) throw FormatError("scores nest deeper than " + std::to_string(kMaxNestingDepth));
    ar(s.value);
    load_string(ar, s.op_name);
    load_string(ar, s.description);
    load_string(ar, s.ref_id);
    cereal::size_type n = checked_size(ar, 8);
    s.operands.resize(n);
    for (NamedScore& o : s.operands) load_score(ar, o, depth + 1);
  }
  template <class Archive>
  void load_scores(Archive& ar, std::map<std::string, NamedScore>& scores) {
    cereal::size_type n = checked_size(ar, 8);
    for (cereal::size_type i = 0; i < n; ++i) {
      std::string k;
      load_string(ar, k);
      load_score(ar, scores[std::move(k)], 0);
    }
  }

  template <class Archive>
  cereal::size_type checked_size(Archive& ar, size_t min_bytes_each) {
    cereal::size_type n;
    ar(cereal::make_size_tag(n));
    if (n > input_size / min_bytes_each) throw FormatError("length " + std::to_string(n) + " exceeds the record");
    return n;
  }
  template <class Archive>
  void load_string(Archive& ar, std::string& s) {
    s.resize(checked_size(ar, 1));
    ar(cereal::binary_data(s.data(), s.size()));
  }
};

}  // namespace
}  // namespace docfs

CEREAL_CLASS_VERSION(docfs::MetaWire, 3);

namespace docfs {

bool DocumentMeta::operator==(const DocumentMeta& o) const {
  auto key = [](const DocumentMeta& m) {
    return std::tie(m.id, m.mime_type, m.uri, m.tags, m.embedding, m.mode, m.uid, m.gid, m.mtime_ns,
                    m.ctime_ns, m.rdev, m.content_field, m.parent_id, m.granularity, m.adjacency,
                    m.weight, m.modality, m.offset, m.location, m.scores, m.evaluations, m.metadata,
                    m.content_hash, m.chunks, m.matches, m.foreign_format, m.foreign_class, m.foreign_record);
  };
  return key(*this) == key(o);
}

NdArray NdArray::float32(const std::vector<float>& v) {
  NdArray a;
  a.dtype = "<f4";
  a.shape = {v.size()};
  a.data.resize(v.size() * 4);
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t bits = std::bit_cast<uint32_t>(v[i]);
    if constexpr (std::endian::native == std::endian::big) bits = __builtin_bswap32(bits);
    std::memcpy(a.data.data() + i * 4, &bits, 4);
  }
  return a;
}

std::optional<std::vector<float>> NdArray::as_float32() const {
  if (dtype != "<f4" || shape.size() != 1 || data.size() != shape[0] * 4) return std::nullopt;
  std::vector<float> v(shape[0]);
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, data.data() + i * 4, 4);
    if constexpr (std::endian::native == std::endian::big) bits = __builtin_bswap32(bits);
    v[i] = std::bit_cast<float>(bits);
  }
  return v;
}

namespace {

double half_to_double(uint16_t h) {
  int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v = exp == 0 ? std::ldexp(mant, -24) : exp == 31 ? (mant ? NAN : INFINITY) : std::ldexp(mant + 1024, exp - 25);
  return (h & 0x8000) ? -v : v;
}

}  // namespace

std::optional<std::vector<double>> NdArray::to_doubles() const {
  size_t each = dtype_size(dtype);
  if (each == 0 || each > 8 || !check_ndarray(*this).empty()) return std::nullopt;
  const bool swap = (dtype[0] == '>') == (std::endian::native == std::endian::little) && each > 1;
  const char kind = dtype[1];
  std::vector<double> out(data.size() / each);
  for (size_t i = 0; i < out.size(); ++i) {
    unsigned char b[8];
    std::memcpy(b, data.data() + i * each, each);
    if (swap) std::reverse(b, b + each);
    uint64_t u = 0;
    std::memcpy(&u, b, each);  // little-endian host: the low bytes
    if (kind == 'f') {
      out[i] = each == 2 ? half_to_double(static_cast<uint16_t>(u))
               : each == 4 ? static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(u)))
                           : std::bit_cast<double>(u);
    } else if (kind == 'i') {
      int shift = 64 - static_cast<int>(each) * 8;
      out[i] = static_cast<double>(static_cast<int64_t>(u << shift) >> shift);
    } else {
      out[i] = static_cast<double>(u);
    }
  }
  return out;
}

size_t dtype_size(std::string_view dtype) {
  // numpy's array-protocol strings: byte order (<, >, |, =), kind, size in bytes.
  if (dtype.size() < 3 || std::string_view("<>|=").find(dtype[0]) == std::string_view::npos) return 0;
  char kind = dtype[1];
  std::string_view digits = dtype.substr(2);
  if (std::string_view("fiub").find(kind) == std::string_view::npos) return 0;
  size_t size = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    size = size * 10 + static_cast<size_t>(c - '0');
    if (size > 16) return 0;
  }
  if (kind == 'f' && size != 2 && size != 4 && size != 8 && size != 16) return 0;
  if ((kind == 'i' || kind == 'u') && size != 1 && size != 2 && size != 4 && size != 8) return 0;
  if (kind == 'b' && size != 1) return 0;
  return size;
}

std::string check_ndarray(const NdArray& a) {
  size_t each = dtype_size(a.dtype);
  if (each == 0) return "dtype '" + a.dtype.substr(0, 32) + "' is not one docfs keeps (float, int, uint or bool)";
  unsigned __int128 n = each;
  for (uint64_t d : a.shape) {
    n *= d;
    if (n > (static_cast<unsigned __int128>(1) << 62)) return "shape is too large";
  }
  if (n != a.data.size())
    return "shape and dtype make " + std::to_string(static_cast<uint64_t>(n)) + " bytes, the data has " +
           std::to_string(a.data.size());
  return "";
}

std::string tag_text(const TagValue& v) {
  return v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, TagValue::error_handler_t::replace);
}

TagValue parse_json_limited(std::string_view text, int max_depth) {
  try {
    return TagValue::parse(text, [max_depth](int depth, TagValue::parse_event_t, TagValue&) {
      if (depth > max_depth) throw FormatError("JSON nests deeper than " + std::to_string(max_depth) + " levels");
      return true;
    });
  } catch (const TagValue::exception& e) {
    throw FormatError(std::string("not valid JSON: ") + e.what());
  }
}

std::string encode_meta(const DocumentMeta& meta) {
  std::ostringstream out(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(out);
    MetaWire w{const_cast<DocumentMeta*>(&meta), 0};
    ar(w);
  }
  return std::move(out).str();
}

DocumentMeta decode_meta(std::string_view bytes, std::string id) {
  DocumentMeta meta;
  meta.id = std::move(id);
  // Callers verify the record CRC first, so malformed bytes here mean a foreign or
  // hand-made record; cereal's own errors (short input, bad sizes) become FormatError.
  std::istringstream in(std::string(bytes), std::ios::binary);
  try {
    cereal::PortableBinaryInputArchive ar(in);
    MetaWire w{&meta, bytes.size()};
    ar(w);
  } catch (const FormatError& e) {
    throw FormatError(std::string("document metadata is malformed: ") + e.what());
  } catch (const std::exception& e) {
    throw FormatError(std::string("document metadata is malformed: ") + e.what());
  }
  return meta;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string guess_mime(std::string_view name) {
  static const std::pair<const char*, const char*> table[] = {
      {".txt", "text/plain"},       {".md", "text/markdown"},    {".csv", "text/csv"},
      {".html", "text/html"},       {".json", "application/json"}, {".pdf", "application/pdf"},
      {".png", "image/png"},        {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},        {".wav", "audio/wav"},       {".mp3", "audio/mpeg"},
      {".mp4", "video/mp4"},        {".npy", "application/x-npy"}};
  for (auto [ext, mime] : table) {
    std::string_view e = ext;
    if (name.size() >= e.size() && name.substr(name.size() - e.size()) == e) return mime;
  }
  return "";
}

}  // namespace docfs
