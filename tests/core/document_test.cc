#include <gtest/gtest.h>

#include "core/crc32c.h"
#include "core/document.h"
#include "core/error.h"

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
