// The pickle writer for DocArray's s3:// objects: decoder(writer(x)) == x for DocArray's own
// pickles and protobuf pushes (tests/fixtures/docarray-v2), for a DocProto with every kind
// of value, and for whole objects through the sink and source; what it cannot name is refused.
#include <gtest/gtest.h>

#include <climits>
#include <fstream>
#include <sstream>

#include <google/protobuf/util/message_differencer.h>

#include "docarray_v2.pb.h"
#include "interop/docarray_v2.h"
#include "interop/docarray_v2_pickle.h"
#include "interop/docarray_v2_pickle_writer.h"
#include "interop/docarray_v2_stream.h"

namespace docfs::interop {
namespace {

namespace v2 = docarray_v2;
using google::protobuf::util::MessageDifferencer;

std::string fixture(const std::string& rel) {
  std::ifstream in(std::string(DOCFS_SOURCE_DIR) + "/tests/fixtures/docarray-v2/" + rel, std::ios::binary);
  EXPECT_TRUE(in) << rel;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

template <class Source>
std::vector<Document> read_with(const std::string& bytes, Source make) {
  std::istringstream in(bytes);
  auto src = make(input_from(in));
  std::vector<Document> out;
  while (auto d = src->next()) out.push_back(std::move(*d));
  return out;
}

std::vector<Document> read_proto(const std::string& b) {
  return read_with(b, [](auto in) { return docarray_v2_source(std::move(in)); });
}
std::vector<Document> read_pickled(const std::string& b) {
  return read_with(b, [](auto in) { return docarray_v2_pickle_source(std::move(in)); });
}

v2::DocProto parse(const std::string& bytes) {
  v2::DocProto p;
  EXPECT_TRUE(p.ParseFromString(bytes));
  return p;
}

// writer, then decoder: the same DocProto (maps compared as maps) and the same class.
void expect_roundtrip(const std::string& docproto, const std::string& cls) {
  const std::string pickle = pickle_from_docproto(docproto, cls);
  PickledDocument back = docproto_from_pickle(pickle);
  EXPECT_EQ(back.class_name, cls);
  EXPECT_TRUE(MessageDifferencer::Equals(parse(back.docproto), parse(docproto)))
      << parse(docproto).DebugString() << "\nvs\n" << parse(back.docproto).DebugString();
}

TEST(DocArrayV2PickleWriter, DocArraysOwnPicklesRoundTrip) {
  for (const char* name : {"texts", "mydocs"}) {
    auto docs = read_pickled(fixture(std::string("s3-objects/") + name + ".docs"));
    ASSERT_FALSE(docs.empty());
    for (const auto& d : docs) expect_roundtrip(d.meta.foreign_record, d.meta.foreign_class);
  }
}

TEST(DocArrayV2PickleWriter, ProtobufPushesRoundTrip) {  // ImageDoc: ImageUrl, ImageNdArray, ImageBytes
  for (const char* name : {"texts", "images", "mydocs"}) {
    for (const auto& d : read_proto(fixture(std::string("file-remote/") + name + ".docs"))) {
      const std::string cls = d.meta.foreign_class.empty() ? "__main__.MyDoc" : d.meta.foreign_class;
      expect_roundtrip(d.meta.foreign_record, cls);
    }
  }
}

v2::NodeProto array(const std::string& dtype, std::vector<uint32_t> shape, size_t itemsize, const std::string& type) {
  v2::NodeProto n;
  auto* d = n.mutable_ndarray()->mutable_dense();
  d->set_dtype(dtype);
  size_t count = 1;
  for (uint32_t s : shape) {
    d->add_shape(s);
    count *= s;
  }
  std::string data(count * itemsize, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 1);
  d->set_buffer(data);
  if (!type.empty()) n.set_type(type);
  return n;
}

v2::DocProto text_doc(const std::string& id, const std::string& text) {
  v2::DocProto p;
  auto& m = *p.mutable_data();
  m["id"].set_text(id);
  m["id"].set_type("id");
  m["text"].set_text(text);
  m["url"].set_text("http://example.com/a.txt");
  m["url"].set_type("text_url");
  m["embedding"];
  m["bytes_"];
  return p;
}

TEST(DocArrayV2PickleWriter, EveryKindOfValueRoundTrips) {
  v2::DocProto p;
  auto& m = *p.mutable_data();
  m["id"].set_text("every-kind");
  m["id"].set_type("id");
  m["none"];
  m["flag_t"].set_boolean(true);
  m["flag_f"].set_boolean(false);
  const int32_t ints[] = {0, 1, 255, 256, 65535, 65536, -1, -256, INT32_MIN, INT32_MAX};
  for (size_t i = 0; i < std::size(ints); ++i) m["int" + std::to_string(i)].set_integer(ints[i]);
  m["pi"].set_float_(3.14159);
  m["neg"].set_float_(-0.0);
  m["short_text"].set_text("Grüße ✓");
  m["long_text"].set_text(std::string(70000, 'x'));
  m["blob"].set_blob(std::string("\0\xff", 2));
  m["long_blob"].set_blob(std::string(300, '\x01'));
  m["img_bytes"].set_blob("\x89PNG");
  m["img_bytes"].set_type("image_bytes");
  m["any_url"].set_text("a/relative.png");
  m["any_url"].set_type("any_url");
  m["f8"] = array("<f8", {2, 3}, 8, "ndarray");
  m["u1"] = array("|u1", {1, 2, 3}, 1, "image_ndarray");
  m["be"] = array(">i4", {5}, 4, "");
  m["b1"] = array("|b1", {2}, 1, "ndarray");
  m["c16"] = array("<c16", {1}, 16, "ndarray");
  m["f4_4d"] = array("<f4", {1, 2, 1, 2}, 4, "ndarray_embedding");
  m["scalar"] = array("<f8", {}, 8, "ndarray");
  for (int n : {0, 1, 2, 3, 5}) {
    auto& t = m["tuple" + std::to_string(n)];
    t.mutable_tuple();
    for (int i = 0; i < n; ++i) t.mutable_tuple()->add_data()->set_integer(i);
  }
  auto& l = m["list"];
  l.mutable_list()->add_data()->set_text("a");
  l.mutable_list()->add_data();  // None
  l.mutable_list()->add_data()->mutable_list()->add_data()->set_float_(1.5);
  m["empty_list"].mutable_list();
  auto& s = m["set"];
  s.mutable_set()->add_data()->set_text("q");
  m["empty_set"].mutable_set();
  auto& d = m["dict"];
  (*d.mutable_dict()->mutable_data())["k"].set_text("v");
  (*(*d.mutable_dict()->mutable_data())["nested"].mutable_dict()->mutable_data())["n"].set_integer(3);
  m["empty_dict"].mutable_dict();
  *m["chunk"].mutable_doc() = text_doc("c0", "chunk");
  for (int i = 0; i < 3; ++i) *m["chunks"].mutable_doc_array()->add_docs() = text_doc("c" + std::to_string(i), "t");
  expect_roundtrip(p.SerializeAsString(), "__main__.Everything");
  expect_roundtrip(text_doc("t", "x").SerializeAsString(), "TextDoc");
  expect_roundtrip(text_doc("t", "x").SerializeAsString(), "__main__.Custom");
}

TEST(DocArrayV2PickleWriter, AnEmptyDocListBecomesAList) {  // no document to name its class by
  v2::DocProto p = text_doc("e", "x");
  (*p.mutable_data())["chunks"].mutable_doc_array();
  v2::DocProto back = parse(docproto_from_pickle(pickle_from_docproto(p.SerializeAsString(), "__main__.D")).docproto);
  EXPECT_EQ(back.data().at("chunks").content_case(), v2::NodeProto::kList);
  EXPECT_EQ(back.data().at("chunks").list().data_size(), 0);
}

std::string writer_error(const v2::DocProto& p, const std::string& cls) {
  try {
    pickle_from_docproto(p.SerializeAsString(), cls);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(DocArrayV2PickleWriter, RefusesWhatItCannotName) {
  v2::DocProto p = text_doc("r", "x");
  EXPECT_NE(writer_error(p, "MyDoc").find("class 'MyDoc' is unknown"), std::string::npos);
  EXPECT_NE(writer_error(p, "os.system\n").find("is unknown"), std::string::npos);
  EXPECT_NE(writer_error(p, "os.system").find("is unknown"), std::string::npos);  // only what the decoder takes
  v2::DocProto q = p;
  (*q.mutable_data())["t"] = array("<f4", {2}, 4, "torch_tensor");
  EXPECT_NE(writer_error(q, "TextDoc").find("'torch_tensor'"), std::string::npos) << writer_error(q, "TextDoc");
  q = p;
  (*q.mutable_data())["u"] = array("<U5", {1}, 20, "ndarray");
  EXPECT_NE(writer_error(q, "TextDoc").find("not a numeric numpy dtype"), std::string::npos);
  q = p;
  auto& inner = *(*q.mutable_data())["inner"].mutable_doc()->mutable_data();
  inner["id"].set_text("i");
  inner["a"].set_integer(1);
  EXPECT_NE(writer_error(q, "__main__.O").find("field inner: a nested document of a class docfs cannot name"),
            std::string::npos)
      << writer_error(q, "__main__.O");
  q = p;
  (*q.mutable_data())["bad"].mutable_ndarray()->mutable_dense()->set_dtype("<f4");
  (*q.mutable_data())["bad"].mutable_ndarray()->mutable_dense()->add_shape(3);
  EXPECT_NE(writer_error(q, "TextDoc").find("do not fill the shape"), std::string::npos);
}

// Whole objects: the sink's gzip'd pickles read back through the pickle source, for
// DocArray's documents (edited ones too) and plain docfs documents (TextDoc).
TEST(DocArrayV2PickleWriter, SinkAndSourceRoundTrip) {
  auto docs = read_pickled(fixture("s3-objects/mydocs.docs"));
  auto texts = read_pickled(fixture("s3-objects/texts.docs"));
  docs.insert(docs.end(), texts.begin(), texts.end());
  docs[0].content = "edited";  // MyDoc's content field is its blob
  docs.back().content = std::string(100000, 'z');
  Document plain;
  plain.meta.id = "plain.bin";
  plain.meta.mode = 0100644;
  plain.content = std::string("\0\1\2", 3);
  docs.push_back(plain);
  std::ostringstream os;
  auto out = output_to(os);
  auto sink = docarray_v2_pickle_sink(*out);
  for (const auto& d : docs) sink->write(d);
  sink->finish();
  out->finish();
  auto back = read_pickled(os.str());
  ASSERT_EQ(back.size(), docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(back[i].meta.id, docs[i].meta.id);
    EXPECT_EQ(back[i].content, docs[i].content) << docs[i].meta.id;
    EXPECT_EQ(back[i].meta.foreign_class, i + 1 < docs.size() ? docs[i].meta.foreign_class : "TextDoc");
    if (i + 1 < docs.size() && i != 0 && i + 1 != docs.size() - 1) {  // unedited DocArray documents
      EXPECT_TRUE(MessageDifferencer::Equals(parse(back[i].meta.foreign_record), parse(docs[i].meta.foreign_record)));
    }
  }
  // A document whose class the file:// stream did not record cannot be pickled.
  auto mine = read_proto(fixture("file-remote/mydocs.docs"));
  ASSERT_TRUE(mine[0].meta.foreign_class.empty());
  std::ostringstream os2;
  auto out2 = output_to(os2);
  auto sink2 = docarray_v2_pickle_sink(*out2);
  EXPECT_THROW(sink2->write(mine[0]), BadDocument);
}

}  // namespace
}  // namespace docfs::interop
