// Online compaction: a thread that prunes the store when garbage (overwritten and deleted
// versions) passes a threshold, or when asked with SIGUSR1 (`docfs prune STORE` on a
// mounted store signals the lock holder). The signal is never handled asynchronously:
// SIGUSR1 is blocked in every thread and this thread collects it with sigtimedwait.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "core/store.h"
#include "fs/options.h"

namespace docfs::fs {

class Compactor {
 public:
  Compactor(Store& store, const MountOptions& opts) : store_(store), opts_(opts) {}
  ~Compactor() { stop(); }
  // Blocks SIGUSR1 in the calling thread; call before any other thread is created so
  // every thread inherits the mask.
  static void block_signal();
  void start();
  void stop();
  // Called on the compactor's thread after each successful online compaction (the mount
  // drops the kernel's cached attributes). One hook per process; nullptr removes it.
  static void set_on_compacted(std::function<void()> hook);

 private:
  void run();
  bool due() const;

  Store& store_;
  const MountOptions& opts_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

}  // namespace docfs::fs
