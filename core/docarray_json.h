// DocArray's JSON layout, so arrays move between docfs and Python DocArray's
// to_json()/from_json(): a JSON array of objects with id, text or blob (base64),
// mime_type, uri, tags and embedding.
#pragma once

#include <istream>
#include <ostream>

#include "core/store.h"

namespace docfs {

// Writes every live document (directory markers excepted), sorted by id. Content that is
// valid UTF-8 with a text/* or empty mime type goes out as "text", anything else as
// base64 "blob". Returns the number written.
size_t export_docarray_json(const Store& store, std::ostream& out);

// Reads such an array and puts every document (one flush at the end). Throws UsageError
// naming the array index of a malformed document; nothing is written in that case.
size_t import_docarray_json(Store& store, std::istream& in);

}  // namespace docfs
