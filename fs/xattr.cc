#include "fs/xattr.h"

#include <sys/xattr.h>

#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

namespace docfs::fs {
namespace {

constexpr std::string_view kMime = "user.mime_type";
constexpr std::string_view kUri = "user.uri";
constexpr std::string_view kEmbedding = "user.embedding";
constexpr std::string_view kTagPrefix = "user.tag.";

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
    if (auto v = meta.embedding.as_float32()) return encode_embedding(*v);
    if (!meta.embedding.empty()) return meta.embedding.data;  // another dtype: its raw bytes
  } else if (is_tag(name)) {
    auto it = meta.tags.find(std::string(name.substr(kTagPrefix.size())));
    if (it != meta.tags.end()) return tag_text(it->second);
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
  return out;
}

int set_xattr(DocumentMeta& meta, std::string_view name, std::string_view value, int flags) {
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

int remove_xattr(DocumentMeta& meta, std::string_view name) {
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
