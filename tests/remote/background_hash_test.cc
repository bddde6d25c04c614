// BackgroundSha256 hashes submitted chunks in order on its own thread: the digest equals a
// one-shot SHA-256 of the concatenation, whatever the chunk sizes and waits.
#include <gtest/gtest.h>

#include <random>

#include "remote/background_hash.h"
#include "remote/crypto.h"

using namespace docfs::remote;

TEST(BackgroundSha256, MatchesOneShotHashForAnyChunking) {
  std::mt19937 rng(7);
  std::string data(5u << 20, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (int trial = 0; trial < 5; ++trial) {
    BackgroundSha256 h;
    size_t off = 0;
    uint64_t last = 0;
    while (off < data.size()) {
      size_t n = std::min<size_t>(data.size() - off, rng() % (700u << 10));
      last = h.submit(data.data() + off, n);
      if (rng() % 4 == 0) h.wait(last);
      off += n;
    }
    if (last) h.wait(last);
    EXPECT_EQ(to_hex(h.finish()), sha256_hex(data)) << "trial " << trial;
  }
}

TEST(BackgroundSha256, EmptyAndDestroyedWithWorkPending) {
  BackgroundSha256 empty;
  EXPECT_EQ(to_hex(empty.finish()), kEmptySha256);
  std::string big(64u << 20, 'x');
  {
    BackgroundSha256 h;
    for (int i = 0; i < 4; ++i) h.submit(big.data(), big.size());
  }  // must not hang or touch `big` after this point
  SUCCEED();
}
