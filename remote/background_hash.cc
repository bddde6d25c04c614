#include "remote/background_hash.h"

namespace docfs::remote {

BackgroundSha256::BackgroundSha256() : thread_([this] { run(); }) {}

BackgroundSha256::~BackgroundSha256() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t BackgroundSha256::submit(const void* p, size_t n) {
  std::lock_guard lk(mu_);
  queue_.push_back({p, n});
  cv_.notify_all();
  return ++submitted_;
}

void BackgroundSha256::wait(uint64_t ticket) {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return hashed_ >= ticket || error_; });
  if (error_) std::rethrow_exception(error_);
}

Digest BackgroundSha256::finish() {
  uint64_t last;
  {
    std::lock_guard lk(mu_);
    last = submitted_;
  }
  wait(last);
  return hash_.finish();
}

void BackgroundSha256::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;  // pending chunks are dropped: their memory may be gone
    Chunk c = queue_.front();
    queue_.pop_front();
    lk.unlock();
    std::exception_ptr err;
    try {
      hash_.update(c.p, c.n);
    } catch (...) {
      err = std::current_exception();
    }
    lk.lock();
    if (err && !error_) error_ = err;
    ++hashed_;
    cv_.notify_all();
  }
}

}  // namespace docfs::remote
