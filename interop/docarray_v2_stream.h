// DocArray v2's (0.40.1) file:// stream (docarray/store/helpers.py _to_binary_stream with
// protocol='protobuf', compress='gzip'): per document a u32 big-endian length and
// gzip(DocProto); a u32 0 ends the stream. No header, count or version: the file starts
// with the first length. What `DocList.push('file://DIR/NAME')` writes to DIR/NAME.docs.
#pragma once

#include <memory>
#include <string>

#include "interop/document_io.h"

namespace docfs::interop {

// `class_name` is recorded on every document (see document_from_v2); "" guesses per document.
// Throws FormatError naming the byte offset for a broken stream (a length past the end, a
// missing end marker, corrupt gzip, a length over kMaxDocumentBytes, bytes after the end
// marker); BadDocument for a DocProto docfs cannot take.
std::unique_ptr<DocumentSource> docarray_v2_source(std::unique_ptr<ByteInput> in, std::string class_name = "");
// DocArray's s3:// object: the whole object gzip-compressed around the same framing, each
// item a pickle of the document, decoded without executing anything (docarray_v2_pickle.h).
// A pickle outside that subset is a FormatError naming the document, the byte and what it met.
std::unique_ptr<DocumentSource> docarray_v2_pickle_source(std::unique_ptr<ByteInput> in);
// finish() writes the end marker; `out` is its owner's to finish.
std::unique_ptr<DocumentSink> docarray_v2_sink(ByteOutput& out);
// The s3:// object: pickles (docarray_v2_pickle_writer.h) in the same framing, the whole
// stream gzip'd; finish() writes the end marker and the gzip trailer. A document whose
// DocArray class docfs cannot name (see the writer) is a BadDocument.
std::unique_ptr<DocumentSink> docarray_v2_pickle_sink(ByteOutput& out);

}  // namespace docfs::interop
