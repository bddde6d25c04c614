#include "remote/key_name.h"

#include <cstdio>

#include "core/error.h"

namespace docfs::remote {

std::string key_name_problem(std::string_view key) {
  if (key.empty()) return "a key name cannot be empty";
  if (key.size() > kMaxKeyBytes)
    return "key name is " + std::to_string(key.size()) + " bytes, the limit is " + std::to_string(kMaxKeyBytes);
  if (key == "." || key == "..") return "key name '" + std::string(key) + "' is not allowed";
  for (unsigned char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) {
      char shown[16];
      if (c >= 0x20 && c < 0x7f) std::snprintf(shown, sizeof shown, "'%c'", c);
      else std::snprintf(shown, sizeof shown, "byte 0x%02x", c);
      return std::string("key name contains ") + shown + "; use only letters, digits, '.', '_' and '-'";
    }
  }
  return "";
}

void check_key_name(std::string_view key) {
  if (auto p = key_name_problem(key); !p.empty()) throw UsageError(EINVAL, p);
}

}  // namespace docfs::remote
