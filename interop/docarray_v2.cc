#include "interop/docarray_v2.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>

#include <climits>
#include <cmath>
#include <mutex>
#include <set>

#include "core/error.h"
#include "docarray_v2.pb.h"
#include "interop/npy.h"
#include "interop/protobuf_log.h"
#include "interop/text_util.h"

namespace docfs::interop {
namespace {

namespace v2 = docarray_v2;
namespace pb = google::protobuf;

// doc / doc_array / list / dict nest messages; a few protobuf levels per document level.
constexpr int kParseRecursionLimit = kMaxNestingDepth * 5;

const std::set<std::string> kTextDocFields = {"id", "text", "url", "embedding", "bytes_"};
const std::set<std::string> kImageDocFields = {"id", "url", "tensor", "embedding", "bytes_"};
// Fields the model shows in its own places; every other scalar field becomes a tag.
const std::set<std::string> kNaturalFields = {"id", "text", "url", "embedding", "bytes_", "blob", "tensor"};

v2::DocProto parse_docproto(std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) throw FormatError("a DocProto is over 2 GiB");
  start_protobuf_log_capture();  // libprotobuf says why a parse failed only in a log line
  const std::string& protobuf_said = protobuf_log_captured();
  v2::DocProto p;
  pb::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  in.SetRecursionLimit(kParseRecursionLimit);
  if (!p.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    throw FormatError("not a DocArray v2 DocProto (protobuf cannot parse these " + std::to_string(bytes.size()) +
                      " bytes" + (protobuf_said.empty() ? "" : ": " + protobuf_said) + ")");
  return p;
}

std::string class_of(const v2::DocProto& p) {
  std::set<std::string> names;
  for (const auto& [k, v] : p.data()) names.insert(k);
  if (names == kTextDocFields) return "TextDoc";
  if (names == kImageDocFields) return "ImageDoc";
  return "";
}

const v2::NodeProto* field(const v2::DocProto& p, const std::string& name) {
  auto it = p.data().find(name);
  return it == p.data().end() ? nullptr : &it->second;
}

NdArray ndarray_of(const v2::NdArrayProto& a, const std::string& where) {
  const auto& d = a.dense();
  NdArray out{d.dtype(), {d.shape().begin(), d.shape().end()}, d.buffer(), ""};
  if (auto why = check_ndarray(out); !why.empty()) throw UsageError(EINVAL, where + ": " + why);
  return out;
}

void set_ndarray(v2::NodeProto& node, const NdArray& a, const std::string& where) {
  if (auto why = check_ndarray(a); !why.empty()) throw UsageError(EINVAL, where + ": " + why);
  auto* d = node.mutable_ndarray()->mutable_dense();
  d->set_dtype(a.dtype);
  d->set_buffer(a.data);
  d->clear_shape();
  for (uint64_t s : a.shape) {
    if (s > UINT32_MAX)
      throw UsageError(EINVAL, where + ": a dimension of " + std::to_string(s) + " does not fit a u32");
    d->add_shape(static_cast<uint32_t>(s));
  }
}

// A NodeProto with no content is DocArray's None; the type name (if any) is kept.
void set_none(v2::NodeProto& node) { node.clear_content(); }

std::optional<TagValue> scalar_tag(const v2::NodeProto& n) {
  switch (n.content_case()) {
    case v2::NodeProto::kText: return TagValue(n.text());
    case v2::NodeProto::kInteger: return TagValue(static_cast<int64_t>(n.integer()));
    case v2::NodeProto::kFloat:
      // NaN and infinities have no JSON form (and NaN != NaN): they stay in the record only.
      if (!std::isfinite(n.float_())) return std::nullopt;
      return TagValue(n.float_());
    case v2::NodeProto::kBoolean: return TagValue(n.boolean());
    default: return std::nullopt;
  }
}

// Writes a tag's new value back into a scalar field of the same kind; false when it does not fit.
bool set_scalar(v2::NodeProto& n, const TagValue& v) {
  switch (n.content_case()) {
    case v2::NodeProto::kText:
      if (!v.is_string() || !is_utf8(v.get_ref<const std::string&>())) return false;
      n.set_text(v.get<std::string>());
      return true;
    case v2::NodeProto::kInteger:
      if (!v.is_number_integer()) return false;
      if (v.is_number_unsigned() ? v.get<uint64_t>() > INT32_MAX
                                 : (v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX))
        return false;
      n.set_integer(static_cast<int32_t>(v.get<int64_t>()));
      return true;
    case v2::NodeProto::kFloat:
      if (!v.is_number()) return false;
      n.set_float_(v.get<double>());
      return true;
    case v2::NodeProto::kBoolean:
      if (!v.is_boolean()) return false;
      n.set_boolean(v.get<bool>());
      return true;
    default: return false;
  }
}

Document from_proto(const v2::DocProto& p, std::string record, std::string_view class_name) {
  Document d;
  auto& m = d.meta;
  const v2::NodeProto* id = field(p, "id");
  if (!id || id->content_case() != v2::NodeProto::kText || id->text().empty())
    throw UsageError(EINVAL, "the document has no id (DocArray's `id` field is missing or empty)");
  if (auto e = check_id(id->text()); e != IdError::kOk)
    throw UsageError(EINVAL, "id '" + id->text().substr(0, 64) + "': " + describe_id_error(e, id->text()));
  m.id = id->text();
  const std::string where = "document '" + m.id + "'";

  // Content: text, else bytes_ / blob, else tensor (see the header).
  const v2::NodeProto* n = nullptr;
  if ((n = field(p, "text")) && n->content_case() == v2::NodeProto::kText) {
    d.content = n->text();
    m.content_field = ContentField::kText;
    m.mime_type = "text/plain";
  } else if (((n = field(p, "bytes_")) && n->content_case() == v2::NodeProto::kBlob) ||
             ((n = field(p, "blob")) && n->content_case() == v2::NodeProto::kBlob)) {
    d.content = n->blob();
    m.content_field = ContentField::kBlob;
  } else if ((n = field(p, "tensor")) && n->content_case() == v2::NodeProto::kNdarray) {
    d.content = npy_encode(ndarray_of(n->ndarray(), where + " field tensor"));
    m.content_field = ContentField::kTensor;
  }
  if ((n = field(p, "url")) && n->content_case() == v2::NodeProto::kText) m.uri = n->text();
  if ((n = field(p, "embedding")) && n->content_case() == v2::NodeProto::kNdarray)
    m.embedding = ndarray_of(n->ndarray(), where + " field embedding");
  for (const auto& [name, node] : p.data()) {
    if (kNaturalFields.count(name)) continue;
    if (auto v = scalar_tag(node)) m.tags[name] = std::move(*v);
  }
  m.foreign_format = kDocArrayV2Format;
  m.foreign_class = class_name.empty() ? class_of(p) : std::string(class_name);
  m.foreign_record = std::move(record);
  return d;
}

std::string serialize(const v2::DocProto& p) {
  std::string out;
  pb::io::StringOutputStream s(&out);
  pb::io::CodedOutputStream c(&s);
  c.SetSerializationDeterministic(true);  // map order fixed: the same document, the same bytes
  p.SerializeToCodedStream(&c);
  c.Trim();
  return out;
}

// DocArray's TextUrl refuses a url whose extension is not a text type (mimetypes'
// guess, or a short list of extras); no extension is accepted. docfs knows fewer types, so
// it accepts only what it knows is text.
bool text_url_ok(std::string_view uri) {
  std::string_view path = uri.substr(0, uri.find('?'));
  std::string_view last = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  if (last.find('.') == std::string_view::npos) return true;
  return guess_mime(last).rfind("text/", 0) == 0;
}

const char* embedding_type(const std::string& cls) {
  return cls == "TextDoc" || cls == "ImageDoc" || cls.empty() ? "ndarray_embedding" : "ndarray";
}

// Puts the document's content into the record's content field.
void write_content(v2::DocProto& p, const Document& doc, const Document& base, const std::string& where) {
  auto& data = *p.mutable_data();
  ContentField f = doc.meta.content_field;
  if (f == ContentField::kUnset || f == ContentField::kUri) {
    // Content written into a document that had none: text when it is text, else bytes.
    if (data.count("text") && is_utf8(doc.content)) f = ContentField::kText;
    else f = ContentField::kBlob;
  }
  // Clear the field the content came from; the new one is set below.
  auto clear = [&](const char* name) {
    if (auto it = data.find(name); it != data.end()) set_none(it->second);
  };
  if (base.meta.content_field == ContentField::kText) clear("text");
  if (base.meta.content_field == ContentField::kBlob) {
    if (auto* b = field(p, "bytes_"); b && b->content_case() == v2::NodeProto::kBlob) clear("bytes_");
    else clear("blob");
  }
  if (base.meta.content_field == ContentField::kTensor) clear("tensor");
  switch (f) {
    case ContentField::kText:
      if (is_utf8(doc.content)) {
        data["text"].set_text(doc.content);
        return;
      }
      [[fallthrough]];  // not UTF-8 any more: into bytes_
    case ContentField::kBlob:
      if (data.count("bytes_") || !data.count("blob")) data["bytes_"].set_blob(doc.content);
      else data["blob"].set_blob(doc.content);
      return;
    case ContentField::kTensor: {
      NdArray a;
      try {
        a = npy_decode(doc.content);
      } catch (const Error& e) {
        throw UsageError(EINVAL, where + " field tensor: the content is not a valid .npy any more: " + e.what());
      }
      auto& node = data["tensor"];
      set_ndarray(node, a, where + " field tensor");
      if (!node.has_type()) node.set_type("ndarray");
      return;
    }
    default: return;
  }
}

std::string from_record(const Document& doc) {
  v2::DocProto p = parse_docproto(doc.meta.foreign_record);
  const Document base = from_proto(p, "", doc.meta.foreign_class);
  const std::string where = "document '" + doc.meta.id + "'";
  auto& data = *p.mutable_data();
  // An id changed by a rename through the mount goes with the document.
  if (doc.meta.id != base.meta.id) {
    data["id"].set_text(doc.meta.id);
    data["id"].set_type("id");
  }
  if (doc.content != base.content || doc.meta.content_field != base.meta.content_field)
    write_content(p, doc, base, where);
  if (doc.meta.uri != base.meta.uri) {
    auto& n = data["url"];
    if (doc.meta.uri.empty()) {
      set_none(n);
    } else {
      if (!is_utf8(doc.meta.uri)) throw UsageError(EINVAL, where + " field url: not UTF-8");
      if (doc.meta.foreign_class == "TextDoc" && !text_url_ok(doc.meta.uri))
        throw UsageError(EINVAL, where + " field url: DocArray's TextUrl would refuse '" + doc.meta.uri.substr(0, 128) +
                                     "' (not a text file extension)");
      n.set_text(doc.meta.uri);
      if (!n.has_type() && doc.meta.foreign_class == "TextDoc") n.set_type("text_url");
      if (!n.has_type() && doc.meta.foreign_class == "ImageDoc") n.set_type("image_url");
    }
  }
  if (!(doc.meta.embedding == base.meta.embedding)) {
    auto& n = data["embedding"];
    if (doc.meta.embedding.empty()) {
      set_none(n);
    } else {
      set_ndarray(n, doc.meta.embedding, where + " field embedding");
      if (!n.has_type()) n.set_type(embedding_type(doc.meta.foreign_class));
    }
  }
  for (const auto& [name, value] : doc.meta.tags) {
    auto it = data.find(name);
    if (it == data.end() || kNaturalFields.count(name)) continue;  // not a field of the class: not pushed
    auto old = base.meta.tags.find(name);
    if (old != base.meta.tags.end() && old->second == value) continue;
    if (!set_scalar(it->second, value))
      throw UsageError(EINVAL, where + " tag " + name + ": " + tag_text(value).substr(0, 64) +
                                   " does not fit the DocArray field's type");
  }
  return serialize(p);
}

std::string as_text_doc(const Document& doc) {
  const std::string where = "document '" + doc.meta.id + "'";
  v2::DocProto p;
  auto& data = *p.mutable_data();
  auto& id = data["id"];
  id.set_text(doc.meta.id);
  id.set_type("id");
  if (is_utf8(doc.content)) {
    data["text"].set_text(doc.content);
    data["bytes_"];
  } else {
    data["text"];
    data["bytes_"].set_blob(doc.content);
  }
  auto& url = data["url"];
  // The uri of a plain document is often its file name: kept only where TextUrl takes it.
  if (!doc.meta.uri.empty() && is_utf8(doc.meta.uri) && text_url_ok(doc.meta.uri)) {
    url.set_text(doc.meta.uri);
    url.set_type("text_url");
  }
  auto& emb = data["embedding"];
  if (!doc.meta.embedding.empty()) {
    set_ndarray(emb, doc.meta.embedding, where + " field embedding");
    emb.set_type("ndarray_embedding");
  }
  return serialize(p);
}

}  // namespace

Document document_from_v2(const std::string& docproto_bytes, std::string_view class_name) {
  return from_proto(parse_docproto(docproto_bytes), docproto_bytes, class_name);
}

std::string document_to_v2(const Document& doc) {
  if (doc.meta.foreign_format == kDocArrayV2Format && !doc.meta.foreign_record.empty()) return from_record(doc);
  return as_text_doc(doc);
}

std::string guess_v2_class(const std::string& docproto_bytes) { return class_of(parse_docproto(docproto_bytes)); }

}  // namespace docfs::interop
