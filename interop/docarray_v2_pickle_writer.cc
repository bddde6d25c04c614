#include "interop/docarray_v2_pickle_writer.h"

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "core/document.h"
#include "core/error.h"
#include "docarray_v2.pb.h"
#include "interop/text_util.h"

namespace docfs::interop {
namespace {

namespace v2 = docarray_v2;

struct PyClass {
  std::string module, name;
};

// docarray.documents' classes by the name the decoder reports for them.
const std::map<std::string, std::string, std::less<>> kDocumentModules = {
    {"TextDoc", "docarray.documents.text"},       {"ImageDoc", "docarray.documents.image"},
    {"AudioDoc", "docarray.documents.audio"},     {"VideoDoc", "docarray.documents.video"},
    {"Mesh3D", "docarray.documents.mesh.mesh_3d"}, {"PointCloud3D", "docarray.documents.point_cloud.point_cloud_3d"}};

// A NodeProto's `type` (DocArray's _register_proto names) -> the class that pickles it.
const std::map<std::string, PyClass> kTypeClasses = {
    {"id", {"docarray.typing.id", "ID"}},
    {"ndarray", {"docarray.typing.tensor.ndarray", "NdArray"}},
    {"ndarray_embedding", {"docarray.typing.tensor.embedding.ndarray", "NdArrayEmbedding"}},
    {"image_ndarray", {"docarray.typing.tensor.image.image_ndarray", "ImageNdArray"}},
    {"audio_ndarray", {"docarray.typing.tensor.audio.audio_ndarray", "AudioNdArray"}},
    {"video_ndarray", {"docarray.typing.tensor.video.video_ndarray", "VideoNdArray"}},
    {"any_url", {"docarray.typing.url.any_url", "AnyUrl"}},
    {"image_url", {"docarray.typing.url.image_url", "ImageUrl"}},
    {"text_url", {"docarray.typing.url.text_url", "TextUrl"}},
    {"audio_url", {"docarray.typing.url.audio_url", "AudioUrl"}},
    {"video_url", {"docarray.typing.url.video_url", "VideoUrl"}},
    {"mesh_url", {"docarray.typing.url.url_3d.mesh_url", "Mesh3DUrl"}},
    {"point_cloud_url", {"docarray.typing.url.url_3d.point_cloud_url", "PointCloud3DUrl"}},
    {"image_bytes", {"docarray.typing.bytes.image_bytes", "ImageBytes"}},
    {"audio_bytes", {"docarray.typing.bytes.audio_bytes", "AudioBytes"}},
    {"video_bytes", {"docarray.typing.bytes.video_bytes", "VideoBytes"}}};

// pydantic's AnyUrl keeps these in __slots__; DocArray's own pickles set them to None
// (host_type 'domain'), because DocArray builds its URLs without pydantic's parse.
const char* const kUrlSlots[] = {"scheme", "user", "password", "host", "tld", "host_type",
                                 "port",   "path", "query",    "fragment"};

// Field order in __dict__ (a dict's order is visible in Python): the classes' declaration
// order where docfs knows it, else id first and the rest by name.
const std::map<std::string, std::vector<std::string>, std::less<>> kFieldOrder = {
    {"TextDoc", {"id", "text", "url", "embedding", "bytes_"}},
    {"ImageDoc", {"id", "url", "tensor", "embedding", "bytes_"}}};

// Nested documents are named by their field sets, as docarray_v2.cc names top-level ones.
std::string nested_class(const v2::DocProto& p) {
  std::set<std::string> names;
  for (const auto& [k, v] : p.data()) names.insert(k);
  for (const auto& [cls, order] : kFieldOrder)
    if (names == std::set<std::string>(order.begin(), order.end())) return cls;
  return "";
}

bool is_identifier_path(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '[' || c == ']')) return false;
  return s.front() != '.' && s.back() != '.';
}

class PickleWriter {
 public:
  std::string take() { return std::move(out_); }

  void op(uint8_t c) { out_ += static_cast<char>(c); }
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i, v >>= 8) out_ += static_cast<char>(v & 0xff);
  }
  void str(std::string_view s, const std::string& where) {
    if (!is_utf8(s)) throw UsageError(EINVAL, where + ": a string that is not UTF-8 has no Python str form");
    sized(s, 0x8c, 'X', 0x8d);  // SHORT_BINUNICODE, BINUNICODE, BINUNICODE8
  }
  void bytes(std::string_view s) { sized(s, 'C', 'B', 0x8e); }  // SHORT_BINBYTES, BINBYTES, BINBYTES8
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      op('K');  // BININT1
      le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v < 65536) {
      op('M');  // BININT2
      le(static_cast<uint64_t>(v), 2);
    } else {
      op('J');  // BININT: 4 bytes, signed (NodeProto integers are int32)
      le(static_cast<uint32_t>(static_cast<int32_t>(v)), 4);
    }
  }
  void float64(double d) {
    uint64_t raw;
    std::memcpy(&raw, &d, 8);
    op('G');  // BINFLOAT: big-endian
    for (int i = 7; i >= 0; --i) out_ += static_cast<char>((raw >> (8 * i)) & 0xff);
  }
  void boolean(bool b) { op(b ? 0x88 : 0x89); }
  void global(const PyClass& c) {
    str(c.module, "class");
    str(c.name, "class");
    op(0x93);  // STACK_GLOBAL
  }
  // A tuple of the values written since the matching mark() (TUPLE1..3 when short).
  void tuple_of(size_t n) {
    if (n == 0) op(')');
    else if (n <= 3) op(static_cast<uint8_t>(0x84 + n));
    else op('t');
  }

 private:
  void sized(std::string_view s, uint8_t op1, uint8_t op4, uint8_t op8) {
    if (s.size() < 256) {
      op(op1);
      le(s.size(), 1);
    } else if (s.size() <= UINT32_MAX) {
      op(op4);
      le(s.size(), 4);
    } else {
      op(op8);
      le(s.size(), 8);
    }
    out_.append(s);
  }
  std::string out_;
};

constexpr uint8_t kMark = '(';

class DocPickler {
 public:
  std::string run(const v2::DocProto& p, const PyClass& cls, const std::string& class_key) {
    w_.op(0x80);  // PROTO 4
    w_.op(4);
    document(p, cls, class_key, "document", 0);
    w_.op('.');  // STOP
    return w_.take();
  }

 private:
  void document(const v2::DocProto& p, const PyClass& cls, const std::string& class_key, const std::string& where,
                int depth) {
    if (depth > kMaxNestingDepth)
      throw UsageError(EINVAL, where + ": documents nest deeper than " + std::to_string(kMaxNestingDepth));
    w_.global(cls);
    w_.op(')');
    w_.op(0x81);  // NEWOBJ: cls.__new__(cls)
    w_.op('}');   // pydantic's state
    w_.op(kMark);
    w_.str("__dict__", where);
    w_.op('}');
    std::vector<std::string> order;
    if (auto it = kFieldOrder.find(class_key); it != kFieldOrder.end())
      for (const auto& f : it->second)
        if (p.data().count(f)) order.push_back(f);
    std::set<std::string> rest;
    for (const auto& [k, v] : p.data())
      if (std::find(order.begin(), order.end(), k) == order.end()) rest.insert(k);
    if (rest.erase("id")) order.insert(order.begin(), "id");
    order.insert(order.end(), rest.begin(), rest.end());
    std::vector<std::string> set_fields;
    if (!order.empty()) {
      w_.op(kMark);
      for (const auto& name : order) {
        const v2::NodeProto& n = p.data().at(name);
        w_.str(name, where + " field name");
        node(n, where + " field " + name, depth + 1);
        if (n.content_case() != v2::NodeProto::CONTENT_NOT_SET) set_fields.push_back(name);
      }
      w_.op('u');  // SETITEMS
    }
    // pydantic's __fields_set__: the fields that hold a value (DocArray's own pickles list
    // the fields given to the constructor; an unset field is None there too).
    w_.str("__fields_set__", where);
    w_.op(0x8f);  // EMPTY_SET
    if (!set_fields.empty()) {
      w_.op(kMark);
      for (const auto& f : set_fields) w_.str(f, where);
      w_.op(0x90);  // ADDITEMS
    }
    w_.str("__private_attribute_values__", where);
    w_.op('}');
    w_.op('u');
    w_.op('b');  // BUILD: __setstate__
  }

  void node(const v2::NodeProto& n, const std::string& where, int depth) {
    if (depth > 2 * kMaxNestingDepth)
      throw UsageError(EINVAL, where + ": values nest deeper than " + std::to_string(2 * kMaxNestingDepth));
    const std::string& type = n.type();
    auto typed = [&]() -> const PyClass& {
      auto it = kTypeClasses.find(type);
      if (it == kTypeClasses.end())
        throw UsageError(EINVAL, where + ": DocArray type '" + type.substr(0, 64) +
                                     "' has no pickle form docfs writes (numpy arrays, ids, URLs and bytes types only)");
      return it->second;
    };
    switch (n.content_case()) {
      case v2::NodeProto::CONTENT_NOT_SET: w_.op('N'); return;
      case v2::NodeProto::kText:
        if (type.empty()) {
          w_.str(n.text(), where);
          return;
        }
        w_.global(typed());
        w_.str(n.text(), where);
        w_.tuple_of(1);
        w_.op(0x81);  // NEWOBJ: a str subclass
        if (type != "id") url_state(where);
        return;
      case v2::NodeProto::kInteger: w_.integer(n.integer()); return;
      case v2::NodeProto::kFloat: w_.float64(n.float_()); return;
      case v2::NodeProto::kBoolean: w_.boolean(n.boolean()); return;
      case v2::NodeProto::kBlob:
        if (type.empty()) {
          w_.bytes(n.blob());
          return;
        }
        w_.global(typed());
        w_.bytes(n.blob());
        w_.tuple_of(1);
        w_.op(0x81);  // NEWOBJ: a bytes subclass
        return;
      case v2::NodeProto::kNdarray:
        ndarray(n.ndarray(), type.empty() ? PyClass{"numpy", "ndarray"} : typed(), where);
        return;
      case v2::NodeProto::kDoc: {
        std::string cls = nested_class(n.doc());
        if (cls.empty()) throw unnamed(n.doc(), where);
        document(n.doc(), {kDocumentModules.at(cls), cls}, cls, where, depth);
        return;
      }
      case v2::NodeProto::kDocArray: {
        const auto& docs = n.doc_array().docs();
        if (docs.empty()) {  // no document to name the DocList's class by: an empty list
          w_.op(']');
          return;
        }
        std::string cls = nested_class(docs[0]);
        if (cls.empty()) throw unnamed(docs[0], where + "[0]");
        w_.global({"docarray.array.any_array", "DocList[" + cls + "]"});
        w_.op(')');
        w_.op(0x81);
        w_.op(kMark);
        for (int i = 0; i < docs.size(); ++i) {
          const std::string at = where + "[" + std::to_string(i) + "]";
          if (nested_class(docs[i]) != cls)
            throw UsageError(EINVAL, at + ": not a " + cls + " like the list's first document");
          document(docs[i], {kDocumentModules.at(cls), cls}, cls, at, depth + 1);
        }
        w_.op('e');  // APPENDS
        return;
      }
      case v2::NodeProto::kList:
        w_.op(']');
        items(n.list(), where, depth, 'e');
        return;
      case v2::NodeProto::kSet:
        w_.op(0x8f);
        items(n.set(), where, depth, 0x90);
        return;
      case v2::NodeProto::kTuple: {
        const auto& xs = n.tuple().data();
        if (xs.size() > 3) w_.op(kMark);
        for (int i = 0; i < xs.size(); ++i) node(xs[i], where + "[" + std::to_string(i) + "]", depth + 1);
        w_.tuple_of(static_cast<size_t>(xs.size()));
        return;
      }
      case v2::NodeProto::kDict: {
        w_.op('}');
        const auto& d = n.dict().data();
        if (d.empty()) return;
        std::map<std::string, const v2::NodeProto*> sorted;  // protobuf maps have no order
        for (const auto& [k, v] : d) sorted.emplace(k, &v);
        w_.op(kMark);
        for (const auto& [k, v] : sorted) {
          w_.str(k, where + " key");
          node(*v, where + "['" + k.substr(0, 64) + "']", depth + 1);
        }
        w_.op('u');
        return;
      }
    }
    throw UsageError(EINVAL, where + ": a value docfs cannot pickle");
  }

  void items(const v2::ListOfAnyProto& l, const std::string& where, int depth, uint8_t close) {
    if (l.data().empty()) return;
    w_.op(kMark);
    for (int i = 0; i < l.data().size(); ++i) node(l.data(i), where + "[" + std::to_string(i) + "]", depth + 1);
    w_.op(close);
  }

  void url_state(const std::string& where) {
    w_.op('N');  // no __dict__ entries
    w_.op('}');
    w_.op(kMark);
    for (const char* s : kUrlSlots) {
      w_.str(s, where);
      if (std::strcmp(s, "host_type") == 0) w_.str("domain", where);
      else w_.op('N');
    }
    w_.op('u');
    w_.tuple_of(2);
    w_.op('b');
  }

  // numpy's own reduce: _reconstruct(cls, (0,), b'b'), then BUILD (1, shape, dtype, False, data).
  void ndarray(const v2::NdArrayProto& a, const PyClass& cls, const std::string& where) {
    const auto& d = a.dense();
    std::string dt = d.dtype();
    char order = '<';
    if (!dt.empty() && (dt[0] == '<' || dt[0] == '>' || dt[0] == '|' || dt[0] == '=')) {
      order = dt[0] == '=' ? '<' : dt[0];
      dt.erase(0, 1);
    }
    uint64_t itemsize = 0;
    const bool numeric = dt.size() >= 2 && dt.size() <= 3 && std::string_view("biufc").find(dt[0]) != std::string_view::npos &&
                         std::all_of(dt.begin() + 1, dt.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numeric) itemsize = std::stoull(dt.substr(1));
    if (!numeric || itemsize == 0 || itemsize > 32)
      throw UsageError(EINVAL, where + ": dtype '" + d.dtype().substr(0, 32) + "' is not a numeric numpy dtype docfs pickles");
    if (itemsize == 1) order = '|';
    uint64_t count = 1;
    for (uint32_t s : d.shape()) {
      if (s != 0 && count > UINT64_MAX / s) throw UsageError(EINVAL, where + ": the shape overflows");
      count *= s;
    }
    if (count > UINT64_MAX / itemsize || count * itemsize != d.buffer().size())
      throw UsageError(EINVAL, where + ": " + std::to_string(d.buffer().size()) + " bytes do not fill the shape");
    w_.global({"numpy.core.multiarray", "_reconstruct"});
    w_.global(cls);
    w_.integer(0);
    w_.tuple_of(1);
    w_.bytes("b");
    w_.tuple_of(3);
    w_.op('R');  // REDUCE
    w_.op(kMark);
    w_.integer(1);
    if (d.shape().size() > 3) w_.op(kMark);
    for (uint32_t s : d.shape()) {
      if (s > INT32_MAX) {  // BININT is signed 32-bit; no DocProto array is this long in one dimension
        throw UsageError(EINVAL, where + ": a dimension over 2^31");
      }
      w_.integer(s);
    }
    w_.tuple_of(static_cast<size_t>(d.shape().size()));
    w_.global({"numpy", "dtype"});  // numpy.dtype('f4', False, True), BUILD (3, order, ...)
    w_.str(dt, where);
    w_.boolean(false);
    w_.boolean(true);
    w_.tuple_of(3);
    w_.op('R');
    w_.op(kMark);
    w_.integer(3);
    w_.str(std::string(1, order), where);
    w_.op('N');
    w_.op('N');
    w_.op('N');
    w_.integer(-1);
    w_.integer(-1);
    w_.integer(0);
    w_.op('t');
    w_.op('b');
    w_.boolean(false);  // C order
    w_.bytes(d.buffer());
    w_.op('t');
    w_.op('b');
  }

  static UsageError unnamed(const v2::DocProto& p, const std::string& where) {
    std::string fields;
    for (const auto& [k, v] : p.data()) fields += (fields.empty() ? "" : " ") + k;
    return UsageError(EINVAL, where + ": a nested document of a class docfs cannot name (fields: " +
                                  fields.substr(0, 128) +
                                  "); only TextDoc and ImageDoc are recognized inside a document");
  }

  PickleWriter w_;
};

PyClass top_class(std::string_view class_name) {
  if (auto it = kDocumentModules.find(class_name); it != kDocumentModules.end())
    return {it->second, std::string(class_name)};
  // Only the modules the decoder accepts (docarray_v2_pickle.h): what docfs writes, it reads.
  const size_t dot = class_name.rfind('.');
  const std::string_view module = dot == std::string_view::npos ? "" : class_name.substr(0, dot);
  if (!is_identifier_path(class_name) || (module != "__main__" && module.rfind("docarray.", 0) != 0))
    throw UsageError(EINVAL, "DocArray class '" + std::string(class_name.substr(0, 64)) +
                                 "' is unknown: docfs pickles docarray.documents' classes by name and a user's "
                                 "class as __main__.Class");
  return {std::string(class_name.substr(0, dot)), std::string(class_name.substr(dot + 1))};
}

}  // namespace

std::string pickle_from_docproto(const std::string& docproto, std::string_view class_name) {
  const PyClass cls = top_class(class_name);
  v2::DocProto p;
  if (docproto.size() > static_cast<size_t>(INT_MAX)) throw UsageError(EFBIG, "a DocProto over 2 GiB");
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(docproto.data()),
                                            static_cast<int>(docproto.size()));
  in.SetRecursionLimit(kMaxNestingDepth * 5);
  if (!p.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    throw UsageError(EINVAL, "the document's DocArray record is not a DocProto");
  return DocPickler().run(p, cls, std::string(class_name));
}

}  // namespace docfs::interop
