// Fuzzes what docfs reads from an S3 server's answers: the XML bodies (ListObjectsV2,
// Error, InitiateMultipartUpload, CompleteMultipartUpload) through parse_xml and the same
// accessors the backend uses, error descriptions, and the response headers of a HEAD
// (info_from_headers: sizes, dates, document counts, expiry).
#include <cstdint>
#include <string>

#include "core/error.h"
#include "remote/http_client.h"
#include "remote/key_name.h"
#include "remote/s3_backend.h"
#include "remote/xml.h"

namespace {

size_t walk(const docfs::remote::XmlNode& n, int depth) {
  size_t total = n.name.size() + n.text.size();
  for (const auto& c : n.children) total += walk(c, depth + 1);
  return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace docfs::remote;
  std::string s(reinterpret_cast<const char*>(data), size);
  try {
    XmlNode root = parse_xml(s);
    walk(root, 0);
    // ListObjectsV2
    for (const XmlNode* c : root.all("Contents")) {
      std::string key = c->child_text("Key");
      is_valid_key_name(key);
      c->child_text("Size");
      c->child_text("ETag");
    }
    root.child_text("NextContinuationToken");
    root.child_text("IsTruncated");
    // Error, InitiateMultipartUploadResult, CompleteMultipartUploadResult
    root.child_text("Code");
    root.child_text("Message");
    root.child_text("UploadId");
    root.child_text("ETag");
  } catch (const docfs::Error&) {
  }
  for (long status : {403L, 503L}) {
    HttpResponse r;
    r.status = status;
    r.body = s;
    describe_http_error(r);
    try {
      throw_http_error(r, "fuzz");
    } catch (const docfs::Error&) {
    }
  }
  // HEAD answer: the input split at NULs into header values.
  HttpResponse h;
  h.status = 200;
  const char* names[] = {"content-length", "etag", "last-modified", "x-amz-meta-docfs-documents",
                         "x-amz-meta-docfs-created", "x-amz-meta-docfs-expires", "x-amz-meta-docfs-format"};
  size_t b = 0, i = 0;
  for (size_t p = 0; p <= s.size() && i < 7; ++p) {
    if (p == s.size() || s[p] == '\0') {
      h.headers[names[i++]] = s.substr(b, p - b);
      b = p + 1;
    }
  }
  info_from_headers("k", h);
  parse_http_time(s);
  return 0;
}
