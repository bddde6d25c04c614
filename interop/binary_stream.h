// DocArray v0's binary stream (to_bytes/save_binary with protocol='protobuf', and the body
// of v0 push()): byte 0x01, u64 big-endian document count, then per document a u32
// big-endian length and the DocumentProto, compressed per document.
#pragma once

#include <memory>

#include "interop/compression.h"
#include "interop/docarray_proto.h"
#include "interop/document_io.h"

namespace docfs::interop {

// per_doc: kAuto recognizes each document's compression by its magic bytes.
std::unique_ptr<DocumentSource> stream_source(std::unique_ptr<ByteInput> in, Compression per_doc);
// Writes the header with `count`; finish() throws UsageError when a different number of
// documents was written.
std::unique_ptr<DocumentSink> stream_sink(ByteOutput& out, Compression per_doc, uint64_t count);

}  // namespace docfs::interop
