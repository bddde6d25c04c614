// DocArray v2's objects on a remote, as far as the backends need to know them: the name
// (`DocList.push('file://DIR/NAME')` and `s3://BUCKET/PREFIX/NAME` write NAME.docs) and, on
// file://, the document count read off the stream's u32 big-endian length prefixes (no
// payload is read). The documents themselves are interop/'s (interop/docarray_v2_stream.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/file_io.h"

namespace docfs::remote {

inline constexpr std::string_view kDocArraySuffix = ".docs";

// KEY ends in ".docs" (and is more than that).
bool is_docarray_key(std::string_view key);
// Walks the length prefixes of a file:// DocArray stream of `size` bytes: the document count
// when the u32 0 end marker is exactly the last 4 bytes, nullopt when the framing is broken
// or more than `max_documents` documents would have to be walked.
std::optional<uint64_t> count_docarray_stream(const File& f, uint64_t size, uint64_t max_documents = 1u << 20);

}  // namespace docfs::remote
