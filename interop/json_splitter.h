// Cuts a JSON array (or JSON Lines) into its elements' texts without parsing the whole
// input: memory is bounded by the largest element (kMaxElementBytes), not the file. Only
// the structure is checked here (strings, escapes, brackets); each element is then parsed
// on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "interop/byte_io.h"

namespace docfs::interop {

struct JsonElement {
  std::string text;
  uint64_t offset;  // byte offset of the element's first byte in the input
};

class JsonSplitter {
 public:
  static constexpr size_t kMaxElementBytes = size_t{1} << 30;

  JsonSplitter(ByteInput& in, bool lines) : in_(in), lines_(lines) {}
  // The next element, or nullopt after the closing ']' (or the last line). Throws
  // FormatError naming the byte offset when the input is not a JSON array / JSON Lines.
  std::optional<JsonElement> next();

 private:
  int peek();
  int get();
  void skip_space();
  [[noreturn]] void fail(const std::string& why) const;

  ByteInput& in_;
  bool lines_;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t consumed_ = 0;  // bytes of the input before buf_[0]
  bool started_ = false, done_ = false;
};

}  // namespace docfs::interop
