// DocArray v2 (0.40.1) documents: a DocProto (a map field name -> NodeProto) to the docfs
// model and back. The whole DocProto is kept in DocumentMeta::foreign_record, so every field
// of any document class survives a pull and a push; the natural fields are also mapped onto
// the model so the mount shows them (SEMANTICS.md "DocArray v2 remotes"):
//   id -> id; text, else bytes_ / blob, else tensor (as .npy) -> content; url -> uri;
//   embedding -> embedding; other text/integer/float/boolean fields -> tags.
#pragma once

#include <string>
#include <string_view>

#include "core/document.h"

namespace docfs::interop {

inline constexpr const char* kDocArrayV2Format = "docarray-v2";

// Parses one serialized DocProto. `class_name` is recorded as foreign_class; "" lets docfs
// name TextDoc / ImageDoc by their field sets (the stream does not record the class).
// Throws FormatError when the bytes are not a DocProto, UsageError naming the field when
// docfs cannot take the document (no id, an invalid id, a malformed array).
Document document_from_v2(const std::string& docproto_bytes, std::string_view class_name);

// Serializes a document as a DocProto. A document with a docarray-v2 record re-emits that
// record with the fields whose model view changed (content, uri, embedding, tags of scalar
// fields) replaced; any other document becomes a TextDoc {id, text or bytes_, url,
// embedding}. Throws UsageError naming the document and field when it cannot.
std::string document_to_v2(const Document& doc);

// "TextDoc" / "ImageDoc" when the DocProto's field names are exactly those classes', else "".
std::string guess_v2_class(const std::string& docproto_bytes);

}  // namespace docfs::interop
