// Hard links (kLink): several names of one file, through writes, reopen, prune, fsck,
// readers, the builder and a torn last entry.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "core/error.h"
#include "core/store_builder.h"
#include "core/store_format.h"
#include "test_util.h"

namespace docfs {
namespace {

using testing::content_of;
using testing::create_store;
using testing::doc;
using testing::header_version_of;
using testing::open_reader;
using testing::open_store;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

int error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.error_code();
  }
  return 0;
}

// Both names show one file: same identity, two links, the same bytes.
void expect_linked(const Store& s, const std::string& a, const std::string& b, const std::string& content,
                   uint32_t nlink = 2) {
  auto sa = s.stat(a), sb = s.stat(b);
  ASSERT_TRUE(sa && sb);
  EXPECT_EQ(sa->nlink, nlink);
  EXPECT_EQ(sb->nlink, nlink);
  EXPECT_NE(sa->file_id, 0u);
  EXPECT_EQ(sa->file_id, sb->file_id);
  EXPECT_EQ(content_of(s, a), content);
  EXPECT_EQ(content_of(s, b), content);
  EXPECT_EQ(s.meta(b)->id, b);  // each name reads as itself
}

TEST(HardLink, NamesShareEveryVersionAndUnlinkKeepsTheOther) {
  TempDir t;
  auto s = create_store(t / "s");
  s->put(doc("a", "one"));
  s->put(doc("other", "x"));
  s->link("a", "dir/b");
  expect_linked(*s, "a", "dir/b", "one");
  EXPECT_EQ(s->stat("other")->nlink, 1u);
  EXPECT_EQ(s->stat("other")->file_id, 0u);

  s->put(doc("dir/b", "written through b"));
  EXPECT_EQ(content_of(*s, "a"), "written through b");
  DocumentMeta m = *s->meta("a");
  m.mode = 0100600;
  m.tags["k"] = "v";
  s->update_meta(m);
  EXPECT_EQ(s->stat("dir/b")->mode, 0100600u);
  EXPECT_EQ(s->meta("dir/b")->tags.at("k"), "v");

  EXPECT_TRUE(s->remove("a"));
  EXPECT_FALSE(s->contains("a"));
  EXPECT_EQ(s->stat("dir/b")->nlink, 1u);
  EXPECT_EQ(content_of(*s, "dir/b"), "written through b");
  EXPECT_EQ(s->size(), 2u);
}

TEST(HardLink, LiveBytesCountAFileOnceAndItsLastNameFreesThem) {
  TempDir t;
  auto s = create_store(t / "s");
  s->put(doc("a", std::string(10000, 'x')));
  const uint64_t one = s->stats().live_bytes;
  s->link("a", "b");
  s->link("b", "c");
  EXPECT_EQ(s->stats().live_bytes, one);
  EXPECT_EQ(s->stat("c")->nlink, 3u);
  s->remove("a");
  s->remove("c");
  EXPECT_EQ(s->stats().live_bytes, one);
  s->remove("b");
  EXPECT_EQ(s->stats().live_bytes, 0u);
  EXPECT_EQ(s->size(), 0u);
}

TEST(HardLink, RefusesMissingTargetsExistingNamesAndDirectories) {
  TempDir t;
  auto s = create_store(t / "s");
  s->put(doc("a", "1"));
  s->put(doc("b", "2"));
  Document dir = doc("d", "");
  dir.meta.mode = 040755;
  s->put(dir);
  EXPECT_EQ(error_of([&] { s->link("missing", "x"); }), ENOENT);
  EXPECT_EQ(error_of([&] { s->link("a", "b"); }), EEXIST);
  EXPECT_EQ(error_of([&] { s->link("a", "a"); }), EEXIST);
  EXPECT_EQ(error_of([&] { s->link("d", "x"); }), EPERM);
  EXPECT_EQ(error_of([&] { s->link("a", "bad//name"); }), EINVAL);
  EXPECT_EQ(content_of(*s, "b"), "2");
  EXPECT_FALSE(s->contains("x"));
}

TEST(HardLink, RenameMovesOneName) {
  TempDir t;
  const std::string dir = t / "s";
  auto s = create_store(dir);
  s->put(doc("a", "A"));
  s->put(doc("victim", "V"));
  s->link("a", "b");
  s->rename("b", "moved/b");
  expect_linked(*s, "a", "moved/b", "A");
  s->rename("moved/b", "victim");  // replaces an unrelated file
  expect_linked(*s, "a", "victim", "A");
  s->rename("a", "victim");  // two names of one file: from goes, to stays
  EXPECT_FALSE(s->contains("a"));
  EXPECT_EQ(s->stat("victim")->nlink, 1u);
  EXPECT_EQ(content_of(*s, "victim"), "A");
  s.reset();
  auto r = open_store(dir);
  EXPECT_EQ(r->ids(), std::vector<std::string>{"victim"});
  EXPECT_TRUE(Store::fsck(dir, false).ok());
}

TEST(HardLink, SurviveReopenAndMarkTheHeaderVersion3) {
  TempDir t;
  const std::string dir = t / "s";
  {
    auto s = create_store(dir);
    s->put(doc("a", "first"));
    EXPECT_EQ(header_version_of(dir), format::kNewFileVersion);  // no links: still 2
    s->link("a", "b");
    EXPECT_EQ(header_version_of(dir), format::kLinkFormatVersion);
    s->put(doc("b", "second"));
  }
  auto s = open_store(dir);
  expect_linked(*s, "a", "b", "second");
  s->put(doc("a", "third"));
  EXPECT_EQ(content_of(*s, "b"), "third");
  auto fsck = Store::fsck(dir, false);
  EXPECT_TRUE(fsck.ok()) << (fsck.problems.empty() ? "" : fsck.problems.front());
}

TEST(HardLink, PruneWritesEachFileOnceAndKeepsItsNames) {
  TempDir t;
  const std::string dir = t / "s";
  auto s = create_store(dir);
  for (int i = 0; i < 50; ++i) s->put(doc("g" + std::to_string(i), std::string(2000, 'g')));
  s->put(doc("a", std::string(100000, 'a')));
  s->link("a", "b");
  s->link("a", "deep/c");
  s->put(doc("solo", "s"));
  s->link("solo", "solo2");
  s->remove("solo");  // one name left: written as a plain document
  for (int i = 0; i < 50; ++i) s->remove("g" + std::to_string(i));
  const uint64_t live = s->stats().live_bytes;
  PruneResult r = s->prune();
  EXPECT_LT(r.bytes_after, 100000u + 20000u);  // the 100 kB content once, not three times
  EXPECT_EQ(s->stats().garbage_bytes, 0u);
  EXPECT_LE(s->stats().live_bytes, live + 64);  // names are counted with one name's length
  EXPECT_EQ(s->stat("deep/c")->nlink, 3u);
  EXPECT_EQ(s->stat("a")->file_id, s->stat("deep/c")->file_id);
  EXPECT_EQ(s->stat("solo2")->nlink, 1u);
  EXPECT_EQ(header_version_of(dir), format::kLinkFormatVersion);
  s->put(doc("deep/c", "after prune"));
  EXPECT_EQ(content_of(*s, "b"), "after prune");
  s.reset();
  auto r2 = open_store(dir);
  expect_linked(*r2, "a", "b", "after prune", 3);
  EXPECT_TRUE(Store::fsck(dir, false).ok());
  // Pruned again without links left: version 2 again.
  r2->remove("b");
  r2->remove("deep/c");
  r2->prune();
  EXPECT_EQ(header_version_of(dir), format::kNewFileVersion);
  EXPECT_EQ(content_of(*r2, "a"), "after prune");
}

TEST(HardLink, LinksMadeWhilePruneCatchesUpStayLinks) {
  TempDir t;
  const std::string dir = t / "s";
  auto s = create_store(dir);
  for (int i = 0; i < 300; ++i) s->put(doc("g" + std::to_string(i), std::string(3000, 'g')));
  std::atomic<bool> stop{false};
  std::atomic<int> made{0};
  std::thread linker([&] {
    // Each round: a new file, a second name, a write through it, a rename of the first.
    for (int i = 0; !stop; ++i) {
      const std::string a = "a" + std::to_string(i), b = "b" + std::to_string(i);
      s->put(doc(a, "v1-" + std::to_string(i)));
      s->link(a, b);
      s->put(doc(b, "v2-" + std::to_string(i)));
      s->rename(a, "r" + std::to_string(i));
      made = i + 1;
    }
  });
  for (int round = 0; round < 4; ++round) s->prune();
  while (made < 20) std::this_thread::yield();
  stop = true;
  linker.join();
  s.reset();
  auto r = open_store(dir);
  for (int i = 0; i < made; ++i) {
    const std::string b = "b" + std::to_string(i), moved = "r" + std::to_string(i);
    expect_linked(*r, moved, b, "v2-" + std::to_string(i));
  }
  EXPECT_TRUE(Store::fsck(dir, false).ok());
}

TEST(HardLink, ATornLinkEntryIsSkipped) {
  TempDir t;
  const std::string dir = t / "s";
  uint64_t before;
  {
    auto s = create_store(dir);
    s->put(doc("a", "whole"));
    s->sync();
    before = read_file(dir + "/header.bin").size();
    s->link("a", "b");
  }
  std::string header = read_file(dir + "/header.bin");
  ASSERT_GT(header.size(), before);
  for (uint64_t cut = before + 1; cut < header.size(); cut += 3) {
    write_file(dir + "/header.bin", header.substr(0, cut));
    auto fsck = Store::fsck(dir, false);
    EXPECT_TRUE(fsck.ok());
    EXPECT_EQ(fsck.torn_header_bytes, cut - before);
    auto s = open_store(dir);  // truncates the torn tail
    EXPECT_FALSE(s->contains("b"));
    EXPECT_EQ(content_of(*s, "a"), "whole");
    EXPECT_EQ(s->stat("a")->nlink, 1u);
  }
  write_file(dir + "/header.bin", header);
  auto s = open_store(dir);
  expect_linked(*s, "a", "b", "whole");
}

TEST(HardLink, ReadersReloadLinksAndClearDropsEverything) {
  TempDir t;
  const std::string dir = t / "s";
  auto w = create_store(dir);
  w->put(doc("a", "A"));
  auto r = open_reader(dir);
  w->link("a", "b");
  w->put(doc("b", "B"));
  r->reload();
  expect_linked(*r, "a", "b", "B");
  w->clear();
  r->reload();
  EXPECT_EQ(r->size(), 0u);
  EXPECT_EQ(w->stats().live_bytes, 0u);
}

TEST(HardLink, FsckNamesALinkToAMissingTarget) {
  TempDir t;
  const std::string dir = t / "s";
  {
    auto s = create_store(dir);
    s->put(doc("a", "A"));
    s->link("a", "b");
  }
  // Append a crafted link whose target never existed.
  format::Entry e;
  e.type = format::EntryType::kLink;
  e.put.id = "c";
  e.to = "nowhere";
  write_file(dir + "/header.bin", read_file(dir + "/header.bin") + format::encode_entry(e));
  auto fsck = Store::fsck(dir, false);
  ASSERT_EQ(fsck.problems.size(), 1u);
  EXPECT_NE(fsck.problems[0].find("nowhere, which does not exist"), std::string::npos);
  auto s = open_store(dir);
  EXPECT_FALSE(s->contains("c"));
  expect_linked(*s, "a", "b", "A");
}

TEST(HardLink, BuilderWritesLinks) {
  TempDir t;
  const std::string dir = t / "s";
  ::mkdir(dir.c_str(), 0755);
  {
    StoreBuilder b(dir, false);
    struct Src : ContentSource {
      std::string s = "built";
      uint64_t size() const override { return s.size(); }
      size_t read(uint64_t off, void* buf, size_t n) override {
        n = std::min<size_t>(n, s.size() - off);
        std::memcpy(buf, s.data() + off, n);
        return n;
      }
    } src;
    DocumentMeta m;
    m.id = "a";
    b.add(m, src);
    b.add_link("x/b", "a");
    b.finish();
  }
  EXPECT_EQ(header_version_of(dir), format::kLinkFormatVersion);
  auto s = open_store(dir);
  expect_linked(*s, "a", "x/b", "built");
  EXPECT_TRUE(Store::fsck(dir, false).ok());
}

TEST(HardLink, OlderFormatVersionsStillOpen) {
  // A version-2 header with no links opens, and a newer version is refused naming both.
  format::FileHeader h;
  std::string v4 = format::encode_file_header(format::kHeaderMagic, format::FileHeader{4, 1});
  auto why = format::decode_file_header(v4, format::kHeaderMagic, &h);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("format version 4 is newer than this build (3)"), std::string::npos);
  std::string v2 = format::encode_file_header(format::kHeaderMagic, format::FileHeader{2, 1});
  EXPECT_FALSE(format::decode_file_header(v2, format::kHeaderMagic, &h));
}

}  // namespace
}  // namespace docfs
