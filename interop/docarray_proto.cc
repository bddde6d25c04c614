#include "interop/docarray_proto.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <tuple>

#include "core/error.h"
#include "docarray_v0.pb.h"
#include "interop/npy.h"
#include "interop/protobuf_log.h"
#include "jina2.pb.h"

namespace docfs::interop {
namespace {

namespace v0 = docarray_v0;
namespace j2 = jina2;
namespace pb = google::protobuf;

// Message nesting protobuf may parse: each chunk level is one message, each tag JSON level
// about three (Struct, map entry, Value). Deeper chunks and tags are refused after parsing,
// with the field named, at kMaxNestingDepth.
constexpr int kParseRecursionLimit = kMaxNestingDepth * 5;

// The tags that carry a file type DocArray has no field for (same convention as the JSON
// export): the mode in octal, the device number in decimal, both as strings.
constexpr const char* kModeTag = "docfs.mode";
constexpr const char* kRdevTag = "docfs.rdev";

std::string at(const std::string& path, std::string_view field) {
  return path.empty() ? std::string(field) : path + "." + std::string(field);
}

[[noreturn]] void refuse(const std::string& where, const std::string& why) {
  throw UsageError(EINVAL, where + ": " + why);
}

bool is_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;  // the sequence is cut off
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // No overlong forms, no surrogates, nothing past U+10FFFF (what protobuf checks too).
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

void require_utf8(std::string_view s, const std::string& where) {
  if (!is_utf8(s)) refuse(where, "is not valid UTF-8 (protobuf strings must be)");
}

template <class Msg>
void parse_message(std::string_view bytes, Msg& msg, const char* what) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) throw FormatError(std::string(what) + " is over 2 GiB");
  // libprotobuf says why a parse failed only in a log line (e.g. "String field 'id' contains
  // invalid UTF-8"): keep it for the error message instead of printing it on stderr.
  start_protobuf_log_capture();
  const std::string& protobuf_said = protobuf_log_captured();
  pb::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  in.SetRecursionLimit(kParseRecursionLimit);
  if (!msg.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    throw FormatError(std::string("not a ") + what + " (protobuf cannot parse these " + std::to_string(bytes.size()) +
                      " bytes" + (protobuf_said.empty() ? "" : ": " + protobuf_said) + ")");
}

// ---- Struct <-> JSON -------------------------------------------------------------------

// Struct numbers are doubles: they come back as JSON floats (3 stays 3.0).
TagValue json_from_value(const pb::Value& v, const std::string& where, int depth) {
  if (depth > kMaxNestingDepth) refuse(where, "nests deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  switch (v.kind_case()) {
    case pb::Value::kNullValue:
    case pb::Value::KIND_NOT_SET: return nullptr;
    case pb::Value::kNumberValue: return TagValue(v.number_value());
    case pb::Value::kStringValue: return v.string_value();
    case pb::Value::kBoolValue: return v.bool_value();
    case pb::Value::kStructValue: {
      TagValue o = TagValue::object();
      for (const auto& [k, x] : v.struct_value().fields()) o[k] = json_from_value(x, where, depth + 1);
      return o;
    }
    case pb::Value::kListValue: {
      TagValue a = TagValue::array();
      for (const pb::Value& x : v.list_value().values()) a.push_back(json_from_value(x, where, depth + 1));
      return a;
    }
  }
  return nullptr;
}

TagValue json_from_struct(const pb::Struct& s, const std::string& where) {
  TagValue o = TagValue::object();
  for (const auto& [k, x] : s.fields()) o[k] = json_from_value(x, at(where, k), 1);
  return o;
}

void value_from_json(const TagValue& j, pb::Value* out, const std::string& where, int depth) {
  if (depth > kMaxNestingDepth) refuse(where, "nests deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  switch (j.type()) {
    case TagValue::value_t::null:
    case TagValue::value_t::discarded: out->set_null_value(pb::NULL_VALUE); break;
    case TagValue::value_t::boolean: out->set_bool_value(j.get<bool>()); break;
    case TagValue::value_t::number_integer:
    case TagValue::value_t::number_unsigned:
    case TagValue::value_t::number_float: out->set_number_value(j.get<double>()); break;  // Struct has doubles only
    case TagValue::value_t::string:
      require_utf8(j.get_ref<const std::string&>(), where);
      out->set_string_value(j.get<std::string>());
      break;
    case TagValue::value_t::array: {
      pb::ListValue* l = out->mutable_list_value();
      for (const TagValue& x : j) value_from_json(x, l->add_values(), where, depth + 1);
      break;
    }
    case TagValue::value_t::object: {
      pb::Struct* s = out->mutable_struct_value();
      for (const auto& [k, x] : j.items()) {
        require_utf8(k, where);
        value_from_json(x, &(*s->mutable_fields())[k], where, depth + 1);
      }
      break;
    }
    case TagValue::value_t::binary: refuse(where, "binary values have no Struct form");
  }
}

// ---- arrays ----------------------------------------------------------------------------

NdArray checked(NdArray a, const std::string& where) {
  if (a.dtype.empty() && a.shape.empty() && a.data.empty()) return NdArray{};
  if (std::string why = check_ndarray(a); !why.empty()) refuse(where, why);
  return a;
}

NdArray array_from_v0(const v0::NdArrayProto& p, const std::string& where) {
  if (p.content_case() == v0::NdArrayProto::kSparse)
    refuse(where, "a sparse embedding or tensor (cls_name '" + p.cls_name().substr(0, 32) +
                      "'); docfs does not keep sparse arrays; densify it (e.g. .toarray()) before saving");
  if (p.has_parameters() && p.parameters().fields_size() > 0)
    refuse(where, "the array has 'parameters' (only sparse arrays use them); docfs keeps dense arrays only");
  if (p.content_case() != v0::NdArrayProto::kDense) return NdArray{};
  const v0::DenseNdArrayProto& d = p.dense();
  NdArray a{d.dtype(), {d.shape().begin(), d.shape().end()}, d.buffer(), p.cls_name() == "numpy" ? "" : p.cls_name()};
  return checked(std::move(a), where);
}

NdArray array_from_jina(const j2::NdArrayProto& p, const std::string& where) {
  if (p.content_case() == j2::NdArrayProto::kSparse)
    refuse(where, "a sparse ndarray; docfs does not keep sparse arrays; densify it before saving");
  if (p.content_case() != j2::NdArrayProto::kDense) return NdArray{};
  const j2::DenseNdArrayProto& d = p.dense();
  if (d.quantization() != j2::DenseNdArrayProto::NONE)
    refuse(where, "a quantized ndarray (FP16/UINT8); docfs keeps arrays as their own dtype; save it unquantized");
  return checked(NdArray{d.dtype(), {d.shape().begin(), d.shape().end()}, d.buffer(), ""}, where);
}

void array_to_v0(const NdArray& a, v0::NdArrayProto* p, const std::string& where) {
  if (std::string why = check_ndarray(a); !why.empty()) refuse(where, why);
  v0::DenseNdArrayProto* d = p->mutable_dense();
  d->set_buffer(a.data);
  for (uint64_t n : a.shape) {
    if (n > UINT32_MAX) refuse(where, "a dimension of " + std::to_string(n) + " does not fit DocArray's uint32 shape");
    d->add_shape(static_cast<uint32_t>(n));
  }
  d->set_dtype(a.dtype);
  // DocArray reads an array only when cls_name names a library: "" would come back as None.
  p->set_cls_name(a.cls_name.empty() ? "numpy" : a.cls_name);
}

// ---- scores ----------------------------------------------------------------------------

NamedScore score_from_v0(const v0::NamedScoreProto& s) {
  return NamedScore{s.value(), s.op_name(), s.description(), s.ref_id(), {}};
}

NamedScore score_from_jina(const j2::NamedScoreProto& s, const std::string& where, int depth) {
  if (depth > kMaxNestingDepth) refuse(where, "operands nest deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  NamedScore n{s.value(), s.op_name(), s.description(), s.ref_id(), {}};
  for (int i = 0; i < s.operands_size(); ++i)
    n.operands.push_back(score_from_jina(s.operands(i), where, depth + 1));
  return n;
}

void scores_to_v0(const std::map<std::string, NamedScore>& in, pb::Map<std::string, v0::NamedScoreProto>* out,
                  const std::string& where) {
  for (const auto& [k, s] : in) {
    std::string here = where + "['" + k + "']";
    require_utf8(k, here);
    if (!s.operands.empty()) refuse(here + ".operands", "DocArray v0's NamedScore has no operands (Jina 2.x's has)");
    v0::NamedScoreProto& p = (*out)[k];
    p.set_value(static_cast<float>(s.value));
    p.set_op_name(s.op_name);
    p.set_description(s.description);
    p.set_ref_id(s.ref_id);
  }
}

// ---- file types ------------------------------------------------------------------------

void take_mode_tags(DocumentMeta& m, const std::string& path) {
  auto it = m.tags.find(kModeTag);
  if (it == m.tags.end()) return;
  std::string where = at(path, std::string("tags.") + kModeTag);
  if (!it->second.is_string()) refuse(where, "is not a string of octal digits");
  const std::string& text = it->second.get_ref<const std::string&>();
  char* end = nullptr;
  errno = 0;
  unsigned long mode = std::strtoul(text.c_str(), &end, 8);
  uint32_t type = static_cast<uint32_t>(mode) & 0170000;
  if (text.empty() || *end || errno || mode > 0177777 || type == 0040000 || type == 0)
    refuse(where, "'" + text.substr(0, 16) + "' is not a file mode");
  m.mode = static_cast<uint32_t>(mode);
  m.tags.erase(it);
  if (auto r = m.tags.find(kRdevTag); r != m.tags.end()) {
    std::string rwhere = at(path, std::string("tags.") + kRdevTag);
    if (!r->second.is_string()) refuse(rwhere, "is not a string of decimal digits");
    const std::string& rt = r->second.get_ref<const std::string&>();
    errno = 0;
    unsigned long long rdev = std::strtoull(rt.c_str(), &end, 10);
    if (rt.empty() || *end || errno) refuse(rwhere, "'" + rt.substr(0, 24) + "' is not a device number");
    m.rdev = rdev;
    m.tags.erase(r);
  }
}

// ---- DocArray v0 ------------------------------------------------------------------------

Document from_v0(const v0::DocumentProto& p, const std::string& path, int depth) {
  if (depth > kMaxNestingDepth)
    refuse(path, "chunks/matches nest deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  Document d;
  DocumentMeta& m = d.meta;
  m.id = p.id();
  switch (p.content_case()) {
    case v0::DocumentProto::kBlob:
      d.content = p.blob();
      m.content_field = ContentField::kBlob;
      break;
    case v0::DocumentProto::kTensor: {
      NdArray t = array_from_v0(p.tensor(), at(path, "tensor"));
      // The tensor becomes a .npy file; its cls_name (torch, ...) has no place and is dropped.
      if (!t.empty()) d.content = npy_encode(t);
      m.content_field = ContentField::kTensor;
      break;
    }
    case v0::DocumentProto::kText:
      d.content = p.text();
      m.content_field = ContentField::kText;
      break;
    case v0::DocumentProto::CONTENT_NOT_SET: break;
  }
  m.granularity = p.granularity();
  m.adjacency = p.adjacency();
  m.parent_id = p.parent_id();
  m.weight = p.weight();
  m.uri = p.uri();
  m.modality = p.modality();
  m.mime_type = p.mime_type();
  m.offset = p.offset();
  m.location.assign(p.location().begin(), p.location().end());
  if (p.has_embedding()) m.embedding = array_from_v0(p.embedding(), at(path, "embedding"));
  if (p.has_tags())
    for (const auto& [k, v] : p.tags().fields()) m.tags[k] = json_from_value(v, at(path, "tags." + k), 1);
  for (const auto& [k, s] : p.scores()) m.scores[k] = score_from_v0(s);
  for (const auto& [k, s] : p.evaluations()) m.evaluations[k] = score_from_v0(s);
  if (p.has__metadata()) m.metadata = json_from_struct(p._metadata(), at(path, "_metadata"));
  for (int i = 0; i < p.chunks_size(); ++i)
    m.chunks.push_back(from_v0(p.chunks(i), at(path, "chunks[" + std::to_string(i) + "]"), depth + 1));
  for (int i = 0; i < p.matches_size(); ++i)
    m.matches.push_back(from_v0(p.matches(i), at(path, "matches[" + std::to_string(i) + "]"), depth + 1));
  if (depth == 0) take_mode_tags(m, path);
  return d;
}

void to_v0(const Document& d, v0::DocumentProto& p, const std::string& path, int depth) {
  if (depth > kMaxNestingDepth)
    refuse(path, "chunks/matches nest deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  const DocumentMeta& m = d.meta;
  require_utf8(m.id, at(path, "id"));
  p.set_id(m.id);
  ContentField field = m.content_field;
  if (field == ContentField::kUri && !d.content.empty()) field = ContentField::kUnset;
  if (field == ContentField::kUnset && !d.content.empty()) {
    bool textual = m.mime_type.empty() || m.mime_type.rfind("text/", 0) == 0;
    field = textual && is_utf8(d.content) ? ContentField::kText : ContentField::kBlob;
  }
  switch (field) {
    case ContentField::kText:
      require_utf8(d.content, at(path, "text"));
      p.set_text(d.content);
      break;
    case ContentField::kBlob: p.set_blob(d.content); break;
    case ContentField::kTensor:
      if (d.content.empty()) {
        p.mutable_tensor()->set_cls_name("numpy");
      } else {
        NdArray t;
        try {
          t = npy_decode(d.content);
        } catch (const UsageError& e) {
          refuse(at(path, "tensor"), e.what());
        }
        array_to_v0(t, p.mutable_tensor(), at(path, "tensor"));
      }
      break;
    case ContentField::kUri:    // v0 keeps the uri in its own field, set below
    case ContentField::kUnset:  // no content
      break;
  }
  p.set_granularity(m.granularity);
  p.set_adjacency(m.adjacency);
  for (auto [value, name] : {std::pair{&m.parent_id, "parent_id"}, {&m.uri, "uri"}, {&m.modality, "modality"},
                             {&m.mime_type, "mime_type"}})
    require_utf8(*value, at(path, name));
  p.set_parent_id(m.parent_id);
  p.set_weight(static_cast<float>(m.weight));
  p.set_uri(m.uri);
  p.set_modality(m.modality);
  p.set_mime_type(m.mime_type);
  p.set_offset(static_cast<float>(m.offset));
  for (double x : m.location) p.add_location(static_cast<float>(x));
  for (size_t i = 0; i < m.chunks.size(); ++i)
    to_v0(m.chunks[i], *p.add_chunks(), at(path, "chunks[" + std::to_string(i) + "]"), depth + 1);
  for (size_t i = 0; i < m.matches.size(); ++i)
    to_v0(m.matches[i], *p.add_matches(), at(path, "matches[" + std::to_string(i) + "]"), depth + 1);
  if (!m.embedding.empty()) array_to_v0(m.embedding, p.mutable_embedding(), at(path, "embedding"));
  Tags tags = m.tags;
  if (uint32_t type = m.mode & 0170000; depth == 0 && type != 0100000 && type != 0) {
    if (type == 0040000) refuse(at(path, "mode"), "a directory marker is not a DocArray document");
    char mode[16];
    std::snprintf(mode, sizeof mode, "%o", m.mode);
    tags[kModeTag] = mode;
    if (m.rdev) tags[kRdevTag] = std::to_string(m.rdev);
  }
  if (!tags.empty()) {
    pb::Struct* s = p.mutable_tags();
    for (const auto& [k, v] : tags) {
      require_utf8(k, at(path, "tags"));
      value_from_json(v, &(*s->mutable_fields())[k], at(path, "tags." + k), 1);
    }
  }
  scores_to_v0(m.scores, p.mutable_scores(), at(path, "scores"));
  scores_to_v0(m.evaluations, p.mutable_evaluations(), at(path, "evaluations"));
  if (m.metadata.is_object()) {
    pb::Struct* s = p.mutable__metadata();
    for (const auto& [k, v] : m.metadata.items()) {
      require_utf8(k, at(path, "_metadata"));
      value_from_json(v, &(*s->mutable_fields())[k], at(path, "_metadata." + k), 1);
    }
  } else if (!m.metadata.is_null()) {
    refuse(at(path, "_metadata"), "is not an object");
  }
  // content_hash (Jina 2.x) has no v0 field; Jina computes it from the content again.
}

// ---- Jina 2.x ---------------------------------------------------------------------------

Document from_jina(const j2::DocumentProto& p, const std::string& path, int depth) {
  if (depth > kMaxNestingDepth)
    refuse(path, "chunks/matches nest deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  Document d;
  DocumentMeta& m = d.meta;
  m.id = p.id();
  switch (p.content_case()) {
    case j2::DocumentProto::kBuffer:
      d.content = p.buffer();
      m.content_field = ContentField::kBlob;
      break;
    case j2::DocumentProto::kBlob: {
      NdArray t = array_from_jina(p.blob(), at(path, "blob"));
      if (!t.empty()) d.content = npy_encode(t);
      m.content_field = ContentField::kTensor;
      break;
    }
    case j2::DocumentProto::kText:
      d.content = p.text();
      m.content_field = ContentField::kText;
      break;
    case j2::DocumentProto::kUri:
      m.uri = p.uri();
      m.content_field = ContentField::kUri;
      break;
    case j2::DocumentProto::kGraph:
      refuse(at(path, "graph"), "a Jina graph document (adjacency + edge features); docfs does not keep graphs");
    case j2::DocumentProto::CONTENT_NOT_SET: break;
  }
  m.content_hash = p.content_hash();
  m.granularity = p.granularity();
  m.adjacency = p.adjacency();
  m.parent_id = p.parent_id();
  m.weight = p.weight();
  m.mime_type = p.mime_type();
  m.modality = p.modality();
  m.offset = p.offset();
  m.location.assign(p.location().begin(), p.location().end());
  if (p.has_embedding()) m.embedding = array_from_jina(p.embedding(), at(path, "embedding"));
  if (p.has_tags())
    for (const auto& [k, v] : p.tags().fields()) m.tags[k] = json_from_value(v, at(path, "tags." + k), 1);
  for (const auto& [k, s] : p.scores()) m.scores[k] = score_from_jina(s, at(path, "scores['" + k + "']"), 0);
  for (const auto& [k, s] : p.evaluations())
    m.evaluations[k] = score_from_jina(s, at(path, "evaluations['" + k + "']"), 0);
  for (int i = 0; i < p.chunks_size(); ++i)
    m.chunks.push_back(from_jina(p.chunks(i), at(path, "chunks[" + std::to_string(i) + "]"), depth + 1));
  for (int i = 0; i < p.matches_size(); ++i)
    m.matches.push_back(from_jina(p.matches(i), at(path, "matches[" + std::to_string(i) + "]"), depth + 1));
  if (depth == 0) take_mode_tags(m, path);
  return d;
}

void array_to_jina(const NdArray& a, j2::NdArrayProto* p, const std::string& where) {
  if (std::string why = check_ndarray(a); !why.empty()) refuse(where, why);
  if (!a.cls_name.empty() && a.cls_name != "numpy")
    refuse(where, "a '" + a.cls_name.substr(0, 32) + "' array; Jina 2.x's NdArrayProto records no array library");
  j2::DenseNdArrayProto* d = p->mutable_dense();
  d->set_buffer(a.data);
  for (uint64_t n : a.shape) {
    if (n > UINT32_MAX) refuse(where, "a dimension of " + std::to_string(n) + " does not fit Jina's uint32 shape");
    d->add_shape(static_cast<uint32_t>(n));
  }
  d->set_dtype(a.dtype);
}

void score_to_jina(const NamedScore& s, j2::NamedScoreProto* p, const std::string& where, int depth) {
  if (depth > kMaxNestingDepth) refuse(where, "operands nest deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  for (auto [value, name] : {std::pair{&s.op_name, "op_name"}, {&s.description, "description"}, {&s.ref_id, "ref_id"}})
    require_utf8(*value, at(where, name));
  p->set_value(static_cast<float>(s.value));
  p->set_op_name(s.op_name);
  p->set_description(s.description);
  p->set_ref_id(s.ref_id);
  for (size_t i = 0; i < s.operands.size(); ++i)
    score_to_jina(s.operands[i], p->add_operands(), at(where, "operands[" + std::to_string(i) + "]"), depth + 1);
}

// Jina 2.x keeps location and offset as uint32 (DocArray v0 as float): a value that is not a
// whole number in 0..2^32-1 has no Jina form.
uint32_t jina_uint32(double x, const std::string& where) {
  if (!(x >= 0 && x <= static_cast<double>(UINT32_MAX)) || x != static_cast<double>(static_cast<uint32_t>(x))) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    refuse(where, std::string("is ") + buf + "; Jina 2.x keeps it as uint32 (a whole number 0..4294967295)");
  }
  return static_cast<uint32_t>(x);
}

void to_jina(const Document& d, j2::DocumentProto& p, const std::string& path, int depth) {
  if (depth > kMaxNestingDepth)
    refuse(path, "chunks/matches nest deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  const DocumentMeta& m = d.meta;
  require_utf8(m.id, at(path, "id"));
  p.set_id(m.id);
  ContentField field = m.content_field;
  if (field == ContentField::kUri && !d.content.empty()) field = ContentField::kUnset;
  if (field == ContentField::kUnset && !d.content.empty()) {
    bool textual = m.mime_type.empty() || m.mime_type.rfind("text/", 0) == 0;
    field = textual && is_utf8(d.content) ? ContentField::kText : ContentField::kBlob;
  }
  // In Jina 2.x the uri is one of the content fields: a document has a uri or content.
  if (!m.uri.empty() && field != ContentField::kUri && (field != ContentField::kUnset || !d.content.empty()))
    refuse(at(path, "uri"), "a document with both content and a uri; in Jina 2.x's DocumentProto uri is one of the "
                            "content fields (text, buffer, blob, uri), so one of them would be lost");
  require_utf8(m.uri, at(path, "uri"));
  switch (field) {
    case ContentField::kText:
      require_utf8(d.content, at(path, "text"));
      p.set_text(d.content);
      break;
    case ContentField::kBlob: p.set_buffer(d.content); break;
    case ContentField::kTensor:
      if (d.content.empty()) {
        p.mutable_blob();
      } else {
        NdArray t;
        try {
          t = npy_decode(d.content);
        } catch (const UsageError& e) {
          refuse(at(path, "blob"), e.what());
        }
        array_to_jina(t, p.mutable_blob(), at(path, "blob"));
      }
      break;
    case ContentField::kUri:
    case ContentField::kUnset:
      if (!m.uri.empty()) p.set_uri(m.uri);
      break;
  }
  for (auto [value, name] : {std::pair{&m.parent_id, "parent_id"}, {&m.modality, "modality"},
                             {&m.mime_type, "mime_type"}, {&m.content_hash, "content_hash"}})
    require_utf8(*value, at(path, name));
  p.set_content_hash(m.content_hash);
  p.set_granularity(m.granularity);
  p.set_adjacency(m.adjacency);
  p.set_parent_id(m.parent_id);
  p.set_weight(static_cast<float>(m.weight));
  p.set_mime_type(m.mime_type);
  p.set_modality(m.modality);
  p.set_offset(jina_uint32(m.offset, at(path, "offset")));
  for (size_t i = 0; i < m.location.size(); ++i)
    p.add_location(jina_uint32(m.location[i], at(path, "location[" + std::to_string(i) + "]")));
  for (size_t i = 0; i < m.chunks.size(); ++i)
    to_jina(m.chunks[i], *p.add_chunks(), at(path, "chunks[" + std::to_string(i) + "]"), depth + 1);
  for (size_t i = 0; i < m.matches.size(); ++i)
    to_jina(m.matches[i], *p.add_matches(), at(path, "matches[" + std::to_string(i) + "]"), depth + 1);
  if (!m.embedding.empty()) array_to_jina(m.embedding, p.mutable_embedding(), at(path, "embedding"));
  Tags tags = m.tags;
  if (uint32_t type = m.mode & 0170000; depth == 0 && type != 0100000 && type != 0) {
    if (type == 0040000) refuse(at(path, "mode"), "a directory marker is not a Jina document");
    char mode[16];
    std::snprintf(mode, sizeof mode, "%o", m.mode);
    tags[kModeTag] = mode;
    if (m.rdev) tags[kRdevTag] = std::to_string(m.rdev);
  }
  if (!tags.empty()) {
    pb::Struct* s = p.mutable_tags();
    for (const auto& [k, v] : tags) {
      require_utf8(k, at(path, "tags"));
      value_from_json(v, &(*s->mutable_fields())[k], at(path, "tags." + k), 1);
    }
  }
  for (auto [in, out, name] : {std::tuple{&m.scores, p.mutable_scores(), "scores"},
                               {&m.evaluations, p.mutable_evaluations(), "evaluations"}})
    for (const auto& [k, s] : *in) {
      std::string here = at(path, name) + "['" + k + "']";
      require_utf8(k, here);
      score_to_jina(s, &(*out)[k], here, 0);
    }
  if (!m.metadata.is_null() && !(m.metadata.is_object() && m.metadata.empty()))
    refuse(at(path, "_metadata"), "DocArray's _metadata has no field in Jina 2.x's DocumentProto");
}

// Unknown fields in a message and the messages set in it, a few levels down.
size_t count_unknown(const pb::Message& msg, int depth) {
  if (depth > 4) return 0;
  const pb::Reflection* r = msg.GetReflection();
  size_t n = static_cast<size_t>(r->GetUnknownFields(msg).field_count());
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(msg, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      int k = std::min(r->FieldSize(msg, f), 8);
      for (int i = 0; i < k; ++i) n += count_unknown(r->GetRepeatedMessage(msg, f, i), depth + 1);
    } else {
      n += count_unknown(r->GetMessage(msg, f), depth + 1);
    }
  }
  return n;
}

}  // namespace

Document document_from_proto(std::string_view bytes, ProtoSchema schema) {
  if (schema == ProtoSchema::kJina2) {
    j2::DocumentProto p;
    parse_message(bytes, p, "Jina 2 DocumentProto");
    return from_jina(p, "", 0);
  }
  v0::DocumentProto p;
  parse_message(bytes, p, "DocArray DocumentProto");
  return from_v0(p, "", 0);
}

std::string document_to_proto(const Document& doc, ProtoSchema schema) {
  std::string out;
  if (schema == ProtoSchema::kJina2) {
    j2::DocumentProto p;
    to_jina(doc, p, "", 0);
    if (!p.SerializeToString(&out)) throw UsageError(EINVAL, "the document does not serialize as a Jina DocumentProto");
    return out;
  }
  v0::DocumentProto p;
  to_v0(doc, p, "", 0);
  if (!p.SerializeToString(&out)) throw UsageError(EINVAL, "the document does not serialize as a DocumentProto");
  return out;
}

Document document_from_proto_json(std::string_view json_text) {
  v0::DocumentProto p;
  pb::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto status = pb::util::JsonStringToMessage(pb::StringPiece(json_text.data(), json_text.size()), &p, opts);
  if (!status.ok()) throw FormatError("not a DocArray DocumentProto in protobuf's JSON form: " + status.ToString());
  return from_v0(p, "", 0);
}

std::string document_to_proto_json(const Document& doc) {
  v0::DocumentProto p;
  to_v0(doc, p, "", 0);
  pb::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = false;  // MessageToDict's default: camelCase
  std::string out;
  auto status = pb::util::MessageToJsonString(p, &out, opts);
  if (!status.ok()) throw UsageError(EINVAL, "the document has no protobuf JSON form: " + status.ToString());
  return out;
}

// Both schemas number their fields differently, so the one that reads a document with fewer
// unknown fields is the one that wrote it: Jina 2.x's content_hash (24), text (13) as a
// string, matches (8) are unknown or mistyped to DocArray v0, and v0's tags (17), embedding
// (16), chunks (14) are unknown or mistyped to Jina. A tie (e.g. a document with only an id)
// reads the same either way; it goes to DocArray v0.
ProtoSchema guess_schema(std::string_view document_bytes) {
  auto unknown = [&](auto msg, const char* what) -> size_t {
    try {
      parse_message(document_bytes, msg, what);
    } catch (const FormatError&) {
      return SIZE_MAX;
    }
    return count_unknown(msg, 0);
  };
  size_t v0_unknown = unknown(v0::DocumentProto(), "DocArray DocumentProto");
  size_t jina_unknown = unknown(j2::DocumentProto(), "Jina 2 DocumentProto");
  return jina_unknown < v0_unknown ? ProtoSchema::kJina2 : ProtoSchema::kDocArrayV0;
}

}  // namespace docfs::interop
