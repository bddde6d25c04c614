#include <gtest/gtest.h>

#include <sstream>

#include "core/docarray_json.h"
#include "core/error.h"
#include "test_util.h"

namespace docfs {
namespace {

using testing::create_store;
using testing::TempDir;

TEST(DocArrayJson, RoundTripKeepsEveryField) {
  TempDir t;
  auto a = create_store(t / "a");
  Document text = testing::doc("notes/hello.txt", "héllo wörld\n");
  text.meta.uri = "file:///tmp/hello.txt";
  text.meta.tags = {{"lang", "de"}};
  text.meta.embedding = docfs::NdArray::float32({0.25f, -2.5f});
  Document blob = testing::doc("img.png", std::string("\x89PNG\r\n\x1a\n\0\xff", 10));
  blob.meta.mime_type = "image/png";
  a->put(text);
  a->put(blob);
  std::stringstream json;
  EXPECT_EQ(export_docarray_json(*a, json), 2u);
  EXPECT_NE(json.str().find("\"blob\""), std::string::npos);
  EXPECT_NE(json.str().find("\"text\""), std::string::npos);

  auto b = create_store(t / "b");
  EXPECT_EQ(import_docarray_json(*b, json), 2u);
  auto t2 = b->get("notes/hello.txt");
  ASSERT_TRUE(t2);
  EXPECT_EQ(t2->content, text.content);
  EXPECT_EQ(t2->meta.uri, text.meta.uri);
  EXPECT_EQ(t2->meta.tags, text.meta.tags);
  EXPECT_EQ(t2->meta.embedding, text.meta.embedding);
  auto b2 = b->get("img.png");
  ASSERT_TRUE(b2);
  EXPECT_EQ(b2->content, blob.content);
  EXPECT_EQ(b2->meta.mime_type, "image/png");
}

TEST(DocArrayJson, ReadsWhatDocArrayWrites) {
  TempDir t;
  auto s = create_store(t / "s");
  std::stringstream in(R"([
    {"id": "3f2a", "text": "a sentence", "tags": {"split": "train", "n": 3}, "embedding": [1, 2.5]},
    {"id": "b64", "blob": "aGVsbG8=", "mime_type": "application/octet-stream"}
  ])");
  EXPECT_EQ(import_docarray_json(*s, in), 2u);
  EXPECT_EQ(s->get("3f2a")->content, "a sentence");
  EXPECT_EQ(s->meta("3f2a")->tags.at("n"), "3");
  EXPECT_EQ(s->get("b64")->content, "hello");
}

TEST(DocArrayJson, MalformedInputWritesNothing) {
  TempDir t;
  auto s = create_store(t / "s");
  for (const char* bad : {"{", "{}", R"([{"text": "no id"}])", R"([{"id": "../x"}])",
                          R"([{"id": "ok"}, {"id": "b", "blob": "!!!"}])"}) {
    std::stringstream in(bad);
    EXPECT_THROW(import_docarray_json(*s, in), UsageError) << bad;
  }
  EXPECT_EQ(s->size(), 0u);
}

}  // namespace
}  // namespace docfs
