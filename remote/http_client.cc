#include "remote/http_client.h"

#include <curl/curl.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "remote/xml.h"

namespace docfs::remote {
namespace {

std::once_flag g_curl_init;

struct Transfer {
  const HttpRequest* req;
  HttpResponse* resp;
  size_t sent = 0;
  bool aborted_by_sink = false;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (also after 100-continue): the body callback routes by this status.
    t->resp->headers.clear();
    auto sp = line.find(' ');
    if (sp != std::string::npos) t->resp->status = std::atol(line.substr(sp + 1, 3).c_str());
    return size * n;
  }
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t b = value.find_first_not_of(" \t"), e = value.find_last_not_of(" \t\r\n");
    t->resp->headers[name] = b == std::string::npos ? "" : value.substr(b, e - b + 1);
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (t->req->sink && t->resp->status >= 200 && t->resp->status < 300) {
    if (!t->req->sink(data, len)) {
      t->aborted_by_sink = true;
      return 0;
    }
    return len;
  }
  t->resp->body.append(data, len);
  return len;
}

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t k = std::min(size * n, t->req->body_len - t->sent);
  std::memcpy(buf, t->req->body + t->sent, k);
  t->sent += k;
  return k;
}

}  // namespace

HttpClient::HttpClient(const BackendOptions& opts) : opts_(opts) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpClient::~HttpClient() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* HttpClient::acquire() {
  {
    std::lock_guard lk(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  CURL* h = curl_easy_init();
  if (!h) throw TransportError("libcurl: cannot create a handle");
  return h;
}

void HttpClient::release(void* h) {
  std::lock_guard lk(mu_);
  idle_.push_back(h);
}

HttpResponse HttpClient::perform(const HttpRequest& req) {
  CURL* h = static_cast<CURL*>(acquire());
  HttpResponse resp;
  Transfer t{&req, &resp};
  curl_easy_reset(h);  // keeps the connection cache, clears options
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, opts_.connect_timeout_s);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, opts_.stall_timeout_s);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, opts_.verify_tls ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, opts_.verify_tls ? 2L : 0L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT" || req.method == "POST") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body_len));
    if (req.method == "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "POST");
  } else if (req.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  struct curl_slist* list = nullptr;
  for (const auto& [k, v] : req.headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  // No "Expect: 100-continue" round trip before each part.
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);

  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(list);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK) {
    // A broken connection must not go back to the pool's cache half-used: drop the handle.
    curl_easy_cleanup(h);
    if (t.aborted_by_sink) throw TransportError("transfer aborted");
    std::string host = req.url.substr(0, req.url.find('?'));
    throw TransportError(req.method + " " + host + ": " + curl_easy_strerror(rc));
  }
  release(h);
  resp.status = status;
  return resp;
}

HttpResponse HttpClient::perform_with_retries(const std::function<HttpRequest()>& build, const std::string& what) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const int attempts = std::max(1, opts_.max_attempts);
  for (int i = 1;; ++i) {
    std::string why;
    try {
      HttpResponse r = perform(build());
      bool slow_down = r.status == 503 || r.body.find("<Code>SlowDown</Code>") != std::string::npos;
      if (r.status < 500 && r.status != 429 && !slow_down) return r;
      if (i >= attempts) return r;
      why = describe_http_error(r);
    } catch (const TransportError& e) {
      if (i >= attempts)
        throw TransportError(what + ": " + e.what() + " (after " + std::to_string(i) +
                             " attempts; check that the endpoint URL is right and the server is up)");
      why = e.what();
    }
    // Exponential backoff (200 ms, 400 ms, ... capped at 5 s) with jitter in [50%, 100%].
    double base = std::min(5000.0, 200.0 * (1u << std::min(i - 1, 10)));
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(base * jitter(rng))));
  }
}

std::string describe_http_error(const HttpResponse& r) {
  std::string out = std::to_string(r.status);
  try {
    if (!r.body.empty() && r.body.find('<') != std::string::npos) {
      XmlNode e = parse_xml(r.body);
      if (e.name == "Error") {
        if (auto c = e.child_text("Code"); !c.empty()) out += " " + c;
        if (auto m = e.child_text("Message"); !m.empty()) out += ": " + m;
        return out;
      }
    }
  } catch (const std::exception&) {
  }
  switch (r.status) {
    case 403: return out + " Forbidden";
    case 404: return out + " Not Found";
    case 412: return out + " Precondition Failed (the object changed)";
    default: break;
  }
  if (!r.body.empty() && r.body.size() < 200 && r.body.find('<') == std::string::npos) out += ": " + r.body;
  return out;
}

void throw_http_error(const HttpResponse& r, const std::string& what) {
  std::string code;
  try {
    if (r.body.find('<') != std::string::npos) code = parse_xml(r.body).child_text("Code");
  } catch (const std::exception&) {
  }
  throw RemoteError(r.status, code, what + ": " + describe_http_error(r));
}

}  // namespace docfs::remote
