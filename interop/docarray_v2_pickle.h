// DocArray v2's s3:// objects hold documents as Python pickles (protocol='pickle'). docfs
// reads them with a decoder of its own that executes nothing: it interprets the subset of
// pickle opcodes (protocols 2-5) that pickling a BaseDoc produces, and accepts only the
// globals such a pickle names (docarray's document and type classes, user document classes
// in __main__, numpy's array reconstructor and dtype). The result is the DocProto that
// DocArray's protobuf path would write for the same document, so the rest of docfs sees one
// v2 representation (interop/docarray_v2.h).
#pragma once

#include <string>
#include <string_view>

namespace docfs::interop {

struct PickledDocument {
  std::string docproto;    // serialized DocProto
  std::string class_name;  // "TextDoc", "ImageDoc", or "module.Class" (e.g. "__main__.MyDoc")
};

// Throws FormatError naming the byte offset (within `pickle`) and the opcode or global that
// is outside the subset, or the structure that is not a document.
PickledDocument docproto_from_pickle(std::string_view pickle);

}  // namespace docfs::interop
