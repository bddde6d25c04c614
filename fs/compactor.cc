#include "fs/compactor.h"

#include <pthread.h>
#include <signal.h>

#include <cmath>
#include <mutex>

#include "core/error.h"
#include "fs/log.h"

namespace docfs::fs {
namespace {
constexpr uint64_t kDefragBytesPerRound = 256u << 20;
std::mutex hook_mu;
std::function<void()> hook;  // guarded by hook_mu
sigset_t usr1_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  return set;
}
}  // namespace

void Compactor::set_on_compacted(std::function<void()> h) {
  std::lock_guard<std::mutex> l(hook_mu);
  hook = std::move(h);
}

void Compactor::block_signal() {
  sigset_t set = usr1_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void Compactor::start() {
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void Compactor::stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  pthread_kill(thread_.native_handle(), SIGUSR1);  // wakes sigtimedwait
  thread_.join();
}

bool Compactor::due() const {
  StoreStats s = store_.stats();
  return s.garbage_bytes > opts_.compact_min &&
         static_cast<double>(s.garbage_bytes) > opts_.compact_ratio * static_cast<double>(s.body_bytes);
}

void Compactor::run() {
  sigset_t set = usr1_set();
  double whole;
  double frac = std::modf(opts_.compact_interval, &whole);
  timespec interval{static_cast<time_t>(whole), static_cast<long>(frac * 1e9)};
  while (!stop_) {
    int sig = sigtimedwait(&set, nullptr, &interval);
    if (stop_) break;
    bool requested = sig == SIGUSR1;
    try {
      // Files changed in place many times (appends, overwrites) become contiguous again,
      // a bounded amount per interval, long before a whole compaction is due.
      if (size_t n = store_.defragment(kDefragBytesPerRound))
        DOCFS_LOG_DEBUG("defragmented %zu documents of %s", n, store_.dir().c_str());
      if (!requested && !due()) continue;
      DOCFS_LOG_INFO("compacting %s (%s)", store_.dir().c_str(),
                     requested ? "requested by SIGUSR1" : "garbage over threshold");
      PruneResult r = store_.prune();
      DOCFS_LOG_INFO("compacted %s: %llu -> %llu bytes, %llu documents", store_.dir().c_str(),
                     static_cast<unsigned long long>(r.bytes_before),
                     static_cast<unsigned long long>(r.bytes_after),
                     static_cast<unsigned long long>(r.documents));
      std::lock_guard<std::mutex> l(hook_mu);
      if (hook) hook();
    } catch (const Error& e) {
      DOCFS_LOG_ERROR("compaction of %s failed: %s", store_.dir().c_str(), e.what());
    } catch (const std::exception& e) {
      DOCFS_LOG_ERROR("compaction of %s failed: %s", store_.dir().c_str(), e.what());
    }
  }
}

}  // namespace docfs::fs
