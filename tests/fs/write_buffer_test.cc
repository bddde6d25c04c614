#include "fs/write_buffer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "core/error.h"
#include "core/file_io.h"
#include "fs/xattr.h"

namespace docfs::fs {
namespace {

std::string read_all(const WriteBuffer& b) {
  std::string out(b.size(), '\0');
  EXPECT_EQ(b.read(0, out.data(), out.size()), out.size());
  return out;
}

class WriteBufferTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(WriteBufferTest, WritesTruncatesSpillsAndCommits) {
  char tmpl[] = "/tmp/docfs-wb-XXXXXX";
  const std::string dir = std::string(::mkdtemp(tmpl)) + "/s";
  auto store = Store::open(dir, {.create = true, .read_only = false});
  auto owned = std::make_unique<WriteBuffer>(*store, GetParam());
  WriteBuffer& b = *owned;
  b.write(0, "hello", 5);
  b.write(10, "world", 5);  // sparse gap is zeros
  EXPECT_EQ(b.size(), 15u);
  EXPECT_EQ(read_all(b), std::string("hello\0\0\0\0\0world", 15));
  b.truncate(3);
  EXPECT_EQ(read_all(b), "hel");
  b.truncate(6);
  EXPECT_EQ(read_all(b), std::string("hel\0\0\0", 6));
  std::string big(100000, 'x');
  b.write(2, big.data(), big.size());
  EXPECT_EQ(b.size(), 100002u);
  char c[4];
  EXPECT_EQ(b.read(100000, c, 4), 2u);
  EXPECT_TRUE(b.spilled());  // the gap at offset 5 is a hole: only the stream keeps holes
  DocumentMeta m;
  m.id = "f";
  b.commit(m);
  EXPECT_EQ(store->get("f")->content, "he" + big);
  b.write(0, "HE", 2);  // the committed version stays as it was until the next commit
  EXPECT_EQ(store->get("f")->content, "he" + big);
  b.commit(m);
  EXPECT_EQ(store->get("f")->content, "HE" + big);
  owned.reset();  // a writer goes before its store
  store.reset();
  EXPECT_TRUE(Store::fsck(dir, false).ok());
  remove_tree(dir.substr(0, dir.size() - 2));
}

INSTANTIATE_TEST_SUITE_P(MemoryAndFile, WriteBufferTest, ::testing::Values(1u << 20, 16u));

TEST(WriteBuffer, FrontToBackStaysInMemoryAndGapsAreHoles) {
  char tmpl[] = "/tmp/docfs-wb-XXXXXX";
  const std::string dir = std::string(::mkdtemp(tmpl)) + "/s";
  auto store = Store::open(dir, {.create = true, .read_only = false});
  {
    WriteBuffer b(*store, 1 << 20);
    b.write(0, "abc", 3);
    b.write(3, "def", 3);
    EXPECT_FALSE(b.spilled());
    b.truncate(1 << 30);  // growing is a hole, in the stream, at no cost
    EXPECT_TRUE(b.spilled());
    EXPECT_EQ(b.size(), 1u << 30);
    EXPECT_EQ(b.data_bytes(), 6u);
    EXPECT_EQ(b.seek_data(6), 1u << 30);  // no data after the first six bytes
    EXPECT_EQ(b.seek_hole(0), 6u);
    b.punch_hole(0, 3);
    EXPECT_EQ(b.data_bytes(), 3u);
    EXPECT_THROW(b.write(format::kMaxContentSize, "x", 1), UsageError);
    DocumentMeta m;
    m.id = "sparse";
    b.commit(m);
    EXPECT_EQ(store->stat("sparse")->data_bytes, 3u);
  }
  store.reset();
  EXPECT_TRUE(Store::fsck(dir, false).ok());
  remove_tree(dir.substr(0, dir.size() - 2));
}

// An open file kept in memory that has grown past the copy bound (SQLite's database,
// fsynced per transaction, open all along): after its commit, later writes stage only
// themselves; the next commit does not write the whole file again.
TEST(WriteBuffer, ACommitPastTheCopyBoundLeavesMemory) {
  char tmpl[] = "/tmp/docfs-wb-XXXXXX";
  const std::string dir = std::string(::mkdtemp(tmpl)) + "/s";
  auto store = Store::open(dir, {.create = true, .read_only = false});
  auto b = std::make_unique<WriteBuffer>(*store, 8u << 20);
  std::string content(3u << 20, 'q');
  b->write(0, content.data(), content.size());
  EXPECT_FALSE(b->spilled());
  DocumentMeta m;
  m.id = "db";
  b->commit(m);
  EXPECT_EQ(store->get("db")->content, content);
  for (int i = 0; i < 10; ++i) {
    const uint64_t before = store->stats().body_bytes;
    const uint64_t off = (i * 300001u) % content.size();
    b->write(off, "page", 4);
    content.replace(off, 4, "page");
    b->commit(m);
    EXPECT_LT(store->stats().body_bytes - before, 4096u) << "commit " << i;
    EXPECT_EQ(store->get("db")->content, content);
  }
  b.reset();
  store.reset();
  EXPECT_TRUE(Store::fsck(dir, false).ok());
  remove_tree(dir.substr(0, dir.size() - 2));
}

TEST(Xattr, RoundTrips) {
  DocumentMeta m;
  EXPECT_EQ(list_xattrs(m), "");
  EXPECT_EQ(set_xattr(m, "user.mime_type", "text/plain", 0), 0);
  EXPECT_EQ(set_xattr(m, "user.tag.k", "v", 0), 0);
  EXPECT_EQ(set_xattr(m, "user.tag.k", "w", 1 /*XATTR_CREATE*/), EEXIST);
  EXPECT_EQ(set_xattr(m, "user.uri", "u", 2 /*XATTR_REPLACE*/), ENODATA);
  EXPECT_EQ(set_xattr(m, "user.nope", "x", 0), ENOTSUP);
  const char emb[8] = {0, 0, static_cast<char>(0x80), 0x3f, 0, 0, 0, 0x40};  // 1.0, 2.0
  EXPECT_EQ(set_xattr(m, "user.embedding", std::string_view(emb, 8), 0), 0);
  ASSERT_TRUE(m.embedding.as_float32());
  EXPECT_EQ(*m.embedding.as_float32(), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(*get_xattr(m, "user.embedding"), std::string(emb, 8));
  EXPECT_EQ(set_xattr(m, "user.embedding", "abc", 0), EINVAL);
  EXPECT_EQ(list_xattrs(m), std::string("user.mime_type\0user.embedding\0user.tag.k\0", 41));
  EXPECT_EQ(remove_xattr(m, "user.tag.k"), 0);
  EXPECT_EQ(remove_xattr(m, "user.tag.k"), ENODATA);
  EXPECT_FALSE(get_xattr(m, "user.tag.k"));
}

}  // namespace
}  // namespace docfs::fs
