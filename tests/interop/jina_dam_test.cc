// Jina 2.x DocumentArrayMemmap: the Jina 2 protobuf export, the writer (as memmap.py's
// append), and the reader on written and damaged directories.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>

#include "core/error.h"
#include "interop/docarray_proto.h"
#include "interop/jina_dam.h"
#include "interop/jina_dam_writer.h"
#include "interop/protobuf_array.h"
#include "proto_test_util.h"

namespace docfs::interop {
namespace {

using testing::fixture;
using testing::input;
using testing::read_all;

std::vector<Document> jina_fixture_docs() {
  auto src = protobuf_array_source(input(fixture("jina/jina-dam-store.save_binary.bin")), ProtoSchema::kJina2);
  return read_all(*src);
}

template <class E, class Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/docfs-jina-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(JinaProto, EveryFixtureDocumentRoundTripsThroughJina2) {
  auto docs = jina_fixture_docs();
  ASSERT_EQ(docs.size(), 21u);
  for (const Document& d : docs)
    EXPECT_EQ(document_from_proto(document_to_proto(d, ProtoSchema::kJina2), ProtoSchema::kJina2), d) << d.meta.id;
}

TEST(JinaProto, WhatJina2HasNoPlaceForIsRefusedByName) {
  Document d;
  d.meta.id = "x";
  d.content = "text";
  d.meta.location = {1, 2.5};
  EXPECT_NE(error_of<UsageError>([&] { document_to_proto(d, ProtoSchema::kJina2); }).find("location[1]: is 2.5"),
            std::string::npos);
  d.meta.location = {1, 2};
  d.meta.offset = -1;
  EXPECT_NE(error_of<UsageError>([&] { document_to_proto(d, ProtoSchema::kJina2); }).find("offset: is -1"),
            std::string::npos);
  d.meta.offset = 7;
  d.meta.uri = "https://example.com";
  EXPECT_NE(error_of<UsageError>([&] { document_to_proto(d, ProtoSchema::kJina2); }).find("uri:"), std::string::npos);
  d.meta.uri.clear();
  d.meta.metadata = {{"k", 1}};
  EXPECT_NE(error_of<UsageError>([&] { document_to_proto(d, ProtoSchema::kJina2); }).find("_metadata"),
            std::string::npos);
  d.meta.metadata = nullptr;
  d.meta.embedding = NdArray::float32({1, 2});
  d.meta.embedding.cls_name = "torch";
  EXPECT_NE(error_of<UsageError>([&] { document_to_proto(d, ProtoSchema::kJina2); }).find("embedding"),
            std::string::npos);
  d.meta.embedding.cls_name.clear();
  // Operands nest (Jina has them, DocArray v0 does not) and survive.
  d.meta.scores["s"] = NamedScore{0.5, "op", "", "", {NamedScore{0.25, "inner", "", "", {}}}};
  Document back = document_from_proto(document_to_proto(d, ProtoSchema::kJina2), ProtoSchema::kJina2);
  EXPECT_EQ(back.meta.scores, d.meta.scores);
  EXPECT_EQ(back.meta.location, d.meta.location);
  EXPECT_EQ(back.meta.offset, 7);
}

TEST(JinaDamWriter, WritesMemmapRowsAndReadsBackEqual) {
  TempDir t;
  auto docs = jina_fixture_docs();
  {
    JinaDamWriter w(t.path(), 60);
    for (const Document& d : docs) w.append(d);
    w.finish();
  }
  const std::string header = slurp(t.path() + "/header.bin");
  ASSERT_EQ(header.size(), docs.size() * (24 + 4 * 60));
  // Row 1: id as UTF-32LE, p = start rounded down to 4096, r = start % 4096, r + l.
  int64_t p, r, rl;
  std::memcpy(&p, header.data() + 264 + 240, 8);
  std::memcpy(&r, header.data() + 264 + 248, 8);
  std::memcpy(&rl, header.data() + 264 + 256, 8);
  EXPECT_EQ(p, 0);
  EXPECT_EQ(static_cast<size_t>(r), document_to_proto(docs[0], ProtoSchema::kJina2).size());
  EXPECT_EQ(header.substr(264, 8), std::string("t\0\0\0e\0\0\0", 8));
  JinaDamInfo info;
  auto src = jina_dam_source(t.path(), std::nullopt, &info);
  EXPECT_EQ(info.key_length, 60);  // detected
  EXPECT_EQ(info.live, docs.size());
  EXPECT_EQ(info.bad_rows, 0u);
  auto back = read_all(*src);
  EXPECT_EQ(back, docs);
}

TEST(JinaDamWriter, RefusesAnIdLongerThanTheKeyLength) {
  TempDir t;
  JinaDamWriter w(t.path(), 36);
  Document d;
  d.meta.id = std::string(37, 'a');
  EXPECT_NE(error_of<UsageError>([&] { w.append(d); }).find("longer than the key length 36"), std::string::npos);
}

// A copy of the Jina 2.0.10 fixture, damaged by `damage(header, body)`.
std::string damaged_copy(const TempDir& t, const std::function<void(std::string&, std::string&)>& damage) {
  std::string h = fixture("jina/jina-dam-store/header.bin"), b = fixture("jina/jina-dam-store/body.bin");
  damage(h, b);
  spit(t.path() + "/header.bin", h);
  spit(t.path() + "/body.bin", b);
  return t.path();
}

// Reads every document, collecting the bad ones' messages.
std::vector<Document> read_tolerant(DocumentSource& src, std::vector<std::string>* bad) {
  std::vector<Document> out;
  while (true) {
    try {
      auto d = src.next();
      if (!d) break;
      out.push_back(std::move(*d));
    } catch (const BadDocument& e) {
      bad->push_back(e.what());
    }
  }
  return out;
}

TEST(DamagedDam, TornTailRowPastBodyAndBadProtobufAreNamed) {
  TempDir t;
  std::string dir = damaged_copy(t, [](std::string& h, std::string& b) {
    int64_t far = int64_t{1} << 40;
    std::memcpy(h.data() + 3 * 168 + 144, &far, 8);  // row 3 points far past body.bin
    int64_t p, r;
    std::memcpy(&p, h.data() + 4 * 168 + 144, 8);
    std::memcpy(&r, h.data() + 4 * 168 + 152, 8);
    b[static_cast<size_t>(p + r)] = '\xff';  // row 4's protobuf starts with a bad tag
    h += std::string(50, 'x');                // a torn append
  });
  EXPECT_TRUE(looks_like_jina_dam(dir));
  JinaDamInfo info;
  auto src = jina_dam_source(dir, std::nullopt, &info);
  EXPECT_EQ(info.key_length, 36);
  EXPECT_EQ(info.torn_tail_bytes, 50u);
  ASSERT_EQ(info.warnings.size(), 1u);
  EXPECT_NE(info.warnings[0].find("last 50 bytes (from byte 3864)"), std::string::npos);
  std::vector<std::string> bad;
  auto docs = read_tolerant(*src, &bad);
  EXPECT_EQ(docs.size(), 19u);
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_NE(bad[0].find("header row 3 at header.bin byte 504: it points at body.bin bytes 1099511627962..1099511628024, past its end (6966 bytes)"),
            std::string::npos)
      << bad[0];
  EXPECT_NE(bad[1].find("header row 4 at header.bin byte 672, body.bin bytes 248..310"), std::string::npos) << bad[1];
}

// Jina 2.0.x itself: ids cut to key_length in the header, so two long ids can share a
// header id. docfs goes by the full id inside each protobuf: two documents.
TEST(JinaDamReader, HeaderIdsThatCollideButFullIdsDifferAreTwoDocuments) {
  TempDir t;
  std::string header, body;
  for (const char* tail : {"1", "2", "1"}) {  // the third row updates the first id
    Document d;
    d.meta.id = std::string(40, 'a') + tail;
    d.content = std::string("content ") + tail + std::to_string(header.size());
    std::string rec = document_to_proto(d, ProtoSchema::kJina2);
    std::string row;
    for (int i = 0; i < 36; ++i) row += std::string("a\0\0\0", 4);  // the id cut to 36
    const int64_t start = static_cast<int64_t>(body.size()), p = start / 4096 * 4096, r = start % 4096,
                  rl = r + static_cast<int64_t>(rec.size());
    for (int64_t v : {p, r, rl}) row += std::string(reinterpret_cast<const char*>(&v), 8);
    header += row;
    body += rec;
  }
  spit(t.path() + "/header.bin", header);
  spit(t.path() + "/body.bin", body);
  JinaDamInfo info;
  auto docs = read_all(*jina_dam_source(t.path(), std::nullopt, &info));
  EXPECT_EQ(info.key_length, 36);
  EXPECT_EQ(info.live, 2u);
  EXPECT_EQ(info.superseded, 1u);
  EXPECT_EQ(info.truncated_ids, 2u);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].meta.id, std::string(40, 'a') + "2");
  EXPECT_EQ(docs[1].meta.id, std::string(40, 'a') + "1");
  EXPECT_EQ(docs[1].content, "content 1336");  // the later row of that id
}

TEST(DamagedDam, GarbageIsNotADam) {
  TempDir t;
  spit(t.path() + "/header.bin", std::string(1000, '\x7f'));
  spit(t.path() + "/body.bin", "x");
  EXPECT_FALSE(looks_like_jina_dam(t.path()));
  EXPECT_NE(error_of<UsageError>([&] { inspect_jina_dam(t.path()); }).find("is not a Jina DocumentArrayMemmap"),
            std::string::npos);
}

}  // namespace
}  // namespace docfs::interop
