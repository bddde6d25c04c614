#include "remote/xml.h"

#include "core/error.h"

namespace docfs::remote {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  XmlNode document() {
    skip_misc();
    if (!starts("<")) fail("no root element");
    XmlNode root = element(0);
    skip_misc();
    if (pos_ != s_.size()) fail("text after the root element");
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& why) {
    throw FormatError("malformed XML at offset " + std::to_string(pos_) + ": " + why);
  }
  bool starts(std::string_view p) const { return s_.substr(pos_, p.size()) == p; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }
  void skip_past(std::string_view end) {
    size_t e = s_.find(end, pos_);
    if (e == std::string_view::npos) fail("missing '" + std::string(end) + "'");
    pos_ = e + end.size();
  }
  // Prolog, comments, processing instructions, doctype.
  void skip_misc() {
    for (;;) {
      skip_ws();
      if (starts("<?")) skip_past("?>");
      else if (starts("<!--")) skip_past("-->");
      else if (starts("<!DOCTYPE")) skip_past(">");
      else return;
    }
  }
  std::string name() {
    size_t b = pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '>' || c == '/' || c == '=') break;
      ++pos_;
    }
    if (b == pos_) fail("expected a name");
    return std::string(s_.substr(b, pos_ - b));
  }
  static std::string local(const std::string& n) {
    auto c = n.find(':');
    return c == std::string::npos ? n : n.substr(c + 1);
  }
  void append_utf8(std::string& out, unsigned long cp) {
    if (cp < 0x80) out += static_cast<char>(cp);
    else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x110000) {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      fail("character reference out of range");
    }
  }
  void entity(std::string& out) {
    size_t semi = s_.find(';', pos_);
    if (semi == std::string_view::npos || semi - pos_ > 12) fail("unterminated entity");
    std::string_view e = s_.substr(pos_ + 1, semi - pos_ - 1);
    if (e == "amp") out += '&';
    else if (e == "lt") out += '<';
    else if (e == "gt") out += '>';
    else if (e == "quot") out += '"';
    else if (e == "apos") out += '\'';
    else if (e.size() > 1 && e[0] == '#') {
      bool hex = e[1] == 'x' || e[1] == 'X';
      std::string digits(e.substr(hex ? 2 : 1));
      if (digits.empty()) fail("empty character reference");
      size_t used = 0;
      unsigned long cp = 0;
      try {
        cp = std::stoul(digits, &used, hex ? 16 : 10);
      } catch (...) {
        fail("bad character reference");
      }
      if (used != digits.size()) fail("bad character reference");
      append_utf8(out, cp);
    } else {
      fail("unknown entity &" + std::string(e) + ";");
    }
    pos_ = semi + 1;
  }
  void attributes() {
    for (;;) {
      skip_ws();
      if (pos_ >= s_.size()) fail("unterminated tag");
      if (s_[pos_] == '>' || s_[pos_] == '/') return;
      name();
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '=') fail("attribute without a value");
      ++pos_;
      skip_ws();
      if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\'')) fail("unquoted attribute value");
      char q = s_[pos_++];
      size_t e = s_.find(q, pos_);
      if (e == std::string_view::npos) fail("unterminated attribute value");
      pos_ = e + 1;
    }
  }
  XmlNode element(int depth) {
    if (depth > 64) fail("elements nested too deeply");
    ++pos_;  // '<'
    XmlNode n;
    const std::string raw = name();
    n.name = local(raw);
    attributes();
    if (s_[pos_] == '/') {
      if (!starts("/>")) fail("expected '/>'");
      pos_ += 2;
      return n;
    }
    ++pos_;  // '>'
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated element <" + raw + ">");
      char c = s_[pos_];
      if (c == '<') {
        if (starts("</")) {
          pos_ += 2;
          std::string end = name();
          skip_ws();
          if (end != raw) fail("</" + end + "> closes <" + raw + ">");
          if (pos_ >= s_.size() || s_[pos_] != '>') fail("expected '>'");
          ++pos_;
          return n;
        }
        if (starts("<!--")) {
          skip_past("-->");
        } else if (starts("<![CDATA[")) {
          pos_ += 9;
          size_t e = s_.find("]]>", pos_);
          if (e == std::string_view::npos) fail("unterminated CDATA");
          n.text.append(s_.substr(pos_, e - pos_));
          pos_ = e + 3;
        } else if (starts("<?")) {
          skip_past("?>");
        } else {
          n.children.push_back(element(depth + 1));
        }
      } else if (c == '&') {
        entity(n.text);
      } else {
        n.text += c;
        ++pos_;
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

const XmlNode* XmlNode::child(std::string_view n) const {
  for (const auto& c : children)
    if (c.name == n) return &c;
  return nullptr;
}

std::string XmlNode::child_text(std::string_view n) const {
  const XmlNode* c = child(n);
  return c ? c->text : "";
}

std::vector<const XmlNode*> XmlNode::all(std::string_view n) const {
  std::vector<const XmlNode*> out;
  for (const auto& c : children)
    if (c.name == n) out.push_back(&c);
  return out;
}

XmlNode parse_xml(std::string_view doc) { return Parser(doc).document(); }

}  // namespace docfs::remote
