// HTTP over libcurl for the S3 backend and presigned pulls: a pool of easy handles (each
// keeps its connection alive between requests), connect and stall timeouts, TLS
// verification unless turned off, and retries with exponential backoff and jitter.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.h"
#include "remote/backend.h"
#include "remote/sigv4.h"

namespace docfs::remote {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  Params headers;
  const char* body = nullptr;  // request body (not owned), body_len bytes
  size_t body_len = 0;
  // When set, the response body goes here (return false to abort) instead of into
  // HttpResponse::body. Only for 2xx answers: error bodies are always kept.
  std::function<bool(const char*, size_t)> sink;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// The request never got an HTTP answer: connection refused, reset, timeout, TLS failure.
class TransportError : public Error {
 public:
  explicit TransportError(const std::string& what) : Error(EIO, what) {}
};

// An HTTP error answer from the server, with S3's <Code> and <Message> when it sent them.
class RemoteError : public Error {
 public:
  RemoteError(long status, std::string code, const std::string& what)
      : Error(status == 404 ? ENOENT : status == 403 ? EACCES : EIO, what), status_(status), code_(std::move(code)) {}
  long status() const { return status_; }
  const std::string& code() const { return code_; }

 private:
  long status_;
  std::string code_;
};

class HttpClient {
 public:
  explicit HttpClient(const BackendOptions& opts);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One attempt. Throws TransportError; HTTP errors come back as a status.
  HttpResponse perform(const HttpRequest& req);

  // Attempts `build()` (which must sign afresh) until it returns a final answer: retries
  // transport errors, 5xx, 429 and S3's SlowDown with backoff and jitter; returns any other
  // answer (including 4xx) to the caller. `what` names the operation in messages.
  HttpResponse perform_with_retries(const std::function<HttpRequest()>& build, const std::string& what);

  const BackendOptions& options() const { return opts_; }

 private:
  void* acquire();
  void release(void* h);

  BackendOptions opts_;
  std::mutex mu_;
  std::vector<void*> idle_;
};

// "403 SignatureDoesNotMatch: The request signature ..." from an S3 error answer.
std::string describe_http_error(const HttpResponse& r);
// Throws RemoteError("<what>: <describe_http_error>").
[[noreturn]] void throw_http_error(const HttpResponse& r, const std::string& what);

}  // namespace docfs::remote
