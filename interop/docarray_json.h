// DocArray v0's JSON: to_json() with protocol='jsonschema' (DocArray's default: every field,
// null when empty, blob base64, tensor/embedding nested lists) or protocol='protobuf'
// (protobuf's JSON mapping, camelCase), Jina 2.x's field names (buffer = bytes,
// blob = ndarray), as a JSON array or as JSON Lines (Jina's save_json).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>

#include "interop/document_io.h"

namespace docfs::interop {

// One document in the jsonschema layout (every field, null when empty). Without content
// the text/blob/tensor fields are left out (the user.docarray attribute).
nlohmann::json document_to_json(const Document& doc, bool with_content = true);
// One document from any of the three layouts (recognized per object). Throws UsageError
// naming the field that is malformed or that docfs cannot keep.
Document document_from_json(const nlohmann::json& j);

// A JSON array of documents (or JSON Lines when `lines`), parsed one element at a time.
std::unique_ptr<DocumentSource> json_source(std::unique_ptr<ByteInput> in, bool lines);
std::unique_ptr<DocumentSink> json_sink(ByteOutput& out, bool protobuf_layout, bool lines);

}  // namespace docfs::interop
