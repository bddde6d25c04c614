// A file:// remote holding DocArray v2's objects beside docfs archives: the magic is read
// before any version (a DocArray stream's bytes 8..11 are not one), the format is named, and
// a DocArray object's documents are counted off its length prefixes without reading them.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "core/file_io.h"
#include "remote/docarray_object.h"
#include "remote/file_backend.h"
#include "remote/transfer.h"

namespace docfs::remote {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

class DocArrayObjectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/docfs-daobj-XXXXXX";
    dir_ = ::mkdtemp(t);
    texts_ = read(std::string(DOCFS_SOURCE_DIR) + "/tests/fixtures/docarray-v2/file-remote/texts.docs");
    ASSERT_EQ(texts_.size(), 693u);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, texts_;
};

TEST_F(DocArrayObjectTest, KeysNameTheFormatAndCountDocuments) {
  write(dir_ + "/texts.docs", texts_);
  write(dir_ + "/plain", texts_);            // DocArray's bytes under a name without .docs
  write(dir_ + "/cut.docs", texts_.substr(0, 600));
  FileBackend b(dir_);
  auto keys = b.list();
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].key, "cut.docs");
  EXPECT_EQ(keys[0].format, "docarray");
  EXPECT_FALSE(keys[0].documents_known);
  EXPECT_EQ(keys[1].key, "plain");
  EXPECT_EQ(keys[1].format, "");
  EXPECT_EQ(keys[1].format_version, 0u);  // not read: no magic
  EXPECT_EQ(keys[2].format, "docarray");
  EXPECT_TRUE(keys[2].documents_known);
  EXPECT_EQ(keys[2].documents, 6u);
  EXPECT_EQ(keys[2].format_version, 0u);
}

TEST_F(DocArrayObjectTest, PullOfANonArchiveSaysSoNotNewerVersion) {
  write(dir_ + "/plain", texts_);
  FileBackend b(dir_);
  try {
    pull_store(b, "plain", dir_ + "/dest", {});
    FAIL() << "pulled";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a docfs archive"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/dest"));
}

TEST(DocArrayObject, CountWalksLengthsOnly) {
  char t[] = "/tmp/docfs-dacount-XXXXXX";
  std::string d = ::mkdtemp(t);
  auto count = [&](const std::string& bytes) {
    write(d + "/x", bytes);
    File f = File::open(d + "/x", O_RDONLY);
    return count_docarray_stream(f, bytes.size());
  };
  EXPECT_EQ(count(std::string(4, '\0')), 0u);
  EXPECT_EQ(count(std::string("\0\0\0\x02" "ab\0\0\0\0", 10)), 1u);
  EXPECT_FALSE(count(std::string("\0\0\0\x02" "ab\0\0\0\0x", 11)));  // bytes after the end marker
  EXPECT_FALSE(count(std::string("\0\0\0\x09" "ab\0\0\0\0", 10)));   // a length past the end
  EXPECT_FALSE(count(std::string("\0\0\0\x02" "ab", 6)));            // no end marker
  EXPECT_FALSE(count(""));
  std::filesystem::remove_all(d);
  EXPECT_TRUE(is_docarray_key("texts.docs"));
  EXPECT_FALSE(is_docarray_key(".docs"));
  EXPECT_FALSE(is_docarray_key("texts.docs.tmp"));
}

}  // namespace
}  // namespace docfs::remote
