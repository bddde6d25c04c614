#include "remote/sigv4.h"

#include <algorithm>
#include <cctype>

#include "remote/crypto.h"

namespace docfs::remote {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Header values are trimmed and inner runs of spaces collapse to one.
std::string normalize_value(const std::string& v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string scope_string(const std::string& date, const Scope& s) {
  return date + "/" + s.region + "/" + s.service + "/aws4_request";
}

std::string signature(const Credentials& c, const Scope& s, const std::string& date,
                      const std::string& string_to_sign) {
  Digest k = hmac_sha256("AWS4" + c.secret_key, date);
  auto as_view = [](const Digest& d) { return std::string_view(reinterpret_cast<const char*>(d.data()), d.size()); };
  k = hmac_sha256(as_view(k), s.region);
  k = hmac_sha256(as_view(k), s.service);
  k = hmac_sha256(as_view(k), "aws4_request");
  return to_hex(hmac_sha256(as_view(k), string_to_sign));
}

std::string string_to_sign(const std::string& datetime, const std::string& scope, const std::string& creq) {
  return "AWS4-HMAC-SHA256\n" + datetime + "\n" + scope + "\n" + sha256_hex(creq);
}

}  // namespace

std::string uri_encode(std::string_view s, bool encode_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && !encode_slash)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string amz_date(std::time_t t) {
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string canonical_query(const Params& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  for (const auto& [k, v] : query) enc.emplace_back(uri_encode(k, true), uri_encode(v, true));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

std::string canonical_request(const SignableRequest& r, std::string* signed_headers) {
  std::vector<std::pair<std::string, std::string>> hs;
  for (const auto& [k, v] : r.headers) hs.emplace_back(lower(k), normalize_value(v));
  std::sort(hs.begin(), hs.end());
  std::string canon_headers, names;
  for (size_t i = 0; i < hs.size(); ++i) {
    // Repeated headers join with commas (not expected from us, but per the spec).
    if (i > 0 && hs[i].first == hs[i - 1].first) {
      canon_headers.pop_back();
      canon_headers += "," + hs[i].second + "\n";
      continue;
    }
    canon_headers += hs[i].first + ":" + hs[i].second + "\n";
    if (!names.empty()) names += ';';
    names += hs[i].first;
  }
  if (signed_headers) *signed_headers = names;
  return r.method + "\n" + (r.path.empty() ? "/" : r.path) + "\n" + canonical_query(r.query) + "\n" +
         canon_headers + "\n" + names + "\n" + r.payload_hash;
}

std::string sign_request(SignableRequest& r, const Credentials& c, const Scope& scope, std::time_t now) {
  const std::string datetime = amz_date(now), date = datetime.substr(0, 8);
  auto set = [&](const std::string& name, const std::string& value) {
    for (auto& [k, v] : r.headers)
      if (lower(k) == name) {
        v = value;
        return;
      }
    r.headers.emplace_back(name, value);
  };
  set("x-amz-date", datetime);
  set("x-amz-content-sha256", r.payload_hash);
  if (!c.session_token.empty()) set("x-amz-security-token", c.session_token);
  std::string names;
  const std::string creq = canonical_request(r, &names);
  const std::string sc = scope_string(date, scope);
  const std::string sig = signature(c, scope, date, string_to_sign(datetime, sc, creq));
  r.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + c.access_key + "/" + sc +
                                              ",SignedHeaders=" + names + ",Signature=" + sig);
  return sig;
}

std::string presign_query(const SignableRequest& r_in, const Credentials& c, const Scope& scope,
                          std::time_t now, uint64_t expires_seconds) {
  const std::string datetime = amz_date(now), date = datetime.substr(0, 8);
  const std::string sc = scope_string(date, scope);
  SignableRequest r = r_in;
  r.payload_hash = "UNSIGNED-PAYLOAD";
  Params host_only;
  for (const auto& [k, v] : r.headers)
    if (lower(k) == "host") host_only.emplace_back("host", v);
  r.headers = host_only;
  r.query.emplace_back("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
  r.query.emplace_back("X-Amz-Credential", c.access_key + "/" + sc);
  r.query.emplace_back("X-Amz-Date", datetime);
  r.query.emplace_back("X-Amz-Expires", std::to_string(expires_seconds));
  if (!c.session_token.empty()) r.query.emplace_back("X-Amz-Security-Token", c.session_token);
  r.query.emplace_back("X-Amz-SignedHeaders", "host");
  const std::string sig = signature(c, scope, date, string_to_sign(datetime, sc, canonical_request(r, nullptr)));
  return canonical_query(r.query) + "&X-Amz-Signature=" + sig;
}

}  // namespace docfs::remote
