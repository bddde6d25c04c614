// DocArray v0's save_binary(protocol='protobuf-array') and Jina 2.x's save_binary: one
// DocumentArrayProto (repeated DocumentProto docs = 1), read and written one document at a
// time. Whole-file compression is the caller's (see compression.h).
#pragma once

#include <memory>

#include "interop/docarray_proto.h"
#include "interop/document_io.h"

namespace docfs::interop {

// schema: which DocumentProto the array holds; nullopt = decide from the first document.
std::unique_ptr<DocumentSource> protobuf_array_source(std::unique_ptr<ByteInput> in,
                                                      std::optional<ProtoSchema> schema);
// whole: the whole file's compression (the sink owns the compressor and ends it in finish()).
std::unique_ptr<DocumentSink> protobuf_array_sink(ByteOutput& out, Compression whole);

}  // namespace docfs::interop
