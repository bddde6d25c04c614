// What the two binary document-array formats (the V1 stream and protobuf-array) share:
// reading one length-prefixed document without trusting the length, and turning a document
// that cannot be kept into BadDocument so the caller may step over it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "interop/byte_io.h"
#include "interop/docarray_proto.h"

namespace docfs::interop {

// The largest single document either format reads (its bytes as stored, and decompressed).
inline constexpr uint64_t kMaxDocumentBytes = 1ull << 30;

// Reads up to n bytes into `out` (replacing it), growing it as bytes arrive, so a length
// field that lies costs only the bytes that really follow. Returns how many were read.
size_t read_growing(ByteInput& in, uint64_t n, std::string& out);

// Parses document number `index`; a FormatError or UsageError about it becomes BadDocument
// (with the id when the bytes start with one), since the framing around it is intact.
Document parse_document(std::string_view bytes, ProtoSchema schema, uint64_t index);

// document_to_proto for sinks: a field that does not fit throws BadDocument for `index`.
std::string serialize_document(const Document& doc, uint64_t index);

}  // namespace docfs::interop
