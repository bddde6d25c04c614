// Small checks on text the foreign formats carry.
#pragma once

#include <string>
#include <string_view>

namespace docfs::interop {

bool is_utf8(std::string_view s);
// Standard base64 (RFC 4648, '+' '/', padded), as Python's base64.b64encode writes it.
bool is_base64(std::string_view s);

}  // namespace docfs::interop
