// Where pushed arrays live: one interface, two backends (file:// and s3://). Each key is one
// object holding an archive (remote/archive.h). Used by the CLI (cli/remote_commands.cc) and
// by the FUSE daemon's .remote/ folder; nothing here knows about either.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"

namespace docfs::remote {

// What a backend knows about one key without downloading it.
struct ObjectInfo {
  std::string key;
  uint64_t size = 0;       // archive bytes
  std::string etag;        // changes whenever the object is replaced
  int64_t mtime_ns = 0;    // when it was pushed (last modified)
  // From the archive header (file://) or object metadata (s3://); 0 when unknown.
  uint64_t documents = 0;
  bool documents_known = false;
  int64_t created_ns = 0;
  int64_t expires_ns = 0;  // 0: never
  uint32_t format_version = 0;  // set only when the object is a docfs archive (magic checked)
  // "docfs" (an archive), "docarray" (DocArray v2's NAME.docs), "" (neither).
  std::string format;
  bool expired(int64_t now_ns) const { return expires_ns != 0 && expires_ns <= now_ns; }
};

// Bytes moved so far, shared between transfer threads and a progress display.
struct Progress {
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> total{0};
  void add(uint64_t n) { done.fetch_add(n, std::memory_order_relaxed); }
};

// A stream whose first head_size() bytes are known only once the rest has been read: an
// archive's header carries the SHA-256 of everything after it. Lets a push hash and send
// in one pass (file:// writes the head last, multipart uploads part 1 last).
class UploadSource {
 public:
  virtual ~UploadSource() = default;
  virtual uint64_t size() const = 0;  // head included
  virtual size_t head_size() const = 0;
  // The bytes after the head, in order; returns 0 only at the end.
  virtual size_t read(void* buf, size_t n) = 0;
  // Valid once read() has returned 0.
  virtual std::string head() = 0;
};

// A conditional push: replace the key only if the remote still holds what the caller's
// copy was based on.
enum class PutCondition {
  none,      // replace whatever is there (docfs push)
  if_match,  // only if the key's ETag is still PutOptions::if_match
  if_absent  // only if the key does not exist
};

struct PutOptions {
  std::map<std::string, std::string> metadata;  // s3: x-amz-meta-NAME; file: unused
  Progress* progress = nullptr;
  PutCondition condition = PutCondition::none;
  std::string if_match;  // the ETag for PutCondition::if_match
};

// The condition of a conditional put failed: the key holds another version (`current`) or
// none (current == nullopt). Nothing was replaced.
class ConditionFailed : public Error {
 public:
  ConditionFailed(const std::string& what, std::optional<ObjectInfo> current)
      : Error(EAGAIN, what), current(std::move(current)) {}
  std::optional<ObjectInfo> current;
};

// How a backend enforces PutOptions::condition.
enum class ConditionSupport {
  atomic,       // by the server (S3 If-Match / If-None-Match) or under a lock (file://)
  single_only,  // by the server for single PUTs; multipart uploads use the fallback (RGW)
  fallback      // HEAD, compare, then PUT: a concurrent push landing in between is overwritten
};

class RangeDownload;  // remote/download.h

// A whole object, readable locally: the file itself for file://, a downloaded (unlinked)
// temporary file for s3://.
struct Fetched {
  File file;
  uint64_t size = 0;
  ObjectInfo info;
  // Set when the download still runs in the background (FetchOptions::background): read
  // only what download->wait_for(n) says is there. Declared last: destroyed (cancelled and
  // joined) before the file it writes.
  std::shared_ptr<RangeDownload> download;
};

struct FetchOptions {
  std::string tmp_dir;  // where a download may put its temporary file
  Progress* progress = nullptr;
  // Called with the object's info before any payload byte is downloaded; throws to refuse
  // (expired, too large, newer format).
  std::function<void(const ObjectInfo&)> check;
  // Return as soon as the object's info is known and let the download run on (see
  // Fetched::download), so the caller can consume the file's prefix while the rest arrives.
  bool background = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // The remote's URL as a user wrote it (never with credentials).
  virtual std::string url() const = 0;
  // Every key, expired ones included (callers filter with ObjectInfo::expired).
  virtual std::vector<ObjectInfo> list() = 0;
  virtual std::optional<ObjectInfo> head(const std::string& key) = 0;
  // Replaces the key atomically: readers see the old or the new object, never a mix. On
  // failure the old object is left as it was. Throws ConditionFailed when opts.condition
  // does not hold.
  virtual ObjectInfo put(const std::string& key, UploadSource& src, const PutOptions& opts) = 0;
  // How conditional puts are enforced (s3: probed once per endpoint and bucket).
  virtual ConditionSupport condition_support() = 0;
  // UsageError(ENOENT) when the key does not exist.
  virtual Fetched fetch(const std::string& key, const FetchOptions& opts) = 0;
  // Returns false when there was nothing to delete.
  virtual bool remove(const std::string& key) = 0;
  // A URL that lets anyone GET the key for `seconds` (1..604800) without credentials.
  // UsageError(ENOTSUP) for backends that cannot presign.
  virtual std::string presign(const std::string& key, uint64_t seconds) = 0;
};

struct BackendOptions {
  std::string endpoint;           // --endpoint; otherwise AWS_ENDPOINT_URL / profile / AWS
  bool verify_tls = true;         // false only for test endpoints (the CLI warns)
  int concurrency = 4;            // parallel parts / ranges
  uint64_t part_size = 8u << 20;  // multipart part and ranged-GET size (>= 8 MiB)
  int max_attempts = 5;           // per request, with exponential backoff and jitter
  long connect_timeout_s = 10;
  long stall_timeout_s = 60;      // abort a transfer that moves no byte for this long
};

// "file:///abs/dir" or "s3://bucket[/prefix]". Throws UsageError(EINVAL) for anything else.
std::unique_ptr<Backend> open_backend(const std::string& url, const BackendOptions& opts = {});
// file://$XDG_DATA_HOME/docfs/remote, or file://~/.local/share/docfs/remote.
std::string default_remote_url();

// Object metadata names (s3: x-amz-meta-<name>).
inline constexpr const char* kMetaDocuments = "docfs-documents";
inline constexpr const char* kMetaCreated = "docfs-created";   // ns since the epoch
inline constexpr const char* kMetaExpires = "docfs-expires";   // ns since the epoch
inline constexpr const char* kMetaFormat = "docfs-format";

}  // namespace docfs::remote
