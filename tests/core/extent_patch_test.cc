// kPatchExtents: a commit that changes a few extents of a version writes those, not the
// whole list, so header.bin grows with the change.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "core/store.h"
#include "test_util.h"

namespace docfs {
namespace {

using testing::create_store;
using testing::meta_for;
using testing::open_reader;
using testing::open_store;
using testing::TempDir;

uint64_t file_size(const std::string& path) { return testing::read_file(path).size(); }

void append_line(Store& s, const std::string& id, const std::string& line, std::string& model) {
  auto w = s.begin_stream();
  if (auto c = s.content_extents(id)) w->load(c->first, c->second);
  w->write(model.size(), line.data(), line.size());
  w->commit(meta_for(id));
  model += line;
}

// The log: opened, appended to and closed again and again. Before patches, each
// commit listed every extent so far (1000 appends: about 14 MB of header.bin).
TEST(ExtentPatch, AThousandAppendsGrowTheHeaderByTheAppends) {
  TempDir t;
  auto s = create_store(t / "s");
  std::string model(1u << 20, 'x');
  {
    auto w = s->begin_stream();
    w->write(0, model.data(), model.size());
    w->commit(meta_for("log"));
  }
  const uint64_t before = file_size(t / "s/header.bin");
  for (int i = 0; i < 1000; ++i) append_line(*s, "log", "line " + std::to_string(i) + "\n", model);
  s->flush();
  const uint64_t grown = file_size(t / "s/header.bin") - before;
  EXPECT_LT(grown, 1000u * 200) << grown << " bytes of header.bin for 1000 appends";
  EXPECT_EQ(s->get("log")->content, model);
  EXPECT_EQ(open_reader(t / "s")->get("log")->content, model);  // a reader replays the patches
  s.reset();
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
  auto r = open_store(t / "s");
  EXPECT_EQ(r->get("log")->content, model);
  r->prune();  // whole lists again
  EXPECT_EQ(r->get("log")->content, model);
}

// Patches committed while a prune copies the store are caught up as whole versions in the
// new body's offsets (copied as they are, they would name the old body's bytes).
TEST(ExtentPatch, PatchesDuringAPruneSurviveIt) {
  TempDir t;
  auto s = create_store(t / "s");
  const std::string filler(1u << 20, 'f');
  for (int i = 0; i < 48; ++i) s->put(testing::doc("filler/" + std::to_string(i), filler));  // a prune that takes a while
  std::string model(1u << 20, 'x');
  {
    auto w = s->begin_stream();
    w->write(0, model.data(), model.size());
    w->commit(meta_for("log"));
  }
  std::atomic<bool> done{false};
  std::thread pruner([&] {
    s->prune();
    done = true;
  });
  int during = 0;
  for (; !done; ++during) append_line(*s, "log", "during " + std::to_string(during) + "\n", model);
  pruner.join();
  for (int i = 0; i < 10; ++i) append_line(*s, "log", "after " + std::to_string(i) + "\n", model);
  EXPECT_GT(during, 0);
  EXPECT_EQ(s->get("log")->content, model);
  s.reset();
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
  EXPECT_EQ(open_store(t / "s")->get("log")->content, model);
}

// The same through two names of one file (a hard link): a patch through either name
// changes the one file, and the prune's catch-up resolves it against that file.
TEST(ExtentPatch, PatchesThroughHardLinksDuringAPruneSurviveIt) {
  TempDir t;
  auto s = create_store(t / "s");
  const std::string filler(1u << 20, 'f');
  for (int i = 0; i < 48; ++i) s->put(testing::doc("filler/" + std::to_string(i), filler));
  std::string model(1u << 20, 'x');
  {
    auto w = s->begin_stream();
    w->write(0, model.data(), model.size());
    w->commit(meta_for("log"));
  }
  s->link("log", "log.link");
  std::atomic<bool> done{false};
  std::thread pruner([&] {
    s->prune();
    done = true;
  });
  for (int i = 0; !done || i < 20; ++i) {
    const std::string name = i % 2 ? "log.link" : "log";
    append_line(*s, name, name + " " + std::to_string(i) + "\n", model);
  }
  pruner.join();
  EXPECT_EQ(s->get("log")->content, model);
  EXPECT_EQ(s->get("log.link")->content, model);
  s.reset();
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
  auto r = open_store(t / "s");
  EXPECT_EQ(r->get("log")->content, model);
  EXPECT_EQ(r->get("log.link")->content, model);
  EXPECT_EQ(r->stat("log")->nlink, 2u);
}

// Random extent lists: the patch of (base, target) applied to base gives target.
TEST(ExtentPatch, MakeThenApplyGivesTheTarget) {
  std::mt19937_64 rng(5);
  auto random_list = [&](uint64_t size) {
    std::vector<format::Extent> xs;
    for (uint64_t off = rng() % 64; off < size;) {
      const uint64_t len = std::min<uint64_t>(1 + rng() % 100, size - off);
      xs.push_back(format::Extent{off, len, 32 + rng() % 4, static_cast<uint32_t>(rng() % 3)});
      off += len + rng() % 3 * 10;
    }
    return xs;
  };
  for (int round = 0; round < 500; ++round) {
    const uint64_t size = 1 + rng() % 2000;
    auto base = random_list(size), target = random_list(size);
    if (round % 2 && !base.empty()) {  // mostly the same: a few extents changed
      target = base;
      target[rng() % target.size()].crc ^= 1;
    }
    format::PutEntry p;
    p.content_len = size;
    format::make_patch(base, target, &p);
    std::vector<format::Extent> out;
    auto why = format::apply_patch(base, p, &out);
    ASSERT_FALSE(why) << *why;
    EXPECT_EQ(out, target);
  }
}

// A patch whose previous version is not there (a header.bin spliced from two stores, a
// bug): skipped and named, the document keeps its version, the rest serves.
TEST(ExtentPatch, APatchWithoutItsBaseIsSkippedAndNamed) {
  TempDir t;
  std::string model(100000, 'b');
  {
    auto s = create_store(t / "s");
    auto w = s->begin_stream();
    w->write(0, model.data(), model.size());
    w->commit(meta_for("big"));
    s->put(testing::doc("other", "fine"));
  }
  format::Entry e;
  e.type = format::EntryType::kPatchExtents;
  e.put.id = "nobase";
  e.put.record_off = 32;
  e.put.content_len = 10;
  e.put.removed = {0};
  e.put.extents = {format::Extent{0, 10, 32, 1}};
  const std::string h = testing::read_file(t / "s/header.bin");
  testing::write_file(t / "s/header.bin", h + format::encode_entry(e));
  {
    auto s = open_store(t / "s");
    EXPECT_FALSE(s->contains("nobase"));
    EXPECT_EQ(s->get("big")->content, model);
    EXPECT_EQ(s->get("other")->content, "fine");
  }
  FsckReport r = Store::fsck(t / "s", false);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find("patch of nobase"), std::string::npos) << r.problems[0];
}

}  // namespace
}  // namespace docfs
