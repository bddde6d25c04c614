#include <gtest/gtest.h>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <sstream>

#include "core/crc32c.h"
#include "core/document.h"
#include "core/error.h"

namespace docfs::old {
// The metadata record as docfs wrote it before the DocArray fields (cereal version 2):
// string tags, float32 embedding values.
struct WireV2 {
  std::string mime, uri;
  std::map<std::string, std::string> tags;
  std::vector<float> embedding;
  uint32_t mode = 0100644, uid = 0, gid = 0;
  int64_t mtime = 0, ctime = 0;
  uint64_t rdev = 0;
  template <class Archive>
  void save(Archive& ar, const std::uint32_t) const {
    ar(mime, uri, tags, embedding, mode, uid, gid, mtime, ctime, rdev);
  }
  template <class Archive>
  void load(Archive&, const std::uint32_t) {}
};
}  // namespace docfs::old
CEREAL_CLASS_VERSION(docfs::old::WireV2, 2);

namespace docfs {
namespace {

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c::value("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c::value(""), 0u);
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c::value(zeros), 0x8A9136AAu);
  // Extending in pieces equals one pass.
  std::string s = "The quick brown fox jumps over the lazy dog, several times over.";
  uint32_t c = crc32c::extend(crc32c::value(s.substr(0, 7)), s.data() + 7, s.size() - 7);
  EXPECT_EQ(c, crc32c::value(s));
}

TEST(DocumentId, AcceptsNestedAndLongIds) {
  EXPECT_TRUE(is_valid_id("a"));
  EXPECT_TRUE(is_valid_id("a/b.txt"));
  EXPECT_TRUE(is_valid_id(std::string(255, 'x')));
  EXPECT_TRUE(is_valid_id(std::string(100, 'y') + "/" + std::string(255, 'x')));
  std::string long_id;
  for (int i = 0; i < 16; ++i) long_id += (i ? "/" : "") + std::string(200, 'a' + i);
  ASSERT_LE(long_id.size(), kMaxIdBytes);
  EXPECT_TRUE(is_valid_id(long_id));
  EXPECT_TRUE(is_valid_id(".hidden"));
  EXPECT_TRUE(is_valid_id("a..b"));
}

TEST(DocumentId, RefusesBadIdsWithClearReasons) {
  EXPECT_EQ(check_id(""), IdError::kEmpty);
  EXPECT_EQ(check_id(std::string(256, 'x')), IdError::kPartTooLong);
  EXPECT_EQ(check_id("ok/" + std::string(256, 'x')), IdError::kPartTooLong);
  EXPECT_EQ(check_id(std::string(4096, 'a')), IdError::kTooLong);
  EXPECT_EQ(check_id("/abs"), IdError::kEmptyPart);
  EXPECT_EQ(check_id("a//b"), IdError::kEmptyPart);
  EXPECT_EQ(check_id("a/"), IdError::kEmptyPart);
  EXPECT_EQ(check_id("."), IdError::kDotPart);
  EXPECT_EQ(check_id("a/../b"), IdError::kDotPart);
  EXPECT_EQ(check_id(std::string("a\0b", 3)), IdError::kNul);
  std::string msg = describe_id_error(IdError::kPartTooLong, std::string(256, 'x'));
  EXPECT_NE(msg.find("256 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("255"), std::string::npos) << msg;
}

TEST(DocumentMeta, RoundTripsThroughCereal) {
  DocumentMeta m;
  m.id = "x";
  m.mime_type = "image/png";
  m.uri = "s3://b/k.png";
  m.tags = {{"split", "train"}, {"label", "cat"}};
  m.embedding = docfs::NdArray::float32({0.5f, -1.25f, 3.0f});
  m.mode = 0100600;
  m.uid = 1000;
  m.gid = 100;
  m.mtime_ns = 123456789012345;
  m.ctime_ns = 42;
  std::string bytes = encode_meta(m);
  EXPECT_EQ(decode_meta(bytes, "x"), m);
}

TEST(DocumentMeta, VersionTwoRecordsStillRead) {
  old::WireV2 w{"text/plain", "u", {{"n", "3"}, {"s", "x"}}, {0.5f, -2.0f}, 0100600, 1, 2, 3, 4, 0};
  std::ostringstream out(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(w);
  }
  DocumentMeta m = decode_meta(out.str(), "a");
  EXPECT_EQ(m.mime_type, "text/plain");
  EXPECT_EQ(m.tags.at("n"), TagValue("3"));  // a version-2 tag was a string and stays one
  EXPECT_EQ(m.embedding.dtype, "<f4");
  EXPECT_EQ(*m.embedding.as_float32(), (std::vector<float>{0.5f, -2.0f}));
  EXPECT_EQ(m.mode, 0100600u);
  EXPECT_EQ(m.ctime_ns, 4);
  // Written back, it is a version-3 record that reads the same.
  EXPECT_EQ(decode_meta(encode_meta(m), "a"), m);
}

TEST(DocumentMeta, EveryDocArrayFieldRoundTrips) {
  DocumentMeta m;
  m.id = "x";
  m.tags = {{"i", 3}, {"f", 3.0}, {"b", true}, {"n", nullptr}, {"l", {1, "a"}}, {"bytes", std::string("\xff\x00", 2)}};
  m.embedding = NdArray{"<f8", {2, 1}, std::string(16, '\1'), "numpy"};
  m.content_field = ContentField::kTensor;
  m.parent_id = "p";
  m.granularity = 1;
  m.adjacency = 2;
  m.weight = 0.25;
  m.modality = "image";
  m.offset = 3;
  m.location = {1, 2};
  m.scores["s"] = NamedScore{0.5, "op", "d", "r", {NamedScore{1, "", "", "", {}}}};
  m.evaluations["e"] = NamedScore{};
  m.metadata = {{"k", {1, 2}}};
  m.content_hash = "abc";
  m.foreign_format = "docarray-v2";
  m.foreign_class = "TextDoc";
  m.foreign_record = std::string("\x0a\x00\xff", 3);
  Document c;
  c.meta.id = "c";
  c.content = "chunk";
  m.chunks = {c, c};
  m.matches = {c};
  DocumentMeta back = decode_meta(encode_meta(m), "x");
  EXPECT_EQ(back, m);
  EXPECT_TRUE(back.tags.at("f").is_number_float());
  EXPECT_TRUE(back.tags.at("i").is_number_integer());
}

TEST(DocumentMeta, DeepNestingIsRefused) {
  DocumentMeta m;
  Document d;
  d.meta.id = "leaf";
  for (int i = 0; i < kMaxNestingDepth + 5; ++i) {
    Document up;
    up.meta.id = "n";
    up.meta.chunks.push_back(std::move(d));
    d = std::move(up);
  }
  m.chunks.push_back(std::move(d));
  EXPECT_THROW(encode_meta(m), UsageError);  // never written, as load would refuse it
}

TEST(DocumentMeta, MalformedBytesAreAFormatError) {
  DocumentMeta m;
  m.tags = {{"k", "v"}};
  std::string bytes = encode_meta(m);
  EXPECT_THROW(decode_meta(bytes.substr(0, bytes.size() / 2), "x"), FormatError);
  EXPECT_THROW(decode_meta("", "x"), FormatError);
}

}  // namespace
}  // namespace docfs

namespace docfs {
namespace {

// Long inputs take the three-lane path; it must agree with byte-at-a-time extension.
TEST(Crc32c, LongInputsMatchIncrementalComputation) {
  std::string s(100000, '\0');
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>((i * 7919) >> 3);
  for (size_t len : {0ul, 1ul, 12287ul, 12288ul, 12289ul, 40000ul, 100000ul}) {
    uint32_t whole = crc32c::value(s.data(), len);
    uint32_t pieces = 0;
    for (size_t i = 0; i < len; i += 1000) pieces = crc32c::extend(pieces, s.data() + i, std::min<size_t>(1000, len - i));
    EXPECT_EQ(whole, pieces) << len;
  }
}

}  // namespace
}  // namespace docfs
