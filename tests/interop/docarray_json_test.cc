// DocArray JSON (jsonschema and protobuf layouts, Jina's JSON Lines): fixtures written by
// DocArray 0.21.1 and Jina 2.0.10 read field by field, and docfs's own output reads back
// equal.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "interop/docarray_json.h"
#include "interop/document_io.h"
#include "interop/json_splitter.h"

namespace docfs {
// Readable failures: a document prints as its JSON (with the content field named).
inline void PrintTo(const Document& d, std::ostream* os) {
  *os << interop::document_to_json(d).dump() << " field=" << static_cast<int>(d.meta.content_field)
      << " mode=" << d.meta.mode;
}
}  // namespace docfs

namespace docfs::interop {
namespace {

std::string fixture(const std::string& rel) {
  std::ifstream in(std::string(DOCFS_SOURCE_DIR) + "/tests/fixtures/" + rel, std::ios::binary);
  EXPECT_TRUE(in) << rel;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<Document> read_all(const std::string& bytes, Format f = Format::kAuto) {
  std::istringstream in(bytes);
  auto src = open_source(input_from(in), SourceOptions{.format = f});
  std::vector<Document> out;
  while (auto d = src->next()) out.push_back(std::move(*d));
  return out;
}

std::string write_all(const std::vector<Document>& docs, Format f, bool protobuf_json = false) {
  std::ostringstream os;
  auto out = output_to(os);
  auto sink = open_sink(*out, SinkOptions{.format = f, .protobuf_json = protobuf_json, .count = docs.size()});
  for (const Document& d : docs) sink->write(d);
  sink->finish();
  return os.str();
}

const Document* find(const std::vector<Document>& docs, const std::string& id) {
  for (const Document& d : docs)
    if (d.meta.id == id) return &d;
  return nullptr;
}

TEST(DocArrayJson, ReadsDocArrayJsonschemaFieldByField) {
  auto docs = read_all(fixture("docarray-v0/da.jsonschema.json"));
  ASSERT_EQ(docs.size(), 12u);
  const Document* tagged = find(docs, "tagged");
  ASSERT_TRUE(tagged);
  const Tags& t = tagged->meta.tags;
  EXPECT_TRUE(t.at("count").is_number_float());  // DocArray itself wrote 3 as 3.0
  EXPECT_EQ(t.at("count"), 3.0);
  EXPECT_TRUE(t.at("one").is_boolean());
  EXPECT_EQ(t.at("nested"), nlohmann::json({{"k", "v"}}));
  EXPECT_EQ(t.at("list"), nlohmann::json::parse(R"([1, "two"])"));
  EXPECT_TRUE(t.at("list")[0].is_number_integer());
  EXPECT_EQ(tagged->content, "a tagged doc\n");
  EXPECT_EQ(tagged->meta.content_field, ContentField::kText);

  const Document* png = find(docs, "blob-png");
  ASSERT_TRUE(png);
  EXPECT_EQ(png->meta.content_field, ContentField::kBlob);
  EXPECT_EQ(png->meta.mime_type, "image/png");
  EXPECT_EQ(png->content.substr(0, 4), "\x89PNG");

  const Document* e2 = find(docs, "emb-2d");
  ASSERT_TRUE(e2);
  EXPECT_EQ(e2->meta.embedding.dtype, "<f8");  // what np.array(list) makes of it, as DocArray does
  EXPECT_EQ(e2->meta.embedding.shape, (std::vector<uint64_t>{2, 2}));
  EXPECT_EQ(*e2->meta.embedding.to_doubles(), (std::vector<double>{1, 2, 3, 4}));

  const Document* f32 = find(docs, "emb-f32");
  ASSERT_TRUE(f32);
  EXPECT_EQ((*f32->meta.embedding.to_doubles())[0], 0.10000000149011612);

  const Document* uri = find(docs, "uri-only");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->meta.uri, "https://example.com/a.txt");
  EXPECT_EQ(uri->content, "");

  const Document* parent = find(docs, "with-chunks");
  ASSERT_TRUE(parent);
  ASSERT_EQ(parent->meta.chunks.size(), 2u);
  EXPECT_EQ(parent->meta.chunks[1].content, "chunk 1");
  EXPECT_EQ(parent->meta.chunks[1].meta.parent_id, "with-chunks");
  EXPECT_EQ(parent->meta.chunks[1].meta.granularity, 1u);
  ASSERT_EQ(parent->meta.matches.size(), 1u);
  EXPECT_EQ(parent->meta.matches[0].meta.adjacency, 1u);
  EXPECT_EQ(parent->meta.matches[0].meta.scores.at("cosine").value, 0.25);
  EXPECT_TRUE(find(docs, "folder/nested.txt"));
}

TEST(DocArrayJson, ExportReadsBackEqual) {
  for (const char* name : {"docarray-v0/da.jsonschema.json", "docarray-v0/da.jsonschema.no2d.json"}) {
    auto docs = read_all(fixture(name));
    for (Format f : {Format::kJson, Format::kJsonl}) {
      std::string out = write_all(docs, f);
      EXPECT_EQ(read_all(out), docs) << name << " as " << format_name(f);
    }
  }
}

TEST(DocArrayJson, JsonschemaExportHasEveryDocArrayField) {
  auto docs = read_all(fixture("docarray-v0/da.jsonschema.json"));
  nlohmann::json mine = nlohmann::json::parse(write_all(docs, Format::kJson));
  nlohmann::json theirs = nlohmann::json::parse(fixture("docarray-v0/da.jsonschema.json"));
  ASSERT_EQ(mine.size(), theirs.size());
  // Same documents with the same values (docfs sorts nothing here: export order is input order).
  for (size_t i = 0; i < theirs.size(); ++i) {
    for (const auto& [k, v] : theirs[i].items()) {
      ASSERT_TRUE(mine[i].contains(k)) << k;
      EXPECT_EQ(mine[i][k], v) << theirs[i]["id"] << "." << k;
    }
  }
}

TEST(DocArrayJson, ReadsJinaJsonLines) {
  auto docs = read_all(fixture("jina/jina-dam-store.save_json.jsonl"));
  ASSERT_EQ(docs.size(), 21u);
  const Document* f64 = find(docs, "emb-f64");
  ASSERT_TRUE(f64);
  EXPECT_EQ(f64->meta.embedding.dtype, "<f8");
  EXPECT_EQ(f64->meta.content_hash.empty(), false);
  const Document* png = find(docs, "buffer-png");
  ASSERT_TRUE(png);
  EXPECT_EQ(png->meta.content_field, ContentField::kBlob);
}

TEST(DocArrayJson, ReadsProtobufLayout) {
  auto docs = read_all(fixture("docarray-v0/da.protobuf.json"));
  ASSERT_EQ(docs.size(), 12u);
  const Document* f32 = find(docs, "emb-f32");
  ASSERT_TRUE(f32);
  EXPECT_EQ(f32->meta.embedding.dtype, "<f4");  // the protobuf layout keeps the dtype
  EXPECT_EQ(f32->meta.embedding.as_float32()->at(0), 0.1f);
  auto back = read_all(write_all(docs, Format::kJson, true));
  EXPECT_EQ(back, docs);
}

Document every_field() {
  Document d;
  d.content = "héllo\n";
  DocumentMeta& m = d.meta;
  m.id = "a/b.txt";
  m.mime_type = "text/plain";
  m.uri = "file:///x";
  m.content_field = ContentField::kText;
  m.tags = {{"s", "x"}, {"i", 3}, {"f", 2.5}, {"b", true}, {"n", nullptr}, {"l", {1, "two", 3.5}}, {"o", {{"k", {1}}}}};
  m.embedding = NdArray{"<f8", {3}, std::string(24, '\0'), ""};
  m.parent_id = "p";
  m.granularity = 2;
  m.adjacency = 3;
  m.weight = 0.5;
  m.modality = "text";
  m.offset = 7;
  m.location = {1, 2.5};
  m.scores["cosine"] = NamedScore{0.25, "cos", "desc", "r", {}};
  m.evaluations["ndcg"] = NamedScore{0.75, "", "", "", {}};
  m.metadata = {{"k", "v"}};
  Document c;
  c.meta.id = "c0";
  c.content = "chunk";
  c.meta.content_field = ContentField::kText;
  c.meta.chunks.push_back(c);
  m.chunks.push_back(c);
  m.matches.push_back(c);
  return d;
}

TEST(DocArrayJson, EveryFieldRoundTrips) {
  std::vector<Document> docs{every_field()};
  for (Format f : {Format::kJson, Format::kJsonl}) EXPECT_EQ(read_all(write_all(docs, f)), docs);
}

// Random documents in the shapes the jsonschema layout can carry without loss (it has no
// dtypes: float64/int64 arrays, as numpy gives back) round-trip through json and jsonl.
TEST(DocArrayJson, RandomDocumentsRoundTrip) {
  std::mt19937_64 rng(42);
  auto text = [&](size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += static_cast<char>('a' + rng() % 26);
    return s;
  };
  std::vector<Document> docs;
  for (int i = 0; i < 300; ++i) {
    Document d;
    d.meta.id = "d" + std::to_string(i) + "/" + text(1 + rng() % 8);
    if (rng() % 2) {
      d.content = text(rng() % 200);
      d.meta.content_field = ContentField::kText;
    } else {
      for (size_t k = rng() % 300; k > 0; --k) d.content += static_cast<char>(rng());
      d.meta.content_field = ContentField::kBlob;
    }
    for (size_t k = rng() % 5; k > 0; --k) {
      switch (rng() % 4) {
        case 0: d.meta.tags[text(4)] = text(6); break;
        case 1: d.meta.tags[text(4)] = static_cast<int64_t>(rng() % 100000) - 50000; break;
        case 2: d.meta.tags[text(4)] = static_cast<double>(rng() % 1000) / 8; break;
        default: d.meta.tags[text(4)] = nlohmann::json{{"k", {1, 2.5, "x", nullptr, true}}};
      }
    }
    if (rng() % 2) {
      std::vector<double> v(1 + rng() % 16);
      for (double& x : v) x = static_cast<double>(static_cast<int64_t>(rng() % 2000000) - 1000000) / 1024;
      d.meta.embedding = NdArray{"<f8", {v.size()}, std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8), ""};
    }
    if (rng() % 4 == 0) d.meta.scores["s"] = NamedScore{static_cast<double>(rng() % 100) / 4, text(3), "", "", {}};
    if (rng() % 4 == 0) {
      Document c;
      c.meta.id = text(5);
      c.content = text(10);
      c.meta.content_field = ContentField::kText;
      c.meta.parent_id = d.meta.id;
      c.meta.granularity = 1;
      d.meta.chunks.push_back(c);
    }
    docs.push_back(std::move(d));
  }
  for (Format f : {Format::kJson, Format::kJsonl}) EXPECT_EQ(read_all(write_all(docs, f)), docs) << format_name(f);
}

TEST(DocArrayJson, UnknownFieldIsAnErrorNotALoss) {
  EXPECT_THROW(read_all(R"([{"id": "a", "text": "x", "colour": "red"}])"), BadDocument);
}

TEST(DocArrayJson, ErrorsNameIndexIdAndField) {
  try {
    read_all(R"([{"id": "ok", "text": "x"}, {"id": "b", "embedding": [[1, 2], [3]]}])");
    FAIL();
  } catch (const BadDocument& e) {
    EXPECT_EQ(e.index(), 1u);
    EXPECT_EQ(e.id(), "b");
    EXPECT_NE(std::string(e.what()).find("embedding"), std::string::npos) << e.what();
  }
  for (const char* bad : {"[", "[{", R"([{"id": "a"},)", R"([{"id": "a"} {"id": "b"}])", "[1] x", "{"}) {
    EXPECT_THROW(read_all(bad, Format::kJson), Error) << bad;
  }
}

TEST(DocArrayJson, DeepNestingIsRefusedNotRecursed) {
  std::string deep = R"([{"id": "a", "tags": {"t": )" + std::string(100000, '[') + std::string(100000, ']') + "}}]";
  EXPECT_THROW(read_all(deep), BadDocument);
  std::string chunks = R"({"id": "x", "chunks": [)";
  std::string tail = "]}";
  std::string doc = "[";
  for (int i = 0; i < 200; ++i) doc += chunks;
  doc += R"({"id": "leaf"})";
  for (int i = 0; i < 200; ++i) doc += tail;
  doc += "]";
  EXPECT_THROW(read_all(doc), BadDocument);
}

TEST(JsonSplitter, CutsElementsWithoutParsingTheWhole) {
  std::istringstream in(R"( [ {"a": "x]\"}"}, 3 , [1,[2]] ] )");
  auto bytes = input_from(in);
  JsonSplitter s(*bytes, false);
  EXPECT_EQ(s.next()->text, R"({"a": "x]\"}"})");
  EXPECT_EQ(s.next()->text, "3");
  EXPECT_EQ(s.next()->text, "[1,[2]]");
  EXPECT_FALSE(s.next());
}

}  // namespace
}  // namespace docfs::interop
