// Every store operation, each followed by a reopen to prove it reached the files.
#include <gtest/gtest.h>

#include <thread>

#include "core/error.h"
#include "core/store.h"
#include "test_util.h"

namespace docfs {
namespace {

using testing::create_store;
using testing::doc;
using testing::open_reader;
using testing::open_store;
using testing::TempDir;

using testing::content_of;
TEST(Store, CreateThenOpenEmpty) {
  TempDir t;
  { auto s = create_store(t / "s"); EXPECT_EQ(s->size(), 0u); }
  auto s = open_store(t / "s");
  EXPECT_EQ(s->size(), 0u);
  EXPECT_TRUE(s->ids().empty());
}

TEST(Store, OpenMissingStoreSaysHowToCreateIt) {
  TempDir t;
  try {
    open_store(t / "nope");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(e.error_code(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("docfs init"), std::string::npos);
  }
}

TEST(Store, PutGetOverwriteDeleteEachSurviveReopen) {
  TempDir t;
  const std::string dir = t / "s";
  { create_store(dir)->put(doc("a", "alpha")); }
  { auto s = open_store(dir); EXPECT_EQ(content_of(*s, "a"), "alpha"); s->put(doc("a", "ALPHA2")); }
  { auto s = open_store(dir); EXPECT_EQ(content_of(*s, "a"), "ALPHA2"); EXPECT_TRUE(s->remove("a")); EXPECT_FALSE(s->remove("a")); }
  { auto s = open_store(dir); EXPECT_FALSE(s->contains("a")); EXPECT_EQ(s->size(), 0u); }
}

TEST(Store, MetadataWithoutContentAndContentRanges) {
  TempDir t;
  auto s = create_store(t / "s");
  Document d = doc("img/cat.png", std::string(10000, 'z'));
  d.meta.mime_type = "image/png";
  d.meta.tags = {{"label", "cat"}};
  d.meta.embedding = docfs::NdArray::float32({1, 2, 3});
  d.content[5000] = 'Q';
  s->put(d);
  auto st = s->stat("img/cat.png");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->size, 10000u);
  EXPECT_EQ(st->mode, 0100644u);
  auto m = s->meta("img/cat.png");
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, d.meta);
  auto ref = s->content("img/cat.png");
  ASSERT_TRUE(ref);
  char buf[3];
  EXPECT_EQ(ref->read(4999, buf, 3), 3u);
  EXPECT_EQ(std::string(buf, 3), "zQz");
  EXPECT_EQ(ref->read(9999, buf, 3), 1u);
  EXPECT_EQ(ref->read(10000, buf, 3), 0u);
}

TEST(Store, ExtendFlushesOnceAndReopens) {
  TempDir t;
  std::vector<Document> docs;
  for (int i = 0; i < 1000; ++i) docs.push_back(doc("d" + std::to_string(i), "content " + std::to_string(i)));
  { create_store(t / "s")->extend(docs); }
  auto s = open_store(t / "s");
  EXPECT_EQ(s->size(), 1000u);
  EXPECT_EQ(content_of(*s, "d777"), "content 777");
  EXPECT_EQ(s->ids().front(), "d0");
}

TEST(Store, UnflushedPutsAreReadableAndFlushedAtClose) {
  TempDir t;
  {
    auto s = create_store(t / "s");
    s->put(doc("x", "buffered"), false);
    EXPECT_EQ(content_of(*s, "x"), "buffered");  // reading forces the flush
    s->put(doc("y", "also"), false);
  }
  auto s = open_store(t / "s");
  EXPECT_EQ(content_of(*s, "y"), "also");
}

TEST(Store, RenameIsAtomicAndReplaces) {
  TempDir t;
  const std::string dir = t / "s";
  {
    auto s = create_store(dir);
    s->put(doc("a", "A"));
    s->put(doc("b", "B"));
    s->rename("a", "b");
    EXPECT_FALSE(s->contains("a"));
    EXPECT_EQ(content_of(*s, "b"), "A");
    EXPECT_THROW(s->rename("missing", "c"), UsageError);
    s->rename("b", "dir/sub/c");
  }
  auto s = open_store(dir);
  EXPECT_EQ(s->ids(), std::vector<std::string>{"dir/sub/c"});
  EXPECT_EQ(content_of(*s, "dir/sub/c"), "A");
  EXPECT_EQ(s->meta("dir/sub/c")->id, "dir/sub/c");
}

TEST(Store, UpdateMetaKeepsContentWithoutCopying) {
  TempDir t;
  const std::string dir = t / "s";
  {
    auto s = create_store(dir);
    s->put(doc("a", std::string(100000, 'c')));
    uint64_t before = s->stats().body_bytes;
    DocumentMeta m = *s->meta("a");
    m.tags["reviewed"] = "yes";
    m.mode = 0100600;
    s->update_meta(m);
    EXPECT_LT(s->stats().body_bytes - before, 1000u);
    DocumentMeta ghost = m;
    ghost.id = "ghost";
    EXPECT_THROW(s->update_meta(ghost), UsageError);
  }
  auto s = open_store(dir);
  EXPECT_EQ(s->meta("a")->tags.at("reviewed"), "yes");
  EXPECT_EQ(s->stat("a")->mode, 0100600u);
  EXPECT_EQ(content_of(*s, "a"), std::string(100000, 'c'));
}

TEST(Store, ClearRemovesEverything) {
  TempDir t;
  {
    auto s = create_store(t / "s");
    s->put(doc("a", "1"));
    s->put(doc("b", "2"));
    s->clear();
    EXPECT_EQ(s->size(), 0u);
    s->put(doc("c", "3"));
  }
  auto s = open_store(t / "s");
  EXPECT_EQ(s->ids(), std::vector<std::string>{"c"});
}

TEST(Store, LargeContentStreamsAndReadsBack) {
  TempDir t;
  std::string big(5 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 2654435761u >> 24);
  { create_store(t / "s")->put(doc("big", big)); }
  auto s = open_store(t / "s");
  EXPECT_EQ(content_of(*s, "big"), big);
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
}

TEST(Store, MetadataOverTheLimitIsRefusedByEveryWriter) {
  TempDir t;
  auto s = create_store(t / "s");
  s->put(doc("kept", "x"));
  Document huge = doc("huge", "small content");
  huge.meta.tags["blob"] = std::string(65u << 20, 'm');  // encodes above the 64 MiB limit
  auto refused = [](auto&& write) {
    try {
      write();
      return false;
    } catch (const UsageError& e) {
      return e.error_code() == E2BIG;
    }
  };
  EXPECT_TRUE(refused([&] { s->put(huge); }));
  Document big = huge;
  big.content.assign(3u << 20, 'c');  // over the streaming threshold: put_stream's own path
  EXPECT_TRUE(refused([&] { s->put(big); }));
  DocumentMeta m = huge.meta;
  m.id = "kept";
  EXPECT_TRUE(refused([&] { s->update_meta(m); }));
  EXPECT_EQ(s->size(), 1u);
  s.reset();
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
}

TEST(Store, IdsAreNeverTruncated) {
  TempDir t;
  std::string a(200, 'a'), b = a + "b";  // Jina cut ids at 36 characters: these collided
  {
    auto s = create_store(t / "s");
    s->put(doc(a, "first"));
    s->put(doc(b, "second"));
  }
  auto s = open_store(t / "s");
  EXPECT_EQ(content_of(*s, a), "first");
  EXPECT_EQ(content_of(*s, b), "second");
}

TEST(Store, IdRulesAreEnforcedWithClearErrors) {
  TempDir t;
  auto s = create_store(t / "s");
  try {
    s->put(doc(std::string(256, 'x'), "x"));
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(e.error_code(), ENAMETOOLONG);
    EXPECT_NE(std::string(e.what()).find("256"), std::string::npos);
  }
  s->put(doc(std::string(255, 'x'), "kept"));
  EXPECT_EQ(content_of(*open_reader(t / "s"), std::string(255, 'x')), "kept");
  EXPECT_THROW(s->put(doc("../escape", "x")), UsageError);
  EXPECT_THROW(s->put(doc("/abs", "x")), UsageError);
}

// Jina: deleting the last document and reopening failed.
TEST(Store, DeleteLastDocumentThenReopenAndAppend) {
  TempDir t;
  {
    auto s = create_store(t / "s");
    s->put(doc("a", "1"));
    s->put(doc("b", "2"));
    s->remove("b");
  }
  {
    auto s = open_store(t / "s");
    s->put(doc("c", "3"));
  }
  auto s = open_store(t / "s");
  EXPECT_EQ(content_of(*s, "a"), "1");
  EXPECT_EQ(content_of(*s, "c"), "3");
  EXPECT_FALSE(s->contains("b"));
}

// Jina: after an in-place update, the append position came from the last header row, so
// the next append overwrote live data.
TEST(Store, ReopenAfterUpdateNeverOverwritesLiveData) {
  TempDir t;
  {
    auto s = create_store(t / "s");
    s->put(doc("a", std::string(1000, 'a')));
    s->put(doc("b", std::string(1000, 'b')));
    s->put(doc("a", "short"));
  }
  {
    auto s = open_store(t / "s");
    s->put(doc("c", std::string(5000, 'c')));
  }
  auto s = open_store(t / "s");
  EXPECT_EQ(content_of(*s, "b"), std::string(1000, 'b'));
  EXPECT_EQ(content_of(*s, "a"), "short");
  EXPECT_EQ(content_of(*s, "c"), std::string(5000, 'c'));
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
}

TEST(Store, PruneDropsGarbageKeepsDocumentsAndOldReaders) {
  TempDir t;
  const std::string dir = t / "s";
  auto s = create_store(dir);
  for (int i = 0; i < 200; ++i) s->put(doc("d" + std::to_string(i), std::string(1000, 'a' + i % 26)));
  for (int i = 0; i < 200; i += 2) s->put(doc("d" + std::to_string(i), "v2-" + std::to_string(i)));
  for (int i = 1; i < 200; i += 4) s->remove("d" + std::to_string(i));
  s->rename("d3", "renamed/d3");
  DocumentMeta m = *s->meta("d7");
  m.tags["t"] = "1";
  s->update_meta(m);
  auto old_ref = s->content("d11");
  ASSERT_TRUE(old_ref);
  EXPECT_GT(s->stats().garbage_bytes, 50000u);

  auto before = s->ids();
  PruneResult r = s->prune();
  EXPECT_LT(r.bytes_after, r.bytes_before);
  EXPECT_EQ(s->stats().garbage_bytes, 0u);
  EXPECT_EQ(s->ids(), before);
  EXPECT_EQ(old_ref->read_all(), std::string(1000, 'a' + 11));  // pinned old body
  EXPECT_EQ(s->meta("d7")->tags.at("t"), "1");
  EXPECT_EQ(content_of(*s, "d7"), std::string(1000, 'a' + 7 % 26));
  s->put(doc("after", "prune"));
  s.reset();

  auto r2 = open_store(dir);
  EXPECT_EQ(r2->size(), before.size() + 1);
  EXPECT_EQ(content_of(*r2, "d0"), "v2-0");
  EXPECT_EQ(content_of(*r2, "renamed/d3"), std::string(1000, 'a' + 3));
  EXPECT_EQ(content_of(*r2, "after"), "prune");
  EXPECT_TRUE(Store::fsck(dir, false).ok());
}

TEST(Store, PruneWhileOtherThreadsWriteAndRead) {
  TempDir t;
  auto s = create_store(t / "s");
  for (int i = 0; i < 500; ++i) s->put(doc("k" + std::to_string(i), std::string(2000, 'x')));
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) s->put(doc("w" + std::to_string(i % 300), std::to_string(i)));
  });
  std::thread big_writer([&] {
    for (int i = 0; !stop && i < 5; ++i) s->put(doc("big" + std::to_string(i), std::string(3 << 20, 'B')));
  });
  std::thread reader([&] {
    while (!stop)
      for (int i = 0; i < 500; i += 37) ASSERT_EQ(content_of(*s, "k" + std::to_string(i)), std::string(2000, 'x'));
  });
  for (int round = 0; round < 3; ++round) s->prune();
  stop = true;
  writer.join();
  big_writer.join();
  reader.join();
  s.reset();
  auto r = open_store(t / "s");
  EXPECT_EQ(content_of(*r, "k499"), std::string(2000, 'x'));
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
}

TEST(Store, StatsCountGarbage) {
  TempDir t;
  auto s = create_store(t / "s");
  s->put(doc("a", std::string(4000, 'a')));
  EXPECT_EQ(s->stats().documents, 1u);
  EXPECT_EQ(s->stats().garbage_bytes, 0u);
  s->put(doc("a", "b"));
  EXPECT_GE(s->stats().garbage_bytes, 4000u);
}

TEST(Store, SyncMakesEverythingDurable) {
  TempDir t;
  auto s = create_store(t / "s");
  s->put(doc("a", "1"), false);
  s->sync();
  // A reader opening now (another process would see the same files) sees it.
  EXPECT_EQ(content_of(*open_reader(t / "s"), "a"), "1");
}

TEST(Store, ReadOnlyRefusesWritesAndReloadSeesNewEntries) {
  TempDir t;
  auto w = create_store(t / "s");
  w->put(doc("a", "1"));
  auto r = open_reader(t / "s");
  EXPECT_THROW(r->put(doc("x", "y")), UsageError);
  w->put(doc("b", "2"));
  w->remove("a");
  EXPECT_TRUE(r->contains("a"));  // snapshot
  EXPECT_FALSE(r->contains("b"));
  r->reload();
  EXPECT_FALSE(r->contains("a"));
  EXPECT_EQ(content_of(*r, "b"), "2");
  w->prune();
  w->put(doc("c", "3"));
  r->reload();
  EXPECT_EQ(content_of(*r, "c"), "3");
  EXPECT_EQ(r->size(), 2u);
}

}  // namespace
}  // namespace docfs
