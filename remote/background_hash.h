// SHA-256 computed on a helper thread, in the order chunks are submitted.
//
// A push or pull moves bytes at disk speed on one core and hashes them at about 1.7 GB/s
// (SHA-NI) on the other: the hash is the slowest stage, so it gets a thread of its own and
// the copy no longer waits for it. The caller owns the chunk memory and must keep each chunk
// unchanged until wait(ticket) has returned for it, and destroy this object before the
// memory it may still be reading (the destructor drops whatever was not hashed yet).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "remote/crypto.h"

namespace docfs::remote {

class BackgroundSha256 {
 public:
  BackgroundSha256();
  ~BackgroundSha256();
  BackgroundSha256(const BackgroundSha256&) = delete;
  BackgroundSha256& operator=(const BackgroundSha256&) = delete;

  // Queues [p, p+n) for hashing after everything submitted before; returns its ticket.
  uint64_t submit(const void* p, size_t n);
  // Blocks until the chunk with this ticket (and every earlier one) has been hashed.
  void wait(uint64_t ticket);
  // Waits for every chunk, then returns the digest. Call once.
  Digest finish();

 private:
  struct Chunk {
    const void* p;
    size_t n;
  };
  void run();

  Sha256 hash_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> queue_;
  uint64_t submitted_ = 0, hashed_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace docfs::remote
