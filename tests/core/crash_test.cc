// Torn writes, flipped bytes, a second process, and prune killed at every step.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "core/store.h"
#include "test_util.h"

namespace docfs {
namespace {

using testing::create_store;
using testing::doc;
using testing::open_reader;
using testing::open_store;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

using testing::content_of;
struct Sizes {
  size_t header, body;
};

// A store with two documents, then a third whose record and entry are the last bytes.
Sizes make_store_with_last_record(const std::string& dir, Sizes* before_last) {
  auto s = create_store(dir);
  s->put(doc("one", "first document"));
  s->put(doc("two", std::string(300, '2')));
  s->sync();
  *before_last = {read_file(dir + "/header.bin").size(), read_file(dir + "/body.bin").size()};
  s->put(doc("three", std::string(500, '3')));
  s->sync();
  return {read_file(dir + "/header.bin").size(), read_file(dir + "/body.bin").size()};
}

void expect_first_two_whole(const Store& s) {
  EXPECT_EQ(content_of(s, "one"), "first document");
  EXPECT_EQ(content_of(s, "two"), std::string(300, '2'));
}

TEST(TornWrites, HeaderCutAtEveryByteOfTheLastEntry) {
  TempDir t;
  Sizes before;
  Sizes full = make_store_with_last_record(t / "golden", &before);
  const std::string header = read_file(t / "golden/header.bin");
  const std::string body = read_file(t / "golden/body.bin");
  for (size_t cut = before.header; cut < full.header; ++cut) {
    const std::string dir = t / ("h" + std::to_string(cut));
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    write_file(dir + "/header.bin", header.substr(0, cut));
    write_file(dir + "/body.bin", body);
    {
      auto ro = open_reader(dir);  // a reader only skips the torn entry
      expect_first_two_whole(*ro);
      EXPECT_FALSE(ro->contains("three")) << "cut at " << cut;
    }
    auto s = open_store(dir);  // a writer truncates it and appends after
    expect_first_two_whole(*s);
    s->put(doc("four", "4"));
    s.reset();
    auto again = open_store(dir);
    expect_first_two_whole(*again);
    EXPECT_EQ(content_of(*again, "four"), "4");
    again.reset();
    EXPECT_TRUE(Store::fsck(dir, false).ok()) << "cut at " << cut;
  }
}

TEST(TornWrites, BodyCutAtEveryByteOfTheLastRecord) {
  TempDir t;
  Sizes before;
  Sizes full = make_store_with_last_record(t / "golden", &before);
  const std::string header = read_file(t / "golden/header.bin");
  const std::string body = read_file(t / "golden/body.bin");
  for (size_t cut = before.body; cut < full.body; ++cut) {
    const std::string dir = t / ("b" + std::to_string(cut));
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    write_file(dir + "/header.bin", header);
    write_file(dir + "/body.bin", body.substr(0, cut));
    auto s = open_store(dir);
    expect_first_two_whole(*s);
    EXPECT_FALSE(s->contains("three")) << "cut at " << cut;
    s->put(doc("three", "again"));
    s.reset();
    auto again = open_store(dir);
    EXPECT_EQ(content_of(*again, "three"), "again");
    again.reset();
    EXPECT_TRUE(Store::fsck(dir, false).ok()) << "cut at " << cut;
  }
}

TEST(TornWrites, ZeroFilledHeaderTailIsTorn) {
  TempDir t;
  Sizes before;
  make_store_with_last_record(t / "s", &before);
  std::string header = read_file(t / "s/header.bin");
  header.resize(before.header);
  header += std::string(4096, '\0');  // space allocated, data never written
  write_file(t / "s/header.bin", header);
  auto s = open_store(t / "s");
  expect_first_two_whole(*s);
}

TEST(Corruption, FlippedHeaderByteNamesFileAndOffset) {
  TempDir t;
  Sizes before;
  make_store_with_last_record(t / "s", &before);
  std::string header = read_file(t / "s/header.bin");
  header[40] ^= 0x5a;  // inside the first entry, with whole entries after it
  write_file(t / "s/header.bin", header);
  try {
    open_store(t / "s");
    FAIL() << "opened a corrupt store";
  } catch (const FormatError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("header.bin"), std::string::npos) << msg;
    EXPECT_NE(msg.find("offset 32"), std::string::npos) << msg;
  }
  FsckReport r = Store::fsck(t / "s", false);
  EXPECT_FALSE(r.ok());
}

TEST(Corruption, FlippedBodyByteIsDetectedNotServed) {
  TempDir t;
  Sizes before;
  make_store_with_last_record(t / "s", &before);
  std::string body = read_file(t / "s/body.bin");
  body[before.body - 10] ^= 0x01;  // inside "two"'s content
  write_file(t / "s/body.bin", body);
  auto s = open_store(t / "s");
  EXPECT_EQ(content_of(*s, "one"), "first document");
  try {
    s->get("two");
    FAIL() << "served a corrupt document";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("body.bin"), std::string::npos);
  }
  s.reset();
  FsckReport r = Store::fsck(t / "s", false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.problems[0].find("content checksum"), std::string::npos) << r.problems[0];
}

// A metadata-only version points at content in an older record; that content is still
// checked (the metadata record carries its CRC).
TEST(Corruption, ContentOfAMetadataOnlyVersionIsChecked) {
  TempDir t;
  {
    auto s = create_store(t / "s");
    s->put(doc("a", "hello-world-content"));
    DocumentMeta m = *s->meta("a");
    m.tags["x"] = "1";
    s->update_meta(m);
  }
  std::string body = read_file(t / "s/body.bin");
  size_t at = body.find("hello-world-content");
  ASSERT_NE(at, std::string::npos);
  body[at] = 'J';
  write_file(t / "s/body.bin", body);
  auto s = open_store(t / "s");
  EXPECT_THROW(s->get("a"), FormatError);
  s.reset();
  EXPECT_FALSE(Store::fsck(t / "s", false).ok());
}

TEST(Corruption, ForeignOrNewerFilesAreRefused) {
  TempDir t;
  { create_store(t / "s")->put(doc("a", "1")); }
  std::string header = read_file(t / "s/header.bin");
  write_file(t / "s/header.bin", "not a docfs file at all, definitely not");
  EXPECT_THROW(open_store(t / "s"), FormatError);
  write_file(t / "s/header.bin", header);
  EXPECT_NO_THROW(open_store(t / "s"));
}

TEST(Fsck, RepairTruncatesTornTails) {
  TempDir t;
  Sizes before;
  Sizes full = make_store_with_last_record(t / "s", &before);
  std::string header = read_file(t / "s/header.bin");
  write_file(t / "s/header.bin", header.substr(0, full.header - 3));
  FsckReport r = Store::fsck(t / "s", false);
  EXPECT_TRUE(r.ok());
  EXPECT_GT(r.torn_header_bytes, 0u);
  r = Store::fsck(t / "s", true);
  EXPECT_TRUE(r.repaired);
  r = Store::fsck(t / "s", false);
  EXPECT_EQ(r.torn_header_bytes, 0u);
  EXPECT_EQ(r.torn_body_bytes, 0u);
  EXPECT_EQ(r.documents, 2u);
}

// ---- two processes ----

// Runs fn in a child process; returns its exit status.
template <class Fn>
int in_child(Fn fn) {
  pid_t pid = fork();
  if (pid == 0) {
    int code = 1;
    try {
      code = fn();
    } catch (...) {
    }
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(Locking, SecondWriterIsRefusedWithThePid) {
  TempDir t;
  auto s = create_store(t / "s");
  s->put(doc("a", "1"));
  int code = in_child([&] {
    try {
      open_store(t / "s");
      return 1;
    } catch (const LockedError& e) {
      std::string want = "is locked by pid " + std::to_string(getppid());
      return std::string(e.what()).find(want) != std::string::npos ? 0 : 2;
    }
  });
  EXPECT_EQ(code, 0);
  EXPECT_EQ(lock_holder_pid(t / "s"), getpid());
  s.reset();
  EXPECT_EQ(lock_holder_pid(t / "s"), 0);
}

TEST(Locking, ReaderInAnotherProcessSeesASnapshot) {
  TempDir t;
  auto s = create_store(t / "s");
  s->put(doc("a", "1"));
  int pipe_to_child[2], pipe_to_parent[2];
  ASSERT_EQ(pipe(pipe_to_child), 0);
  ASSERT_EQ(pipe(pipe_to_parent), 0);
  pid_t pid = fork();
  if (pid == 0) {
    int ok = 0;
    try {
      auto r = open_reader(t / "s");
      char c = 'r';
      (void)!write(pipe_to_parent[1], &c, 1);
      (void)!read(pipe_to_child[0], &c, 1);  // the parent wrote "b" meanwhile
      ok = r->contains("a") && !r->contains("b") && content_of(*r, "a") == "1";
      r->reload();
      ok = ok && content_of(*r, "b") == "2";
    } catch (...) {
    }
    _exit(ok ? 0 : 1);
  }
  char c;
  ASSERT_EQ(read(pipe_to_parent[0], &c, 1), 1);
  s->put(doc("b", "2"));
  ASSERT_EQ(write(pipe_to_child[1], &c, 1), 1);
  int status;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

class PruneCrash : public ::testing::TestWithParam<const char*> {};

TEST_P(PruneCrash, KilledAtEveryStepLeavesAWholeStore) {
  TempDir t;
  const std::string dir = t / "s";
  {
    auto s = create_store(dir);
    for (int i = 0; i < 100; ++i) s->put(doc("d" + std::to_string(i), std::string(500, 'a' + i % 26)));
    for (int i = 0; i < 100; i += 3) s->put(doc("d" + std::to_string(i), "new" + std::to_string(i)));
    for (int i = 1; i < 100; i += 10) s->remove("d" + std::to_string(i));
    // Hard links: prune writes each file once plus kLink entries.
    for (int i = 0; i < 100; i += 7)
      if (i % 10 != 1) s->link("d" + std::to_string(i), "links/l" + std::to_string(i));
  }
  auto expected = open_reader(dir)->ids();
  int code = in_child([&] {
    setenv("DOCFS_FAILPOINT", GetParam(), 1);
    open_store(dir)->prune();
    return 0;
  });
  EXPECT_EQ(code, 99) << "the failpoint did not fire";
  auto s = open_store(dir);
  EXPECT_EQ(s->ids(), expected);
  for (int i = 0; i < 100; ++i) {
    std::string id = "d" + std::to_string(i);
    if (i % 10 == 1) continue;
    EXPECT_EQ(content_of(*s, id), i % 3 == 0 ? "new" + std::to_string(i) : std::string(500, 'a' + i % 26));
    if (i % 7 == 0) {  // still one file with two names, whichever store survived
      const std::string link = "links/l" + std::to_string(i);
      EXPECT_EQ(s->stat(link)->nlink, 2u) << link;
      EXPECT_EQ(s->stat(link)->file_id, s->stat(id)->file_id) << link;
      EXPECT_EQ(content_of(*s, link), content_of(*s, id)) << link;
    }
  }
  s.reset();
  EXPECT_TRUE(Store::fsck(dir, false).ok());
  EXPECT_FALSE(path_exists(dir + "/prune.tmp"));
  EXPECT_FALSE(path_exists(dir + "/prune.ready"));
}

INSTANTIATE_TEST_SUITE_P(Steps, PruneCrash,
                         ::testing::Values("prune.copied", "prune.written", "prune.committed",
                                           "prune.body_moved", "prune.header_moved"));

}  // namespace
}  // namespace docfs
