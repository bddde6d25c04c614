// A write that splits an extent keeps the old CRC for both remainders, as the CRC of the
// body range that holds them (kPutExtentSpans): no byte is read back at commit, and the
// checks that matter still happen (get, fsck, prune, defragment).
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
using testing::meta_for;
using testing::open_store;
using testing::TempDir;

constexpr uint64_t kBig = 8u << 20;

std::string random_bytes(uint64_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Writes `content` as one extent, then overwrites 4 KiB in its middle.
std::string big_then_overwrite(Store& s, const std::string& id) {
  std::string model = random_bytes(kBig, 1);
  {
    auto w = s.begin_stream();
    w->write(0, model.data(), model.size());
    w->commit(meta_for(id));
  }
  auto w = s.begin_stream();
  auto c = s.content_extents(id);
  w->load(c->first, c->second);
  const std::string patch(4096, 'P');
  w->write(kBig / 2, patch.data(), patch.size());
  w->commit(meta_for(id));
  model.replace(kBig / 2, patch.size(), patch);
  return model;
}

TEST(ExtentSpans, ASplitKeepsTheOldCrcForBothRemainders) {
  TempDir t;
  auto s = create_store(t / "s");
  const std::string model = big_then_overwrite(*s, "db");
  auto c = s->content_extents("db");
  ASSERT_EQ(c->second.size(), 3u);
  EXPECT_FALSE(c->second[0].own_crc());
  EXPECT_TRUE(c->second[1].own_crc());  // the new bytes
  EXPECT_FALSE(c->second[2].own_crc());
  EXPECT_EQ(c->second[0].crc_off, c->second[2].crc_off);
  EXPECT_EQ(c->second[0].crc_len, kBig);
  EXPECT_EQ(testing::header_version_of(t / "s"), 3u);
  EXPECT_EQ(s->get("db")->content, model);
  s.reset();
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
  EXPECT_EQ(open_store(t / "s")->get("db")->content, model);
}

TEST(ExtentSpans, APruneGivesEveryExtentItsOwnCrcAgain) {
  TempDir t;
  auto s = create_store(t / "s");
  const std::string model = big_then_overwrite(*s, "db");
  s->prune();
  auto c = s->content_extents("db");
  for (const auto& x : c->second) EXPECT_TRUE(x.own_crc());
  EXPECT_EQ(s->get("db")->content, model);
  s.reset();
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
}

TEST(ExtentSpans, MetadataUpdatesKeepTheRanges) {
  TempDir t;
  auto s = create_store(t / "s");
  const std::string model = big_then_overwrite(*s, "db");
  DocumentMeta m = *s->meta("db");
  m.mime_type = "application/x-sqlite3";
  s->update_meta(m);
  s.reset();
  auto r = open_store(t / "s");
  EXPECT_EQ(r->get("db")->content, model);
  EXPECT_EQ(r->meta("db")->mime_type, "application/x-sqlite3");
}

// A flipped byte inside the range, even in bytes the version no longer uses, fails the
// range: the document is refused (named, with the offset), never served wrong, and the
// rest of the store serves.
TEST(ExtentSpans, ACorruptRangeIsNamedByGetFsckAndPrune) {
  TempDir t;
  uint64_t range_off = 0;
  {
    auto s = create_store(t / "s");
    big_then_overwrite(*s, "db");
    s->put(testing::doc("other", "fine"));
    range_off = s->content_extents("db")->second[0].crc_off;
  }
  std::string body = testing::read_file(t / "s/body.bin");
  body[range_off + kBig / 2 + 10] ^= 0x40;  // inside the overwritten (garbage) 4 KiB
  testing::write_file(t / "s/body.bin", body);
  {
    auto s = open_store(t / "s");
    try {
      s->get("db");
      FAIL() << "a corrupt range was served";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("offset " + std::to_string(range_off)), std::string::npos) << e.what();
    }
    EXPECT_EQ(s->get("other")->content, "fine");
    EXPECT_THROW(s->prune(), FormatError);
  }
  FsckReport r = Store::fsck(t / "s", false);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find("db"), std::string::npos) << r.problems[0];
}

// A store of format 2 stays format 2 until the first entry that needs 3.
TEST(ExtentSpans, AVersionTwoStoreIsMarkedThreeAtItsFirstRangeEntry) {
  TempDir t;
  {
    auto s = create_store(t / "s");
    auto w = s->begin_stream();
    const std::string data = random_bytes(kBig, 2);
    w->write(0, data.data(), data.size());
    w->commit(meta_for("db"));
  }
  for (std::string name : {"header.bin", "body.bin"}) {
    std::string bytes = testing::read_file(t / "s/" + name);
    bytes[8] = 2;
    uint32_t crc = crc32c::value(bytes.data(), 24);
    std::memcpy(bytes.data() + 24, &crc, 4);
    testing::write_file(t / "s/" + name, bytes);
  }
  auto s = open_store(t / "s");
  s->put(testing::doc("plain", "no ranges"));
  EXPECT_EQ(testing::header_version_of(t / "s"), 2u);
  auto w = s->begin_stream();
  auto c = s->content_extents("db");
  w->load(c->first, c->second);
  w->write(100, "x", 1);
  w->commit(meta_for("db"));
  EXPECT_EQ(testing::header_version_of(t / "s"), 3u);
  w.reset();
  s.reset();
  EXPECT_TRUE(Store::fsck(t / "s", false).ok());
}

// An entry whose extent lies outside its range is corrupt at decode.
TEST(ExtentSpans, AnExtentOutsideItsRangeIsRefused) {
  format::Entry e;
  e.type = format::EntryType::kPutExtentSpans;
  e.put.id = "x";
  e.put.record_off = 32;
  e.put.content_len = 100;
  e.put.extents.push_back(format::Extent{0, 100, 1000, 7, 1050, 100});  // starts before its range
  std::string bytes = format::encode_entry(e);
  format::Entry out;
  size_t used = 0;
  std::string why;
  EXPECT_EQ(format::decode_entry(bytes, &out, &used, &why), format::DecodeStatus::kCorrupt);
  EXPECT_NE(why.find("outside the range"), std::string::npos) << why;
  e.put.extents[0] = format::Extent{0, 100, 1000, 7, 990, 120};
  bytes = format::encode_entry(e);
  ASSERT_EQ(format::decode_entry(bytes, &out, &used, &why), format::DecodeStatus::kOk) << why;
  EXPECT_EQ(out.put.extents[0], e.put.extents[0]);
}

}  // namespace
}  // namespace docfs
