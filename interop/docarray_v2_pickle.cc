#include "interop/docarray_v2_pickle.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "core/document.h"
#include "core/error.h"
#include "docarray_v2.pb.h"

namespace docfs::interop {
namespace {

namespace v2 = docarray_v2;

// A pickled value. Values are owned by the decoder's arena and referenced by pointer, as
// Python references them: the memo shares them, and APPEND/BUILD/SETITEMS change them in place.
enum class Kind { kNone, kBool, kInt, kFloat, kStr, kBytes, kTuple, kList, kDict, kSet, kGlobal, kObject, kArray,
                  kDtype };

struct Value {
  Kind kind = Kind::kNone;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;   // str, bytes, global module, dtype name ("f4"), array data
  std::string s2;  // global name
  std::vector<Value*> items;  // tuple, list, set; object: NEWOBJ args, then DocList items
  std::vector<std::pair<Value*, Value*>> dict;
  Value* cls = nullptr;    // object, array: the class global
  Value* state = nullptr;  // object: what BUILD gave it
  std::vector<uint64_t> shape;  // array
  Value* dtype = nullptr;       // array
  bool built = false;           // array, dtype
  char byteorder = '<';         // dtype
};

// DocArray's proto type names for its classes (docarray/typing/**: @_register_proto).
const std::map<std::string, std::string> kProtoTypes = {
    {"ID", "id"}, {"NdArray", "ndarray"}, {"NdArrayEmbedding", "ndarray_embedding"},
    {"ImageNdArray", "image_ndarray"}, {"AudioNdArray", "audio_ndarray"}, {"VideoNdArray", "video_ndarray"},
    {"AnyUrl", "any_url"}, {"ImageUrl", "image_url"}, {"TextUrl", "text_url"}, {"AudioUrl", "audio_url"},
    {"VideoUrl", "video_url"}, {"Mesh3DUrl", "mesh_url"}, {"PointCloud3DUrl", "point_cloud_url"},
    {"ImageBytes", "image_bytes"}, {"AudioBytes", "audio_bytes"}, {"VideoBytes", "video_bytes"}};

constexpr size_t kMaxStack = 1u << 20;
constexpr size_t kMaxMemo = 1u << 20;

class Unpickler {
 public:
  explicit Unpickler(std::string_view in) : in_(in) {}

  Value* run() {
    while (true) {
      op_at_ = pos_;
      const uint8_t op = u8();
      switch (op) {
        case 0x80: u8(); break;               // PROTO
        case 0x95: take(8); break;            // FRAME (length only: we hold the whole pickle)
        case '.': {                           // STOP
          if (stack_.size() != 1 || !marks_.empty()) fail("STOP with " + std::to_string(stack_.size()) + " values");
          return stack_.back();
        }
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case '0': pop(); break;                             // POP
        case '1': pop_mark(); break;                        // POP_MARK
        case 'N': push(make(Kind::kNone)); break;
        case 0x88: case 0x89: { Value* v = make(Kind::kBool); v->b = op == 0x88; push(v); break; }
        case 'J': { Value* v = make(Kind::kInt); v->i = static_cast<int32_t>(le(4)); push(v); break; }
        case 'K': { Value* v = make(Kind::kInt); v->i = static_cast<int64_t>(le(1)); push(v); break; }
        case 'M': { Value* v = make(Kind::kInt); v->i = static_cast<int64_t>(le(2)); push(v); break; }
        case 0x8a: {  // LONG1: little-endian two's complement, at most 8 bytes here
          size_t n = u8();
          if (n > 8) fail("LONG1 of " + std::to_string(n) + " bytes (more than 64 bits)");
          uint64_t raw = le(n);
          if (n > 0 && n < 8 && (raw >> (8 * n - 1)) & 1) raw |= ~uint64_t{0} << (8 * n);
          Value* v = make(Kind::kInt);
          v->i = static_cast<int64_t>(raw);
          push(v);
          break;
        }
        case 'G': {  // BINFLOAT: big-endian double
          uint64_t raw = 0;
          for (char c : take(8)) raw = (raw << 8) | static_cast<unsigned char>(c);
          Value* v = make(Kind::kFloat);
          std::memcpy(&v->f, &raw, 8);
          push(v);
          break;
        }
        case 0x8c: push_string(Kind::kStr, le(1)); break;  // SHORT_BINUNICODE
        case 'X': push_string(Kind::kStr, le(4)); break;   // BINUNICODE
        case 0x8d: push_string(Kind::kStr, le(8)); break;  // BINUNICODE8
        case 'C': push_string(Kind::kBytes, le(1)); break; // SHORT_BINBYTES
        case 'B': push_string(Kind::kBytes, le(4)); break; // BINBYTES
        case 0x8e: push_string(Kind::kBytes, le(8)); break;  // BINBYTES8
        case ')': push(make(Kind::kTuple)); break;
        case 't': { Value* v = make(Kind::kTuple); v->items = pop_mark(); push(v); break; }
        case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
          size_t n = op - 0x84;
          if (stack_.size() < n + base()) fail("TUPLE" + std::to_string(n) + " on a short stack");
          Value* v = make(Kind::kTuple);
          v->items.assign(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          push(v);
          break;
        }
        case ']': push(make(Kind::kList)); break;
        case '}': push(make(Kind::kDict)); break;
        case 0x8f: push(make(Kind::kSet)); break;
        case 'a': { Value* x = pop(); append(top(), {x}); break; }
        case 'e': { auto xs = pop_mark(); append(top(), xs); break; }
        case 's': { Value* v = pop(); Value* k = pop(); set_items(top(), {k, v}); break; }
        case 'u': { auto kv = pop_mark(); set_items(top(), kv); break; }
        case 0x90: {  // ADDITEMS
          auto xs = pop_mark();
          Value* s = top();
          if (s->kind != Kind::kSet) fail("ADDITEMS to something that is not a set");
          s->items.insert(s->items.end(), xs.begin(), xs.end());
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          Value* name = pop();
          Value* module = pop();
          if (module->kind != Kind::kStr || name->kind != Kind::kStr) fail("STACK_GLOBAL of non-strings");
          push(global(module->s, name->s));
          break;
        }
        case 'c': {  // GLOBAL: "module\nname\n"
          std::string module = line(), name = line();
          push(global(module, name));
          break;
        }
        case 0x81: {  // NEWOBJ: cls.__new__(cls, *args); nothing runs, we record it
          Value* args = pop();
          Value* cls = pop();
          if (cls->kind != Kind::kGlobal || args->kind != Kind::kTuple) fail("NEWOBJ needs a class and a tuple");
          if (is(cls, "numpy", "dtype") || is(cls, "numpy.core.multiarray", "_reconstruct"))
            fail("NEWOBJ of " + cls->s + "." + cls->s2 + " is not what DocArray's pickles hold");
          Value* v = make(Kind::kObject);
          v->cls = cls;
          v->items = args->items;
          push(v);
          break;
        }
        case 'R': reduce(); break;
        case 'b': build(); break;
        case 0x94: memoize(top()); break;                   // MEMOIZE
        case 'q': put(le(1)); break;                        // BINPUT
        case 'r': put(le(4)); break;                        // LONG_BINPUT
        case 'h': push(get(le(1))); break;                  // BINGET
        case 'j': push(get(le(4))); break;                  // LONG_BINGET
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          fail(std::string("opcode ") + hex + " is outside the subset docfs reads (it executes nothing)");
        }
      }
    }
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw FormatError("pickle byte " + std::to_string(op_at_) + ": " + why);
  }

 private:
  Value* make(Kind k) {
    arena_.push_back(std::make_unique<Value>());
    arena_.back()->kind = k;
    return arena_.back().get();
  }
  uint8_t u8() { return static_cast<uint8_t>(take(1)[0]); }
  std::string_view take(uint64_t n) {
    if (n > in_.size() - pos_) fail("needs " + std::to_string(n) + " bytes, " + std::to_string(in_.size() - pos_) +
                                    " are left (truncated)");
    std::string_view out = in_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  uint64_t le(size_t n) {
    uint64_t v = 0;
    std::string_view b = take(n);
    for (size_t k = n; k-- > 0;) v = (v << 8) | static_cast<unsigned char>(b[k]);
    return v;
  }
  std::string line() {
    size_t nl = in_.find('\n', pos_);
    if (nl == std::string_view::npos || nl - pos_ > 256) fail("GLOBAL without a short line");
    std::string s(in_.substr(pos_, nl - pos_));
    pos_ = nl + 1;
    return s;
  }
  void push_string(Kind k, uint64_t n) {
    Value* v = make(k);
    v->s = std::string(take(n));  // take() checks n against what is left first
    push(v);
  }
  size_t base() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(Value* v) {
    if (stack_.size() >= kMaxStack) fail("the stack grows past " + std::to_string(kMaxStack));
    stack_.push_back(v);
  }
  Value* pop() {
    if (stack_.size() <= base()) fail("pop from an empty stack");
    Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value* top() {
    if (stack_.size() <= base()) fail("no value on the stack");
    return stack_.back();
  }
  std::vector<Value*> pop_mark() {
    if (marks_.empty()) fail("no MARK");
    std::vector<Value*> out(stack_.begin() + marks_.back(), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return out;
  }
  void memoize(Value* v) {
    if (memo_.size() >= kMaxMemo) fail("more than " + std::to_string(kMaxMemo) + " memo entries");
    memo_[memo_.size()] = v;
  }
  void put(uint64_t i) {
    if (memo_.size() >= kMaxMemo && !memo_.count(i)) fail("too many memo entries");
    memo_[i] = top();
  }
  Value* get(uint64_t i) {
    auto it = memo_.find(i);
    if (it == memo_.end()) fail("memo entry " + std::to_string(i) + " was never stored");
    return it->second;
  }
  static bool is(const Value* g, std::string_view module, std::string_view name) {
    return g->kind == Kind::kGlobal && g->s == module && g->s2 == name;
  }
  // Only what DocArray's document pickles name. Naming a class runs nothing here: it is a tag.
  Value* global(const std::string& module, const std::string& name) {
    const bool ok = (module == "numpy.core.multiarray" && name == "_reconstruct") ||
                    (module == "numpy" && (name == "dtype" || name == "ndarray")) ||
                    module.rfind("docarray.", 0) == 0 || module == "__main__";
    if (!ok) fail("global " + module + "." + name + " is not one DocArray's documents use; refused (nothing runs)");
    Value* v = make(Kind::kGlobal);
    v->s = module;
    v->s2 = name;
    return v;
  }
  void append(Value* target, const std::vector<Value*>& xs) {
    // A DocList pickles as an object its documents are APPENDed to.
    if (target->kind != Kind::kList && target->kind != Kind::kObject) fail("APPEND to something that is not a list");
    target->items.insert(target->items.end(), xs.begin(), xs.end());
  }
  void set_items(Value* target, const std::vector<Value*>& kv) {
    if (target->kind != Kind::kDict) fail("SETITEM on something that is not a dict");
    if (kv.size() % 2) fail("SETITEMS with an odd number of values");
    for (size_t k = 0; k < kv.size(); k += 2) target->dict.emplace_back(kv[k], kv[k + 1]);
  }
  // The two calls DocArray's pickles make: numpy's array reconstructor and numpy.dtype.
  // Neither is called: the array is recorded, BUILD fills it in.
  void reduce() {
    Value* args = pop();
    Value* fn = pop();
    if (args->kind != Kind::kTuple) fail("REDUCE without an argument tuple");
    if (is(fn, "numpy.core.multiarray", "_reconstruct")) {
      if (args->items.size() != 3 || args->items[0]->kind != Kind::kGlobal) fail("_reconstruct with odd arguments");
      Value* v = make(Kind::kArray);
      v->cls = args->items[0];
      push(v);
    } else if (is(fn, "numpy", "dtype")) {
      if (args->items.empty() || args->items[0]->kind != Kind::kStr || args->items[0]->s.size() > 8)
        fail("numpy.dtype with odd arguments");
      Value* v = make(Kind::kDtype);
      v->s = args->items[0]->s;
      push(v);
    } else {
      fail("REDUCE of " + (fn->kind == Kind::kGlobal ? fn->s + "." + fn->s2 : std::string("a non-global")) +
           " is not allowed (only numpy's array reconstructor and numpy.dtype)");
    }
  }
  void build() {
    Value* state = pop();
    Value* t = top();
    if (t->kind == Kind::kArray) {
      // (version, shape, dtype, is_fortran, data)
      const auto& s = state->items;
      if (state->kind != Kind::kTuple || s.size() != 5 || s[1]->kind != Kind::kTuple || s[2]->kind != Kind::kDtype ||
          s[3]->kind != Kind::kBool || s[4]->kind != Kind::kBytes)
        fail("an ndarray state that is not (version, shape, dtype, fortran, bytes)");
      if (s[3]->b) fail("a Fortran-order array (docfs keeps C order only)");
      for (Value* d : s[1]->items) {
        if (d->kind != Kind::kInt || d->i < 0) fail("an array dimension that is not a non-negative integer");
        t->shape.push_back(static_cast<uint64_t>(d->i));
      }
      t->dtype = s[2];
      t->s = s[4]->s;
      t->built = true;
    } else if (t->kind == Kind::kDtype) {
      if (state->kind != Kind::kTuple || state->items.size() < 2 || state->items[1]->kind != Kind::kStr ||
          state->items[1]->s.size() != 1)
        fail("a dtype state without a byte order");
      t->byteorder = state->items[1]->s[0] == '=' ? '<' : state->items[1]->s[0];
      t->built = true;
    } else if (t->kind == Kind::kObject) {
      t->state = state;
    } else {
      fail("BUILD on something that is not an object");
    }
  }

  std::string_view in_;
  size_t pos_ = 0, op_at_ = 0;
  std::vector<std::unique_ptr<Value>> arena_;
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, Value*> memo_;
};

// ---- the decoded tree -> DocProto, as DocArray's to_protobuf would write it --------------

class ToProto {
 public:
  explicit ToProto(const Unpickler& u) : u_(u) {}

  bool is_document(const Value* v) const {
    // A BaseDoc's state is pydantic's dict; a URL's BUILD state is a (None, slots) tuple.
    return v->kind == Kind::kObject && v->state && v->state->kind == Kind::kDict &&
           v->cls->s2.rfind("DocList", 0) != 0;
  }

  void doc(const Value* v, v2::DocProto& out, int depth) {
    if (depth > kMaxNestingDepth) u_.fail("documents nest deeper than " + std::to_string(kMaxNestingDepth));
    const Value* fields = v->state;
    if (fields->kind == Kind::kDict)  // pydantic v1: {'__dict__': fields, '__fields_set__': ..., ...}
      for (const auto& [k, val] : fields->dict)
        if (k->kind == Kind::kStr && k->s == "__dict__") fields = val;
    if (fields->kind != Kind::kDict) u_.fail("a document of " + v->cls->s2 + " without a field dict");
    for (const auto& [k, val] : fields->dict) {
      if (k->kind != Kind::kStr) u_.fail("a field name that is not a string");
      node(val, (*out.mutable_data())[k->s], depth + 1);
    }
  }

  void node(const Value* v, v2::NodeProto& n, int depth) {
    if (depth > kMaxNestingDepth * 2) u_.fail("values nest deeper than " + std::to_string(kMaxNestingDepth * 2));
    switch (v->kind) {
      case Kind::kNone: return;
      case Kind::kBool: n.set_boolean(v->b); return;
      case Kind::kInt:
        if (v->i < INT32_MIN || v->i > INT32_MAX) u_.fail("integer " + std::to_string(v->i) + " does not fit int32");
        n.set_integer(static_cast<int32_t>(v->i));
        return;
      case Kind::kFloat: n.set_float_(v->f); return;
      case Kind::kStr: n.set_text(v->s); return;
      case Kind::kBytes: n.set_blob(v->s); return;
      case Kind::kTuple: list(v, *n.mutable_tuple(), depth); return;
      case Kind::kList: list(v, *n.mutable_list(), depth); return;
      case Kind::kSet: list(v, *n.mutable_set(), depth); return;
      case Kind::kDict:
        n.mutable_dict();  // an empty dict is still a dict, not None
        for (const auto& [k, val] : v->dict) {
          if (k->kind != Kind::kStr) u_.fail("a dict key that is not a string (DocArray's protobuf needs strings)");
          node(val, (*n.mutable_dict()->mutable_data())[k->s], depth + 1);
        }
        return;
      case Kind::kArray: {
        if (!v->built || !v->dtype->built) u_.fail("an ndarray that was never filled in");
        auto* d = n.mutable_ndarray()->mutable_dense();
        d->set_dtype(std::string(1, v->dtype->byteorder) + v->dtype->s);
        for (uint64_t s : v->shape) {
          if (s > UINT32_MAX) u_.fail("an array dimension over 2^32");
          d->add_shape(static_cast<uint32_t>(s));
        }
        d->set_buffer(v->s);
        set_type(n, v->cls);
        return;
      }
      case Kind::kObject:
        if (is_document(v)) {
          doc(v, *n.mutable_doc(), depth);
          return;
        }
        if (v->cls->s2.rfind("DocList", 0) == 0) {  // e.g. DocList[TextDoc]
          n.mutable_doc_array();  // an empty DocList is still one, not None
          for (const Value* d : v->items) {
            if (!is_document(d)) u_.fail("a DocList item that is not a document");
            doc(d, *n.mutable_doc_array()->add_docs(), depth + 1);
          }
          return;
        }
        // A str or bytes subclass (ID, ImageUrl, ImageBytes...): NEWOBJ(cls, (value,)).
        if (v->items.size() == 1 && (v->items[0]->kind == Kind::kStr || v->items[0]->kind == Kind::kBytes)) {
          if (v->items[0]->kind == Kind::kStr) n.set_text(v->items[0]->s);
          else n.set_blob(v->items[0]->s);
          set_type(n, v->cls);
          return;
        }
        u_.fail("an object of " + v->cls->s + "." + v->cls->s2 + " docfs cannot represent");
      default: u_.fail("a value that is not a document field (a class or dtype on its own)");
    }
  }

 private:
  void list(const Value* v, v2::ListOfAnyProto& out, int depth) {
    for (const Value* x : v->items) node(x, *out.add_data(), depth + 1);
  }
  static void set_type(v2::NodeProto& n, const Value* cls) {
    if (auto it = kProtoTypes.find(cls->s2); it != kProtoTypes.end()) n.set_type(it->second);
  }
  const Unpickler& u_;
};

}  // namespace

PickledDocument docproto_from_pickle(std::string_view pickle) {
  Unpickler u(pickle);
  const Value* top = u.run();
  ToProto conv(u);
  if (!conv.is_document(top)) u.fail("the pickle is not a DocArray document");
  v2::DocProto p;
  conv.doc(top, p, 0);
  PickledDocument out;
  const std::string& module = top->cls->s;
  const std::string& name = top->cls->s2;
  out.class_name = module.rfind("docarray.documents.", 0) == 0 ? name : module + "." + name;
  google::protobuf::io::StringOutputStream s(&out.docproto);
  google::protobuf::io::CodedOutputStream c(&s);
  c.SetSerializationDeterministic(true);
  p.SerializeToCodedStream(&c);
  c.Trim();
  return out;
}

}  // namespace docfs::interop
