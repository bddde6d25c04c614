// StoreBuilder (a new store written front to back, body.bin through O_DIRECT) and the
// DirectFileWriter under it: every size around the alignment and chunk boundaries, contents
// larger than a chunk (their record prefix is patched in at the end), and the result read
// back by an ordinary Store::open and fsck.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/direct_file_writer.h"
#include "core/error.h"
#include "core/store_builder.h"
#include "test_util.h"

using namespace docfs;
using docfs::testing::TempDir;

namespace {

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class StringContent : public ContentSource {
 public:
  explicit StringContent(const std::string& s, size_t max_read = SIZE_MAX) : s_(s), max_(max_read) {}
  uint64_t size() const override { return s_.size(); }
  size_t read(uint64_t off, void* buf, size_t n) override {
    if (off >= s_.size()) return 0;
    n = std::min({n, s_.size() - static_cast<size_t>(off), max_});
    std::memcpy(buf, s_.data() + off, n);
    return n;
  }

 private:
  const std::string& s_;
  size_t max_;
};

// Writes `data` through a DirectFileWriter the way a push does (head last) and returns
// what the file holds.
std::string write_through(const TempDir& t, const std::string& data, const std::string& head, bool direct) {
  const std::string path = t / "out";
  File f = File::open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  {
    DirectFileWriter w(path, f, direct);
    size_t done = 0;
    for (;;) {
      char* buf = w.next_buffer();
      size_t n = std::min(DirectFileWriter::kChunk, data.size() - done);
      std::memcpy(buf, data.data() + done, n);
      w.submit(n);
      done += n;
      if (n < DirectFileWriter::kChunk) break;
    }
    w.finish(head);
    w.sync();
  }
  return slurp(path);
}

}  // namespace

TEST(DirectFileWriter, EverySizeAroundTheBoundaries) {
  TempDir t;
  const size_t K = DirectFileWriter::kChunk, A = DirectFileWriter::kAlign;
  for (size_t n : {size_t{0}, size_t{1}, size_t{127}, A - 1, A, A + 1, 3 * A + 17, K - 1, K, K + 1, 2 * K + A, 3 * K + 5}) {
    SCOPED_TRACE("size " + std::to_string(n));
    std::string data = pattern(n, static_cast<unsigned>(n));
    std::string head = n >= 16 ? std::string(16, 'H') : std::string();
    std::string want = data;
    want.replace(0, head.size(), head);
    EXPECT_EQ(write_through(t, data, head, true), want);
    EXPECT_EQ(write_through(t, data, head, false), want) << "buffered";
  }
}

class StoreBuilderModes : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(DirectAndBuffered, StoreBuilderModes, ::testing::Bool());

TEST_P(StoreBuilderModes, BuildsAStoreThatOpensAndChecksClean) {
  TempDir t;
  const std::string dir = t / "built";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  const size_t K = DirectFileWriter::kChunk;
  std::vector<Document> docs;
  // Sizes chosen to cross the chunk edges: prefixes straddling a chunk, contents longer than
  // two chunks (prefix patched at the end), empty contents.
  size_t sizes[] = {0, 1, 4096, K - 100, 50, 2 * K + 333, 7, K, 0, 123457};
  for (size_t i = 0; i < std::size(sizes); ++i) {
    Document d = docfs::testing::doc("dir/d" + std::to_string(i), pattern(sizes[i], static_cast<unsigned>(i)));
    d.meta.tags = {{"i", docfs::TagValue(std::to_string(i))}};
    d.meta.embedding = docfs::NdArray::float32({1.5f, static_cast<float>(i)});
    d.meta.mode = 0100640;
    docs.push_back(d);
  }
  Document again = docfs::testing::doc("dir/d1", "the second version wins");
  {
    StoreBuilder b(dir, GetParam());
    for (const auto& d : docs) {
      StringContent c(d.content, 100000);  // short reads, as from an archive buffer
      b.add(d.meta, c);
    }
    StringContent c(again.content);
    b.add(again.meta, c);
    b.finish();
    EXPECT_EQ(b.documents(), docs.size() + 1);
  }
  docs[1] = again;
  auto s = Store::open(dir, OpenOptions{.create = false, .read_only = false});
  ASSERT_EQ(s->size(), docs.size());
  for (const auto& d : docs) {
    auto got = s->get(d.meta.id);
    ASSERT_TRUE(got) << d.meta.id;
    EXPECT_EQ(got->content, d.content) << d.meta.id;
    EXPECT_EQ(got->meta.tags, d.meta.tags);
    EXPECT_EQ(got->meta.embedding, d.meta.embedding);
    EXPECT_EQ(s->stat(d.meta.id)->mode, d.meta.mode);
  }
  // An ordinary writable store afterwards: appends go after the built records.
  s->put(docfs::testing::doc("later", "appended"));
  s.reset();
  FsckReport r = Store::fsck(dir, false);
  EXPECT_TRUE(r.problems.empty()) << r.problems.front();
  EXPECT_EQ(r.documents, docs.size() + 1);
}

TEST(StoreBuilder, EmptyStoreAndBadIds) {
  TempDir t;
  const std::string dir = t / "empty";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  {
    StoreBuilder b(dir);
    std::string none;
    StringContent c(none);
    DocumentMeta m;
    m.id = "a/../b";
    EXPECT_THROW(b.add(m, c), UsageError);
    m.id = std::string(256, 'x');
    try {
      b.add(m, c);
      FAIL() << "a 256-byte id part was accepted";
    } catch (const UsageError& e) {
      EXPECT_EQ(e.error_code(), ENAMETOOLONG);
    }
    b.finish();
  }
  auto s = Store::open(dir, OpenOptions{.create = false, .read_only = true});
  EXPECT_EQ(s->size(), 0u);
}

TEST(StoreBuilder, RefusesADirectoryThatHoldsAStore) {
  TempDir t;
  docfs::testing::create_store(t / "s");
  EXPECT_THROW(StoreBuilder b(t / "s"), IoError);
}

TEST(Store, IdsInBodyOrderFollowTheFile) {
  TempDir t;
  auto s = docfs::testing::create_store(t / "s");
  for (const char* id : {"c", "a", "b"}) s->put(docfs::testing::doc(id, id));
  s->put(docfs::testing::doc("a", "rewritten, now last"));
  EXPECT_EQ(s->ids_in_body_order(), (std::vector<std::string>{"c", "b", "a"}));
}
