#include "remote/docarray_object.h"

namespace docfs::remote {

bool is_docarray_key(std::string_view key) {
  return key.size() > kDocArraySuffix.size() && key.substr(key.size() - kDocArraySuffix.size()) == kDocArraySuffix;
}

std::optional<uint64_t> count_docarray_stream(const File& f, uint64_t size, uint64_t max_documents) {
  uint64_t at = 0, n = 0;
  while (n <= max_documents) {
    if (size - at < 4) return std::nullopt;
    std::string len_bytes = f.pread_string(4, at);
    if (len_bytes.size() < 4) return std::nullopt;
    uint64_t len = 0;
    for (char c : len_bytes) len = (len << 8) | static_cast<unsigned char>(c);
    at += 4;
    if (len == 0) return at == size ? std::optional<uint64_t>(n) : std::nullopt;
    if (len > size - at) return std::nullopt;
    at += len;
    ++n;
  }
  return std::nullopt;
}

}  // namespace docfs::remote
