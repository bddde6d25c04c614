// One .remote/<key> folder: its local cache store and its sync state.
//
// The cache of key K lives in STORE/remote-cache/K/: generation directories g1, g2, ...
// (each a full docfs store; a re-pull builds the next one so open files of the previous
// one keep working) and a small `state` file, so a remount knows the cached etag and
// whether local changes still wait for a push.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/store.h"

namespace docfs::fs {

struct Volume;
using Clock = std::chrono::steady_clock;

struct RemoteKey {
  std::string name;
  std::string dir;  // STORE/remote-cache/NAME
  Volume* volume = nullptr;
  std::mutex pull_mu;  // held while the cache is opened or pulled
  std::mutex push_mu;  // one push (or remote delete) of this key at a time

  // Everything below is guarded by RemoteSync's state mutex.
  std::unique_ptr<Store> store;  // the open cache generation (volume->store points here)
  uint64_t gen = 0;              // 0: nothing cached
  bool on_remote = false;        // the remote has this key (as far as we know)
  bool gone = false;             // deleted (rmdir here or on the remote): not shown
  std::string etag;              // of the object the cache was pulled from / pushed as
  uint64_t change_seq = 0;       // bumped by every local change
  uint64_t pushed_seq = 0;       // change_seq the last successful push included
  bool pushing = false;
  uint64_t pushes = 0;           // successful pushes during this mount
  std::string error;             // last push error, cleared by a successful push
  std::string conflict;          // the last conflict (status "conflict: ..."), until the next push
  std::string note;              // shown after "new"/"dirty": why the key is to be pushed as new
  int64_t error_ns = 0;
  double backoff = 0;            // seconds before the next retry after a failure
  Clock::time_point last_change{};
  Clock::time_point next_try{};
  Clock::time_point validated{};  // last revalidation with the remote
  Clock::time_point synced{};     // last pull or push

  bool dirty() const { return change_seq != pushed_seq; }
  std::string gen_dir() const { return dir + "/g" + std::to_string(gen); }
};

}  // namespace docfs::fs
