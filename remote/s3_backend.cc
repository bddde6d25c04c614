#include "remote/s3_backend.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "core/document.h"
#include "core/error.h"
#include "remote/crypto.h"
#include "remote/docarray_object.h"
#include "remote/download.h"
#include "remote/key_name.h"
#include "remote/xml.h"

namespace docfs::remote {
namespace {

std::string strip_scheme_host(const std::string& url, std::string* base) {
  auto s = url.find("://");
  auto slash = url.find('/', s == std::string::npos ? 0 : s + 3);
  *base = url.substr(0, slash);
  return s == std::string::npos ? url.substr(0, slash) : url.substr(s + 3, slash - s - 3);
}

uint64_t to_u64(const std::string& s) {
  try {
    return s.empty() ? 0 : std::stoull(s);
  } catch (...) {
    return 0;
  }
}

// If-Match on a key that does not exist: 404 NoSuchKey (not NoSuchUpload).
bool is_no_such_key(const HttpResponse& r) {
  return r.status == 404 && r.body.find("NoSuchUpload") == std::string::npos;
}

}  // namespace

int64_t parse_http_time(const std::string& s) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (!end) end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return 0;
  // A server may send any year; one whose nanoseconds do not fit in 64 bits is unknown (0).
  const int64_t seconds = static_cast<int64_t>(timegm(&tm));
  if (seconds < 0 || seconds > INT64_MAX / 1000000000) return 0;
  return seconds * 1000000000;
}

ObjectInfo info_from_headers(const std::string& key, const HttpResponse& r) {
  ObjectInfo i;
  i.key = key;
  i.size = to_u64(r.header("content-length"));
  i.etag = r.header("etag");
  i.mtime_ns = parse_http_time(r.header("last-modified"));
  std::string docs = r.header(std::string("x-amz-meta-") + kMetaDocuments);
  i.documents_known = !docs.empty();
  i.documents = to_u64(docs);
  i.created_ns = static_cast<int64_t>(to_u64(r.header(std::string("x-amz-meta-") + kMetaCreated)));
  i.expires_ns = static_cast<int64_t>(to_u64(r.header(std::string("x-amz-meta-") + kMetaExpires)));
  i.format_version = static_cast<uint32_t>(to_u64(r.header(std::string("x-amz-meta-") + kMetaFormat)));
  // Only docfs writes its format metadata; a DocArray push leaves none and names NAME.docs.
  i.format = i.format_version ? "docfs" : is_docarray_key(key) ? "docarray" : "";
  return i;
}

S3Backend::S3Backend(const std::string& bucket, const std::string& prefix, const BackendOptions& opts)
    : bucket_(bucket), prefix_(prefix), settings_(load_aws_settings(opts.endpoint)),
      http_(std::make_unique<HttpClient>(opts)) {
  if (!settings_.endpoint.empty()) {
    if (settings_.endpoint.find("://") == std::string::npos) settings_.endpoint = "https://" + settings_.endpoint;
    host_ = strip_scheme_host(settings_.endpoint, &base_);
    path_style_ = true;
  } else {
    host_ = bucket_ + ".s3." + settings_.region + ".amazonaws.com";
    base_ = "https://" + host_;
    path_style_ = false;
  }
}

std::string S3Backend::url() const { return "s3://" + bucket_ + (prefix_.empty() ? "" : "/" + prefix_); }

std::string S3Backend::object_name(const std::string& key) const {
  return prefix_.empty() ? key : prefix_ + "/" + key;
}

S3Backend::Target S3Backend::object(const std::string& key) const {
  std::string p = "/" + uri_encode(object_name(key), false);
  return {path_style_ ? "/" + uri_encode(bucket_, true) + p : p, {}};
}

HttpRequest S3Backend::make(const std::string& method, const Target& t, Params headers, const char* body,
                            size_t len, const std::string& payload_hash) const {
  SignableRequest s;
  s.method = method;
  s.path = t.path;
  s.query = t.query;
  s.headers = std::move(headers);
  s.headers.emplace_back("host", host_);
  s.payload_hash = !payload_hash.empty() ? payload_hash
                   : body && len    ? sha256_hex(std::string_view(body, len))
                                    : kEmptySha256;
  if (!settings_.credentials.empty()) {
    sign_request(s, settings_.credentials, Scope{settings_.region, "s3"}, std::time(nullptr));
  } else {
    s.headers.emplace_back("x-amz-content-sha256", s.payload_hash);
  }
  HttpRequest r;
  r.method = method;
  std::string q = canonical_query(t.query);
  r.url = base_ + t.path + (q.empty() ? "" : "?" + q);
  r.headers = std::move(s.headers);
  r.body = body;
  r.body_len = len;
  return r;
}

HttpResponse S3Backend::call(const std::string& method, const Target& t, const Params& headers, const char* body,
                             size_t len, const std::string& what) {
  const std::string hash = body && len ? sha256_hex(std::string_view(body, len)) : kEmptySha256;
  return http_->perform_with_retries([&] { return make(method, t, headers, body, len, hash); }, what);
}

std::vector<ObjectInfo> S3Backend::list() {
  std::vector<std::string> keys;
  const std::string pfx = prefix_.empty() ? "" : prefix_ + "/";
  std::string token;
  for (;;) {
    Target t{path_style_ ? "/" + uri_encode(bucket_, true) : "/", {{"list-type", "2"}}};
    if (!pfx.empty()) t.query.emplace_back("prefix", pfx);
    if (!token.empty()) t.query.emplace_back("continuation-token", token);
    HttpResponse r = call("GET", t, {}, nullptr, 0, "list " + url());
    if (r.status != 200) throw_http_error(r, "list " + url());
    XmlNode root = parse_xml(r.body);
    for (const XmlNode* c : root.all("Contents")) {
      std::string name = c->child_text("Key");
      if (name.compare(0, pfx.size(), pfx) != 0) continue;
      name = name.substr(pfx.size());
      if (is_valid_key_name(name)) keys.push_back(name);  // skips "sub/dir" objects
    }
    token = root.child_text("NextContinuationToken");
    if (root.child_text("IsTruncated") != "true" || token.empty()) break;
  }
  // Expiry and document counts live in object metadata: HEAD each key, a few at a time.
  std::vector<std::optional<ObjectInfo>> infos(keys.size());
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex mu;
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < keys.size();) {
      try {
        infos[i] = head(keys[i]);
      } catch (...) {
        std::lock_guard lk(mu);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> th;
  for (int i = 1; i < std::min<int>(8, static_cast<int>(keys.size())); ++i) th.emplace_back(worker);
  worker();
  for (auto& x : th) x.join();
  if (error) std::rethrow_exception(error);
  std::vector<ObjectInfo> out;
  for (auto& i : infos)
    if (i) out.push_back(std::move(*i));
  return out;
}

std::optional<ObjectInfo> S3Backend::head(const std::string& key) {
  check_key_name(key);
  HttpResponse r = call("HEAD", object(key), {}, nullptr, 0, "HEAD " + url() + "/" + key);
  if (r.status == 404) return std::nullopt;
  if (r.status != 200) throw_http_error(r, "HEAD " + url() + "/" + key);
  return info_from_headers(key, r);
}

namespace {

struct ConditionMode {
  ConditionSupport support = ConditionSupport::fallback;
  bool unquoted = false;  // If-Match wants the ETag without its quotes (Ceph RGW)
};

std::mutex condition_mu;
std::map<std::string, ConditionMode> condition_modes;  // by endpoint and bucket

std::string unquote(const std::string& etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') return etag.substr(1, etag.size() - 2);
  return etag;
}

}  // namespace

ConditionSupport S3Backend::condition_support() {
  const std::string id = base_ + "/" + bucket_;
  {
    std::lock_guard lk(condition_mu);
    if (auto it = condition_modes.find(id); it != condition_modes.end()) return it->second.support;
  }
  ConditionMode m;
  const char* env = std::getenv("DOCFS_S3_CONDITIONAL");
  if (env && std::string(env) == "atomic") {
    m.support = ConditionSupport::atomic;
  } else if (env && std::string(env) == "fallback") {
    m.support = ConditionSupport::fallback;
  } else {
    // '~' is not allowed in key names: the scratch object never shows up as a key.
    std::string name = "tmp~docfs-probe-" + std::to_string(::getpid()) + "-" + std::to_string(now_ns() % 1000000007);
    Target t = object(name);
    const std::string what = "conditional-write probe on " + url();
    const char body[] = "probe";
    auto put = [&](const Params& h) { return call("PUT", t, h, body, 5, what); };
    HttpResponse p = put({});
    if (p.status != 200) throw_http_error(p, what);
    std::string etag = p.header("etag");
    if (etag.empty())
      if (auto i = head(name)) etag = i->etag;
    try {
      // Refused when the condition fails, accepted when it holds: the server checks.
      bool absent_checked = put({{"if-none-match", "*"}}).status == 412;
      bool wrong_checked = put({{"if-match", "\"00000000000000000000000000000000\""}}).status == 412;
      if (absent_checked && wrong_checked && !etag.empty()) {
        if (put({{"if-match", etag}}).status == 200) {
          m.support = ConditionSupport::atomic;
        } else if (put({{"if-match", unquote(etag)}}).status == 200) {
          m.support = ConditionSupport::atomic;
          m.unquoted = true;
        }
      }
      if (m.support == ConditionSupport::atomic && !probe_multipart(t, what))
        m.support = ConditionSupport::single_only;
    } catch (...) {
      try {
        call("DELETE", t, {}, nullptr, 0, what);
      } catch (const std::exception&) {
      }
      throw;
    }
    try {
      call("DELETE", t, {}, nullptr, 0, what);
    } catch (const std::exception&) {
    }
  }
  std::lock_guard lk(condition_mu);
  condition_modes[id] = m;
  return m.support;
}

// A one-part multipart upload over the existing scratch object, completed with
// If-None-Match: *: true when the server refuses it (412).
bool S3Backend::probe_multipart(const Target& obj, const std::string& what) {
  Target init = obj;
  init.query = {{"uploads", ""}};
  HttpResponse r = call("POST", init, {}, nullptr, 0, what);
  if (r.status != 200) return false;
  const std::string id = parse_xml(r.body).child_text("UploadId");
  if (id.empty()) return false;
  Target part = obj;
  part.query = {{"partNumber", "1"}, {"uploadId", id}};
  HttpResponse pr = call("PUT", part, {}, "probe", 5, what);
  bool refused = false;
  if (pr.status == 200) {
    std::string xml = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + pr.header("etag") +
                      "</ETag></Part></CompleteMultipartUpload>";
    Target done = obj;
    done.query = {{"uploadId", id}};
    HttpResponse cr = call("POST", done, {{"content-type", "application/xml"}, {"if-none-match", "*"}}, xml.data(),
                           xml.size(), what);
    refused = cr.status == 412 || cr.body.find("PreconditionFailed") != std::string::npos;
  }
  Target abort = obj;
  abort.query = {{"uploadId", id}};
  try {
    call("DELETE", abort, {}, nullptr, 0, what);  // a no-op when the upload completed
  } catch (const std::exception&) {
  }
  return refused;
}

void S3Backend::condition_failed(const std::string& key, const PutOptions& opts) {
  std::optional<ObjectInfo> cur = head(key);
  const std::string name = url() + "/" + key;
  if (opts.condition == PutCondition::if_absent)
    throw ConditionFailed("key " + key + " already exists on " + url() + (cur ? " (etag " + cur->etag + ")" : ""), cur);
  throw ConditionFailed("key " + key + " on " + url() + (cur ? " is etag " + cur->etag : " is gone") + ", not " +
                            opts.if_match,
                        cur);
}

ObjectInfo S3Backend::put(const std::string& key, UploadSource& src, const PutOptions& opts) {
  check_key_name(key);
  Params cond;
  std::function<void()> before;
  const bool multipart = src.size() > http_->options().part_size;
  if (opts.condition != PutCondition::none) {
    ConditionSupport cs = condition_support();
    if (cs == ConditionSupport::atomic || (cs == ConditionSupport::single_only && !multipart)) {
      bool unquoted;
      {
        std::lock_guard lk(condition_mu);
        unquoted = condition_modes[base_ + "/" + bucket_].unquoted;
      }
      if (opts.condition == PutCondition::if_match)
        cond.emplace_back("if-match", unquoted ? unquote(opts.if_match) : opts.if_match);
      else cond.emplace_back("if-none-match", "*");
    } else {
      // The fallback: compare just before the request that makes the object visible. A push
      // by someone else between this HEAD and the end of that request is overwritten.
      before = [&] {
        std::optional<ObjectInfo> cur = head(key);
        bool ok = opts.condition == PutCondition::if_absent ? !cur : cur && cur->etag == opts.if_match;
        if (!ok) condition_failed(key, opts);
      };
    }
  }
  std::string etag = !multipart ? put_single(key, src, opts, cond, before)
                                : put_multipart(key, src, opts, cond, before);
  auto info = head(key);
  if (!info) throw IoError(EIO, "pushed " + url() + "/" + key + " but a HEAD does not find it");
  // What we put, even if someone replaced it since: the next conditional push must be
  // based on our version, not on one we have not seen.
  if (!etag.empty() && info->etag != etag) {
    info->etag = etag;
    info->size = src.size();
  }
  return *info;
}

namespace {

Params meta_headers(const PutOptions& opts) {
  Params h{{"content-type", "application/octet-stream"}};
  for (const auto& [k, v] : opts.metadata) h.emplace_back("x-amz-meta-" + k, v);
  return h;
}

// Fills buf from the stream until full or the end; returns the count.
size_t fill(UploadSource& src, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    size_t k = src.read(buf + got, n - got);
    if (k == 0) break;
    got += k;
  }
  return got;
}

}  // namespace

std::string S3Backend::put_single(const std::string& key, UploadSource& src, const PutOptions& opts,
                                  const Params& cond, const std::function<void()>& before) {
  std::string body(src.size() + 1, '\0');
  size_t head = src.head_size();
  size_t n = head + fill(src, body.data() + head, body.size() - head);
  if (src.read(body.data(), 0) != 0 || n != src.size())
    throw IoError(EIO, "archive size changed while packing (" + std::to_string(n) + " bytes)");
  body.resize(n);
  std::string h = src.head();
  std::memcpy(body.data(), h.data(), h.size());
  const std::string what = "PUT " + url() + "/" + key;
  if (before) before();
  Params headers = meta_headers(opts);
  headers.insert(headers.end(), cond.begin(), cond.end());
  HttpResponse r = call("PUT", object(key), headers, body.data(), body.size(), what);
  if (!cond.empty() && (r.status == 412 || r.status == 409 || is_no_such_key(r))) condition_failed(key, opts);
  if (r.status != 200) throw_http_error(r, what);
  if (opts.progress) opts.progress->add(body.size());
  return r.header("etag");
}

std::string S3Backend::put_multipart(const std::string& key, UploadSource& src, const PutOptions& opts,
                                     const Params& cond, const std::function<void()>& before) {
  const std::string name = url() + "/" + key;
  Target init = object(key);
  init.query = {{"uploads", ""}};
  HttpResponse r = call("POST", init, meta_headers(opts), nullptr, 0, "start multipart upload of " + name);
  if (r.status != 200) throw_http_error(r, "start multipart upload of " + name);
  const std::string upload_id = parse_xml(r.body).child_text("UploadId");
  if (upload_id.empty()) throw IoError(EIO, "start multipart upload of " + name + ": no UploadId in the answer");

  const size_t part_size = std::max<uint64_t>(http_->options().part_size, 5u << 20);
  const int workers = std::max(1, http_->options().concurrency);
  struct Part {
    int number;
    std::string data;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Part> queue;
  std::map<int, std::string> etags;
  bool done_producing = false;
  std::exception_ptr error;

  auto upload = [&](const Part& p) {
    Target t = object(key);
    t.query = {{"partNumber", std::to_string(p.number)}, {"uploadId", upload_id}};
    const std::string what = "upload part " + std::to_string(p.number) + " of " + name;
    HttpResponse pr = call("PUT", t, {}, p.data.data(), p.data.size(), what);
    if (pr.status != 200) throw_http_error(pr, what);
    std::lock_guard lk(mu);
    etags[p.number] = pr.header("etag");
    if (opts.progress) opts.progress->add(p.data.size());
  };
  auto worker = [&] {
    for (;;) {
      Part p;
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return !queue.empty() || done_producing || error; });
        if (error || queue.empty()) return;
        p = std::move(queue.front());
        queue.pop_front();
      }
      cv.notify_all();
      try {
        upload(p);
      } catch (...) {
        std::lock_guard lk(mu);
        if (!error) error = std::current_exception();
        cv.notify_all();
        return;
      }
    }
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < workers; ++i) threads.emplace_back(worker);
  try {
    // Part 1 starts with the archive head, known only at the end: it goes up last.
    Part first{1, std::string(part_size, '\0')};
    first.data.resize(src.head_size() + fill(src, first.data.data() + src.head_size(), part_size - src.head_size()));
    for (int number = 2;; ++number) {
      std::string data(part_size, '\0');
      data.resize(fill(src, data.data(), part_size));
      if (data.empty()) break;
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return queue.size() < static_cast<size_t>(workers) || error; });
      if (error) break;
      queue.push_back({number, std::move(data)});
      cv.notify_all();
    }
    bool ok;
    {
      std::lock_guard lk(mu);
      ok = !error;
    }
    if (ok) {
      std::string h = src.head();
      std::memcpy(first.data.data(), h.data(), h.size());
      std::unique_lock lk(mu);
      queue.push_back(std::move(first));
    }
  } catch (...) {
    std::lock_guard lk(mu);
    if (!error) error = std::current_exception();
  }
  {
    std::lock_guard lk(mu);
    done_producing = true;
  }
  cv.notify_all();
  for (auto& t : threads) t.join();

  auto abort_upload = [&] {
    Target t = object(key);
    t.query = {{"uploadId", upload_id}};
    try {
      call("DELETE", t, {}, nullptr, 0, "abort multipart upload of " + name);
    } catch (const std::exception&) {
      // Best effort: the upload was never completed, so the old object is intact anyway.
    }
  };
  if (error) {
    abort_upload();
    std::rethrow_exception(error);
  }
  std::string xml = "<CompleteMultipartUpload>";
  for (const auto& [n, etag] : etags)
    xml += "<Part><PartNumber>" + std::to_string(n) + "</PartNumber><ETag>" + etag + "</ETag></Part>";
  xml += "</CompleteMultipartUpload>";
  Target t = object(key);
  t.query = {{"uploadId", upload_id}};
  const std::string what = "complete multipart upload of " + name;
  HttpResponse cr;
  try {
    if (before) before();
    Params headers{{"content-type", "application/xml"}};
    headers.insert(headers.end(), cond.begin(), cond.end());
    cr = call("POST", t, headers, xml.data(), xml.size(), what);
  } catch (...) {
    abort_upload();
    throw;
  }
  if (!cond.empty() && (cr.status == 412 || cr.status == 409 || is_no_such_key(cr))) {
    abort_upload();
    condition_failed(key, opts);
  }
  // S3 may answer 200 and still carry an <Error> in the body.
  bool failed = cr.status != 200;
  if (!failed && cr.body.find("<Error>") != std::string::npos) {
    try {
      failed = parse_xml(cr.body).name == "Error";
    } catch (const std::exception&) {
    }
  }
  if (failed) {
    abort_upload();
    if (!cond.empty() && cr.body.find("<Code>PreconditionFailed</Code>") != std::string::npos)
      condition_failed(key, opts);
    throw_http_error(cr, what);
  }
  try {
    return parse_xml(cr.body).child_text("ETag");
  } catch (const std::exception&) {
    return "";
  }
}

Fetched S3Backend::fetch(const std::string& key, const FetchOptions& opts) {
  auto info = head(key);
  if (!info) throw UsageError(ENOENT, "no key " + key + " on " + url());
  if (opts.check) opts.check(*info);
  Fetched out{make_temp_file(opts.tmp_dir), info->size, *info, nullptr};
  auto build = [this, t = object(key), etag = info->etag](uint64_t from, uint64_t to) {
    Params h{{"range", "bytes=" + std::to_string(from) + "-" + std::to_string(to)}};
    // Every range from the same object version: a concurrent push makes this fail (412).
    if (!etag.empty()) h.emplace_back("if-match", etag);
    return make("GET", t, h, nullptr, 0, kEmptySha256);
  };
  out.download = std::make_shared<RangeDownload>(*http_, build, 0, info->size, out.file, opts.progress,
                                                 "GET " + url() + "/" + key);
  if (!opts.background) {
    out.download->finish();
    out.download.reset();
  }
  return out;
}

bool S3Backend::remove(const std::string& key) {
  if (!head(key)) return false;
  const std::string what = "DELETE " + url() + "/" + key;
  HttpResponse r = call("DELETE", object(key), {}, nullptr, 0, what);
  if (r.status != 204 && r.status != 200) throw_http_error(r, what);
  return true;
}

std::string S3Backend::presign(const std::string& key, uint64_t seconds) {
  check_key_name(key);
  if (settings_.credentials.empty())
    throw UsageError(EACCES, "share needs credentials to sign the link (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile)");
  if (seconds == 0 || seconds > kMaxPresignSeconds)
    throw UsageError(EINVAL, "a share link lasts 1 second to 7 days, not " + std::to_string(seconds) + " seconds");
  Target t = object(key);
  SignableRequest s{"GET", t.path, {}, {{"host", host_}}, ""};
  return base_ + t.path + "?" +
         presign_query(s, settings_.credentials, Scope{settings_.region, "s3"}, std::time(nullptr), seconds);
}

}  // namespace docfs::remote
