#include "interop/json_splitter.h"

#include "core/error.h"

namespace docfs::interop {

int JsonSplitter::peek() {
  if (pos_ == buf_.size()) {
    consumed_ += buf_.size();
    buf_.resize(64 << 10);
    buf_.resize(in_.read(buf_.data(), buf_.size()));
    pos_ = 0;
    if (buf_.empty()) return -1;
  }
  return static_cast<unsigned char>(buf_[pos_]);
}

int JsonSplitter::get() {
  int c = peek();
  if (c >= 0) ++pos_;
  return c;
}

void JsonSplitter::skip_space() {
  for (int c = peek(); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = peek()) ++pos_;
}

void JsonSplitter::fail(const std::string& why) const {
  throw FormatError("JSON input: " + why + " at byte " + std::to_string(consumed_ + pos_));
}

std::optional<JsonElement> JsonSplitter::next() {
  if (done_) return std::nullopt;
  skip_space();
  if (!lines_) {
    if (!started_) {
      if (get() != '[') fail("expected '[' (a JSON array of documents)");
      started_ = true;
      skip_space();
      if (peek() == ']') {
        ++pos_;
        done_ = true;
        return std::nullopt;
      }
    } else {
      int c = get();
      if (c == ']') {
        done_ = true;
        skip_space();
        if (peek() >= 0) fail("text after the closing ']'");
        return std::nullopt;
      }
      if (c != ',') fail(c < 0 ? "the array ends without ']'" : "expected ',' or ']' between documents");
      skip_space();
    }
  } else if (peek() < 0) {
    done_ = true;
    return std::nullopt;
  }
  JsonElement e{"", consumed_ + pos_};
  // One value: count brackets outside strings; a scalar ends at a delimiter.
  int depth = 0;
  bool in_string = false, escaped = false;
  while (true) {
    int c = peek();
    if (c < 0) {
      if (depth == 0 && !in_string && !e.text.empty() && lines_) break;
      fail(in_string ? "a string does not end" : "a document does not end");
    }
    if (!in_string && depth == 0 && !e.text.empty() && (c == ',' || c == ']' || c == '\n' || c == '\r' ||
                                                         c == ' ' || c == '\t'))
      break;
    ++pos_;
    e.text.push_back(static_cast<char>(c));
    if (e.text.size() > kMaxElementBytes) fail("a document is larger than 1 GiB");
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth < 0) fail("unbalanced '" + std::string(1, static_cast<char>(c)) + "'");
      if (depth == 0) break;
    }
  }
  if (lines_) {
    while (peek() == ' ' || peek() == '\t' || peek() == '\r') ++pos_;
    int c = peek();
    if (c >= 0 && c != '\n') fail("more than one value on a line");
  }
  return e;
}

}  // namespace docfs::interop
