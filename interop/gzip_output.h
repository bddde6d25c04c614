// A gzip stream for large, mostly incompressible payloads (DocArray's s3:// objects: one gzip
// around every document). DocArray itself writes level 9, which made a 1 GiB push of image
// or random bytes CPU-bound; any level reads back the same. This output uses level 1 and
// switches to stored blocks (level 0) for a write whose 16 KiB sample does not shrink by 5%
// at level 1, as the file:// stream's per-document gzip does (docarray_v2_stream.cc).
#pragma once

#include <memory>

#include "interop/byte_io.h"

namespace docfs::interop {

// Compresses into `out` (not owned); finish() writes the gzip trailer, not out.finish().
std::unique_ptr<ByteOutput> adaptive_gzip_output(ByteOutput& out);

}  // namespace docfs::interop
