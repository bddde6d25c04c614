// Versions as extents: holes, appends that cost what they write, prune, fsck, reopen,
// and the randomized model check against a plain byte string.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/store.h"
#include "test_util.h"

namespace docfs {
namespace {

using testing::create_store;
using testing::doc;
using testing::open_reader;
using testing::open_store;
using testing::meta_for;
using testing::TempDir;

std::string read_range(const ContentRef& c, uint64_t off, size_t n) {
  std::string s(n, 'X');
  s.resize(c.read(off, s.data(), n));
  return s;
}

TEST(Crc32c, ExtendByJoinsTwoCrcsWithoutTheBytes) {
  std::string a = "the first part, ", b(100000, 'q');
  b[777] = 'z';
  EXPECT_EQ(crc32c::extend_by(crc32c::value(a), crc32c::value(b), b.size()), crc32c::value(a + b));
  EXPECT_EQ(crc32c::extend_by(crc32c::value(a), 0, 0), crc32c::value(a));
}

TEST(Extents, APetabyteTruncateIsAHoleAndCostsNothing) {
  TempDir t;
  const uint64_t pb = 999999999999999ull;
  {
    auto s = create_store(t / "s");
    auto w = s->begin_stream();
    w->truncate(pb);
    w->write(5000000000ull, "hello", 5);
    EXPECT_THROW(w->truncate(format::kMaxContentSize + 1), UsageError);
    w->commit(meta_for("sparse"));
    EXPECT_LT(s->stats().body_bytes, 4096u);
    auto c = s->content("sparse");
    EXPECT_EQ(c->size(), pb);
    EXPECT_EQ(c->data_bytes(), 5u);
    EXPECT_EQ(read_range(*c, 4999999998ull, 9), std::string("\0\0hello\0\0", 9));
    EXPECT_EQ(c->seek_data(0), 5000000000ull);
    EXPECT_EQ(c->seek_hole(5000000000ull), 5000000005ull);
    EXPECT_EQ(c->seek_data(5000000005ull), pb);  // no more data
    EXPECT_EQ(s->stat("sparse")->data_bytes, 5u);
    EXPECT_THROW(s->get("sparse"), UsageError);  // too big for memory: EFBIG, not a crash
  }
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
  auto s = open_store(t / "s");
  EXPECT_EQ(read_range(*s->content("sparse"), 5000000000ull, 5), "hello");
  s->prune();
  EXPECT_EQ(read_range(*s->content("sparse"), 5000000000ull, 5), "hello");
  EXPECT_LT(s->stats().body_bytes, 4096u);
}

TEST(Extents, AnAppendToABigFileWritesOnlyTheAppend) {
  TempDir t;
  auto s = create_store(t / "s");
  std::string big(8 << 20, 'b');
  s->put(doc("log", big));
  const uint64_t before = s->stats().body_bytes;
  for (int i = 0; i < 5; ++i) {
    auto loaded = s->content_extents("log");
    auto w = s->begin_stream();
    w->load(loaded->first, loaded->second);
    std::string line = "line" + std::to_string(i) + "\n";
    w->write(w->size(), line.data(), line.size());
    big += line;
    w->commit(meta_for("log"));
  }
  EXPECT_LT(s->stats().body_bytes - before, 4096u);  // not five copies of 8 MiB
  EXPECT_EQ(s->get("log")->content, big);            // every extent's CRC checked
  s->prune();
  EXPECT_EQ(s->get("log")->content, big);
  s.reset();
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
}

TEST(Extents, MetadataUpdatesKeepTheExtents) {
  TempDir t;
  auto s = create_store(t / "s");
  auto w = s->begin_stream();
  w->write(1 << 20, "x", 1);
  w->commit(meta_for("f"));
  DocumentMeta m = *s->meta("f");
  m.mime_type = "text/plain";
  s->update_meta(m);
  EXPECT_EQ(s->meta("f")->mime_type, "text/plain");
  EXPECT_EQ(s->stat("f")->size, (1u << 20) + 1);
  EXPECT_EQ(read_range(*s->content("f"), 1 << 20, 1), "x");
  s->rename("f", "g");
  EXPECT_EQ(read_range(*s->content("g"), 1 << 20, 1), "x");
  auto r = open_reader(t / "s");
  EXPECT_EQ(r->stat("g")->data_bytes, 1u);
}

TEST(Extents, CorruptExtentIsFoundByFsckAndGet) {
  TempDir t;
  {
    auto s = create_store(t / "s");
    auto w = s->begin_stream();
    w->write(100, "precious bytes", 14);
    w->commit(meta_for("f"));
  }
  std::string body = testing::read_file(t / "s/body.bin");
  auto at = body.find("precious");
  ASSERT_NE(at, std::string::npos);
  body[at] = 'P';
  testing::write_file(t / "s/body.bin", body);
  EXPECT_FALSE(Store::fsck(t / "s", false).ok());
  auto s = open_reader(t / "s");
  EXPECT_THROW(s->get("f"), FormatError);
}

// Random writes, truncates, punches, commits, reloads and prunes against a model string.
TEST(Extents, RandomOperationsMatchAModel) {
  TempDir t;
  std::mt19937_64 rng(12345);
  auto s = create_store(t / "s");
  std::string model;
  auto w = s->begin_stream();
  for (int step = 0; step < 3000; ++step) {
    const int op = static_cast<int>(rng() % 100);
    const uint64_t limit = 3 << 20;
    if (op < 55) {
      uint64_t off = rng() % limit;
      std::string bytes(1 + rng() % 9000, static_cast<char>('a' + rng() % 26));
      w->write(off, bytes.data(), bytes.size());
      if (model.size() < off + bytes.size()) model.resize(off + bytes.size(), '\0');
      model.replace(off, bytes.size(), bytes);
    } else if (op < 65) {
      uint64_t size = rng() % limit;
      w->truncate(size);
      model.resize(size, '\0');
    } else if (op < 75) {
      uint64_t off = rng() % limit, len = rng() % 200000;
      w->punch_hole(off, len);
      if (off < model.size()) std::fill_n(model.begin() + off, std::min<uint64_t>(len, model.size() - off), '\0');
    } else if (op < 90) {
      w->commit(meta_for("m"));
      ASSERT_EQ(s->get("m")->content, model) << "step " << step;
    } else if (op < 95) {
      w->commit(meta_for("m"));
      w.reset();
      auto loaded = s->content_extents("m");
      w = s->begin_stream();
      w->load(loaded->first, loaded->second);
    } else {
      s->prune();
    }
    if (step % 97 == 0) {
      std::string back(model.size(), 'X');
      ASSERT_EQ(w->read(0, back.data(), back.size()), model.size());
      ASSERT_EQ(back, model) << "step " << step;
    }
  }
  w->commit(meta_for("m"));
  w.reset();
  s.reset();
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
  EXPECT_EQ(open_store(t / "s")->get("m")->content, model);
}

TEST(Extents, TooManyTouchingPiecesCopyOnlyTheCheapestJoins) {
  // Scattered 1-byte overwrites of one big extent: twice as many pieces as writes, all
  // touching. Getting back under the limit copies a few small pieces, not the file.
  TempDir t;
  auto s = create_store(t / "s");
  const uint64_t writes = format::kMaxExtents / 2 + 100, stride = 512;
  std::string model(writes * stride, 'a');
  {
    auto w = s->begin_stream();
    w->write(0, model.data(), model.size());
    w->commit(meta_for("big"));
  }
  const uint64_t before = s->stats().body_bytes;
  auto w = s->begin_stream();
  auto c = s->content_extents("big");
  ASSERT_TRUE(c);
  w->load(c->first, c->second);
  for (uint64_t i = 0; i < writes; ++i) {
    w->write(i * stride + 7, "z", 1);
    model[i * stride + 7] = 'z';
  }
  w->commit(meta_for("big"));
  EXPECT_EQ(s->get("big")->content, model);
  EXPECT_LE(s->content_extents("big")->second.size(), format::kMaxExtents);
  EXPECT_LT(s->stats().body_bytes - before, model.size());  // the full rewrite copied all of it
  w.reset();
  s.reset();
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
  EXPECT_EQ(Store::open(t / "s")->get("big")->content, model);
}

TEST(Extents, TooManyPiecesAreMergedAtCommit) {
  TempDir t;
  auto s = create_store(t / "s");
  auto w = s->begin_stream();
  std::string model;
  for (uint64_t i = 0; i < format::kMaxExtents + 100; ++i) {  // every other byte: one piece each
    w->write(i * 2, "z", 1);
    model.resize(i * 2 + 1, '\0');
    model[i * 2] = 'z';
  }
  w->commit(meta_for("frag"));
  EXPECT_EQ(s->get("frag")->content, model);
  w.reset();  // a writer goes before its store
  s.reset();
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
}

}  // namespace
}  // namespace docfs

namespace docfs {
namespace {

// A store written by a build that knew only format version 1 opens unchanged, and its
// header.bin is marked version 2 just before the first extents entry lands in it.
TEST(Extents, AVersionOneStoreIsUpgradedAtItsFirstExtentsEntry) {
  TempDir t;
  { create_store(t / "s")->put(testing::doc("old", "written by format 1")); }
  for (std::string name : {"header.bin", "body.bin"}) {
    std::string bytes = testing::read_file(t / "s/" + name);
    bytes[8] = 1;  // version 1, little-endian, then the header CRC again
    uint32_t crc = crc32c::value(bytes.data(), 24);
    std::memcpy(bytes.data() + 24, &crc, 4);
    testing::write_file(t / "s/" + name, bytes);
  }
  {
    auto s = open_store(t / "s");
    EXPECT_EQ(s->get("old")->content, "written by format 1");
    EXPECT_EQ(testing::read_file(t / "s/header.bin")[8], 1);  // opening changes nothing
    auto w = s->begin_stream();
    w->write(4096, "new", 3);
    w->commit(meta_for("new"));
    EXPECT_EQ(testing::read_file(t / "s/header.bin")[8], 2);
  }
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
  auto s = open_store(t / "s");
  EXPECT_EQ(s->get("old")->content, "written by format 1");
  EXPECT_EQ(s->stat("new")->size, 4099u);
}

}  // namespace
}  // namespace docfs

namespace docfs {
namespace {

// A log appended to 600 times has 600 extents; defragment() makes it one again, unless
// the version changed meanwhile; extents between holes stay apart.
TEST(Extents, DefragmentJoinsAManyTimesAppendedFile) {
  TempDir t;
  auto s = create_store(t / "s");
  std::string model;
  auto append = [&](const std::string& id, uint64_t at, const std::string& line) {
    auto w = s->begin_stream();
    if (auto loaded = s->content_extents(id)) w->load(loaded->first, loaded->second);
    w->write(at, line.data(), line.size());
    w->commit(meta_for(id));
  };
  for (int i = 0; i < 600; ++i) {
    std::string line = "entry " + std::to_string(i) + "\n";
    append("log", model.size(), line);
    model += line;
    append("holes", static_cast<uint64_t>(i) * 8192, line);  // every append after a hole
  }
  DocumentMeta m = *s->meta("log");
  m.mime_type = "text/plain";
  s->update_meta(m);
  EXPECT_EQ(s->content_extents("log")->second.size(), 600u);
  EXPECT_EQ(s->defragment(1 << 30), 0u);  // first seen: it may still be changing
  EXPECT_EQ(s->defragment(1 << 30), 1u);  // unchanged since: rewritten; "holes" cannot shrink
  EXPECT_EQ(s->content_extents("log")->second.size(), 1u);
  EXPECT_EQ(s->get("log")->content, model);
  EXPECT_EQ(s->meta("log")->mime_type, "text/plain");  // the newest metadata kept
  EXPECT_EQ(s->content_extents("holes")->second.size(), 600u);
  EXPECT_EQ(s->defragment(1 << 30), 0u);
  s.reset();
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
}

}  // namespace
}  // namespace docfs
