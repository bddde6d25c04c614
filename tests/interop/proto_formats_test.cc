// DocArray 0.21.1's and Jina 2.0.10's binary formats, read from files their own code wrote
// (tests/fixtures) and written back; bad input of every kind the framing allows.
#include <gtest/gtest.h>

#include <cstring>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "docarray_v0.pb.h"
#include "interop/binary_stream.h"
#include "interop/docarray_proto.h"
#include "interop/npy.h"
#include "interop/protobuf_array.h"
#include "jina2.pb.h"
#include "proto_test_util.h"

namespace docfs::interop {
namespace {

using testing::fixture;
using testing::input;
using testing::read_all;
using testing::StringOutput;

std::vector<Document> read_stream(std::string bytes, Compression c = Compression::kAuto, size_t piece = SIZE_MAX) {
  auto src = stream_source(input(std::move(bytes), piece), c);
  return read_all(*src);
}

std::vector<Document> read_array(std::string bytes, Compression whole = Compression::kNone,
                                 std::optional<ProtoSchema> schema = std::nullopt) {
  auto src = protobuf_array_source(decompressing(input(std::move(bytes)), whole), schema);
  return read_all(*src);
}

const Document& by_id(const std::vector<Document>& docs, const std::string& id) {
  for (const Document& d : docs)
    if (d.meta.id == id) return d;
  throw std::runtime_error("no document " + id);
}

std::string write_stream(const std::vector<Document>& docs, Compression c) {
  StringOutput out;
  auto sink = stream_sink(out, c, docs.size());
  for (const Document& d : docs) sink->write(d);
  sink->finish();
  return out.bytes;
}

std::string write_array(const std::vector<Document>& docs, Compression whole) {
  StringOutput out;
  auto sink = protobuf_array_sink(out, whole);
  for (const Document& d : docs) sink->write(d);
  sink->finish();
  return out.bytes;
}

std::string be(uint64_t v, int n) {
  std::string s;
  for (int i = n; i-- > 0;) s += static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

std::string varint(uint64_t v) {
  std::string s;
  for (; v >= 0x80; v >>= 7) s += static_cast<char>((v & 0x7f) | 0x80);
  return s + static_cast<char>(v);
}

template <class E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

// ---- the fixtures ----------------------------------------------------------------------

TEST(DocArrayV0Fixtures, EveryBinaryFormReadsTheSame12Documents) {
  auto meta = nlohmann::json::parse(fixture("docarray-v0/fixtures.meta.json"));
  size_t expected = meta["roundtrip"]["push_payload"]["len"].get<size_t>();
  ASSERT_EQ(expected, 12u);
  auto plain = read_stream(fixture("docarray-v0/da.protobuf.stream"));
  ASSERT_EQ(plain.size(), expected);
  EXPECT_EQ(read_stream(fixture("docarray-v0/da.protobuf.stream"), Compression::kNone, 1), plain);
  EXPECT_EQ(read_stream(fixture("docarray-v0/da.protobuf.gzip.stream")), plain);
  EXPECT_EQ(read_stream(fixture("docarray-v0/da.protobuf.gzip.stream"), Compression::kGzip, 3), plain);
  EXPECT_EQ(read_stream(fixture("docarray-v0/push.payload.bin")), plain);
  EXPECT_EQ(read_stream(fixture("docarray-v0/saved.protobuf.gzip")), plain);
  EXPECT_EQ(read_array(fixture("docarray-v0/saved.protobuf-array")), plain);
  EXPECT_EQ(read_array(fixture("docarray-v0/saved.protobuf-array.lz4"), Compression::kLz4), plain);
  EXPECT_EQ(read_array(fixture("docarray-v0/saved.protobuf-array.lz4"), Compression::kAuto), plain);
}

TEST(DocArrayV0Fixtures, FieldByField) {
  auto docs = read_stream(fixture("docarray-v0/da.protobuf.stream"));
  const Document& text = by_id(docs, "text-plain");
  EXPECT_EQ(text.content, "hello world\n");
  EXPECT_EQ(text.meta.content_field, ContentField::kText);
  EXPECT_EQ(by_id(docs, "text-unicode").content, "Grüße, 世界 ✓\n");
  EXPECT_EQ(by_id(docs, "text-unicode").meta.mime_type, "text/plain");

  const Document& png = by_id(docs, "blob-png");
  EXPECT_EQ(png.meta.content_field, ContentField::kBlob);
  EXPECT_EQ(png.content.size(), 264u);
  EXPECT_EQ(png.content.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.meta.mime_type, "image/png");

  const Document& tensor = by_id(docs, "tensor-f32");
  EXPECT_EQ(tensor.meta.content_field, ContentField::kTensor);
  NdArray t = npy_decode(tensor.content);
  EXPECT_EQ(t.dtype, "<f4");
  EXPECT_EQ(t.shape, (std::vector<uint64_t>{2, 3}));
  ASSERT_EQ(t.data.size(), 24u);
  float second;
  std::memcpy(&second, t.data.data() + 4, 4);
  EXPECT_EQ(second, 1.0f);

  EXPECT_EQ(by_id(docs, "emb-f32").meta.embedding.dtype, "<f4");
  EXPECT_EQ(by_id(docs, "emb-f32").meta.embedding.cls_name, "");  // DocArray's "numpy"
  const NdArray& f64 = by_id(docs, "emb-f64").meta.embedding;
  EXPECT_EQ(f64.dtype, "<f8");
  EXPECT_EQ(f64.shape, (std::vector<uint64_t>{3}));
  double first;
  std::memcpy(&first, f64.data.data(), 8);
  EXPECT_EQ(first, 1.5);
  EXPECT_EQ(by_id(docs, "emb-2d").meta.embedding.shape, (std::vector<uint64_t>{2, 2}));

  const Tags& tags = by_id(docs, "tagged").meta.tags;
  EXPECT_EQ(tags.at("label"), "cat");
  EXPECT_TRUE(tags.at("count").is_number_float());  // Struct numbers are doubles
  EXPECT_EQ(tags.at("count").get<double>(), 3.0);
  EXPECT_EQ(tags.at("ok"), true);
  EXPECT_EQ(tags.at("nested")["k"], "v");
  EXPECT_EQ(tags.at("list")[1], "two");

  const Document& uri = by_id(docs, "uri-only");
  EXPECT_EQ(uri.meta.uri, "https://example.com/a.txt");
  EXPECT_TRUE(uri.content.empty());
  EXPECT_EQ(uri.meta.content_field, ContentField::kUnset);

  const Document& parent = by_id(docs, "with-chunks");
  ASSERT_EQ(parent.meta.chunks.size(), 2u);
  EXPECT_EQ(parent.meta.chunks[1].content, "chunk 1");
  ASSERT_EQ(parent.meta.matches.size(), 1u);
  EXPECT_EQ(parent.meta.matches[0].meta.scores.at("cosine").value, 0.25);
  EXPECT_EQ(by_id(docs, "folder/nested.txt").content, "id with a slash\n");
}

TEST(DocArrayV0Fixtures, ProtobufJsonReadsTheSameAndRoundTrips) {
  auto plain = read_stream(fixture("docarray-v0/da.protobuf.stream"));
  auto arr = nlohmann::json::parse(fixture("docarray-v0/da.protobuf.json"));
  ASSERT_EQ(arr.size(), plain.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    Document d = document_from_proto_json(arr[i].dump());
    EXPECT_EQ(d, plain[i]) << arr[i].dump();
    std::string again = document_to_proto_json(d);
    EXPECT_EQ(document_from_proto_json(again), d) << again;
  }
  // camelCase, as MessageToDict writes it
  EXPECT_NE(document_to_proto_json(by_id(plain, "blob-png")).find("\"mimeType\""), std::string::npos);
}

TEST(DocArrayV0Fixtures, ExportToEachFormReadsBackEqual) {
  auto docs = read_stream(fixture("docarray-v0/da.protobuf.stream"));
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZlib, Compression::kBz2,
                        Compression::kLzma, Compression::kLz4}) {
    SCOPED_TRACE(std::string(compression_name(c)));
    EXPECT_EQ(read_stream(write_stream(docs, c)), docs);
    EXPECT_EQ(read_stream(write_stream(docs, c), c, 7), docs);
    if (c == Compression::kZlib) {
      EXPECT_THROW(write_array(docs, c), UsageError);  // DocArray could not read it
      continue;
    }
    EXPECT_EQ(read_array(write_array(docs, c), c), docs);
    EXPECT_EQ(read_array(write_array(docs, c), Compression::kAuto), docs);
  }
}

TEST(JinaFixtures, SaveBinaryReads21DocumentsAsJina) {
  std::string bytes = fixture("jina/jina-dam-store.save_binary.bin");
  auto docs = read_array(bytes);
  ASSERT_EQ(docs.size(), 21u);
  EXPECT_EQ(read_array(bytes, Compression::kNone, ProtoSchema::kJina2), docs);
  const Document& t = by_id(docs, "text-0");
  EXPECT_EQ(t.content, "hello world number 0\n");
  EXPECT_EQ(t.meta.content_field, ContentField::kText);
  EXPECT_EQ(t.meta.mime_type, "text/plain");
  EXPECT_FALSE(t.meta.content_hash.empty());
  EXPECT_EQ(by_id(docs, "buffer-png").meta.content_field, ContentField::kBlob);
  EXPECT_EQ(by_id(docs, "buffer-png").content.substr(1, 3), "PNG");
  NdArray f32 = npy_decode(by_id(docs, "blob-f32").content);
  EXPECT_EQ(f32.dtype, "<f4");
  EXPECT_EQ(f32.shape, (std::vector<uint64_t>{3, 4}));
  NdArray u8 = npy_decode(by_id(docs, "blob-u8").content);
  EXPECT_EQ(u8.dtype, "|u1");
  EXPECT_EQ(u8.shape, (std::vector<uint64_t>{2, 2, 3}));
  EXPECT_EQ(by_id(docs, "emb-f64").meta.embedding.dtype, "<f8");
  const Document& uri = by_id(docs, "uri-doc");
  EXPECT_EQ(uri.meta.content_field, ContentField::kUri);
  EXPECT_FALSE(uri.meta.uri.empty());
  EXPECT_EQ(by_id(docs, "with-chunks").meta.chunks.size(), 2u);
  EXPECT_EQ(by_id(docs, "with-chunks").meta.matches.size(), 1u);
  EXPECT_EQ(by_id(docs, "this-id-is-much-longer-than-thirty-six-characters-0123456789").content, "long id\n");
  EXPECT_TRUE(by_id(docs, "tagged").meta.tags.at("label").is_string());
}

// Jina's documents go out as DocArray v0 (what docfs writes): the same except the fields v0
// has no place for (content_hash) and a uri-only document's content field (v0: uri is a field).
TEST(JinaFixtures, ExportAsDocArrayV0KeepsAllButContentHash) {
  auto docs = read_array(fixture("jina/jina-dam-store.save_binary.bin"));
  auto back = read_array(write_array(docs, Compression::kNone));
  ASSERT_EQ(back.size(), docs.size());
  for (Document& d : docs) {
    std::function<void(Document&)> strip = [&](Document& x) {
      x.meta.content_hash.clear();
      if (x.meta.content_field == ContentField::kUri) x.meta.content_field = ContentField::kUnset;
      for (Document& c : x.meta.chunks) strip(c);
      for (Document& c : x.meta.matches) strip(c);
    };
    strip(d);
  }
  EXPECT_EQ(back, docs);
}

// ---- docfs-made documents --------------------------------------------------------------

Document random_doc(std::mt19937& rng, const std::string& id, int depth) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  auto small_float = [&] { return static_cast<double>(pick(2001) - 1000) / 8.0; };  // exact in float
  Document d;
  DocumentMeta& m = d.meta;
  m.id = id;
  switch (pick(4)) {
    case 0:
      m.content_field = ContentField::kText;
      d.content = "text " + std::to_string(rng()) + " é ✓";
      break;
    case 1: {
      m.content_field = ContentField::kBlob;
      d.content.resize(static_cast<size_t>(pick(3000)));
      for (char& c : d.content) c = static_cast<char>(rng());
      m.mime_type = "application/octet-stream";
      break;
    }
    case 2: {
      m.content_field = ContentField::kTensor;
      NdArray a{"<f8", {2, static_cast<uint64_t>(pick(5) + 1)}, "", ""};
      a.data.resize(a.shape[0] * a.shape[1] * 8);
      for (char& c : a.data) c = static_cast<char>(rng());
      d.content = npy_encode(a);
      break;
    }
    default: break;  // no content
  }
  if (pick(2)) m.uri = "https://example.com/" + std::to_string(pick(100));
  if (pick(2)) m.tags = {{"n", pick(1000)}, {"f", small_float()}, {"s", "x"}, {"b", true}, {"z", nullptr},
                         {"l", {1, "two", {{"k", 3.5}}}}};
  if (pick(2)) m.embedding = NdArray::float32({static_cast<float>(small_float()), 0.5f, -1.0f});
  if (!m.embedding.empty() && pick(3) == 0) m.embedding.cls_name = "torch";
  m.weight = small_float();
  m.offset = pick(100);
  m.granularity = static_cast<uint32_t>(pick(3));
  m.adjacency = static_cast<uint32_t>(pick(3));
  m.parent_id = depth ? "parent" : "";
  m.modality = pick(2) ? "text" : "";
  for (int i = pick(3); i > 0; --i) m.location.push_back(small_float());
  if (pick(2)) m.scores["cos"] = NamedScore{small_float(), "cosine", "d", "ref", {}};
  if (pick(2)) m.evaluations["acc"] = NamedScore{0.75, "", "", "", {}};
  if (pick(2)) m.metadata = {{"meta", {1.5, "x"}}};
  if (depth < 2) {
    for (int i = pick(3); i > 0; --i) m.chunks.push_back(random_doc(rng, id + "-c" + std::to_string(i), depth + 1));
    for (int i = pick(2); i > 0; --i) m.matches.push_back(random_doc(rng, id + "-m" + std::to_string(i), depth + 1));
  }
  if (depth == 0 && pick(4) == 0) {  // a symlink or a device keeps its file type
    if (pick(2)) {
      m.mode = 0120777;
    } else {
      m.mode = 020640;
      m.rdev = 0x0103;
    }
  }
  return d;
}

TEST(DocfsDocuments, RandomDocumentsRoundTripThroughEveryCompression) {
  std::mt19937 rng(20240601);
  for (int round = 0; round < 8; ++round) {
    std::vector<Document> docs;
    for (int i = 0; i < 6; ++i) docs.push_back(random_doc(rng, "doc-" + std::to_string(round) + "-" + std::to_string(i), 0));
    for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZlib, Compression::kBz2,
                          Compression::kLzma, Compression::kLz4}) {
      SCOPED_TRACE(std::string(compression_name(c)) + " round " + std::to_string(round));
      EXPECT_EQ(read_stream(write_stream(docs, c)), docs);
      if (c != Compression::kZlib) {
        EXPECT_EQ(read_array(write_array(docs, c), c), docs);
      }
    }
    for (const Document& d : docs) EXPECT_EQ(document_from_proto_json(document_to_proto_json(d)), d);
  }
}

TEST(DocfsDocuments, UnsetContentFieldBecomesTextOrBlob) {
  Document text;
  text.meta.id = "a.txt";
  text.content = "plain\n";
  Document binary = text;
  binary.meta.id = "b.bin";
  binary.content = std::string("\xff\xfe", 2);
  Document png = text;
  png.meta.mime_type = "image/png";
  auto back = read_stream(write_stream({text, binary, png}, Compression::kNone));
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].meta.content_field, ContentField::kText);
  EXPECT_EQ(back[1].meta.content_field, ContentField::kBlob);
  EXPECT_EQ(back[2].meta.content_field, ContentField::kBlob);
  EXPECT_EQ(back[2].content, "plain\n");
}

TEST(DocfsDocuments, WhatDocArrayHasNoPlaceForIsRefusedByName) {
  Document d;
  d.meta.id = "x";
  d.meta.scores["s"] = NamedScore{1, "", "", "", {NamedScore{}}};
  EXPECT_NE(error_of<UsageError>([&] { document_to_proto(d); }).find("scores['s'].operands"), std::string::npos);
  Document bad_tensor;
  bad_tensor.meta.id = "t";
  bad_tensor.meta.content_field = ContentField::kTensor;
  bad_tensor.content = "not npy";
  EXPECT_NE(error_of<UsageError>([&] { document_to_proto(bad_tensor); }).find("tensor"), std::string::npos);
  StringOutput out;
  auto sink = stream_sink(out, Compression::kNone, 2);
  d.meta.scores.clear();
  sink->write(d);
  EXPECT_NE(error_of<UsageError>([&] { sink->finish(); }).find("says 2 documents, 1 were written"), std::string::npos);
}

// ---- refusals of fields docfs cannot keep ----------------------------------------------

TEST(ProtoRefusals, SparseParametersGraphAndQuantized) {
  docarray_v0::DocumentProto p;
  p.set_id("sparse");
  p.mutable_embedding()->mutable_sparse()->add_shape(3);
  std::string why = error_of<UsageError>([&] { document_from_proto(p.SerializeAsString()); });
  EXPECT_NE(why.find("embedding: a sparse"), std::string::npos) << why;
  EXPECT_NE(why.find("densify"), std::string::npos) << why;

  docarray_v0::DocumentProto q;
  q.add_chunks()->add_chunks()->mutable_tensor()->mutable_parameters()->mutable_fields()->operator[]("k");
  why = error_of<UsageError>([&] { document_from_proto(q.SerializeAsString()); });
  EXPECT_NE(why.find("chunks[0].chunks[0].tensor: the array has 'parameters'"), std::string::npos) << why;

  jina2::DocumentProto g;
  g.set_id("graph");
  g.mutable_graph()->set_undirected(true);
  why = error_of<UsageError>([&] { document_from_proto(g.SerializeAsString(), ProtoSchema::kJina2); });
  EXPECT_NE(why.find("graph: "), std::string::npos) << why;

  jina2::DocumentProto qz;
  qz.mutable_embedding()->mutable_dense()->set_quantization(jina2::DenseNdArrayProto::FP16);
  why = error_of<UsageError>([&] { document_from_proto(qz.SerializeAsString(), ProtoSchema::kJina2); });
  EXPECT_NE(why.find("embedding: a quantized"), std::string::npos) << why;

  docarray_v0::DocumentProto inconsistent;
  auto* dense = inconsistent.mutable_embedding()->mutable_dense();
  dense->set_dtype("<f4");
  dense->add_shape(3);
  dense->set_buffer("abc");
  why = error_of<UsageError>([&] { document_from_proto(inconsistent.SerializeAsString()); });
  EXPECT_NE(why.find("embedding: shape and dtype make 12 bytes"), std::string::npos) << why;
}

// ---- bad input -------------------------------------------------------------------------

std::string stream_of(uint64_t count, const std::vector<std::string>& docs) {
  std::string s = "\x01" + be(count, 8);
  for (const std::string& d : docs) s += be(d.size(), 4) + d;
  return s;
}

std::string tiny_doc(const std::string& id) { return "\x0a" + varint(id.size()) + id; }

TEST(BadStream, TruncatedWrongCountLengthsAndVersion) {
  std::string good = fixture("docarray-v0/da.protobuf.stream");
  EXPECT_NE(error_of<FormatError>([&] { read_stream(good.substr(0, good.size() - 10)); }).find("stream ends after"),
            std::string::npos);
  EXPECT_NE(error_of<FormatError>([&] { read_stream(good.substr(0, 5)); }).find("inside its 9-byte header"),
            std::string::npos);
  std::string v2 = good;
  v2[0] = 0x02;
  EXPECT_NE(error_of<FormatError>([&] { read_stream(v2); }).find("byte 0 is 0x02"), std::string::npos);

  std::string more = good;
  more.replace(1, 8, be(13, 8));
  EXPECT_NE(error_of<FormatError>([&] { read_stream(more); }).find("says 13 documents, ends after 12 at byte 1100"),
            std::string::npos);
  std::string fewer = good;
  fewer.replace(1, 8, be(11, 8));
  EXPECT_NE(error_of<FormatError>([&] { read_stream(fewer); }).find("bytes follow them"), std::string::npos);

  std::string huge_count = stream_of(1ull << 60, {tiny_doc("a")});
  EXPECT_NE(error_of<FormatError>([&] { read_stream(huge_count); })
                .find("says 1152921504606846976 documents, ends after 1 at byte"),
            std::string::npos);

  std::string huge_len = "\x01" + be(1, 8) + be(0xffffffff, 4) + "abc";
  EXPECT_NE(error_of<FormatError>([&] { read_stream(huge_len); }).find("length 4294967295 at byte 9 exceeds"),
            std::string::npos);
  // Within the limit but past the end: read as far as the bytes go, no 1 GiB buffer.
  std::string past_end = "\x01" + be(1, 8) + be((1u << 30) - 1, 4) + "abc";
  EXPECT_NE(error_of<FormatError>([&] { read_stream(past_end); }).find("ends after 3 of its bytes"),
            std::string::npos);
}

TEST(BadStream, ACorruptDocumentIsSkippableAndNamed) {
  std::string good = tiny_doc("ok");
  std::string gz = compress(tiny_doc("broken"), Compression::kGzip);
  gz[gz.size() / 2] ^= 0x55;
  gz[gz.size() - 5] ^= 0x55;  // the CRC too, so it cannot pass
  std::string bytes = stream_of(3, {compress(good, Compression::kGzip), gz, compress(good, Compression::kGzip)});
  auto src = stream_source(input(bytes), Compression::kAuto);
  EXPECT_EQ(src->next()->meta.id, "ok");
  try {
    src->next();
    FAIL() << "corrupt gzip read";
  } catch (const BadDocument& e) {
    EXPECT_EQ(e.index(), 1u);
    EXPECT_NE(std::string(e.what()).find("gzip"), std::string::npos) << e.what();
  }
  EXPECT_EQ(src->next()->meta.id, "ok");  // the next one is still there
  EXPECT_FALSE(src->next());
}

TEST(BadStream, ChunksNested100DeepAreRefusedNotRecursed) {
  std::string doc = tiny_doc("leaf");
  for (int i = 0; i < 100; ++i) doc = tiny_doc("d" + std::to_string(i)) + "\x72" + varint(doc.size()) + doc;
  auto src = stream_source(input(stream_of(2, {doc, tiny_doc("after")})), Compression::kNone);
  try {
    src->next();
    FAIL() << "100 levels read";
  } catch (const BadDocument& e) {
    EXPECT_EQ(e.id(), "d99");
    EXPECT_NE(std::string(e.what()).find("nest deeper than 64"), std::string::npos) << e.what();
  }
  EXPECT_EQ(src->next()->meta.id, "after");
  // Deeper than protobuf's own parse limit: a clean error too.
  std::string deep = tiny_doc("leaf");
  for (int i = 0; i < 1000; ++i) deep = "\x72" + varint(deep.size()) + deep;
  EXPECT_NE(error_of<BadDocument>([&] { read_stream(stream_of(1, {deep})); }).find("cannot parse"), std::string::npos);
}

TEST(BadProtobufArray, UnknownFieldTruncationAndGarbage) {
  std::string good = fixture("docarray-v0/saved.protobuf-array");
  EXPECT_NE(error_of<FormatError>([&] { read_array(good + "\x12\x01x"); }).find("field 2 (wire type 2)"),
            std::string::npos);
  EXPECT_NE(error_of<FormatError>([&] { read_array(good.substr(0, good.size() - 3)); }).find("input ends after"),
            std::string::npos);
  EXPECT_NE(error_of<FormatError>([&] { read_array("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"); })
                .find("varint longer than 64 bits"),
            std::string::npos);
  EXPECT_NE(error_of<FormatError>([&] { read_array("\x0a\xff\xff\xff\xff\x0f"); }).find("exceeds the limit"),
            std::string::npos);
  EXPECT_NE(error_of<BadDocument>([&] { read_array("\x0a\x02\xff\xff"); }).find("document 0"), std::string::npos);
  std::string gz = compress(good, Compression::kGzip);
  gz[gz.size() / 2] ^= 0x5a;
  EXPECT_NE(error_of<FormatError>([&] { read_array(gz, Compression::kGzip); }).find("gzip data is corrupt"),
            std::string::npos);
  EXPECT_NE(error_of<FormatError>([&] { read_array(gz.substr(0, gz.size() / 2), Compression::kAuto); })
                .find("gzip data ends too early"),
            std::string::npos);
  std::string bad_utf8 = "\x0a\x04\x0a\x02\xc3\x28";  // id "\xc3\x28"
  EXPECT_NE(error_of<BadDocument>([&] { read_array(bad_utf8); }).find("invalid UTF-8"), std::string::npos);
}

// ---- compression and .npy --------------------------------------------------------------

TEST(Compression, EveryCodecRoundTripsSniffsAndBounds) {
  std::string data;
  for (int i = 0; i < 200000; ++i) data += static_cast<char>('a' + (i * 7919) % 26);
  for (Compression c : {Compression::kGzip, Compression::kZlib, Compression::kBz2, Compression::kLzma,
                        Compression::kLz4}) {
    SCOPED_TRACE(std::string(compression_name(c)));
    std::string z = compress(data, c);
    EXPECT_EQ(sniff_compression(z), c);
    EXPECT_EQ(decompress(z, c, data.size()), data);
    EXPECT_EQ(decompress(z, Compression::kAuto, data.size()), data);
    EXPECT_NE(error_of<FormatError>([&] { decompress(z, c, data.size() - 1); }).find("beyond the limit"),
              std::string::npos);
    EXPECT_THROW(decompress(z.substr(0, z.size() - 4), c, SIZE_MAX), FormatError);
    std::string bad = z;
    for (size_t i = 20; i < 40 && i < bad.size(); ++i) bad[i] = static_cast<char>(~bad[i]);
    EXPECT_THROW(decompress(bad, c, SIZE_MAX), FormatError);
    // streaming, one byte at a time
    auto in = decompressing(input(z, 1), c);
    std::string out(data.size() + 10, '\0');
    out.resize(in->read_full(out.data(), out.size()));
    EXPECT_EQ(out, data);
    StringOutput sink;
    auto w = compressing(sink, c);
    w->write(data.substr(0, 1000));
    w->write(data.substr(1000));
    w->finish();
    EXPECT_EQ(decompress(sink.bytes, c, SIZE_MAX), data);
  }
  EXPECT_EQ(sniff_compression(tiny_doc("x")), Compression::kNone);
  // gzip.decompress reads concatenated members
  EXPECT_EQ(decompress(compress("ab", Compression::kGzip) + compress("cd", Compression::kGzip), Compression::kGzip, 10),
            "abcd");
}

TEST(Npy, HeaderIsNumpysAndDecodeRefusesWhatItCannotKeep) {
  NdArray a{"<f4", {2, 3}, std::string(24, '\0'), ""};
  std::string npy = npy_encode(a);
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  EXPECT_EQ(npy.substr(0, 10), std::string("\x93NUMPY\x01\x00\x76\x00", 10));
  EXPECT_EQ(npy.substr(10, dict.size()), dict);
  EXPECT_EQ((npy.size() - 24) % 64, 0u);
  EXPECT_EQ(npy[npy.size() - 25], '\n');
  EXPECT_EQ(npy_decode(npy), a);
  EXPECT_NE(npy_encode(NdArray{"<i8", {5}, std::string(40, 'x'), ""}).find("'shape': (5,)"), std::string::npos);
  EXPECT_EQ(npy_decode(npy_encode(NdArray{"|b1", {}, "\x01", ""})).shape.size(), 0u);

  auto refuse = [](std::string bytes) { return error_of<UsageError>([&] { npy_decode(bytes); }); };
  std::string fortran = npy;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_NE(refuse(fortran).find("Fortran"), std::string::npos);
  std::string object = npy;
  object.replace(object.find("<f4"), 3, "|O8");
  EXPECT_NE(refuse(object).find("object or structured"), std::string::npos);
  std::string structured = npy;
  structured.replace(structured.find("'<f4'"), 5, "[('a',");
  EXPECT_NE(refuse(structured).find("structured"), std::string::npos);
  EXPECT_NE(refuse(npy.substr(0, npy.size() - 1)).find("data has 23"), std::string::npos);
  EXPECT_NE(refuse("PK\x03\x04 not npy").find("magic"), std::string::npos);
  // version 2.0: a 4-byte header length
  std::string v2 = npy;
  v2[6] = 2;
  v2.insert(10, "\0\0", 2);
  v2.erase(v2.find('\n') - 2, 2);  // 2 bytes more length field, 2 spaces less padding
  v2[8] = 0x74;
  EXPECT_EQ(npy_decode(v2), a);
}


TEST(Npy, EncodesExactlyWhatNumpySaves) {
  for (const char* name : {"f4_2x3", "u1_2x2x3", "f8_scalar", "i8_5", "b1_3x1x2", "f2_big_shape"}) {
    SCOPED_TRACE(name);
    std::string saved = fixture(std::string("npy/") + name + ".npy");
    EXPECT_TRUE(npy_encode(npy_decode(saved)) == saved);  // (no printing of kilobytes)
  }
}

// ---- for the real libraries --------------------------------------------------------------

// With DOCFS_EXPORT_DIR set, writes what docfs exports so DocArray 0.21.1's own reader can be
// run on it (../shared/interop/docarray-v0/read_with_docarray_v0.py FILE FORMAT).
TEST(ExportForRealReaders, WritesFilesWhenAsked) {
  const char* dir = std::getenv("DOCFS_EXPORT_DIR");
  if (!dir) GTEST_SKIP() << "set DOCFS_EXPORT_DIR to write the files";
  auto save = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(std::string(dir) + "/" + name, std::ios::binary) << bytes;
  };
  auto v0 = read_stream(fixture("docarray-v0/da.protobuf.stream"));
  auto jina = read_array(fixture("jina/jina-dam-store.save_binary.bin"));
  std::mt19937 rng(7);
  std::vector<Document> made;
  for (int i = 0; i < 5; ++i) {
    made.push_back(random_doc(rng, "made-" + std::to_string(i), 0));
    // What DocArray does on its own: a chunk's parent_id and granularity, a match's
    // adjacency follow from its parent; and it would import torch for cls_name "torch".
    std::function<void(Document&)> numpy_only = [&](Document& d) {
      d.meta.embedding.cls_name.clear();
      for (Document& c : d.meta.chunks) {
        c.meta.parent_id = d.meta.id;
        c.meta.granularity = d.meta.granularity + 1;
        numpy_only(c);
      }
      for (Document& m : d.meta.matches) {
        m.meta.adjacency = d.meta.adjacency + 1;
        numpy_only(m);
      }
    };
    numpy_only(made.back());
  }
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZlib, Compression::kBz2,
                        Compression::kLzma, Compression::kLz4}) {
    std::string suffix(compression_name(c));
    save("made." + suffix + ".stream", write_stream(made, c));
    save("v0." + suffix + ".stream", write_stream(v0, c));
    save("jina." + suffix + ".stream", write_stream(jina, c));
    if (c == Compression::kZlib) continue;  // DocArray has no zlib protobuf-array
    save("v0." + suffix + ".protobuf-array", write_array(v0, c));
    save("made." + suffix + ".protobuf-array", write_array(made, c));
  }
  std::string json = "[";
  for (const Document& d : v0) json += (json.size() > 1 ? "," : "") + document_to_proto_json(d);
  save("v0.protobuf.json", json + "]");
}

// After tests/interop/docarray_v0_roundtrip.py has read each export with DocArray and written
// it back (FILE.docarray): DocArray kept every document docfs wrote, field for field.
TEST(ExportForRealReaders, DocArrayWroteBackWhatItRead) {
  const char* dir = std::getenv("DOCFS_EXPORT_DIR");
  if (!dir || !std::ifstream(std::string(dir) + "/v0.none.stream.docarray"))
    GTEST_SKIP() << "run docarray_v0_roundtrip.py on DOCFS_EXPORT_DIR first";
  auto load = [&](const std::string& name) {
    std::ifstream in(std::string(dir) + "/" + name, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  int compared = 0;
  for (const char* set : {"v0", "jina", "made"}) {
    for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZlib, Compression::kBz2,
                          Compression::kLzma, Compression::kLz4}) {
      std::string suffix(compression_name(c));
      for (std::string kind : {".stream", ".protobuf-array"}) {
        std::string name = std::string(set) + "." + suffix + kind;
        std::string back = load(name + ".docarray");
        if (back.empty()) continue;
        SCOPED_TRACE(name);
        auto ours = kind == ".stream" ? read_stream(load(name)) : read_array(load(name), Compression::kAuto);
        EXPECT_EQ(read_stream(back), ours);
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 3 * 6 + 2 * 5);
}

}  // namespace
}  // namespace docfs::interop
