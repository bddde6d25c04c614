// s3://bucket/prefix on any S3-compatible store. Each key is the object PREFIX/KEY. Small
// archives go up in one PUT, large ones as a multipart upload with parallel parts (aborted on
// failure, so the old object stays); pulls use parallel ranged GETs pinned to one ETag.
// Path-style addressing when an endpoint is configured, virtual-hosted style on AWS.
#pragma once

#include <memory>

#include "remote/backend.h"
#include "remote/credentials.h"
#include "remote/http_client.h"

namespace docfs::remote {

class S3Backend : public Backend {
 public:
  S3Backend(const std::string& bucket, const std::string& prefix, const BackendOptions& opts);
  std::string url() const override;
  std::vector<ObjectInfo> list() override;
  std::optional<ObjectInfo> head(const std::string& key) override;
  ObjectInfo put(const std::string& key, UploadSource& src, const PutOptions& opts) override;
  Fetched fetch(const std::string& key, const FetchOptions& opts) override;
  bool remove(const std::string& key) override;
  std::string presign(const std::string& key, uint64_t seconds) override;
  // Probed once per endpoint and bucket in this process: a scratch object is written, then
  // written again with If-None-Match: * and with If-Match on a wrong ETag (both must be
  // refused with 412) and with If-Match on its ETag (must succeed; if only the ETag
  // without quotes does, as on Ceph RGW, If-Match is sent that way). Then the server
  // honours conditional writes; otherwise HEAD-compare-PUT. A one-part multipart upload
  // completed with If-None-Match: * must be refused too, or multipart uploads (archives
  // over part_size) use the fallback (single_only; Ceph RGW 16-18 ignores the header there).
  // DOCFS_S3_CONDITIONAL=atomic|fallback skips the probe.
  ConditionSupport condition_support() override;

  const AwsSettings& settings() const { return settings_; }

 private:
  struct Target {
    std::string path;  // encoded
    Params query;
  };
  Target object(const std::string& key) const;
  std::string object_name(const std::string& key) const;
  // Builds and signs a request; body may be null.
  HttpRequest make(const std::string& method, const Target& t, Params headers, const char* body, size_t len,
                   const std::string& payload_hash = "") const;
  HttpResponse call(const std::string& method, const Target& t, const Params& headers, const char* body,
                    size_t len, const std::string& what);
  // Both return the ETag the server gave the new object ("" if it gave none). `before`
  // runs right before the request that makes the object visible (the fallback's compare);
  // `cond` are the conditional headers.
  std::string put_single(const std::string& key, UploadSource& src, const PutOptions& opts, const Params& cond,
                         const std::function<void()>& before);
  std::string put_multipart(const std::string& key, UploadSource& src, const PutOptions& opts, const Params& cond,
                            const std::function<void()>& before);
  bool probe_multipart(const Target& obj, const std::string& what);
  [[noreturn]] void condition_failed(const std::string& key, const PutOptions& opts);

  std::string bucket_, prefix_;
  AwsSettings settings_;
  std::string base_;  // scheme://host[:port]
  std::string host_;  // host[:port]
  bool path_style_;
  std::unique_ptr<HttpClient> http_;
};

// Parses an RFC 1123 or ISO 8601 time ("Wed, 21 Oct 2015 07:28:00 GMT",
// "2009-10-12T17:50:30.000Z") into ns since the epoch; 0 if unparsable.
int64_t parse_http_time(const std::string& s);
ObjectInfo info_from_headers(const std::string& key, const HttpResponse& r);

}  // namespace docfs::remote
