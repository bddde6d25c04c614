// AWS Signature Version 4 for S3: the Authorization header and presigned (query) URLs.
// Written here rather than with CURLOPT_AWS_SIGV4, which in Debian's libcurl 7.88 neither
// sorts query parameters nor sends x-amz-content-sha256.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "remote/credentials.h"

namespace docfs::remote {

using Params = std::vector<std::pair<std::string, std::string>>;

// RFC 3986 percent-encoding as SigV4 wants it: only A-Z a-z 0-9 - . _ ~ stay as they are;
// '/' stays too when encode_slash is false (object paths).
std::string uri_encode(std::string_view s, bool encode_slash);
// "20130524T000000Z" and "20130524".
std::string amz_date(std::time_t t);

struct SignableRequest {
  std::string method;         // "GET"
  std::string path;           // already encoded, e.g. "/bucket/test%24file.text"
  Params query;               // decoded names and values, any order
  Params headers;             // must include "host"; names in any case
  std::string payload_hash;   // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

struct Scope {
  std::string region = "us-east-1";
  std::string service = "s3";
};

// Exposed for tests: the canonical query string (sorted by encoded name, then value).
std::string canonical_query(const Params& query);
std::string canonical_request(const SignableRequest& r, std::string* signed_headers);

// Adds x-amz-date, x-amz-content-sha256 (always) and x-amz-security-token (with a session
// token) to r.headers, then an Authorization header. Returns the signature (hex).
std::string sign_request(SignableRequest& r, const Credentials& c, const Scope& scope, std::time_t now);

// The query string (without '?') of a presigned request: r.method/path/query/host header
// are signed, payload UNSIGNED-PAYLOAD. expires_seconds must be 1..604800.
std::string presign_query(const SignableRequest& r, const Credentials& c, const Scope& scope,
                          std::time_t now, uint64_t expires_seconds);

inline constexpr uint64_t kMaxPresignSeconds = 7 * 24 * 3600;

}  // namespace docfs::remote
