// Names of pushed arrays ("keys"): 1-255 bytes of [A-Za-z0-9._-], not "." or "..". The rule
// keeps a key one path component under the prefix or directory: no traversal, no escaping.
#pragma once

#include <string>
#include <string_view>

namespace docfs::remote {

inline constexpr size_t kMaxKeyBytes = 255;

// "" when valid, else a sentence naming the problem.
std::string key_name_problem(std::string_view key);
inline bool is_valid_key_name(std::string_view key) { return key_name_problem(key).empty(); }
// Throws UsageError(EINVAL) with key_name_problem's sentence.
void check_key_name(std::string_view key);

}  // namespace docfs::remote
