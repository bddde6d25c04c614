#include "interop/docarray_json.h"

#include <algorithm>
#include <bit>
#include <cereal/external/base64.hpp>
#include <cstring>

#include <google/protobuf/util/json_util.h>

#include "docarray_v0.pb.h"
#include "interop/docarray_proto.h"
#include "jina2.pb.h"
#include "interop/json_splitter.h"
#include "interop/npy.h"
#include "interop/text_util.h"

namespace docfs::interop {
namespace {

using nlohmann::json;

// JSON levels one document may use: tags and _metadata nest kMaxNestingDepth deep, and
// each level of chunks/matches adds two (the list and the object).
constexpr int kMaxDocumentJsonDepth = 4 * kMaxNestingDepth + 8;

constexpr const char* kModeTag = "docfs.mode";
constexpr const char* kRdevTag = "docfs.rdev";

// Field errors carry a path ("chunks[1].embedding") up to the document.
struct FieldError {
  std::string path;
  std::string why;
};
[[noreturn]] void fail(std::string path, std::string why) { throw FieldError{std::move(path), std::move(why)}; }

// ---------------------------------------------------------------- n-d arrays as nested lists

json element_json(const NdArray& a, size_t i, size_t each) {
  unsigned char b[8];
  std::memcpy(b, a.data.data() + i * each, each);
  if (each > 1 && (a.dtype[0] == '>') == (std::endian::native == std::endian::little)) std::reverse(b, b + each);
  uint64_t u = 0;
  std::memcpy(&u, b, each);
  switch (a.dtype[1]) {
    case 'b': return u != 0;
    case 'u': return u;
    case 'i': {
      int shift = 64 - static_cast<int>(each) * 8;
      return static_cast<int64_t>(u << shift) >> shift;
    }
    default: break;
  }
  NdArray one{a.dtype, {1}, a.data.substr(i * each, each), ""};
  return (*one.to_doubles())[0];
}

// DocArray's jsonschema writes arrays as nested lists (ndarray.tolist()): no dtype.
json ndarray_to_lists(const NdArray& a, const std::string& path) {
  if (std::string why = check_ndarray(a); !why.empty()) fail(path, why);
  const size_t each = dtype_size(a.dtype);
  if (each > 8) fail(path, "dtype " + a.dtype + " has no JSON form");
  if (a.shape.empty()) return element_json(a, 0, each);
  size_t index = 0;
  auto build = [&](auto&& self, size_t dim) -> json {
    json list = json::array();
    for (uint64_t k = 0; k < a.shape[dim]; ++k)
      list.push_back(dim + 1 == a.shape.size() ? element_json(a, index++, each) : self(self, dim + 1));
    return list;
  };
  return build(build, 0);
}

// The inverse, as numpy's np.array(list) would type it: all bools -> bool, all integers
// -> int64, else float64. The lists must be rectangular.
NdArray lists_to_ndarray(const json& j, const std::string& path) {
  NdArray a;
  const json* probe = &j;
  while (probe->is_array()) {
    a.shape.push_back(probe->size());
    if (probe->empty()) break;
    probe = &(*probe)[0];
  }
  std::vector<const json*> leaves;
  auto walk = [&](auto&& self, const json& v, size_t dim) -> void {
    if (dim == a.shape.size()) {
      if (!v.is_number() && !v.is_boolean()) fail(path, "has a " + std::string(v.type_name()) + " where a number belongs");
      leaves.push_back(&v);
      return;
    }
    if (!v.is_array() || v.size() != a.shape[dim]) fail(path, "is not a rectangular array of numbers");
    for (const json& x : v) self(self, x, dim + 1);
  };
  walk(walk, j, 0);
  bool all_bool = !leaves.empty(), all_int = !leaves.empty();
  for (const json* v : leaves) {
    all_bool = all_bool && v->is_boolean();
    all_int = all_int && (v->is_number_integer());
  }
  auto put = [&](uint64_t bits, size_t n) {
    for (size_t k = 0; k < n; ++k) a.data.push_back(static_cast<char>(bits >> (8 * k)));
  };
  if (all_bool) {
    a.dtype = "|b1";
    for (const json* v : leaves) put(v->get<bool>() ? 1 : 0, 1);
  } else if (all_int) {
    bool fits = std::all_of(leaves.begin(), leaves.end(), [](const json* v) {
      return !v->is_number_unsigned() || v->get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX);
    });
    a.dtype = fits ? "<i8" : "<u8";
    for (const json* v : leaves)
      put(fits ? static_cast<uint64_t>(v->get<int64_t>()) : v->get<uint64_t>(), 8);
  } else {
    a.dtype = "<f8";
    for (const json* v : leaves) put(std::bit_cast<uint64_t>(v->is_boolean() ? (v->get<bool>() ? 1.0 : 0.0) : v->get<double>()), 8);
  }
  return a;
}

// ---------------------------------------------------------------- jsonschema layout

bool null_or(const json& j, const char* key) { return !j.contains(key) || j[key].is_null(); }

std::string get_string(const json& j, const char* key, const std::string& path) {
  if (null_or(j, key)) return "";
  if (!j[key].is_string()) fail(path + key, "is not a string");
  return j[key].get<std::string>();
}

double get_number(const json& j, const char* key, const std::string& path) {
  if (null_or(j, key)) return 0;
  if (!j[key].is_number()) fail(path + key, "is not a number");
  return j[key].get<double>();
}

uint32_t get_uint(const json& j, const char* key, const std::string& path) {
  double d = get_number(j, key, path);
  if (d < 0 || d > 4294967295.0 || d != static_cast<double>(static_cast<uint32_t>(d)))
    fail(path + key, "is not an integer from 0 to 2^32-1");
  return static_cast<uint32_t>(d);
}

std::string base64_bytes(const json& v, const std::string& path) {
  if (!v.is_string()) fail(path, "is not a base64 string");
  const std::string& b64 = v.get_ref<const std::string&>();
  if (!is_base64(b64)) fail(path, "is not valid base64");
  return cereal::base64::decode(b64);
}

NamedScore score_from_json(const json& j, const std::string& path, int depth) {
  if (depth > kMaxNestingDepth) fail(path, "nests too deep");
  if (!j.is_object()) fail(path, "is not an object");
  NamedScore s;
  s.value = get_number(j, "value", path + ".");
  s.op_name = get_string(j, "op_name", path + ".");
  s.description = get_string(j, "description", path + ".");
  s.ref_id = get_string(j, "ref_id", path + ".");
  if (!null_or(j, "operands")) {
    if (!j["operands"].is_array()) fail(path + ".operands", "is not a list");
    for (size_t i = 0; i < j["operands"].size(); ++i)
      s.operands.push_back(score_from_json(j["operands"][i], path + ".operands[" + std::to_string(i) + "]", depth + 1));
  }
  return s;
}

std::map<std::string, NamedScore> scores_from_json(const json& j, const char* key, const std::string& path) {
  std::map<std::string, NamedScore> out;
  if (null_or(j, key)) return out;
  if (!j[key].is_object()) fail(path + key, "is not an object of named scores");
  for (const auto& [name, v] : j[key].items()) out[name] = score_from_json(v, path + key + "." + name, 0);
  return out;
}

json score_to_json(const NamedScore& s) {
  json j = {{"value", s.value},
            {"op_name", s.op_name.empty() ? json() : json(s.op_name)},
            {"description", s.description.empty() ? json() : json(s.description)},
            {"ref_id", s.ref_id.empty() ? json() : json(s.ref_id)}};
  if (!s.operands.empty()) {
    j["operands"] = json::array();
    for (const NamedScore& o : s.operands) j["operands"].push_back(score_to_json(o));
  }
  return j;
}

// Keys only protobuf's JSON mapping (DocArray's to_json(protocol='protobuf')) writes, and
// keys only Jina 2.x writes.
// Looks into chunks and matches too: a top-level document may have no camelCase field.
bool is_protobuf_layout(const json& j, int depth = 0) {
  if (!j.is_object() || depth > kMaxNestingDepth) return false;
  for (const char* k : {"parentId", "mimeType"})
    if (j.contains(k)) return true;
  for (const char* k : {"tensor", "embedding"})
    if (j.contains(k) && j[k].is_object() && (j[k].contains("dense") || j[k].contains("sparse"))) return true;
  for (const char* k : {"chunks", "matches"})
    if (j.contains(k) && j[k].is_array())
      for (const json& c : j[k])
        if (is_protobuf_layout(c, depth + 1)) return true;
  return false;
}
bool is_jina_layout(const json& j) {
  return j.contains("buffer") || j.contains("content_hash") || (j.contains("blob") && j["blob"].is_object());
}

// The protobuf JSON mapping is protobuf's own: libprotobuf reads it into the message, and
// the message is converted as a binary one (one converter for both).
template <class Message>
Document from_proto_layout(const json& j, ProtoSchema schema) {
  Message msg;
  google::protobuf::util::JsonParseOptions opt;
  opt.ignore_unknown_fields = false;  // an unknown field would be lost: refuse it
  auto status = google::protobuf::util::JsonStringToMessage(j.dump(), &msg, opt);
  if (!status.ok()) throw UsageError(EINVAL, "protobuf JSON: " + std::string(status.message()));
  return document_from_proto(msg.SerializeAsString(), schema);
}

Document from_json_at(const json& j, const std::string& path, int depth);

std::vector<Document> docs_from_json(const json& j, const char* key, const std::string& path, int depth) {
  std::vector<Document> out;
  if (null_or(j, key)) return out;
  if (!j[key].is_array()) fail(path + key, "is not a list of documents");
  if (depth >= kMaxNestingDepth) fail(path + key, "nests deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  for (size_t i = 0; i < j[key].size(); ++i)
    out.push_back(from_json_at(j[key][i], path + key + "[" + std::to_string(i) + "].", depth + 1));
  return out;
}

Document from_json_at(const json& j, const std::string& path, int depth) {
  if (!j.is_object()) fail(path.empty() ? "document" : path.substr(0, path.size() - 1), "is not an object");
  Document d;
  DocumentMeta& m = d.meta;
  m.id = get_string(j, "id", path);
  if (m.id.empty()) fail(path + "id", "is missing");
  int contents = 0;
  if (!null_or(j, "text")) {
    d.content = get_string(j, "text", path);
    m.content_field = ContentField::kText;
    ++contents;
  }
  if (!null_or(j, "blob")) {
    d.content = base64_bytes(j["blob"], path + "blob");
    m.content_field = ContentField::kBlob;
    ++contents;
  }
  if (!null_or(j, "tensor")) {
    d.content = npy_encode(lists_to_ndarray(j["tensor"], path + "tensor"));
    m.content_field = ContentField::kTensor;
    ++contents;
  }
  if (contents > 1) fail(path + "text", "a document has one of text, blob and tensor, this one has " + std::to_string(contents));
  m.mime_type = get_string(j, "mime_type", path);
  m.uri = get_string(j, "uri", path);
  m.parent_id = get_string(j, "parent_id", path);
  m.granularity = get_uint(j, "granularity", path);
  m.adjacency = get_uint(j, "adjacency", path);
  m.weight = get_number(j, "weight", path);
  m.offset = get_number(j, "offset", path);
  m.modality = get_string(j, "modality", path);
  if (!null_or(j, "location")) {
    if (!j["location"].is_array()) fail(path + "location", "is not a list of numbers");
    for (const json& x : j["location"]) {
      if (!x.is_number()) fail(path + "location", "is not a list of numbers");
      m.location.push_back(x.get<double>());
    }
  }
  if (!null_or(j, "tags")) {
    if (!j["tags"].is_object()) fail(path + "tags", "is not an object");
    for (const auto& [k, v] : j["tags"].items()) m.tags[k] = v;
  }
  if (!null_or(j, "_metadata")) {
    if (!j["_metadata"].is_object()) fail(path + "_metadata", "is not an object");
    m.metadata = j["_metadata"];
  }
  if (!null_or(j, "embedding")) m.embedding = lists_to_ndarray(j["embedding"], path + "embedding");
  m.scores = scores_from_json(j, "scores", path);
  m.evaluations = scores_from_json(j, "evaluations", path);
  m.chunks = docs_from_json(j, "chunks", path, depth);
  m.matches = docs_from_json(j, "matches", path, depth);
  for (const auto& item : j.items()) {
    // Named references, not a structured binding: clang 14 cannot capture those in a lambda.
    const std::string& k = item.key();
    const auto& v = item.value();
    static const char* known[] = {"id", "text", "blob", "tensor", "mime_type", "uri", "parent_id", "granularity",
                                  "adjacency", "weight", "offset", "modality", "location", "tags", "_metadata",
                                  "embedding", "scores", "evaluations", "chunks", "matches"};
    // clang 14 cannot capture a structured binding in a lambda: capture a plain reference.
    const std::string& key = k;
    if (std::none_of(std::begin(known), std::end(known), [&](const char* n) { return key == n; }) && !v.is_null())
      fail(path + k, "is not a DocArray field docfs knows; it would be lost");
  }
  if (depth == 0) {
    // A symlink, FIFO, socket or device says what it is in two tags (DocArray has no file
    // types); they become the mode again.
    if (auto it = m.tags.find(kModeTag); it != m.tags.end()) {
      std::string text = tag_text(it->second);
      char* end = nullptr;
      unsigned long mode = std::strtoul(text.c_str(), &end, 8);
      uint32_t type = static_cast<uint32_t>(mode) & 0170000;
      if (text.empty() || *end || mode > 0177777 || type == 0040000 || type == 0)
        fail(path + "tags." + kModeTag, "is not a file mode");
      m.mode = static_cast<uint32_t>(mode);
      m.tags.erase(it);
      if (auto r = m.tags.find(kRdevTag); r != m.tags.end()) {
        m.rdev = std::strtoull(tag_text(r->second).c_str(), nullptr, 10);
        m.tags.erase(r);
      }
    }
  }
  return d;
}

json docs_to_json(const std::vector<Document>& docs, bool with_content) {
  if (docs.empty()) return nullptr;
  json list = json::array();
  for (const Document& c : docs) list.push_back(document_to_json(c, with_content));
  return list;
}

json or_null(const std::string& s) { return s.empty() ? json() : json(s); }

// ---------------------------------------------------------------- sources and sinks

class JsonSource : public DocumentSource {
 public:
  JsonSource(std::unique_ptr<ByteInput> in, bool lines) : in_(std::move(in)), splitter_(*in_, lines) {}

  std::optional<Document> next() override {
    std::optional<JsonElement> e = splitter_.next();
    if (!e) return std::nullopt;
    uint64_t index = index_++;
    json j;
    try {
      j = parse_json_limited(e->text, kMaxDocumentJsonDepth);
    } catch (const FormatError& err) {
      throw BadDocument(index, "", std::string(err.what()) + " (at byte " + std::to_string(e->offset) + ")");
    }
    std::string id = j.is_object() && j.contains("id") && j["id"].is_string() ? j["id"].get<std::string>() : "";
    try {
      return document_from_json(j);
    } catch (const BadDocument&) {
      throw;
    } catch (const Error& err) {
      throw BadDocument(index, id, err.what());
    }
  }

 private:
  std::unique_ptr<ByteInput> in_;
  JsonSplitter splitter_;
  uint64_t index_ = 0;
};

class JsonSink : public DocumentSink {
 public:
  JsonSink(ByteOutput& out, bool protobuf_layout, bool lines) : out_(out), protobuf_(protobuf_layout), lines_(lines) {}
  void write(const Document& doc) override {
    std::string text = protobuf_ ? document_to_proto_json(doc) : document_to_json(doc).dump();
    if (lines_) {
      out_.write(text + "\n");
    } else {
      out_.write(n_++ ? ",\n" : "[\n");
      out_.write(text);
    }
  }
  void finish() override {
    if (!lines_) out_.write(n_ ? "\n]\n" : "[]\n");
  }

 private:
  ByteOutput& out_;
  bool protobuf_, lines_;
  uint64_t n_ = 0;
};

}  // namespace

json document_to_json(const Document& doc, bool with_content) {
  const DocumentMeta& m = doc.meta;
  json j;
  j["id"] = m.id;
  j["parent_id"] = or_null(m.parent_id);
  j["granularity"] = m.granularity ? json(m.granularity) : json();
  j["adjacency"] = m.adjacency ? json(m.adjacency) : json();
  ContentField field = m.content_field;
  if (field == ContentField::kUnset)
    field = (m.mime_type.empty() || m.mime_type.rfind("text/", 0) == 0) && is_utf8(doc.content) ? ContentField::kText
                                                                                                   : ContentField::kBlob;
  j["blob"] = nullptr;
  j["tensor"] = nullptr;
  j["text"] = nullptr;
  if (with_content) {
    try {
      if (field == ContentField::kTensor) {
        j["tensor"] = ndarray_to_lists(npy_decode(doc.content), "tensor");
      } else if (field == ContentField::kText && is_utf8(doc.content) &&
                 (!doc.content.empty() || m.content_field == ContentField::kText)) {
        j["text"] = doc.content;
      } else if (field != ContentField::kUri || !doc.content.empty()) {
        if (!doc.content.empty() || m.content_field == ContentField::kBlob)
          j["blob"] = cereal::base64::encode(reinterpret_cast<const unsigned char*>(doc.content.data()),
                                             static_cast<unsigned>(doc.content.size()));
      }
    } catch (const FieldError& e) {
      throw UsageError(EINVAL, "document '" + m.id + "': " + e.path + " " + e.why);
    }
  }
  // j's key order is sorted by nlohmann; DocArray does not care.
  j["mime_type"] = or_null(m.mime_type);
  j["weight"] = m.weight != 0 ? json(m.weight) : json();
  j["uri"] = or_null(m.uri);
  json tags = json::object();
  for (const auto& [k, v] : m.tags) tags[k] = v;
  if (uint32_t type = m.mode & 0170000; type != 0100000 && type != 0 && type != 0040000) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "%o", m.mode);
    tags[kModeTag] = mode;
    if (m.rdev) tags[kRdevTag] = std::to_string(m.rdev);
  }
  j["tags"] = tags.empty() ? json() : tags;
  if (!m.metadata.is_null()) j["_metadata"] = m.metadata;
  j["offset"] = m.offset != 0 ? json(m.offset) : json();
  j["location"] = m.location.empty() ? json() : json(m.location);
  try {
    j["embedding"] = m.embedding.empty() ? json() : ndarray_to_lists(m.embedding, "embedding");
  } catch (const FieldError& e) {
    throw UsageError(EINVAL, "document '" + m.id + "': " + e.path + " " + e.why);
  }
  j["modality"] = or_null(m.modality);
  auto scores = [](const std::map<std::string, NamedScore>& s) {
    if (s.empty()) return json();
    json o = json::object();
    for (const auto& [k, v] : s) o[k] = score_to_json(v);
    return o;
  };
  j["evaluations"] = scores(m.evaluations);
  j["scores"] = scores(m.scores);
  j["chunks"] = docs_to_json(m.chunks, true);  // nested content lives in the record, not the file
  j["matches"] = docs_to_json(m.matches, true);
  return j;
}

Document document_from_json(const json& j) {
  if (j.is_object() && is_jina_layout(j)) return from_proto_layout<jina2::DocumentProto>(j, ProtoSchema::kJina2);
  if (j.is_object() && is_protobuf_layout(j))
    return from_proto_layout<docarray_v0::DocumentProto>(j, ProtoSchema::kDocArrayV0);
  try {
    return from_json_at(j, "", 0);
  } catch (const FieldError& e) {
    throw UsageError(EINVAL, e.path + " " + e.why);
  }
}

std::unique_ptr<DocumentSource> json_source(std::unique_ptr<ByteInput> in, bool lines) {
  return std::make_unique<JsonSource>(std::move(in), lines);
}

std::unique_ptr<DocumentSink> json_sink(ByteOutput& out, bool protobuf_layout, bool lines) {
  return std::make_unique<JsonSink>(out, protobuf_layout, lines);
}

}  // namespace docfs::interop
