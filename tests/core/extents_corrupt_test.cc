// Bad extent lists in a store (issue 16): an extent past the end of body.bin, overlapping
// extents, a CRC mismatch in one extent. The entries are crafted with format::encode_entry
// after the store was written and appended to header.bin. Each time the store opens (or
// the error names file and offset), the other documents still read, and fsck says what is
// wrong.
#include <gtest/gtest.h>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/store.h"
#include "core/store_format.h"
#include "test_util.h"

namespace docfs {
namespace {

using testing::content_of;
using testing::create_store;
using testing::doc;
using testing::open_reader;
using testing::open_store;
using testing::read_file;
using testing::meta_for;
using testing::TempDir;
using testing::write_file;

const std::string kA = "contiguous document a";
const std::string kC(300000, 'c');

// a: one contiguous record. b: two extents around a hole ("first" at 0, "second" at
// 10000). c: a contiguous record, then an append: two extents (the old record, "tail").
void build(const std::string& dir) {
  auto s = create_store(dir);
  s->put(doc("a", kA));
  auto w = s->begin_stream();
  w->write(0, "first", 5);
  w->write(10000, "second", 6);
  w->commit(meta_for("b"));
  s->put(doc("c", kC));
  auto loaded = s->content_extents("c");
  auto w2 = s->begin_stream();
  w2->load(loaded->first, loaded->second);
  w2->write(kC.size(), "tail", 4);
  w2->commit(meta_for("c"));
}

std::string b_content() {
  std::string b(10006, '\0');
  b.replace(0, 5, "first");
  b.replace(10000, 6, "second");
  return b;
}

// The newest put entry of `id` in header.bin (to copy its record offset and sizes).
format::PutEntry last_put(const std::string& dir, const std::string& id) {
  std::string h = read_file(dir + "/header.bin");
  format::PutEntry last;
  bool found = false;
  for (size_t pos = format::kFileHeaderSize; pos < h.size();) {
    format::Entry e;
    size_t used = 0;
    std::string why;
    if (format::decode_entry(std::string_view(h).substr(pos), &e, &used, &why) != format::DecodeStatus::kOk) break;
    if ((e.type == format::EntryType::kPut || e.type == format::EntryType::kPutExtents) && e.put.id == id) {
      last = e.put;
      found = true;
    }
    pos += used;
  }
  EXPECT_TRUE(found) << id;
  return last;
}

// Appends a kPutExtents entry for `id` (its newest record, `size` bytes, these extents);
// returns the offset in header.bin where it starts.
uint64_t append_put_extents(const std::string& dir, const std::string& id, uint64_t size,
                            std::vector<format::Extent> extents) {
  format::Entry e;
  e.type = format::EntryType::kPutExtents;
  e.put = last_put(dir, id);
  e.put.content_off = 0;
  e.put.content_len = size;
  e.put.extents = std::move(extents);
  std::string h = read_file(dir + "/header.bin");
  const uint64_t at = h.size();
  write_file(dir + "/header.bin", h + format::encode_entry(e));
  return at;
}

// Appends a valid entry after the crafted one (so it is not the tail of header.bin).
void append_delete(const std::string& dir, const std::string& id) {
  format::Entry e;
  e.type = format::EntryType::kDelete;
  e.put.id = id;
  write_file(dir + "/header.bin", read_file(dir + "/header.bin") + format::encode_entry(e));
}

void expect_others_read(Store& s) {
  EXPECT_EQ(content_of(s, "a"), kA);
  EXPECT_EQ(content_of(s, "c"), kC + "tail");
}

bool mentions(const std::vector<std::string>& problems, const std::string& what) {
  for (const auto& p : problems)
    if (p.find(what) != std::string::npos) return true;
  return false;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

// An extent past the end of body.bin is what a crash leaves when header.bin reached the
// disk and body.bin did not: the entry and everything after it are the torn tail. The
// document keeps its previous version; a writable open drops the tail and says where.
TEST(ExtentsCorrupt, ExtentPastBodyEndIsATornTail) {
  TempDir t;
  const std::string dir = t / "s";
  build(dir);
  const uint64_t body_size = read_file(dir + "/body.bin").size();
  const std::string data = "never written";
  const uint64_t at = append_put_extents(dir, "b", 20000,
      {{0, data.size(), body_size + 4096, crc32c::value(data)}});
  const uint64_t header_size = read_file(dir + "/header.bin").size();

  FsckReport r = Store::fsck(dir, false);
  EXPECT_EQ(r.torn_header_bytes, header_size - at) << joined(r.problems);
  {
    auto s = open_reader(dir);
    expect_others_read(*s);
    EXPECT_EQ(content_of(*s, "b"), b_content());
  }
  ::testing::internal::CaptureStderr();
  {
    auto s = open_store(dir);
    expect_others_read(*s);
    EXPECT_EQ(content_of(*s, "b"), b_content());
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("header.bin entries from offset " + std::to_string(at)), std::string::npos) << err;
  EXPECT_EQ(read_file(dir + "/header.bin").size(), at);
  EXPECT_TRUE(Store::fsck(dir, false).ok());
}

// Overlapping extents in a whole entry with a good checksum: not a torn write but a bad
// entry. It is refused (the document keeps its previous version), the store opens, the
// entries after it apply, and fsck names header.bin and the offset.
TEST(ExtentsCorrupt, OverlappingExtentsAreRefusedAndTheRestServes) {
  for (bool at_tail : {true, false}) {
    SCOPED_TRACE(at_tail ? "at the tail of header.bin" : "followed by more entries");
    TempDir t;
    const std::string dir = t / "s";
    build(dir);
    auto old_b = last_put(dir, "b");
    ASSERT_EQ(old_b.extents.size(), 2u);
    std::vector<format::Extent> xs = old_b.extents;
    xs[1].file_off = 2;  // [0, 5) and [2, 8) overlap
    const uint64_t at = append_put_extents(dir, "b", 10006, xs);
    if (!at_tail) append_delete(dir, "a");

    FsckReport r = Store::fsck(dir, false);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(mentions(r.problems, "header.bin: bad entry at offset " + std::to_string(at))) << joined(r.problems);
    EXPECT_TRUE(mentions(r.problems, "overlaps")) << joined(r.problems);
    EXPECT_EQ(r.torn_header_bytes, 0u);
    for (bool writable : {false, true}) {
      ::testing::internal::CaptureStderr();
      auto s = writable ? open_store(dir) : open_reader(dir);
      const std::string err = ::testing::internal::GetCapturedStderr();
      EXPECT_NE(err.find("bad entry at offset " + std::to_string(at)), std::string::npos) << err;
      EXPECT_EQ(content_of(*s, "b"), b_content());
      EXPECT_EQ(content_of(*s, "c"), kC + "tail");
      EXPECT_EQ(content_of(*s, "a"), at_tail ? kA : "<missing>");  // the delete after it applied
      if (writable) {  // and the store takes new writes after the bad entry
        s->put(doc("d", "new"));
        s.reset();
        auto again = open_reader(dir);
        EXPECT_EQ(content_of(*again, "d"), "new");
        EXPECT_EQ(content_of(*again, "b"), b_content());
      }
    }
    // The bad entry stays where it is (it is not a tail), so fsck keeps naming it.
    EXPECT_TRUE(mentions(Store::fsck(dir, false).problems, "offset " + std::to_string(at)));
  }
}

// A CRC mismatch in one extent: the store opens, the other documents read, a whole-document
// read of that one fails naming body.bin, and fsck names the extent's offset and document.
TEST(ExtentsCorrupt, CrcMismatchInOneExtentIsNamedByFsck) {
  TempDir t;
  const std::string dir = t / "s";
  build(dir);
  auto b = last_put(dir, "b");
  ASSERT_EQ(b.extents.size(), 2u);
  const format::Extent bad = b.extents[1];  // "second"
  std::string body = read_file(dir + "/body.bin");
  ASSERT_EQ(body.substr(bad.body_off, 6), "second");
  body[bad.body_off] = 'S';
  write_file(dir + "/body.bin", body);

  for (bool writable : {false, true}) {
    auto s = writable ? open_store(dir) : open_reader(dir);
    expect_others_read(*s);
    try {
      s->get("b");
      ADD_FAILURE() << "a whole-document read of b should fail its checksum";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("body.bin"), std::string::npos) << e.what();
    }
    EXPECT_EQ(s->stat("b")->size, 10006u);
  }
  FsckReport r = Store::fsck(dir, false);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(mentions(r.problems, "body.bin: extent at offset " + std::to_string(bad.body_off) + " fails its checksum"))
      << joined(r.problems);
  EXPECT_TRUE(mentions(r.problems, "(document b)")) << joined(r.problems);
  EXPECT_EQ(r.problems.size(), 1u) << joined(r.problems);

  // A crafted entry whose extent CRC is wrong for intact bytes: the same, for that version.
  write_file(dir + "/body.bin", read_file(dir + "/body.bin").replace(bad.body_off, 1, "s"));
  auto c = last_put(dir, "c");
  std::vector<format::Extent> xs = c.extents;
  ASSERT_FALSE(xs.empty());
  xs.back().crc ^= 1;
  append_put_extents(dir, "c", c.content_len, xs);
  r = Store::fsck(dir, false);
  EXPECT_EQ(r.problems.size(), 1u) << joined(r.problems);
  EXPECT_TRUE(mentions(r.problems, "extent at offset " + std::to_string(xs.back().body_off) + " fails its checksum"))
      << joined(r.problems);
  EXPECT_TRUE(mentions(r.problems, "(document c)")) << joined(r.problems);
  auto s = open_store(dir);
  EXPECT_EQ(content_of(*s, "a"), kA);
  EXPECT_EQ(content_of(*s, "b"), b_content());
  EXPECT_THROW(s->get("c"), FormatError);
}

}  // namespace
}  // namespace docfs
