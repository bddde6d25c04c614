#include "core/document.h"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <chrono>
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

// What cereal writes. The id is not part of it: the record and header entry carry it.
// Loading does not trust lengths: cereal would resize a string or vector to whatever a
// corrupt length says, so every length is checked against the input size first.
struct MetaWire {
  DocumentMeta* m;
  size_t input_size = 0;

  template <class Archive>
  void save(Archive& ar, const std::uint32_t /*version*/) const {
    ar(m->mime_type, m->uri, m->tags, m->embedding, m->mode, m->uid, m->gid, m->mtime_ns,
       m->ctime_ns, m->rdev);
  }

  // Version 1 is the first; later fields go behind `if (version >= 2)` in load. Version 2
  // adds rdev (records of version 1 read as rdev 0: nothing is rewritten).
  template <class Archive>
  void load(Archive& ar, const std::uint32_t version) {
    load_string(ar, m->mime_type);
    load_string(ar, m->uri);
    cereal::size_type n = checked_size(ar, 2);
    for (cereal::size_type i = 0; i < n; ++i) {
      std::string k, v;
      load_string(ar, k);
      load_string(ar, v);
      m->tags[std::move(k)] = std::move(v);
    }
    n = checked_size(ar, sizeof(float));
    m->embedding.resize(n);
    ar(cereal::binary_data(m->embedding.data(), n * sizeof(float)));
    ar(m->mode, m->uid, m->gid, m->mtime_ns, m->ctime_ns);
    if (version >= 2) ar(m->rdev);
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

CEREAL_CLASS_VERSION(docfs::MetaWire, 2);

namespace docfs {

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
