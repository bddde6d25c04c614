// Parallel ranged GETs into a local file: how both s3:// pulls and presigned-URL pulls
// download large objects.
#pragma once

#include <functional>

#include "core/file_io.h"
#include "remote/backend.h"
#include "remote/http_client.h"

namespace docfs::remote {

// An unlinked temporary file in `dir` (O_TMPFILE when the filesystem has it).
File make_temp_file(const std::string& dir);

// Downloads bytes [start, end) of an object into f (at the same offsets), in ranges of
// client.options().part_size fetched by up to options().concurrency threads. `build(from,
// to_inclusive)` returns a fresh, signed request carrying the Range header.
void download_ranges(HttpClient& client, const std::function<HttpRequest(uint64_t, uint64_t)>& build,
                     uint64_t start, uint64_t end, const File& f, Progress* progress, const std::string& what);

}  // namespace docfs::remote
