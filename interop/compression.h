// The compressions DocArray v0 uses (docarray/helper.py compress_bytes): per document in
// the binary stream, for the whole file in protobuf-array. Streaming both ways; inputs are
// untrusted, so every decompressor bounds its output.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "interop/byte_io.h"

namespace docfs::interop {

enum class Compression { kAuto, kNone, kGzip, kZlib, kBz2, kLzma, kLz4 };

// "gzip", "zlib", "bz2", "lzma", "lz4", "none" (DocArray's names); nullopt otherwise.
std::optional<Compression> parse_compression(std::string_view name);
std::string_view compression_name(Compression c);
// Recognizes a compressed buffer by its magic bytes; kNone when it has none.
Compression sniff_compression(std::string_view first_bytes);

// Whole buffers (per-document compression). decompress throws FormatError when the bytes
// are corrupt or would expand beyond `limit` bytes.
std::string compress(std::string_view data, Compression c);
std::string decompress(std::string_view data, Compression c, size_t limit);

// Streams (whole-file compression). The returned input reads decompressed bytes from `in`;
// the returned output compresses into `out` and writes its trailer in finish().
std::unique_ptr<ByteInput> decompressing(std::unique_ptr<ByteInput> in, Compression c);
std::unique_ptr<ByteOutput> compressing(ByteOutput& out, Compression c);

}  // namespace docfs::interop
