// The archive format: round trip through a file:// backend, and every refusal (truncated,
// corrupt, trailing bytes, newer version, bad magic) leaving the destination untouched.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/file_io.h"
#include "core/store.h"
#include "remote/archive.h"
#include "remote/file_backend.h"
#include "remote/transfer.h"

using namespace docfs;
using namespace docfs::remote;

namespace {

class Tmp {
 public:
  Tmp() {
    char t[] = "/tmp/docfs-remote-test-XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~Tmp() { remove_tree(path_); }
  std::string operator/(const std::string& n) const { return path_ + "/" + n; }

 private:
  std::string path_;
};

void fill_store(const std::string& dir) {
  auto s = Store::open(dir, OpenOptions{.create = true, .read_only = false});
  for (int i = 0; i < 30; ++i) {
    Document d;
    d.meta.id = "dir/doc" + std::to_string(i);
    d.meta.mime_type = "application/octet-stream";
    d.meta.tags = {{"i", docfs::TagValue(std::to_string(i))}};
    d.meta.embedding = docfs::NdArray::float32({0.5f, static_cast<float>(i)});
    d.meta.mtime_ns = d.meta.ctime_ns = 1700000000000000000 + i;
    d.content = std::string(static_cast<size_t>(i) * 7919 % 200000, static_cast<char>('a' + i % 26));
    s->put(d);
  }
  // Over the core's streaming threshold, so put_stream takes its chunked path.
  Document big;
  big.meta.id = "big";
  for (int i = 0; i < (3 << 20); ++i) big.content += static_cast<char>(i * 131 % 251);
  s->put(big);
  s->remove("dir/doc3");
}

std::vector<Document> all_docs(const std::string& dir) {
  auto s = Store::open(dir, OpenOptions{.create = false, .read_only = true});
  std::vector<Document> out;
  for (const auto& id : s->ids()) out.push_back(*s->get(id));
  return out;
}

std::string read_file(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& p, const std::string& data) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
}

// Unpacks bytes from a file into dest; returns the error message, "" on success.
std::string try_unpack(const Tmp& t, const std::string& bytes, const std::string& dest) {
  write_file(t / "archive", bytes);
  File f = File::open(t / "archive", O_RDONLY);
  try {
    unpack_archive(f, f.size(), dest, nullptr, "test archive");
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace

TEST(Archive, HeaderRoundTrip) {
  ArchiveHeader h;
  h.docfs_version = "0.1.0";
  h.created_ns = 123;
  h.expires_ns = 456;
  h.documents = 7;
  h.payload_length = 89;
  h.sha256[0] = 0xab;
  std::string b = encode_archive_header(h);
  ASSERT_EQ(b.size(), kArchiveHeaderSize);
  ArchiveHeader d = decode_archive_header(b, "x");
  EXPECT_EQ(d.docfs_version, "0.1.0");
  EXPECT_EQ(d.created_ns, 123);
  EXPECT_EQ(d.expires_ns, 456);
  EXPECT_EQ(d.documents, 7u);
  EXPECT_EQ(d.payload_length, 89u);
  EXPECT_EQ(d.sha256, h.sha256);
  b[60] ^= 1;  // a flipped bit in the header fails its CRC
  EXPECT_THROW(decode_archive_header(b, "x"), FormatError);
}

TEST(Archive, RoundTripThroughFileBackend) {
  Tmp t;
  fill_store(t / "src");
  FileBackend b(t / "remote");
  PushResult pr = push_store(t / "src", b, "k", {});
  EXPECT_EQ(pr.documents, 30u);
  auto info = b.head("k");
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->documents_known);
  EXPECT_EQ(info->documents, 30u);
  EXPECT_EQ(info->size, pr.bytes);
  PullResult r = pull_store(b, "k", t / "dst", {});
  EXPECT_EQ(r.documents, 30u);
  EXPECT_EQ(all_docs(t / "src"), all_docs(t / "dst"));
  // Pulling again replaces the existing store.
  ASSERT_NO_THROW(pull_store(b, "k", t / "dst", {}));
  EXPECT_EQ(all_docs(t / "src"), all_docs(t / "dst"));
}

TEST(Archive, EmptyStore) {
  Tmp t;
  Store::open(t / "src", OpenOptions{.create = true, .read_only = false});
  FileBackend b(t / "remote");
  EXPECT_EQ(push_store(t / "src", b, "empty", {}).documents, 0u);
  EXPECT_EQ(pull_store(b, "empty", t / "dst", {}).documents, 0u);
  EXPECT_TRUE(all_docs(t / "dst").empty());
}

TEST(Archive, RefusalsLeaveDestinationUntouched) {
  Tmp t;
  fill_store(t / "src");
  FileBackend b(t / "remote");
  push_store(t / "src", b, "k", {});
  const std::string good = read_file(t / "remote/k");
  // The destination: an existing store with one document.
  {
    auto d = Store::open(t / "dst", OpenOptions{.create = true, .read_only = false});
    Document x;
    x.meta.id = "keep-me";
    x.content = "precious";
    d->put(x);
  }
  const auto before = all_docs(t / "dst");

  std::string bad = good;
  bad[bad.size() / 2] ^= 0x40;
  EXPECT_NE(try_unpack(t, bad, t / "dst").find("SHA-256 check failed"), std::string::npos);
  EXPECT_NE(try_unpack(t, good.substr(0, good.size() - 1), t / "dst").find("truncated"), std::string::npos);
  EXPECT_NE(try_unpack(t, good + "x", t / "dst").find("trailing bytes"), std::string::npos);
  EXPECT_NE(try_unpack(t, good.substr(0, 50), t / "dst").find("shorter than its 128-byte header"), std::string::npos);
  bad = good;
  bad[8] = 9;
  std::string msg = try_unpack(t, bad, t / "dst");
  EXPECT_NE(msg.find("version 9 is newer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(version " + std::to_string(kArchiveFormatVersion) + ")"), std::string::npos) << msg;
  bad = good;
  bad[0] = 'X';
  EXPECT_NE(try_unpack(t, bad, t / "dst").find("bad magic"), std::string::npos);
  // A record length that points past the end (payload hash then disagrees too).
  bad = good;
  bad[kArchiveHeaderSize + 3] = '\x7f';
  EXPECT_NE(try_unpack(t, bad, t / "dst").find("SHA-256"), std::string::npos);

  EXPECT_EQ(all_docs(t / "dst"), before);
  for (const auto& e : std::filesystem::directory_iterator(t / ""))
    EXPECT_EQ(e.path().filename().string().find(".pull-"), std::string::npos) << e.path();
}

TEST(Archive, ExpiredKeyRefusedAndCollected) {
  Tmp t;
  fill_store(t / "src");
  FileBackend b(t / "remote");
  PushOptions po;
  po.ttl_seconds = 1;
  push_store(t / "src", b, "soon", po);
  push_store(t / "src", b, "later", {});
  EXPECT_EQ(live_keys(b).size(), 2u);
  ::usleep(1100 * 1000);
  auto live = live_keys(b);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].key, "later");
  try {
    pull_store(b, "soon", t / "dst", {});
    ADD_FAILURE() << "expired key pulled";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("expired at"), std::string::npos);
  }
  EXPECT_EQ(delete_expired(b), std::vector<std::string>{"soon"});
  EXPECT_FALSE(b.head("soon"));
}

TEST(Archive, MaxBytesCheckedFirst) {
  Tmp t;
  fill_store(t / "src");
  FileBackend b(t / "remote");
  push_store(t / "src", b, "k", {});
  PullOptions po;
  po.max_bytes = 1000;
  EXPECT_THROW(pull_store(b, "k", t / "dst", po), UsageError);
  EXPECT_FALSE(path_exists(t / "dst"));
}

// A file with holes travels as its data ranges: a 1 TB sparse file pushes as a few bytes,
// and the pulled store has the same holes (version 2 archive); without holes, version 1.
TEST(Archive, SparseFilesKeepTheirHoles) {
  Tmp t;
  const uint64_t tb = 1000000000000ull;
  {
    auto s = Store::open(t / "src", OpenOptions{.create = true, .read_only = false});
    auto w = s->begin_stream();
    w->truncate(tb);
    w->write(4096, "first block", 11);
    w->write(tb / 2, "middle", 6);
    w->write(tb - 3, "end", 3);
    DocumentMeta m;
    m.id = "sparse.img";
    w->commit(m);
    w.reset();
    Document d;
    d.meta.id = "dense";
    d.content = "plain";
    s->put(d);
  }
  FileBackend b(t / "remote");
  PushResult pr = push_store(t / "src", b, "k", {});
  EXPECT_LT(pr.bytes, 4096u);
  std::string head = read_file(t / "remote/k").substr(0, kArchiveHeaderSize);
  EXPECT_EQ(decode_archive_header(head, "k").format_version, 2u);
  pull_store(b, "k", t / "dst", {});
  auto s = Store::open(t / "dst", OpenOptions{.create = false, .read_only = true});
  auto c = s->content("sparse.img");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->size(), tb);
  EXPECT_EQ(c->data_bytes(), 20u);
  std::string got(11, 'x');
  c->read(4096, got.data(), 11);
  EXPECT_EQ(got, "first block");
  got.assign(6, 'x');
  c->read(tb / 2, got.data(), 6);
  EXPECT_EQ(got, "middle");
  EXPECT_EQ(c->seek_data(4096 + 11), tb / 2);
  EXPECT_EQ(s->get("dense")->content, "plain");
  EXPECT_TRUE(Store::fsck(t / "dst", false).ok());

  // A store without holes still makes a version 1 archive (older builds pull it).
  Tmp u;
  fill_store(u / "src");
  FileBackend b2(u / "remote");
  push_store(u / "src", b2, "k", {});
  EXPECT_EQ(decode_archive_header(read_file(u / "remote/k").substr(0, kArchiveHeaderSize), "k").format_version, 1u);
}

TEST(Archive, HardLinksTravelAsOneFileAndItsNames) {
  Tmp t;
  {
    auto s = Store::open(t / "src", OpenOptions{.create = true, .read_only = false});
    Document d;
    d.meta.id = "a";
    d.content = std::string(100000, 'L');
    s->put(d);
    s->link("a", "x/b");
    s->link("x/b", "c");
    d.meta.id = "plain";
    d.content = "p";
    s->put(d);
  }
  FileBackend b(t / "remote");
  PushResult pr = push_store(t / "src", b, "k", {});
  EXPECT_EQ(pr.documents, 4u);  // names
  EXPECT_LT(pr.bytes, 100000u + 1000u);  // the content once
  const std::string archive = read_file(t / "remote/k");
  EXPECT_EQ(decode_archive_header(archive.substr(0, kArchiveHeaderSize), "k").format_version, 3u);
  pull_store(b, "k", t / "dst", {});
  {
    auto s = Store::open(t / "dst", OpenOptions{.create = false, .read_only = true});
    EXPECT_EQ(s->stat("c")->nlink, 3u);
    EXPECT_EQ(s->stat("a")->file_id, s->stat("x/b")->file_id);
    EXPECT_EQ(s->get("x/b")->content, std::string(100000, 'L'));
    EXPECT_EQ(s->stat("plain")->nlink, 1u);
  }
  EXPECT_TRUE(Store::fsck(t / "dst", false).ok());
  EXPECT_EQ(all_docs(t / "src"), all_docs(t / "dst"));

  // A link to a document the archive does not hold (crafted, with a valid SHA-256): the
  // pull fails naming both, and the destination stays as it was.
  std::string payload;
  auto le32 = [&](uint32_t v) { payload.append(reinterpret_cast<const char*>(&v), 4); };
  le32(1);
  payload += "b";
  le32(kLinkRecord);
  le32(7);
  payload += "missing";
  ArchiveHeader h;
  h.documents = 1;
  h.payload_length = payload.size();
  h.sha256 = sha256(payload);
  const auto before = all_docs(t / "dst");
  std::string msg = try_unpack(t, encode_archive_header(h) + payload, t / "dst");
  EXPECT_NE(msg.find("b is a hard link to missing, which the archive does not hold"), std::string::npos) << msg;
  EXPECT_EQ(all_docs(t / "dst"), before);
  for (const auto& e : std::filesystem::directory_iterator(t / ""))
    EXPECT_EQ(e.path().filename().string().find(".pull-"), std::string::npos) << e.path();
}
