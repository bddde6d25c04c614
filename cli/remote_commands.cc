// Subcommands that move stores to and from a remote: push, pull, keys, rm-key, share, gc.
// The remote is --remote URL, else $DOCFS_REMOTE, else the file:// default of remote/.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/table.h"
#include "core/error.h"
#include "core/time_format.h"
#include "remote/backend.h"
#include "remote/docarray_object.h"
#include "remote/docarray_transfer.h"
#include "remote/key_name.h"
#include "remote/sigv4.h"
#include "remote/transfer.h"

namespace docfs::cli {
namespace {

using namespace docfs::remote;

const std::set<std::string> kRemoteValued = {"--remote", "--endpoint", "--concurrency", "--part-size", "--retries"};
const std::set<std::string> kRemoteFlags = {"--quiet", "-q", "--no-verify-tls"};

const char* kRemoteOptionsHelp =
    "remote options:\n"
    "  --remote URL       file:///DIR or s3://BUCKET[/PREFIX] (default: $DOCFS_REMOTE, else\n"
    "                     file://$XDG_DATA_HOME/docfs/remote or ~/.local/share/docfs/remote)\n"
    "  --endpoint URL     S3 endpoint (else AWS_ENDPOINT_URL or the profile); path-style addressing\n"
    "  --concurrency N    parallel parts / ranges (default 4)\n"
    "  --part-size SIZE   multipart part and download range size (default and minimum 8M)\n"
    "  --retries N        attempts per request on errors worth retrying (default 5)\n"
    "  --no-verify-tls    do not verify TLS certificates (test endpoints only)\n"
    "  -q, --quiet        no progress bar (it is shown only on a terminal anyway)\n"
    "S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN or\n"
    "AWS_PROFILE with ~/.aws/credentials and ~/.aws/config; the region from AWS_REGION.\n";

std::set<std::string> with(std::set<std::string> a, const std::set<std::string>& b) {
  a.insert(b.begin(), b.end());
  return a;
}

std::string remote_url(const Args& a) {
  if (auto r = a.value("--remote")) return *r;
  if (const char* e = std::getenv("DOCFS_REMOTE"); e && *e) return e;
  return default_remote_url();
}

BackendOptions backend_options(const Args& a) {
  BackendOptions o;
  if (auto e = a.value("--endpoint")) o.endpoint = *e;
  if (auto c = a.value("--concurrency")) {
    try {
      o.concurrency = std::stoi(*c);
    } catch (...) {
      o.concurrency = 0;
    }
    if (o.concurrency < 1 || o.concurrency > 64) throw CliUsageError("--concurrency must be 1..64");
  }
  if (auto p = a.value("--part-size")) {
    o.part_size = parse_size(*p);
    if (o.part_size < (8u << 20)) throw CliUsageError("--part-size must be at least 8M");
    if (o.part_size > (1u << 30)) throw CliUsageError("--part-size must be at most 1G");
  }
  if (auto r = a.value("--retries")) {
    try {
      o.max_attempts = std::stoi(*r);
    } catch (...) {
      o.max_attempts = 0;
    }
    if (o.max_attempts < 1 || o.max_attempts > 20) throw CliUsageError("--retries must be 1..20");
  }
  if (a.has("--no-verify-tls")) {
    o.verify_tls = false;
    std::cerr << "docfs: warning: TLS certificate verification is off (--no-verify-tls); use it only with a "
                 "test endpoint\n";
  }
  return o;
}

std::unique_ptr<Backend> backend(const Args& a) { return open_backend(remote_url(a), backend_options(a)); }

void require_key(const std::string& key) {
  if (auto p = key_name_problem(key); !p.empty()) throw CliUsageError("invalid key '" + key + "': " + p);
}

std::string local_time(int64_t ns) { return ns == 0 ? "-" : format_time(ns, "%Y-%m-%d %H:%M:%S", false); }

// A one-line progress bar on stderr (bytes, rate, ETA), redrawn a few times a second, only
// when stderr is a terminal and --quiet was not given.
class ProgressBar {
 public:
  ProgressBar(const Args& a, std::string label) : label_(std::move(label)) {
    enabled_ = !a.has("--quiet") && !a.has("-q") && ::isatty(STDERR_FILENO);
    if (enabled_) thread_ = std::thread([this] { loop(); });
  }
  ~ProgressBar() { finish(); }
  Progress* get() { return &p_; }
  void finish() {
    if (!enabled_) return;
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    draw(true);
    std::cerr << "\n";
    enabled_ = false;
  }

 private:
  void loop() {
    std::unique_lock lk(mu_);
    while (!cv_.wait_for(lk, std::chrono::milliseconds(250), [this] { return stop_; })) draw(false);
  }
  void draw(bool final) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const uint64_t done = p_.done.load(), total = p_.total.load();
    const double rate = secs > 0 ? done / secs : 0;
    char line[256];
    std::string eta = "--:--";
    if (rate > 0 && total > done && !final) {
      long s = static_cast<long>((total - done) / rate);
      char b[48];
      std::snprintf(b, sizeof b, "%ld:%02ld", s / 60, s % 60);
      eta = b;
    } else if (final) {
      char b[48];
      std::snprintf(b, sizeof b, "%.1fs", secs);
      eta = b;
    }
    const int width = 24;
    int filled = total ? static_cast<int>(width * std::min(1.0, double(done) / total)) : 0;
    std::string bar = std::string(filled, '=') + std::string(width - filled, ' ');
    std::snprintf(line, sizeof line, "\r%s [%s] %7s / %-7s %7s/s  %s   ", label_.c_str(), bar.c_str(),
                  format_size(done, true).c_str(), format_size(total, true).c_str(),
                  format_size(static_cast<uint64_t>(rate), true).c_str(), eta.c_str());
    std::cerr << line << std::flush;
  }

  std::string label_;
  Progress p_;
  bool enabled_ = false;
  bool stop_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

bool quiet(const Args& a) { return a.has("--quiet") || a.has("-q"); }

// ---------------------------------------------------------------- push

int cmd_push(int argc, char** argv) {
  Args a(argc, argv, with(kRemoteValued, {"--ttl", "--if-match", "--format"}), with(kRemoteFlags, {"--if-absent"}));
  a.expect_positional(2, 2);
  const std::string store = a.positional()[0], key = a.positional()[1];
  require_key(key);
  if (auto f = a.value("--format"); f && *f != "docfs") {
    if (*f != "docarray") throw CliUsageError("--format is docfs (the default) or docarray, not " + *f);
    if (a.value("--ttl") || a.value("--if-match") || a.has("--if-absent"))
      throw CliUsageError("--ttl, --if-match and --if-absent are docfs archive features; DocArray's format has no "
                          "room for them");
    auto b = backend(a);
    DocArrayTransfer r = push_docarray(store, *b, key);
    if (!quiet(a)) {
      std::cout << "pushed " << r.documents << " documents (" << format_size(r.bytes, true) << ") to " << b->url()
                << "/" << r.key << " in DocArray's format";
      if (r.skipped) std::cout << "; skipped " << r.skipped << " directories, links or special files";
      std::cout << "\n";
    }
    return kExitOk;
  }
  PushOptions po;
  if (auto m = a.value("--if-match")) {
    if (m->empty()) throw CliUsageError("--if-match needs an ETAG (see `docfs keys --json`)");
    po.condition = PutCondition::if_match;
    po.if_match = *m;
  }
  if (a.has("--if-absent")) {
    if (po.condition != PutCondition::none) throw CliUsageError("--if-match and --if-absent exclude each other");
    po.condition = PutCondition::if_absent;
  }
  if (auto t = a.value("--ttl")) {
    po.ttl_seconds = parse_duration(*t);
    if (po.ttl_seconds == 0) throw CliUsageError("--ttl must be at least 1 second");
  }
  auto b = backend(a);
  // The seeds' rule: a plain push replaces the key. Say what it replaced.
  std::optional<ObjectInfo> before;
  if (po.condition == PutCondition::none) {
    try {
      before = b->head(key);
    } catch (const Error&) {
      // Only for the message: the push itself reports what is wrong (a HEAD has no body,
      // so its error says less than the PUT's).
    }
  }
  ProgressBar bar(a, "push " + key);
  po.progress = bar.get();
  PushResult r;
  try {
    r = push_store(store, *b, key, po);
  } catch (const ConditionFailed& e) {
    bar.finish();
    std::string msg = "push refused, nothing replaced: key " + key + " on " + b->url();
    if (!e.current) msg += " does not exist";
    else msg += " holds etag " + e.current->etag + " pushed at " + format_utc(e.current->mtime_ns);
    if (po.condition == PutCondition::if_match) msg += ", not etag " + po.if_match;
    else if (e.current) msg += " (--if-absent)";
    throw Error(EAGAIN, msg);
  }
  bar.finish();
  if (before && !quiet(a))
    std::cout << "replaced etag " << before->etag << " pushed at " << format_utc(before->mtime_ns) << "\n";
  if (!quiet(a)) {
    std::cout << "pushed " << r.documents << " documents (" << format_size(r.bytes, true) << ") to "
              << b->url() << "/" << key;
    if (po.ttl_seconds) std::cout << ", expires " << local_time(r.info.expires_ns ? r.info.expires_ns :
                                                                  now_ns() + int64_t(po.ttl_seconds) * 1000000000);
    std::cout << "\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------- pull

int cmd_pull(int argc, char** argv) {
  Args a(argc, argv, with(kRemoteValued, {"--max-bytes"}), kRemoteFlags);
  a.expect_positional(2, 2);
  const std::string what = a.positional()[0], dest = a.positional()[1];
  PullOptions po;
  if (auto m = a.value("--max-bytes")) po.max_bytes = parse_size(*m);
  const bool is_url = what.find("://") != std::string::npos;
  if (!is_url) require_key(what);
  PullResult r;
  ProgressBar bar(a, "pull " + (is_url ? std::string("URL") : what));
  po.progress = bar.get();
  if (is_url) {
    if (what.rfind("http://", 0) != 0 && what.rfind("https://", 0) != 0)
      throw CliUsageError("pull takes a key or an http(s):// share link, not " + what.substr(0, what.find("://") + 3));
    r = pull_url(what, dest, po, backend_options(a));
  } else {
    auto b = backend(a);
    // A DocArray object: NAME.docs itself, or NAME when the remote has no docfs key NAME.
    std::string docarray_key;
    std::optional<ObjectInfo> own = b->head(what);
    if (own && own->format == "docarray") docarray_key = what;
    else if (!own && key_name_problem(what + std::string(kDocArraySuffix)).empty() &&
             b->head(what + std::string(kDocArraySuffix)))
      docarray_key = what + std::string(kDocArraySuffix);
    if (!docarray_key.empty()) {
      bar.finish();
      DocArrayTransfer d = pull_docarray(*b, docarray_key, dest, po.max_bytes);
      if (!quiet(a))
        std::cout << "pulled " << d.documents << " documents (" << format_size(d.bytes, true) << ") from DocArray's "
                  << docarray_key << " into " << dest << "\n";
      return kExitOk;
    }
    r = pull_store(*b, what, dest, po);
  }
  bar.finish();
  if (!quiet(a))
    std::cout << "pulled " << r.documents << " documents (" << format_size(r.bytes, true) << ") into " << dest
              << "\n";
  return kExitOk;
}

// ---------------------------------------------------------------- keys

int cmd_keys(int argc, char** argv) {
  Args a(argc, argv, kRemoteValued, with(kRemoteFlags, {"--json", "-h", "--human"}));
  a.expect_positional(0, 0);
  auto b = backend(a);
  auto keys = live_keys(*b);
  if (a.has("--json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& k : keys) {
      nlohmann::json j = {{"key", k.key}, {"size", k.size}, {"etag", k.etag}, {"pushed_at", iso8601_utc(k.mtime_ns)}};
      j["format"] = k.format.empty() ? nlohmann::json(nullptr) : nlohmann::json(k.format);
      j["documents"] = k.documents_known ? nlohmann::json(k.documents) : nlohmann::json(nullptr);
      j["expires"] = k.expires_ns ? nlohmann::json(iso8601_utc(k.expires_ns)) : nlohmann::json(nullptr);
      out.push_back(j);
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  const bool human = a.has("-h") || a.has("--human");
  // FORMAT last: scripts read the older columns by position.
  Table t({"KEY", "SIZE", "DOCUMENTS", "PUSHED AT", "EXPIRES", "FORMAT"}, {false, true, true, false, false, false});
  for (const auto& k : keys)
    t.add({k.key, format_size(k.size, human), k.documents_known ? std::to_string(k.documents) : "?",
           local_time(k.created_ns ? k.created_ns : k.mtime_ns), k.expires_ns ? local_time(k.expires_ns) : "never",
           k.format.empty() ? "?" : k.format});
  t.print(std::cout, ::isatty(STDOUT_FILENO));
  return kExitOk;
}

// ---------------------------------------------------------------- rm-key

int cmd_rm_key(int argc, char** argv) {
  Args a(argc, argv, kRemoteValued, kRemoteFlags);
  a.expect_positional(1, 1000);
  for (const auto& k : a.positional()) require_key(k);
  auto b = backend(a);
  int status = kExitOk;
  for (const auto& k : a.positional()) {
    if (!b->remove(k)) {
      std::cerr << "docfs rm-key: no key " << k << " on " << b->url() << "\n";
      status = kExitFailure;
    }
  }
  return status;
}

// ---------------------------------------------------------------- share

int cmd_share(int argc, char** argv) {
  Args a(argc, argv, with(kRemoteValued, {"--expires"}), kRemoteFlags);
  a.expect_positional(1, 1);
  const std::string key = a.positional()[0];
  require_key(key);
  uint64_t secs = 24 * 3600;
  if (auto e = a.value("--expires")) secs = parse_duration(*e);
  if (secs == 0 || secs > kMaxPresignSeconds)
    throw CliUsageError("--expires must be between 1s and 7d (S3's limit for presigned URLs)");
  auto b = backend(a);
  auto info = b->head(key);
  if (!info) throw UsageError(ENOENT, "no key " + key + " on " + b->url());
  if (info->expired(now_ns()))
    throw UsageError(ENOENT, "key " + key + " expired at " + format_utc(info->expires_ns));
  std::cout << b->presign(key, secs) << "\n";
  return kExitOk;
}

// ---------------------------------------------------------------- gc

int cmd_gc(int argc, char** argv) {
  Args a(argc, argv, kRemoteValued, kRemoteFlags);
  a.expect_positional(0, 0);
  auto b = backend(a);
  auto gone = delete_expired(*b);
  if (!quiet(a)) {
    for (const auto& k : gone) std::cout << "deleted expired key " << k << "\n";
    std::cout << gone.size() << " expired key" << (gone.size() == 1 ? "" : "s") << " deleted from " << b->url()
              << "\n";
  }
  return kExitOk;
}

std::string usage(const std::string& head, const std::string& body) {
  return head + "\n\n" + body + "\n" + kRemoteOptionsHelp +
         "\nexit status: 0 success, 1 failure, 2 usage error\n";
}

}  // namespace

std::vector<Command> remote_commands() {
  return {
      {"push", "push a store to a remote under a key",
       usage("usage: docfs push STORE KEY [--remote URL] [--ttl DURATION] [--if-match ETAG | --if-absent]\n"
             "                        [--format docfs|docarray] [options]",
             "Packs the live documents of STORE into one archive and stores it under KEY (1-255\n"
             "bytes of A-Z a-z 0-9 . _ -). The same key again replaces the old array atomically.\n"
             "  --ttl DURATION     expire the key after DURATION (30m, 12h, 7d): expired keys are\n"
             "                     not listed or pulled, and `docfs gc` deletes them\n"
             "  --if-match ETAG    replace the key only if it still holds ETAG (`docfs keys --json`);\n"
             "                     otherwise fail and replace nothing\n"
             "  --if-absent        create the key only if it does not exist\n"
             "Without them, a push that replaces an existing key prints `replaced etag ETAG pushed\n"
             "at TIME`.\n"
             "  --format docarray  write KEY.docs as DocArray 0.40's DocList.push('file://DIR/KEY')\n"
             "                     or push('s3://BUCKET/PREFIX/KEY') does (s3://: gzip'd pickles,\n"
             "                     written by docfs; DocList[T].pull reads either)\n"),
       cmd_push},
      {"pull", "pull a key or a share link into a store",
       usage("usage: docfs pull KEY|URL STORE [--remote URL] [--max-bytes SIZE] [options]",
             "Downloads the array under KEY (or from a link made by `docfs share`, no credentials\n"
             "needed), checks magic, version, length and SHA-256, and only then puts the store in\n"
             "place at STORE (a new directory, or an existing store that is not mounted).\n"
             "DocArray's objects are pulled too: KEY.docs, or KEY when there is no docfs key KEY\n"
             "(file:// and s3://; every document is checked before STORE is put in place).\n"
             "  --max-bytes SIZE   refuse arrays larger than SIZE before downloading them\n"),
       cmd_pull},
      {"keys", "list the keys on a remote",
       usage("usage: docfs keys [--remote URL] [--json] [-h] [options]",
             "Lists keys that have not expired: key, size, documents, pushed at, expires, format\n"
             "(docfs, docarray, or ? for neither). Aligned\n"
             "columns on a terminal, tab-separated values otherwise.\n"
             "  --json             a JSON array instead\n"
             "  -h, --human        sizes like 1.5G\n"),
       cmd_keys},
      {"rm-key", "delete keys from a remote",
       usage("usage: docfs rm-key KEY... [--remote URL] [options]", "Deletes each KEY from the remote.\n"),
       cmd_rm_key},
      {"share", "print a presigned download link for a key",
       usage("usage: docfs share KEY [--expires DURATION] [--remote URL] [options]",
             "Prints a presigned GET URL (s3:// remotes) that anyone can pull with\n"
             "`docfs pull URL STORE` or curl, without credentials, until it expires.\n"
             "  --expires DURATION link lifetime, 1s to 7d (default 1d)\n"),
       cmd_share},
      {"gc", "delete expired keys from a remote",
       usage("usage: docfs gc [--remote URL] [options]", "Deletes every key whose --ttl has passed.\n"), cmd_gc},
  };
}

}  // namespace docfs::cli
