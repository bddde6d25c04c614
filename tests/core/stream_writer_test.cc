// StreamWriter: documents written straight into body.bin.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/store.h"
#include "test_util.h"

namespace docfs {
namespace {

using testing::create_store;
using testing::doc;
using testing::open_store;
using testing::meta_for;
using testing::TempDir;

std::string pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed) >> 2);
  return s;
}

TEST(StreamWriter, SequentialWriteIsWrittenOnceAndCommits) {
  TempDir t;
  const std::string data = pattern(3 << 20, 1);
  {
    auto s = create_store(t / "s");
    auto w = s->begin_stream();
    for (size_t off = 0; off < data.size(); off += 100000)
      w->write(off, data.data() + off, std::min<size_t>(100000, data.size() - off));
    EXPECT_FALSE(s->contains("big"));  // nothing visible before commit
    w->commit(meta_for("big"));
    EXPECT_EQ(s->get("big")->content, data);
    w.reset();
    // Only the bytes written (plus small headers) are in body.bin: no reservation left over.
    EXPECT_LT(s->stats().body_bytes, data.size() + 4096);
  }
  auto s = open_store(t / "s");
  EXPECT_EQ(s->get("big")->content, data);
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
}

TEST(StreamWriter, RandomWritesSparseGapsAndTruncate) {
  TempDir t;
  auto s = create_store(t / "s");
  auto w = s->begin_stream();
  std::string model;
  auto apply = [&](uint64_t off, const std::string& bytes) {
    w->write(off, bytes.data(), bytes.size());
    if (model.size() < off + bytes.size()) model.resize(off + bytes.size(), '\0');
    model.replace(off, bytes.size(), bytes);
  };
  apply(1000, "middle");
  apply(0, "head");
  apply(70u << 20, "far beyond the first reservation");
  w->truncate(500);
  model.resize(500);
  w->truncate(2000);  // bytes 500..2000 must read as zeros now
  model.resize(2000, '\0');
  std::string back(model.size(), 'X');
  EXPECT_EQ(w->read(0, back.data(), back.size()), model.size());
  EXPECT_EQ(back, model);
  w->commit(meta_for("r"));
  EXPECT_EQ(s->get("r")->content, model);
  w.reset();  // a writer goes before its store
  s.reset();
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
}

TEST(StreamWriter, WritesAfterCommitLeaveThePublishedVersionAlone) {
  TempDir t;
  auto s = create_store(t / "s");
  auto w = s->begin_stream();
  w->write(0, "version one", 11);
  w->commit(meta_for("f"));
  auto v1 = s->content("f");
  w->write(8, "two", 3);
  EXPECT_EQ(v1->read_all(), "version one");
  EXPECT_EQ(s->get("f")->content, "version one");
  w->commit(meta_for("f"));
  EXPECT_EQ(s->get("f")->content, "version two");
  EXPECT_EQ(v1->read_all(), "version one");
}

TEST(StreamWriter, InterleavedAppendsMoveTheReservationOnce) {
  TempDir t;
  auto s = create_store(t / "s");
  auto a = s->begin_stream(1 << 20);
  auto b = s->begin_stream(1 << 20);
  std::string da = pattern(80 << 20, 2), db = pattern(70 << 20, 3);
  for (size_t off = 0; off < da.size(); off += (4 << 20)) {
    a->write(off, da.data() + off, std::min<size_t>(4 << 20, da.size() - off));
    if (off < db.size()) b->write(off, db.data() + off, std::min<size_t>(4 << 20, db.size() - off));
    s->put(doc("small" + std::to_string(off), "x"));
  }
  a->commit(meta_for("a"));
  b->commit(meta_for("b"));
  EXPECT_EQ(s->get("a")->content, da);
  EXPECT_EQ(s->get("b")->content, db);
  s->prune();
  EXPECT_EQ(s->get("a")->content, da);
  a.reset();  // writers go before their store
  b.reset();
  s.reset();
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
}

TEST(StreamWriter, PruneWhileOpenThenCommit) {
  TempDir t;
  auto s = create_store(t / "s");
  s->put(doc("x", "1"));
  s->put(doc("x", "2"));
  auto w = s->begin_stream();
  w->write(0, "streamed", 8);
  s->prune();  // replaces body.bin under the writer
  w->write(8, " bytes", 6);
  w->commit(meta_for("y"));
  EXPECT_EQ(s->get("y")->content, "streamed bytes");
  w.reset();  // a writer goes before its store
  s.reset();
  auto r = open_store(t / "s");
  EXPECT_EQ(r->get("y")->content, "streamed bytes");
  EXPECT_EQ(r->get("x")->content, "2");
}

TEST(StreamWriter, AbandonedWriterLeavesNothingVisible) {
  TempDir t;
  {
    auto s = create_store(t / "s");
    s->put(doc("keep", "k"));
    auto w = s->begin_stream();
    w->write(0, "never committed", 15);
  }
  auto s = open_store(t / "s");
  EXPECT_EQ(s->ids(), std::vector<std::string>{"keep"});
  EXPECT_EQ(s->stats().garbage_bytes, 0u);
}

}  // namespace
}  // namespace docfs
