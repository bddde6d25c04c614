// The network side of .remote/: the mount's remote, the keys it knows, the cache stores
// under STORE/remote-cache/, pulls, pushes and the background pusher thread.
//
// Knows nothing about nodes or FUSE: fs/remote_ops.cc (Filesystem) asks it for stores and
// tells it about changes. Lock order: RemoteKey::pull_mu / push_mu, then the
// Filesystem's locks, then state_mu() (innermost, never held across I/O to the remote).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fs/options.h"
#include "fs/remote_key.h"
#include "remote/backend.h"

namespace docfs::fs {

class RemoteSync {
 public:
  // `store_dir` is the mounted store; the caches go to store_dir/remote-cache.
  RemoteSync(const MountOptions& opts, const std::string& store_dir);
  ~RemoteSync();

  const std::string& url() const { return url_; }
  std::mutex& state_mu() { return mu_; }

  // ---- keys (state_mu held by the caller) ----
  RemoteKey* find_locked(const std::string& name);
  RemoteKey* add_locked(const std::string& name);  // a new entry, nothing cached
  std::vector<RemoteKey*> keys_locked();

  // ---- the remote (no locks held) ----
  // Live key names, refreshed when older than remote_ttl; nullopt (and a warning) when the
  // remote cannot be listed. `taken` is when the listing was requested.
  std::optional<std::vector<std::string>> list(Clock::time_point* taken);
  // Whether the remote has `name`: true/false, or nullopt with *why when unreachable.
  // A missing key is remembered for remote_ttl (and a fresh listing answers both ways).
  std::optional<bool> exists(const std::string& name, std::string* why);
  // For a key cached before (an earlier mount, another remote= or a key someone deleted):
  // when remote_ttl has passed since its last check, asks the remote whether it still has
  // it. Returns true when the remote lost a clean key (the caller forgets it); a dirty key
  // whose remote copy is gone becomes a new key to push. Unreachable: false.
  bool lost_on_remote(RemoteKey& k);

  // ---- cache stores ----
  // Opens the cached generation, or pulls one when nothing is cached (throws Error(EIO)
  // with the reason when that fails). Sets k.store. Holds nothing but k.pull_mu (caller).
  void open_cache(RemoteKey& k);
  // A new empty cache for a key made with mkdir.
  void create_cache(RemoteKey& k);
  // Revalidates a clean key when remote_ttl has passed. Returns the directory of a newly
  // pulled generation when the remote changed (the caller swaps it in with install), or
  // nullopt. Sets *deleted when the remote no longer has a key we pulled or pushed.
  std::optional<std::string> revalidate(RemoteKey& k, bool* deleted, std::string* etag);
  // Makes the generation in `dir` (from revalidate) the key's cache: opens it, retires the
  // old store. Returns the new store. state_mu held by the caller.
  Store* install_locked(RemoteKey& k, const std::string& dir, const std::string& etag);
  // The key was deleted: retire its store, delete its cache, hide it.
  void forget_locked(RemoteKey& k);

  // ---- pushes ----
  void note_change_locked(RemoteKey& k);
  // Pushes now if the key has unpushed changes (or was never pushed). Returns false with
  // *err on failure (a retry is scheduled). Waits for a push already running.
  bool push(RemoteKey& k, std::string* err);
  // Deletes the key on the remote (push_mu held by the caller). Throws on failure.
  void remove_remote(RemoteKey& k);
  // "clean", "dirty", "pushing", "new" or "error: MESSAGE (TIME)".
  std::string status_locked(const RemoteKey& k) const;

  void start();
  // Stops the pusher and pushes every dirty key once (unmount). Idempotent.
  void stop_and_flush();

 private:
  std::unique_ptr<remote::Backend> backend() const;  // a fresh one per transfer
  void scan_caches();
  void save_state_locked(const RemoteKey& k);
  void run();
  std::string new_gen_dir(RemoteKey& k);
  // The conditional push of `k` failed: pushes the cache in `dir` as a new key
  // KEY.conflict-HOST-TIME, marks the key for a re-pull of the remote version, sets the
  // status. Returns false with *err (the conflict) for fsync.
  bool keep_conflict(RemoteKey& k, uint64_t seq, const std::string& dir, const remote::ConditionFailed& cf,
                     remote::Backend& b, std::string* err);

  MountOptions opts_;
  std::string url_;
  std::string cache_root_;
  remote::BackendOptions backend_opts_;

  std::mutex query_mu_;  // the shared backend for list / head
  std::unique_ptr<remote::Backend> query_;

  std::mutex mu_;
  std::map<std::string, std::unique_ptr<RemoteKey>, std::less<>> keys_;
  std::vector<std::unique_ptr<Store>> retired_;  // replaced caches: open files may use them
  std::vector<std::string> listed_;
  std::map<std::string, Clock::time_point, std::less<>> absent_;  // negative lookups
  Clock::time_point listed_at_{};
  bool list_valid_ = false;

  std::atomic<bool> condition_checked_{false};  // logged whether pushes are truly conditional
  std::condition_variable cv_;
  bool stop_ = false;
  bool flushed_ = false;
  std::thread thread_;
};

}  // namespace docfs::fs
