// Helpers for the interop format tests: in-memory byte streams and fixture files.
#pragma once

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "interop/byte_io.h"
#include "interop/document_io.h"

namespace docfs {

// What gtest prints for a Document: every field, so a failed comparison shows the difference.
inline nlohmann::json describe(const Document& d) {
  const DocumentMeta& m = d.meta;
  auto arr = [](const NdArray& a) {
    return nlohmann::json{{"dtype", a.dtype}, {"shape", a.shape}, {"bytes", a.data.size()}, {"cls", a.cls_name}};
  };
  auto scores = [](const std::map<std::string, NamedScore>& s) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : s)
      j[k] = {v.value, v.op_name, v.description, v.ref_id, v.operands.size()};
    return j;
  };
  nlohmann::json j{{"id", m.id}, {"content", d.content.size() < 80 ? nlohmann::json(nlohmann::json::binary_t(
                                                 std::vector<uint8_t>(d.content.begin(), d.content.end())))
                                                                       : nlohmann::json(d.content.size())},
                   {"field", static_cast<int>(m.content_field)}, {"mime", m.mime_type}, {"uri", m.uri},
                   {"tags", m.tags}, {"emb", arr(m.embedding)}, {"mode", m.mode}, {"rdev", m.rdev},
                   {"parent", m.parent_id}, {"gran", m.granularity}, {"adj", m.adjacency}, {"weight", m.weight},
                   {"modality", m.modality}, {"offset", m.offset}, {"location", m.location},
                   {"scores", scores(m.scores)}, {"evals", scores(m.evaluations)}, {"metadata", m.metadata},
                   {"hash", m.content_hash}, {"uid", m.uid}, {"gid", m.gid}, {"mtime", m.mtime_ns}};
  for (const Document& c : m.chunks) j["chunks"].push_back(describe(c));
  for (const Document& c : m.matches) j["matches"].push_back(describe(c));
  return j;
}
inline void PrintTo(const Document& d, std::ostream* os) { *os << describe(d).dump(); }

}  // namespace docfs

namespace docfs::interop::testing {

inline std::string fixture(const std::string& name) {
  std::ifstream in(std::string(DOCFS_SOURCE_DIR) + "/tests/fixtures/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Owns its bytes; hands them out at most `piece` at a time (1 exercises every boundary).
class StringInput : public ByteInput {
 public:
  explicit StringInput(std::string bytes, size_t piece = SIZE_MAX) : bytes_(std::move(bytes)), piece_(piece) {}
  size_t read(char* buf, size_t n) override {
    size_t k = std::min({n, piece_, bytes_.size() - pos_});
    std::memcpy(buf, bytes_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string bytes_;
  size_t piece_;
  size_t pos_ = 0;
};

inline std::unique_ptr<ByteInput> input(std::string bytes, size_t piece = SIZE_MAX) {
  return std::make_unique<StringInput>(std::move(bytes), piece);
}

class StringOutput : public ByteOutput {
 public:
  void write(std::string_view b) override { bytes.append(b); }
  std::string bytes;
};

inline std::vector<Document> read_all(DocumentSource& src) {
  std::vector<Document> docs;
  while (auto d = src.next()) docs.push_back(std::move(*d));
  return docs;
}

}  // namespace docfs::interop::testing
