#include "interop/npy.h"

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace docfs::interop {
namespace {

constexpr std::string_view kMagic("\x93NUMPY", 6);
// A header longer than this is not one numpy wrote for an array docfs keeps.
constexpr size_t kMaxHeaderBytes = 64 * 1024;

[[noreturn]] void bad(const std::string& why) { throw UsageError(EINVAL, "not a .npy docfs can keep: " + why); }

// The tiny subset of Python literal syntax numpy writes in the header:
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view s) : s_(s) {}

  NdArray parse() {
    NdArray a;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      std::string key = string_literal();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"') bad("'descr' is not a plain dtype string (a structured dtype?)");
        a.dtype = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        if (word("True")) bad("the array is in Fortran order; save it C-contiguous (np.ascontiguousarray)");
        if (!word("False")) bad("'fortran_order' is not True or False");
        have_order = true;
      } else if (key == "shape") {
        a.shape = shape_tuple();
        have_shape = true;
      } else {
        bad("unknown header key '" + key.substr(0, 32) + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      if (peek() != '}') bad("header dict is malformed at character " + std::to_string(pos_));
    }
    if (!have_descr || !have_order || !have_shape) bad("header lacks 'descr', 'fortran_order' or 'shape'");
    return a;
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) bad(std::string("header dict: expected '") + c + "' at character " + std::to_string(pos_));
    ++pos_;
  }
  bool word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  std::string string_literal() {
    char q = peek();
    if (q != '\'' && q != '"') bad("header dict: expected a string at character " + std::to_string(pos_));
    size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos) bad("header dict: unterminated string");
    std::string v(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return v;
  }
  std::vector<uint64_t> shape_tuple() {
    expect('(');
    std::vector<uint64_t> shape;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') bad("'shape' is not a tuple of integers");
      uint64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (UINT64_MAX - 9) / 10) bad("'shape' has a dimension too large");
        v = v * 10 + static_cast<uint64_t>(peek() - '0');
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2's long literal
      shape.push_back(v);
      if (shape.size() > 64) bad("'shape' has more than 64 dimensions");
      skip_space();
      if (peek() == ',') ++pos_;
      else if (peek() != ')') bad("'shape' is not a tuple of integers");
    }
    ++pos_;
    return shape;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

uint32_t read_le(std::string_view b, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(b[i])) << (8 * i);
  return v;
}

}  // namespace

std::string npy_encode(const NdArray& a) {
  if (std::string why = check_ndarray(a); !why.empty()) throw UsageError(EINVAL, "array: " + why);
  std::string shape;
  for (uint64_t d : a.shape) shape += std::to_string(d) + ", ";
  if (a.shape.size() > 1) shape.resize(shape.size() - 2);  // (2, 3); a 1-d shape keeps its comma: (5,)
  else if (a.shape.size() == 1) shape.pop_back();
  std::string dict = "{'descr': '" + a.dtype + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  // numpy (1.24) leaves room for the first axis to grow to 21 digits in place.
  if (!a.shape.empty()) dict.append(21 - std::to_string(a.shape[0]).size(), ' ');
  // Version 1.0: magic, 1, 0, u16 LE header length; numpy pads the whole preamble with
  // spaces and one '\n' to a multiple of 64 bytes.
  size_t preamble = kMagic.size() + 2 + 2;
  size_t total = preamble + dict.size() + 1;
  total = (total + 63) / 64 * 64;
  size_t header_len = total - preamble;
  if (header_len > 0xffff) throw UsageError(EINVAL, "array: too many dimensions for a .npy 1.0 header");
  std::string out(kMagic);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header_len & 0xff);
  out += static_cast<char>(header_len >> 8);
  out += dict;
  out.append(header_len - dict.size() - 1, ' ');
  out += '\n';
  out += a.data;
  return out;
}

NdArray npy_decode(std::string_view b) {
  if (b.size() < 10 || b.substr(0, 6) != kMagic) bad("no \\x93NUMPY magic");
  unsigned major = static_cast<unsigned char>(b[6]);
  size_t len_bytes;
  if (major == 1) len_bytes = 2;
  else if (major == 2 || major == 3) len_bytes = 4;  // 3.0 differs from 2.0 only in allowing UTF-8
  else bad("version " + std::to_string(major) + "." + std::to_string(static_cast<unsigned char>(b[7])));
  if (b.size() < 8 + len_bytes) bad("the file ends inside the header");
  size_t header_len = read_le(b.substr(8), len_bytes);
  size_t start = 8 + len_bytes;
  if (header_len > kMaxHeaderBytes) bad("header of " + std::to_string(header_len) + " bytes");
  if (b.size() - start < header_len) bad("the file ends inside the header");
  std::string_view header = b.substr(start, header_len);
  while (!header.empty() && (header.back() == '\n' || header.back() == ' ' || header.back() == '\0'))
    header.remove_suffix(1);
  NdArray a = HeaderParser(header).parse();
  if (a.dtype.size() >= 2 && (a.dtype[1] == 'O' || a.dtype[1] == 'V'))
    bad("dtype '" + a.dtype.substr(0, 32) + "' is an object or structured dtype");
  a.data.assign(b.substr(start + header_len));
  a.cls_name = "";
  if (std::string why = check_ndarray(a); !why.empty()) bad(why);
  return a;
}

}  // namespace docfs::interop
