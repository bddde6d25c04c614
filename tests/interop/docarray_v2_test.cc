// DocArray v2 (0.40.1): the file:// stream fixtures DocArray's own push wrote, read field by
// field (compared with DocArray's to_json where it could write one, and its counts), written
// back and read again equal; edits through the model reach the pushed DocProto; broken
// streams fail naming the byte offset.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <google/protobuf/util/message_differencer.h>

#include "docarray_v2.pb.h"
#include "interop/docarray_v2.h"
#include "interop/docarray_v2_pickle.h"
#include "interop/docarray_v2_stream.h"
#include "interop/npy.h"

namespace docfs::interop {
namespace {

std::string fixture(const std::string& rel) {
  std::ifstream in(std::string(DOCFS_SOURCE_DIR) + "/tests/fixtures/docarray-v2/" + rel, std::ios::binary);
  EXPECT_TRUE(in) << rel;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<Document> read_all(const std::string& bytes) {
  std::istringstream in(bytes);
  auto src = docarray_v2_source(input_from(in));
  std::vector<Document> out;
  while (auto d = src->next()) out.push_back(std::move(*d));
  return out;
}

std::string write_all(const std::vector<Document>& docs) {
  std::ostringstream os;
  auto out = output_to(os);
  auto sink = docarray_v2_sink(*out);
  for (const auto& d : docs) sink->write(d);
  sink->finish();
  out->finish();
  return os.str();
}

docarray_v2::DocProto proto_of(const Document& d) {
  docarray_v2::DocProto p;
  EXPECT_TRUE(p.ParseFromString(d.meta.foreign_record));
  return p;
}

// What the model shows, without the record (the record's bytes may be re-serialized).
void expect_same_view(const Document& a, const Document& b) {
  Document x = a, y = b;
  x.meta.foreign_record.clear();
  y.meta.foreign_record.clear();
  EXPECT_EQ(x, y) << a.meta.id;
  // Every field, nested ones too (maps compared as maps: their byte order may differ).
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(proto_of(a), proto_of(b))) << a.meta.id;
}

void expect_roundtrip(const std::vector<Document>& docs) {
  auto back = read_all(write_all(docs));
  ASSERT_EQ(back.size(), docs.size());
  for (size_t i = 0; i < docs.size(); ++i) expect_same_view(docs[i], back[i]);
}

TEST(DocArrayV2, TextsFixture) {
  auto docs = read_all(fixture("file-remote/texts.docs"));
  ASSERT_EQ(docs.size(), 6u);  // fixtures.meta.json: file.texts.docs
  for (const auto& d : docs) {
    EXPECT_EQ(d.meta.foreign_format, "docarray-v2");
    EXPECT_EQ(d.meta.foreign_class, "TextDoc");
    EXPECT_TRUE(d.meta.tags.empty());
  }
  EXPECT_EQ(docs[0].meta.id, "text-plain");
  EXPECT_EQ(docs[0].content, "hello world\n");
  EXPECT_EQ(docs[0].meta.content_field, ContentField::kText);
  EXPECT_EQ(docs[1].content, "Grüße, 世界 ✓\n");
  EXPECT_EQ(docs[2].meta.id, "text-emb");
  EXPECT_EQ(docs[2].meta.embedding.dtype, "<f4");
  EXPECT_EQ(docs[2].meta.embedding.shape, std::vector<uint64_t>{4});
  EXPECT_EQ(*docs[2].meta.embedding.as_float32(), (std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f}));
  EXPECT_EQ(docs[3].meta.id, "text-bytes");
  EXPECT_EQ(docs[3].content, std::string("\x00\xff raw bytes", 12));
  EXPECT_EQ(docs[3].meta.content_field, ContentField::kBlob);
  EXPECT_EQ(docs[4].meta.id, "folder/nested.txt");
  EXPECT_EQ(docs[5].meta.id.size(), 32u);  // uuid4 hex
  EXPECT_EQ(docs[5].content, "auto id (uuid4 hex)\n");
  expect_roundtrip(docs);
}

TEST(DocArrayV2, ImagesFixtureMatchesToJson) {
  auto docs = read_all(fixture("file-remote/images.docs"));
  ASSERT_EQ(docs.size(), 3u);
  auto js = nlohmann::json::parse(fixture("json/images.json"));
  ASSERT_EQ(js.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(docs[i].meta.id, js[i]["id"]);
    EXPECT_EQ(docs[i].meta.foreign_class, "ImageDoc");
    EXPECT_EQ(docs[i].meta.uri, js[i]["url"].is_null() ? "" : js[i]["url"].get<std::string>());
    if (js[i]["embedding"].is_null()) {
      EXPECT_TRUE(docs[i].meta.embedding.empty());
    } else {
      auto v = *docs[i].meta.embedding.to_doubles();
      EXPECT_EQ(v, js[i]["embedding"].get<std::vector<double>>());
    }
  }
  // img-tensor: the tensor is the content, as .npy
  EXPECT_EQ(docs[0].meta.content_field, ContentField::kTensor);
  NdArray t = npy_decode(docs[0].content);
  EXPECT_EQ(t.dtype, "|u1");
  EXPECT_EQ(t.shape, (std::vector<uint64_t>{2, 2, 3}));
  EXPECT_EQ(t.data, std::string(12, '\x07'));
  EXPECT_TRUE(docs[1].content.empty());
  EXPECT_EQ(docs[1].meta.uri, "https://example.com/cat.png");
  // img-bytes: DocArray's to_json drops bytes_ (null); the stream has them
  std::string png = std::string("\x89PNG\r\n\x1a\n", 8);
  for (int i = 0; i < 64; ++i) png += static_cast<char>(i);
  EXPECT_EQ(docs[2].content, png);
  EXPECT_EQ(docs[2].meta.content_field, ContentField::kBlob);
  expect_roundtrip(docs);
}

TEST(DocArrayV2, MyDocsFixtureMatchesToJson) {
  auto docs = read_all(fixture("file-remote/mydocs.docs"));
  ASSERT_EQ(docs.size(), 2u);
  auto js = nlohmann::json::parse(fixture("json/mydocs.json"));
  for (size_t i = 0; i < 2; ++i) {
    const auto& d = docs[i];
    EXPECT_EQ(d.meta.id, js[i]["id"]);
    EXPECT_EQ(d.meta.foreign_class, "");  // a user class: the stream does not name it
    // scalar fields as tags, typed
    EXPECT_EQ(d.meta.tags.at("title"), js[i]["title"]);
    EXPECT_EQ(d.meta.tags.at("count"), js[i]["count"]);
    EXPECT_TRUE(d.meta.tags.at("count").is_number_integer());
    EXPECT_EQ(d.meta.tags.at("score"), js[i]["score"]);
    EXPECT_TRUE(d.meta.tags.at("score").is_number_float());
    EXPECT_EQ(d.meta.tags.at("flag"), js[i]["flag"]);
    EXPECT_EQ(d.meta.tags.size(), 4u);
    if (!js[i]["embedding"].is_null())
      EXPECT_EQ(*d.meta.embedding.to_doubles(), js[i]["embedding"].get<std::vector<double>>());
    else
      EXPECT_TRUE(d.meta.embedding.empty());
  }
  EXPECT_EQ(docs[0].content, "\x01\x02\x03");  // blob
  EXPECT_EQ(docs[0].meta.content_field, ContentField::kBlob);
  EXPECT_TRUE(docs[1].content.empty());
  // Every other field stays in the record: the dict, the list, the nested DocList, the tensor.
  auto p = proto_of(docs[0]);
  EXPECT_EQ(p.data().at("tags").dict().data().at("label").text(), "cat");
  EXPECT_EQ(p.data().at("words").list().data_size(), 2);
  EXPECT_EQ(p.data().at("chunks").doc_array().docs(0).data().at("text").text(), "chunk 0");
  EXPECT_EQ(p.data().at("tensor").ndarray().dense().dtype(), "<f8");
  expect_roundtrip(docs);
}

TEST(DocArrayV2, EditsReachThePushedRecord) {
  auto docs = read_all(fixture("file-remote/texts.docs"));
  docs[0].content = "changed\n";
  docs[0].meta.uri = "https://example.com/x.txt";
  docs[0].meta.embedding = NdArray::float32({1, 2});
  docs[1].content = std::string("\xff\xfe", 2);  // no longer UTF-8: goes to bytes_
  auto back = read_all(write_all(docs));
  EXPECT_EQ(back[0].content, "changed\n");
  EXPECT_EQ(back[0].meta.uri, "https://example.com/x.txt");
  EXPECT_EQ(proto_of(back[0]).data().at("url").type(), "text_url");
  EXPECT_EQ(back[0].meta.embedding, NdArray::float32({1, 2}));
  EXPECT_EQ(proto_of(back[0]).data().at("embedding").type(), "ndarray_embedding");
  EXPECT_EQ(back[1].content, std::string("\xff\xfe", 2));
  EXPECT_EQ(back[1].meta.content_field, ContentField::kBlob);
  EXPECT_EQ(proto_of(back[1]).data().at("text").content_case(), docarray_v2::NodeProto::CONTENT_NOT_SET);

  auto mine = read_all(fixture("file-remote/mydocs.docs"));
  mine[1].meta.tags["count"] = 7;
  mine[1].meta.tags["title"] = "renamed";
  auto mback = read_all(write_all(mine));
  EXPECT_EQ(mback[1].meta.tags.at("count"), 7);
  EXPECT_EQ(mback[1].meta.tags.at("title"), "renamed");
  mine[1].meta.tags["count"] = "seven";
  EXPECT_THROW(write_all(mine), BadDocument);
}

TEST(DocArrayV2, PlainDocumentsAreTextDocs) {
  Document a;
  a.meta.id = "plain";
  a.content = "hi";
  a.meta.uri = "file:///x";
  a.meta.embedding = NdArray::float32({3});
  Document b;
  b.meta.id = "bin";
  b.content = std::string("\x00\xff", 2);
  auto back = read_all(write_all({a, b}));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].meta.foreign_class, "TextDoc");
  EXPECT_EQ(back[0].content, "hi");
  EXPECT_EQ(back[0].meta.uri, "file:///x");
  EXPECT_EQ(back[0].meta.embedding, NdArray::float32({3}));
  EXPECT_EQ(back[1].content, b.content);
  EXPECT_EQ(back[1].meta.content_field, ContentField::kBlob);
}

std::string error_of(const std::string& bytes) {
  try {
    read_all(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DocArrayV2, BrokenStreams) {
  const std::string good = fixture("file-remote/texts.docs");
  EXPECT_NE(error_of(good.substr(0, good.size() - 4)).find("without DocArray's end marker"), std::string::npos);
  EXPECT_NE(error_of(good.substr(0, good.size() - 2)).find("inside a length"), std::string::npos);
  EXPECT_NE(error_of(good.substr(0, 50)).find("runs past the end"), std::string::npos);
  EXPECT_NE(error_of(good + "x").find("bytes follow the end marker at byte 689"), std::string::npos);
  EXPECT_NE(error_of(std::string("\xff\xff\xff\xff", 4)).find("exceeds the limit"), std::string::npos);
  std::string corrupt = good;
  corrupt[4 + 12] ^= 0x55;  // inside the first document's deflate data
  EXPECT_NE(error_of(corrupt).find("document 0: its gzip bytes at byte 4"), std::string::npos) << error_of(corrupt);
  EXPECT_NE(error_of("").find("at byte 0"), std::string::npos);
  // A document without an id: BadDocument naming where its bytes start.
  Document d;
  d.meta.id = "x";
  std::string one = write_all({d});
  docarray_v2::DocProto p;
  (*p.mutable_data())["text"].set_text("no id");
  std::string gz = compress(p.SerializeAsString(), Compression::kGzip);
  std::string s = std::string(1, 0) + std::string(1, 0) + std::string(1, 0) + static_cast<char>(gz.size()) + gz +
                  std::string(4, '\0');
  EXPECT_NE(error_of(s).find("has no id"), std::string::npos) << error_of(s);
}

std::vector<Document> read_pickled(const std::string& bytes) {
  std::istringstream in(bytes);
  auto src = docarray_v2_pickle_source(input_from(in));
  std::vector<Document> out;
  while (auto d = src->next()) out.push_back(std::move(*d));
  return out;
}

// DocArray pushed the same documents to file:// (protobuf) and s3:// (pickles): decoding the
// pickles must give the DocProto DocArray's own protobuf path wrote, field for field.
TEST(DocArrayV2Pickle, S3ObjectsEqualTheProtobufPushes) {
  for (const char* name : {"texts", "mydocs"}) {
    auto pickled = read_pickled(fixture(std::string("s3-objects/") + name + ".docs"));
    auto proto = read_all(fixture(std::string("file-remote/") + name + ".docs"));
    ASSERT_EQ(pickled.size(), proto.size()) << name;
    for (size_t i = 0; i < proto.size(); ++i) {
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(proto_of(pickled[i]), proto_of(proto[i])))
          << name << " " << i << ":\n" << proto_of(pickled[i]).DebugString() << "\nvs\n" << proto_of(proto[i]).DebugString();
      Document a = pickled[i], b = proto[i];
      a.meta.foreign_record.clear();
      b.meta.foreign_record.clear();
      b.meta.foreign_class = a.meta.foreign_class;  // the pickle names the class, the stream does not
      EXPECT_EQ(a, b) << name << " " << i;
    }
  }
  EXPECT_EQ(read_pickled(fixture("s3-objects/mydocs.docs"))[0].meta.foreign_class, "__main__.MyDoc");
  EXPECT_EQ(read_pickled(fixture("s3-objects/texts.docs"))[0].meta.foreign_class, "TextDoc");
}

std::string pickle_error(const std::string& pickle) {
  try {
    docproto_from_pickle(pickle);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

TEST(DocArrayV2Pickle, RefusesWhatItDoesNotKnowAndRunsNothing) {
  // pickle.dumps(os.system) at protocol 0/2 and a REDUCE calling it
  EXPECT_NE(pickle_error(std::string("\x80\x02" "cos\nsystem\nq\x00.", 16)).find("global os.system"), std::string::npos);
  EXPECT_NE(pickle_error(std::string("\x80\x04\x8c\x08" "builtins\x8c\x04" "eval\x93.")).find("builtins.eval"),
            std::string::npos);
  // REDUCE of a docarray class (only numpy's reconstructor and dtype may be "called")
  EXPECT_NE(pickle_error(std::string("\x80\x04\x8c\x12" "docarray.typing.id\x8c\x02" "ID\x93)R.")).find("REDUCE of docarray.typing.id.ID"),
            std::string::npos);
  EXPECT_NE(pickle_error("\x80\x04I12\n.").find("opcode 0x49"), std::string::npos);  // INT: not in the subset
  EXPECT_NE(pickle_error("\x80\x04\x8c\x10" "abc").find("truncated"), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x04K\x01.").find("not a DocArray document"), std::string::npos);
  EXPECT_NE(pickle_error("\x80\x04h\x05.").find("memo entry 5"), std::string::npos);
  // A whole object cut short: the framing error names the byte.
  std::string obj = fixture("s3-objects/texts.docs");
  EXPECT_THROW(read_pickled(obj.substr(0, obj.size() / 2)), FormatError);
}
}  // namespace
}  // namespace docfs::interop
