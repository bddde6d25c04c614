#include "remote/transfer.h"

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "core/error.h"
#include "remote/download.h"
#include "remote/http_client.h"
#include "remote/key_name.h"

namespace docfs::remote {
namespace {

std::string parent_dir(const std::string& dest) {
  std::string d = dest;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  auto p = std::filesystem::path(d).parent_path().string();
  return p.empty() ? "." : p;
}

void check_before_download(const ObjectInfo& i, const std::string& name, uint64_t max_bytes) {
  if (i.expired(now_ns()))
    throw UsageError(ENOENT, name + " expired at " + format_utc(i.expires_ns) +
                                 " (pushed with --ttl); `docfs gc` deletes expired keys");
  if (i.format_version) check_archive_version(i.format_version, name);
  if (max_bytes && i.size > max_bytes)
    throw UsageError(EFBIG, name + " is " + std::to_string(i.size) + " bytes, more than --max-bytes " +
                                std::to_string(max_bytes) + "; nothing was downloaded");
}

}  // namespace

std::string format_utc(int64_t ns) {
  std::time_t t = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

PushResult push_store(const std::string& store_dir, Backend& backend, const std::string& key,
                      const PushOptions& opts) {
  check_key_name(key);
  auto store = Store::open(store_dir, OpenOptions{.create = false, .read_only = true});
  const int64_t now = now_ns();
  const int64_t expires = opts.ttl_seconds ? now + static_cast<int64_t>(opts.ttl_seconds) * 1000000000 : 0;
  StoreArchiveSource src(*store, now, expires);
  PutOptions po;
  po.progress = opts.progress;
  po.condition = opts.condition;
  po.if_match = opts.if_match;
  if (opts.progress) opts.progress->total = src.size();
  po.metadata[kMetaDocuments] = std::to_string(src.documents());
  po.metadata[kMetaCreated] = std::to_string(now);
  po.metadata[kMetaFormat] = std::to_string(kArchiveFormatVersion);
  if (expires) po.metadata[kMetaExpires] = std::to_string(expires);
  PushResult r;
  r.info = backend.put(key, src, po);
  r.documents = src.documents();
  r.bytes = src.size();
  return r;
}

PullResult pull_store(Backend& backend, const std::string& key, const std::string& dest, const PullOptions& opts) {
  check_key_name(key);
  check_pull_destination(dest);
  const std::string name = backend.url() + "/" + key;
  FetchOptions fo;
  fo.tmp_dir = parent_dir(dest);
  fo.progress = opts.progress;
  fo.check = [&](const ObjectInfo& i) {
    check_before_download(i, key, opts.max_bytes);
    if (opts.progress) opts.progress->total = i.size;
  };
  fo.background = true;
  Fetched f = backend.fetch(key, fo);
  // A download still running: unpack (and hash) its contiguous prefix as it arrives. The
  // store is only renamed into place after every check passed, at the end. file:// hands
  // over the file itself: count the unpack as the progress instead.
  std::function<void(uint64_t)> available;
  if (f.download) available = [d = f.download.get()](uint64_t n) { d->wait_for(n); };
  UnpackResult u = unpack_archive(f.file, f.size, dest, f.download ? nullptr : opts.progress, name, available);
  if (f.download) f.download->finish();
  if (u.header.expires_ns && u.header.expires_ns <= now_ns())
    throw UsageError(ENOENT, "key " + key + " expired at " + format_utc(u.header.expires_ns));
  return {u.documents, u.bytes, f.info};
}

PullResult pull_url(const std::string& url, const std::string& dest, const PullOptions& opts,
                    const BackendOptions& http_opts) {
  check_pull_destination(dest);
  HttpClient http(http_opts);
  std::string shown = url.substr(0, url.find('?'));  // the signature stays out of messages
  auto build = [&](uint64_t from, uint64_t to) {
    HttpRequest r;
    r.url = url;
    r.headers = {{"range", "bytes=" + std::to_string(from) + "-" + std::to_string(to)}};
    return r;
  };
  // The header first: size, version and expiry are checked before the payload moves.
  HttpResponse first = http.perform_with_retries([&] { return build(0, kArchiveHeaderSize - 1); }, "GET " + shown);
  if (first.status != 206 && first.status != 200) throw_http_error(first, "GET " + shown);
  uint64_t total = 0;
  std::string cr = first.header("content-range");  // "bytes 0-127/12345"
  if (auto slash = cr.rfind('/'); first.status == 206 && slash != std::string::npos) {
    total = std::stoull(cr.substr(slash + 1));
  } else {
    total = first.body.size();
  }
  ArchiveHeader h = decode_archive_header(first.body.substr(0, kArchiveHeaderSize), shown);
  ObjectInfo info;
  info.size = total;
  info.expires_ns = h.expires_ns;
  info.documents = h.documents;
  info.documents_known = true;
  info.created_ns = h.created_ns;
  info.etag = first.header("etag");
  check_before_download(info, shown, opts.max_bytes);
  if (opts.progress) opts.progress->total = total;

  File f = make_temp_file(parent_dir(dest));
  f.pwrite(first.body.data(), first.body.size(), 0);
  if (opts.progress) opts.progress->add(first.body.size());
  std::unique_ptr<RangeDownload> rest;
  if (first.status == 206 && total > first.body.size())
    rest = std::make_unique<RangeDownload>(http, build, first.body.size(), total, f, opts.progress, "GET " + shown);
  std::function<void(uint64_t)> available;
  if (rest) available = [d = rest.get()](uint64_t n) { d->wait_for(n); };
  UnpackResult u = unpack_archive(f, total, dest, nullptr, shown, available);
  if (rest) rest->finish();
  return {u.documents, u.bytes, info};
}

std::vector<ObjectInfo> live_keys(Backend& backend) {
  std::vector<ObjectInfo> out;
  const int64_t now = now_ns();
  for (auto& i : backend.list())
    if (!i.expired(now)) out.push_back(std::move(i));
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

std::vector<std::string> delete_expired(Backend& backend) {
  std::vector<std::string> gone;
  const int64_t now = now_ns();
  for (const auto& i : backend.list())
    if (i.expired(now) && backend.remove(i.key)) gone.push_back(i.key);
  std::sort(gone.begin(), gone.end());
  return gone;
}

}  // namespace docfs::remote
