#include "fs/xattr.h"

#include <sys/xattr.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "interop/docarray_json.h"

namespace docfs::fs {
namespace {

constexpr std::string_view kMime = "user.mime_type";
constexpr std::string_view kUri = "user.uri";
constexpr std::string_view kEmbedding = "user.embedding";
constexpr std::string_view kTagPrefix = "user.tag.";
constexpr std::string_view kDocArray = "user.docarray";

// Fields no other attribute shows: user.docarray is listed only when one is set, so
// `getfattr -d` stays short for plain files and `cp -a`/`rsync -X` still carry them.
bool has_docarray_only_fields(const DocumentMeta& m) {
  return !m.parent_id.empty() || m.granularity || m.adjacency || m.weight != 0 || !m.modality.empty() ||
         m.offset != 0 || !m.location.empty() || !m.scores.empty() || !m.evaluations.empty() ||
         !m.metadata.is_null() || !m.content_hash.empty() || !m.chunks.empty() || !m.matches.empty() ||
         (!m.embedding.empty() && !m.embedding.as_float32()) ||
         std::any_of(m.tags.begin(), m.tags.end(), [](const auto& t) { return !t.second.is_string(); });
}

static_assert(sizeof(float) == 4);

std::string encode_embedding(const std::vector<float>& v) {
  std::string out(v.size() * 4, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t bits = std::bit_cast<uint32_t>(v[i]);
    if constexpr (std::endian::native == std::endian::big) bits = __builtin_bswap32(bits);
    memcpy(out.data() + i * 4, &bits, 4);
  }
  return out;
}

std::vector<float> decode_embedding(std::string_view bytes) {
  std::vector<float> v(bytes.size() / 4);
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t bits;
    memcpy(&bits, bytes.data() + i * 4, 4);
    if constexpr (std::endian::native == std::endian::big) bits = __builtin_bswap32(bits);
    v[i] = std::bit_cast<float>(bits);
  }
  return v;
}

bool is_tag(std::string_view name) {
  return name.size() > kTagPrefix.size() && name.substr(0, kTagPrefix.size()) == kTagPrefix;
}

}  // namespace

std::optional<std::string> get_xattr(const DocumentMeta& meta, std::string_view name) {
  if (name == kMime) {
    if (!meta.mime_type.empty()) return meta.mime_type;
  } else if (name == kUri) {
    if (!meta.uri.empty()) return meta.uri;
  } else if (name == kEmbedding) {
    // Any other dtype is shown converted to float32, the attribute's one meaning; the exact
    // array is in user.docarray.
    if (auto v = meta.embedding.as_float32()) return encode_embedding(*v);
    if (auto d = meta.embedding.to_doubles()) return encode_embedding(std::vector<float>(d->begin(), d->end()));
  } else if (is_tag(name)) {
    auto it = meta.tags.find(std::string(name.substr(kTagPrefix.size())));
    if (it != meta.tags.end()) return tag_text(it->second);
  } else if (name == kDocArray) {
    return interop::document_to_json(Document{meta, ""}, false).dump();
  }
  return std::nullopt;
}

std::string list_xattrs(const DocumentMeta& meta) {
  std::string out;
  auto add = [&](std::string_view n) {
    out.append(n);
    out.push_back('\0');
  };
  if (!meta.mime_type.empty()) add(kMime);
  if (!meta.uri.empty()) add(kUri);
  if (!meta.embedding.empty()) add(kEmbedding);
  for (const auto& [tag, value] : meta.tags) {
    (void)value;
    add(std::string(kTagPrefix) + tag);
  }
  if (has_docarray_only_fields(meta)) add(kDocArray);
  return out;
}

int set_xattr(DocumentMeta& meta, std::string_view name, std::string_view value, int flags) {
  if (name == kDocArray) {
    if (flags & XATTR_CREATE) return EEXIST;  // it always exists
    return set_docarray_record(meta, value);
  }
  bool known = name == kMime || name == kUri || name == kEmbedding || is_tag(name);
  if (!known) return ENOTSUP;
  if (name == kEmbedding && value.size() % 4 != 0) return EINVAL;
  bool exists = get_xattr(meta, name).has_value();
  if ((flags & XATTR_CREATE) && exists) return EEXIST;
  if ((flags & XATTR_REPLACE) && !exists) return ENODATA;
  if (name == kMime) {
    meta.mime_type = value;
  } else if (name == kUri) {
    meta.uri = value;
  } else if (name == kEmbedding) {
    meta.embedding = NdArray::float32(decode_embedding(value));
  } else {
    meta.tags[std::string(name.substr(kTagPrefix.size()))] = std::string(value);
  }
  return 0;
}

int set_docarray_record(DocumentMeta& meta, std::string_view json_text) {
  Document d;
  try {
    nlohmann::json j = parse_json_limited(json_text, 4 * kMaxNestingDepth + 8);
    if (!j.is_object()) return EINVAL;
    j["id"] = meta.id;  // the name decides the id; content stays the file's
    for (const char* k : {"text", "blob", "tensor"}) j.erase(k);
    d = interop::document_from_json(j);
  } catch (const Error&) {
    return EINVAL;
  }
  DocumentMeta next = std::move(d.meta);
  next.id = meta.id;
  next.mode = meta.mode;
  next.uid = meta.uid;
  next.gid = meta.gid;
  next.mtime_ns = meta.mtime_ns;
  next.ctime_ns = meta.ctime_ns;
  next.rdev = meta.rdev;
  next.content_field = meta.content_field;
  meta = std::move(next);
  return 0;
}

int remove_xattr(DocumentMeta& meta, std::string_view name) {
  if (name == kDocArray) return EPERM;  // a record, not a value: set it to {} to clear
  bool known = name == kMime || name == kUri || name == kEmbedding || is_tag(name);
  if (!known) return ENOTSUP;
  if (!get_xattr(meta, name)) return ENODATA;
  if (name == kMime) {
    meta.mime_type.clear();
  } else if (name == kUri) {
    meta.uri.clear();
  } else if (name == kEmbedding) {
    meta.embedding = NdArray{};
  } else {
    meta.tags.erase(std::string(name.substr(kTagPrefix.size())));
  }
  return 0;
}

}  // namespace docfs::fs
