// TEMPORARY (removed when the protobuf side lands): link stubs.
#include "interop/binary_stream.h"
#include "interop/compression.h"
#include "interop/docarray_proto.h"
#include "interop/npy.h"
#include "interop/protobuf_array.h"
namespace docfs::interop {
[[noreturn]] static void nyi() { throw UsageError(ENOSYS, "not yet"); }
std::optional<Compression> parse_compression(std::string_view n) { if (n == "none") return Compression::kNone; return std::nullopt; }
std::string_view compression_name(Compression) { return "?"; }
Compression sniff_compression(std::string_view) { return Compression::kNone; }
std::unique_ptr<ByteInput> decompressing(std::unique_ptr<ByteInput>, Compression) { nyi(); }
std::string npy_encode(const NdArray&) { nyi(); }
NdArray npy_decode(std::string_view) { nyi(); }
Document document_from_proto(std::string_view, ProtoSchema) { nyi(); }
std::string document_to_proto_json(const Document&) { nyi(); }
std::unique_ptr<DocumentSource> stream_source(std::unique_ptr<ByteInput>, Compression) { nyi(); }
std::unique_ptr<DocumentSink> stream_sink(ByteOutput&, Compression, uint64_t) { nyi(); }
std::unique_ptr<DocumentSource> protobuf_array_source(std::unique_ptr<ByteInput>, std::optional<ProtoSchema>) { nyi(); }
std::unique_ptr<DocumentSink> protobuf_array_sink(ByteOutput&, Compression) { nyi(); }
}
