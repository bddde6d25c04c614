#include "fs/remote_sync.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "fs/log.h"
#include "remote/docarray_object.h"
#include "remote/docarray_transfer.h"
#include "remote/key_name.h"
#include "remote/transfer.h"

namespace docfs::fs {
namespace {

namespace stdfs = std::filesystem;

std::chrono::duration<double> seconds(double s) { return std::chrono::duration<double>(s); }

bool is_dir(const std::string& p) {
  std::error_code ec;
  return stdfs::is_directory(p, ec);
}

void remove_tree(const std::string& p) {
  std::error_code ec;
  stdfs::remove_all(p, ec);
  if (ec) DOCFS_LOG_WARN("removing %s: %s", p.c_str(), ec.message().c_str());
}

}  // namespace

RemoteSync::RemoteSync(const MountOptions& opts, const std::string& store_dir)
    : opts_(opts), cache_root_(store_dir + "/remote-cache") {
  url_ = opts.remote_url.empty() ? remote::default_remote_url() : opts.remote_url;
  backend_opts_.endpoint = opts.remote_endpoint;
  backend_opts_.max_attempts = 3;  // a failed push is retried by the pusher anyway
  backend_opts_.connect_timeout_s = 5;
  backend_opts_.stall_timeout_s = 30;
  query_ = remote::open_backend(url_, backend_opts_);  // refuses a malformed URL at mount
  if (!opts.read_only && ::mkdir(cache_root_.c_str(), 0755) != 0 && errno != EEXIST)
    throw IoError(errno, "create " + cache_root_);
  scan_caches();
}

RemoteSync::~RemoteSync() {
  stop_and_flush();
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [name, k] : keys_) {
    (void)name;
    k->store.reset();
  }
  retired_.clear();
}

std::unique_ptr<remote::Backend> RemoteSync::backend() const {
  return remote::open_backend(url_, backend_opts_);
}

// ---------------------------------------------------------------- keys and state files

RemoteKey* RemoteSync::find_locked(const std::string& name) {
  auto it = keys_.find(name);
  return it == keys_.end() ? nullptr : it->second.get();
}

RemoteKey* RemoteSync::add_locked(const std::string& name) {
  auto k = std::make_unique<RemoteKey>();
  k->name = name;
  k->dir = cache_root_ + "/" + name;
  RemoteKey* raw = k.get();
  keys_.emplace(name, std::move(k));
  return raw;
}

std::vector<RemoteKey*> RemoteSync::keys_locked() {
  std::vector<RemoteKey*> out;
  for (auto& [name, k] : keys_) {
    (void)name;
    out.push_back(k.get());
  }
  return out;
}

void RemoteSync::save_state_locked(const RemoteKey& k) {
  if (opts_.read_only) return;
  std::string tmp = k.dir + "/state.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "gen " << k.gen << "\non_remote " << (k.on_remote ? 1 : 0) << "\ndirty " << (k.dirty() ? 1 : 0)
        << "\nremote " << url_ << "\netag " << k.etag << "\n";
    if (!out) {
      DOCFS_LOG_WARN("cannot write %s", tmp.c_str());
      return;
    }
  }
  if (::rename(tmp.c_str(), (k.dir + "/state").c_str()) != 0)
    DOCFS_LOG_WARN("cannot rename %s: %s", tmp.c_str(), strerror(errno));
}

// Picks up the caches of earlier mounts: their etags, and changes that still need a push.
void RemoteSync::scan_caches() {
  std::error_code ec;
  for (const auto& entry : stdfs::directory_iterator(cache_root_, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !remote::is_valid_key_name(name)) continue;
    std::ifstream in(entry.path() / "state");
    if (!in) continue;
    std::string line, etag, remote;
    uint64_t gen = 0;
    int on_remote = 0, dirty = 0;
    while (std::getline(in, line)) {  // "FIELD VALUE" lines; a value may be empty
      auto sp = line.find(' ');
      std::string field = line.substr(0, sp), v = sp == std::string::npos ? "" : line.substr(sp + 1);
      try {
        if (field == "gen") gen = std::stoull(v);
        else if (field == "on_remote") on_remote = std::stoi(v);
        else if (field == "dirty") dirty = std::stoi(v);
        else if (field == "etag") etag = v;
        else if (field == "remote") remote = v;
      } catch (const std::exception&) {
      }
    }
    // A cache made for another remote (remount with a different remote=) says nothing about
    // this one: a clean copy is dropped, local changes become a new key to push here.
    const bool other_remote = !remote.empty() && remote != url_;
    if (other_remote && !dirty) {
      DOCFS_LOG_INFO("dropping the cache of key %s: it was pulled from %s, not %s", name.c_str(), remote.c_str(),
                     url_.c_str());
      remove_tree(entry.path().string());
      continue;
    }
    RemoteKey* k = add_locked(name);
    if (gen == 0 || !is_dir(k->dir + "/g" + std::to_string(gen))) continue;
    k->gen = gen;
    k->etag = etag;
    k->on_remote = on_remote != 0;
    if (other_remote) {
      k->on_remote = false;
      k->etag.clear();
      k->note = "local changes made for " + remote + ", to be pushed as a new key";
    }
    if (dirty) {
      k->change_seq = 1;  // the pusher sends it as soon as it starts
      DOCFS_LOG_INFO("key %s has local changes from an earlier mount: pushing them", name.c_str());
    }
    // Older generations and interrupted pulls.
    for (const auto& sub : stdfs::directory_iterator(k->dir, ec)) {
      std::string s = sub.path().filename().string();
      if (sub.is_directory() && s != "g" + std::to_string(gen)) remove_tree(sub.path().string());
    }
  }
}

// ---------------------------------------------------------------- remote queries

std::optional<std::vector<std::string>> RemoteSync::list(Clock::time_point* taken) {
  auto now = Clock::now();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (list_valid_ && now - listed_at_ < seconds(opts_.remote_ttl)) {
      *taken = listed_at_;
      return listed_;
    }
  }
  std::vector<std::string> names;
  try {
    std::lock_guard<std::mutex> q(query_mu_);
    for (const auto& i : remote::live_keys(*query_))
      if (remote::is_valid_key_name(i.key)) names.push_back(i.key);
  } catch (const std::exception& e) {
    DOCFS_LOG_WARN("listing %s failed, showing cached keys only: %s", url_.c_str(), e.what());
    return std::nullopt;
  }
  std::lock_guard<std::mutex> lk(mu_);
  listed_ = names;
  listed_at_ = now;
  list_valid_ = true;
  *taken = now;
  return names;
}

std::optional<bool> RemoteSync::exists(const std::string& name, std::string* why) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    const auto now = Clock::now();
    if (list_valid_ && now - listed_at_ < seconds(opts_.remote_ttl))
      return std::find(listed_.begin(), listed_.end(), name) != listed_.end();
    if (auto it = absent_.find(name); it != absent_.end()) {
      if (now - it->second < seconds(opts_.remote_ttl)) return false;
      absent_.erase(it);
    }
  }
  const auto asked = Clock::now();
  bool found;
  try {
    std::lock_guard<std::mutex> q(query_mu_);
    auto info = query_->head(name);
    found = info && !info->expired(now_ns());
  } catch (const std::exception& e) {
    *why = e.what();
    return std::nullopt;
  }
  if (!found && opts_.remote_ttl > 0) {
    std::lock_guard<std::mutex> lk(mu_);
    if (absent_.size() > 4096) absent_.clear();  // bounded: lookups of many made-up names
    absent_[name] = asked;
  }
  return found;
}

bool RemoteSync::lost_on_remote(RemoteKey& k) {
  const auto start = Clock::now();
  std::string etag;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (k.gone || k.gen == 0 || !k.on_remote || k.pushing) return false;
    if (k.validated != Clock::time_point{} && start - k.validated < seconds(opts_.remote_ttl)) return false;
    etag = k.etag;
  }
  std::optional<remote::ObjectInfo> info;
  try {
    std::lock_guard<std::mutex> q(query_mu_);
    info = query_->head(k.name);
  } catch (const std::exception& e) {
    DOCFS_LOG_WARN("remote %s unreachable, serving the cached copy of key %s: %s", url_.c_str(), k.name.c_str(),
                   e.what());
    return false;
  }
  std::lock_guard<std::mutex> lk(mu_);
  if (info && !info->expired(now_ns())) {
    if (info->etag == k.etag && etag == k.etag) k.validated = start;  // otherwise revalidate pulls
    return false;
  }
  if (k.pushing || k.synced >= start || !k.on_remote) return false;  // pushed meanwhile
  if (k.dirty()) {
    DOCFS_LOG_WARN("key %s is gone from %s; its local changes will be pushed as a new key", k.name.c_str(),
                   url_.c_str());
    k.on_remote = false;
    k.etag.clear();
    k.note = "deleted on the remote, local changes to be pushed as a new key";
    save_state_locked(k);
    return false;
  }
  DOCFS_LOG_INFO("key %s is no longer on %s: dropping its cached copy", k.name.c_str(), url_.c_str());
  return true;
}

// ---------------------------------------------------------------- cache stores

std::string RemoteSync::new_gen_dir(RemoteKey& k) {
  std::string dir = k.dir + "/g" + std::to_string(k.gen + 1);
  if (is_dir(dir)) remove_tree(dir);  // left by an interrupted pull
  return dir;
}

namespace {

// A key named NAME.docs is DocArray's object (SEMANTICS.md "DocArray v2 remotes"): pulled
// through its stream and pushed back in the same form (file://: gzip'd DocProtos; s3://:
// gzip'd pickles), with the same conditional puts as a docfs archive.
bool docarray_key(const RemoteKey& k) { return remote::is_docarray_key(k.name); }

remote::PullResult pull_key(remote::Backend& b, const RemoteKey& k, const std::string& dir) {
  if (!docarray_key(k)) return remote::pull_store(b, k.name, dir, {});
  auto d = remote::pull_docarray(b, k.name, dir, 0);
  return {d.documents, d.bytes, d.info};
}

remote::PushResult push_key(remote::Backend& b, const RemoteKey& k, const std::string& dir,
                            const remote::PushOptions& po) {
  if (!docarray_key(k)) return remote::push_store(dir, b, k.name, po);
  remote::PutOptions put;
  put.condition = po.condition;
  put.if_match = po.if_match;
  auto d = remote::put_docarray(dir, b, k.name, put, k.dir);  // the temporary file beside the cache
  remote::PushResult r;
  r.documents = d.documents;
  r.bytes = d.bytes;
  r.info = d.info;
  return r;
}

}  // namespace

void RemoteSync::create_cache(RemoteKey& k) {
  if (opts_.read_only) throw UsageError(EROFS, "read-only mount");
  if (::mkdir(k.dir.c_str(), 0755) != 0 && errno != EEXIST) throw IoError(errno, "create " + k.dir);
  std::string dir;
  {
    std::lock_guard<std::mutex> lk(mu_);
    dir = new_gen_dir(k);
  }
  auto store = Store::open(dir, OpenOptions{.create = true, .read_only = false});
  std::lock_guard<std::mutex> lk(mu_);
  if (k.store) retired_.push_back(std::move(k.store));
  k.store = std::move(store);
  ++k.gen;
  k.gone = false;
  k.on_remote = false;
  k.etag.clear();
  k.pushed_seq = k.change_seq;
  k.error.clear();
  k.conflict.clear();
  k.note.clear();
  save_state_locked(k);
}

void RemoteSync::open_cache(RemoteKey& k) {
  std::string dir;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (k.store) return;
    if (k.gen) dir = k.gen_dir();
  }
  if (!dir.empty()) {
    auto store = Store::open(dir, OpenOptions{.create = false, .read_only = opts_.read_only});
    std::lock_guard<std::mutex> lk(mu_);
    k.store = std::move(store);
    return;  // revalidated by the caller when remote_ttl says so
  }
  if (opts_.read_only) throw UsageError(EROFS, "key " + k.name + " is not cached and the mount is read-only");
  if (::mkdir(k.dir.c_str(), 0755) != 0 && errno != EEXIST) throw IoError(errno, "create " + k.dir);
  {
    std::lock_guard<std::mutex> lk(mu_);
    dir = new_gen_dir(k);
  }
  remote::PullResult r;
  try {
    r = pull_key(*backend(), k, dir);
  } catch (const Error& e) {
    DOCFS_LOG_ERROR("pulling key %s from %s failed (nothing cached): %s", k.name.c_str(), url_.c_str(),
                    e.what());
    throw Error(e.error_code() == ENOENT ? ENOENT : EIO, e.what());
  } catch (const std::exception& e) {
    DOCFS_LOG_ERROR("pulling key %s from %s failed (nothing cached): %s", k.name.c_str(), url_.c_str(),
                    e.what());
    throw Error(EIO, e.what());
  }
  DOCFS_LOG_INFO("pulled key %s from %s: %llu documents", k.name.c_str(), url_.c_str(),
                 static_cast<unsigned long long>(r.documents));
  auto store = Store::open(dir, OpenOptions{.create = false, .read_only = false});
  std::lock_guard<std::mutex> lk(mu_);
  k.store = std::move(store);
  ++k.gen;
  k.etag = r.info.etag;
  k.on_remote = true;
  k.validated = k.synced = Clock::now();
  save_state_locked(k);
}

std::optional<std::string> RemoteSync::revalidate(RemoteKey& k, bool* deleted, std::string* etag) {
  *deleted = false;
  const auto start = Clock::now();
  std::string old_etag;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!k.store || !k.on_remote || k.gone || k.dirty() || k.pushing) return std::nullopt;
    if (start - k.validated < seconds(opts_.remote_ttl)) return std::nullopt;
    k.validated = start;
    old_etag = k.etag;
  }
  std::optional<remote::ObjectInfo> info;
  try {
    std::lock_guard<std::mutex> q(query_mu_);
    info = query_->head(k.name);
  } catch (const std::exception& e) {
    DOCFS_LOG_WARN("remote %s unreachable, serving the cached copy of key %s: %s", url_.c_str(),
                   k.name.c_str(), e.what());
    return std::nullopt;
  }
  if (!info || info->expired(now_ns())) {
    std::lock_guard<std::mutex> lk(mu_);
    *deleted = !k.dirty() && !k.pushing && k.synced < start;
    return std::nullopt;
  }
  if (info->etag == old_etag) return std::nullopt;
  std::string dir;
  {
    std::lock_guard<std::mutex> lk(mu_);
    dir = new_gen_dir(k);
  }
  try {
    auto r = pull_key(*backend(), k, dir);
    *etag = r.info.etag.empty() ? info->etag : r.info.etag;
    DOCFS_LOG_INFO("key %s changed on %s: pulled %llu documents", k.name.c_str(), url_.c_str(),
                   static_cast<unsigned long long>(r.documents));
  } catch (const std::exception& e) {
    DOCFS_LOG_WARN("key %s changed on %s but the pull failed, serving the cached copy: %s", k.name.c_str(),
                   url_.c_str(), e.what());
    remove_tree(dir);
    return std::nullopt;
  }
  return dir;
}

Store* RemoteSync::install_locked(RemoteKey& k, const std::string& dir, const std::string& etag) {
  auto store = Store::open(dir, OpenOptions{.create = false, .read_only = opts_.read_only});
  if (k.store) retired_.push_back(std::move(k.store));
  k.store = std::move(store);
  ++k.gen;
  k.etag = etag;
  k.synced = Clock::now();
  save_state_locked(k);
  return k.store.get();
}

void RemoteSync::forget_locked(RemoteKey& k) {
  if (k.store) retired_.push_back(std::move(k.store));
  k.gone = true;
  k.gen = 0;
  k.on_remote = false;
  k.etag.clear();
  k.pushed_seq = k.change_seq;
  k.error.clear();
  k.conflict.clear();
  k.note.clear();
  remove_tree(k.dir);  // open files keep their (unlinked) body.bin
  list_valid_ = false;
}

// ---------------------------------------------------------------- pushes

void RemoteSync::note_change_locked(RemoteKey& k) {
  bool was_dirty = k.dirty();
  ++k.change_seq;
  k.last_change = Clock::now();
  if (!was_dirty) save_state_locked(k);  // a crash before the push keeps the changes marked
}

bool RemoteSync::push(RemoteKey& k, std::string* err) {
  std::lock_guard<std::mutex> pl(k.push_mu);
  uint64_t seq;
  std::string dir;
  Store* st;
  remote::PushOptions po;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (k.gone || k.gen == 0 || (!k.dirty() && k.on_remote)) return true;
    seq = k.change_seq;
    k.pushing = true;
    dir = k.gen_dir();
    st = k.store.get();
    // Replace only the version this cache was based on (or create the key).
    if (k.on_remote) {
      po.condition = remote::PutCondition::if_match;
      po.if_match = k.etag;
    } else {
      po.condition = remote::PutCondition::if_absent;
    }
  }
  std::unique_ptr<remote::Backend> b;
  try {
    if (st) st->flush();
    b = backend();
    if (!condition_checked_) {
      remote::ConditionSupport cs = b->condition_support();
      if (cs != remote::ConditionSupport::atomic && !condition_checked_.exchange(true))
        DOCFS_LOG_WARN("remote %s ignores conditional writes (If-Match / If-None-Match)%s: pushes compare the "
                       "key's ETag with a HEAD just before the upload that replaces it; a push by another "
                       "writer landing in between is overwritten",
                       url_.c_str(), cs == remote::ConditionSupport::single_only
                                         ? " on multipart uploads (archives over 8 MiB)" : "");
    }
    condition_checked_ = true;
    remote::PushResult r;
    try {
      r = push_key(*b, k, dir, po);
    } catch (const remote::ConditionFailed& cf) {
      if (cf.current || po.condition != remote::PutCondition::if_match) throw;
      // Deleted on the remote since we pulled it: the local changes make it a new key.
      DOCFS_LOG_WARN("key %s was deleted on %s: pushing the local changes as a new key", k.name.c_str(),
                     url_.c_str());
      po.condition = remote::PutCondition::if_absent;
      po.if_match.clear();
      r = push_key(*b, k, dir, po);
    }
    std::string etag = r.info.etag;
    if (etag.empty())
      if (auto i = b->head(k.name)) etag = i->etag;
    std::lock_guard<std::mutex> lk(mu_);
    k.pushed_seq = seq;
    k.pushing = false;
    k.on_remote = true;
    k.etag = etag;
    ++k.pushes;
    k.error.clear();
    k.conflict.clear();
    k.note.clear();
    k.backoff = 0;
    k.synced = k.validated = Clock::now();
    list_valid_ = false;
    absent_.erase(k.name);
    save_state_locked(k);
    DOCFS_LOG_INFO("pushed key %s to %s: %llu documents, %llu bytes", k.name.c_str(), url_.c_str(),
                   static_cast<unsigned long long>(r.documents), static_cast<unsigned long long>(r.bytes));
    return true;
  } catch (const remote::ConditionFailed& cf) {
    try {
      return keep_conflict(k, seq, dir, cf, *b, err);
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lk(mu_);
      k.error = std::string("conflict (") + cf.what() + "), and keeping the local changes as a new key failed: " +
                e.what();
    }
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lk(mu_);
    k.error = e.what();
  }
  std::lock_guard<std::mutex> lk(mu_);
  k.pushing = false;
  k.error_ns = now_ns();
  k.backoff = k.backoff == 0 ? 1 : std::min(k.backoff * 2, 60.0);
  k.next_try = Clock::now() + std::chrono::duration_cast<Clock::duration>(seconds(k.backoff));
  save_state_locked(k);
  DOCFS_LOG_WARN("push of key %s to %s failed (changes kept, retry in %.0f s): %s", k.name.c_str(), url_.c_str(),
                 k.backoff, k.error.c_str());
  *err = k.error;
  return false;
}

namespace {

// This machine's name as a key fragment: [A-Za-z0-9-] only, at most 64 bytes.
std::string host_fragment() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "host";
  std::string out;
  for (const char* p = buf; *p && out.size() < 64; ++p) {
    char c = *p;
    if (c == '.') break;  // the short name
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '-';
  }
  return out.empty() ? "host" : out;
}

}  // namespace

bool RemoteSync::keep_conflict(RemoteKey& k, uint64_t seq, const std::string& dir, const remote::ConditionFailed& cf,
                               remote::Backend& b, std::string* err) {
  const int64_t now = now_ns();
  std::time_t t = static_cast<std::time_t>(now / 1000000000);
  std::tm tm;
  gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm);
  // The daemon's pid too: two mounts on one host that conflict in the same second must not
  // race for one name (on a server without conditional writes both would write it).
  const std::string suffix = ".conflict-" + host_fragment() + "-" + when + "-" + std::to_string(::getpid());
  std::string base = k.name;
  if (base.size() + suffix.size() + 4 > 255) base.resize(255 - suffix.size() - 4);
  // The local changes first, as a key of their own: if this fails (or we crash), the cache
  // is still dirty and the next push tries again. Nothing is replaced: a name taken (the
  // same second on this host) gets -2, -3, ...
  std::string name;
  remote::PushResult r;
  for (int i = 1;; ++i) {
    name = base + suffix + (i > 1 ? "-" + std::to_string(i) : "");
    remote::PushOptions po;
    po.condition = remote::PutCondition::if_absent;
    try {
      r = remote::push_store(dir, b, name, po);
      break;
    } catch (const remote::ConditionFailed&) {
      if (i >= 50) throw;
    }
  }
  std::string theirs = cf.current ? "etag " + cf.current->etag + " pushed at " + remote::format_utc(cf.current->mtime_ns)
                                  : "a version";
  std::lock_guard<std::mutex> lk(mu_);
  k.conflict = "key " + k.name + " changed on the remote (" + theirs +
               ") while this mount had unpushed changes; " + k.name + " now gets the remote version, the local changes are key " +
               name + " (" + remote::format_utc(now) + ")";
  // Clean as far as these changes go (they are safe in `name`); the cache no longer matches
  // any remote version, so the next access pulls the remote one (revalidate), and a change
  // made before that conflicts again instead of overwriting it.
  k.pushed_seq = seq;
  k.pushing = false;
  k.on_remote = true;
  k.etag.clear();
  k.validated = Clock::time_point{};
  k.error.clear();
  k.note.clear();
  k.backoff = 0;
  list_valid_ = false;
  absent_.erase(name);
  save_state_locked(k);
  DOCFS_LOG_WARN("conflict on %s: %s", url_.c_str(), k.conflict.c_str());
  *err = "conflict: " + k.conflict;
  return false;
}

void RemoteSync::remove_remote(RemoteKey& k) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!k.on_remote) return;
  }
  backend()->remove(k.name);
}

std::string RemoteSync::status_locked(const RemoteKey& k) const {
  if (k.pushing) return "pushing";
  if (k.dirty() && !k.error.empty()) return "error: " + k.error + " (" + remote::format_utc(k.error_ns) + ")";
  if (!k.conflict.empty()) return "conflict: " + k.conflict;
  std::string note = k.note.empty() ? "" : " (" + k.note + ")";
  if (k.dirty()) return "dirty" + note;
  if (!k.on_remote) return "new" + note;
  return "clean";
}

void RemoteSync::start() {
  if (opts_.read_only) return;
  thread_ = std::thread([this] { run(); });
}

void RemoteSync::run() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, std::chrono::milliseconds(100));
    if (stop_) break;
    auto now = Clock::now();
    std::vector<RemoteKey*> due;
    for (auto& [name, k] : keys_) {
      (void)name;
      if (!k->gone && k->gen && k->dirty() && !k->pushing && now - k->last_change >= seconds(opts_.push_delay) &&
          now >= k->next_try)
        due.push_back(k.get());
    }
    lk.unlock();
    for (RemoteKey* k : due) {
      std::string err;
      push(*k, &err);
    }
    lk.lock();
  }
}

void RemoteSync::stop_and_flush() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (flushed_) return;
    flushed_ = true;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<RemoteKey*> keys;
  {
    std::lock_guard<std::mutex> lk(mu_);
    keys = keys_locked();
  }
  for (RemoteKey* k : keys) {
    bool pending;
    Store* st;
    {
      std::lock_guard<std::mutex> lk(mu_);
      pending = !k->gone && k->gen && k->dirty();
      st = k->store.get();
    }
    try {
      if (st && !st->read_only()) st->sync();
    } catch (const Error& e) {
      DOCFS_LOG_ERROR("syncing the cache of key %s failed: %s", k->name.c_str(), e.what());
    }
    if (!pending) continue;
    std::string err;
    if (!push(*k, &err))
      DOCFS_LOG_ERROR("key %s: the push at unmount failed; the changes stay in %s and are pushed at the next mount",
                      k->name.c_str(), k->dir.c_str());
  }
}

}  // namespace docfs::fs
