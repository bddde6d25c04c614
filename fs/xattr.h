// Document metadata as extended attributes:
//   user.mime_type, user.uri        the strings (absent when empty)
//   user.embedding                  float32 little-endian bytes (absent when empty); an
//                                   embedding of another dtype is shown converted to
//                                   float32 and flattened (user.docarray has it exactly)
//   user.tag.NAME                   one per tag (a string as is, other types as JSON)
//   user.docarray                   the whole typed record as DocArray JSON (jsonschema
//                                   layout, without the content); setting it replaces
//                                   every DocArray field. Listed only when the document
//                                   has a field no other attribute shows.
// Pure functions over DocumentMeta; the caller stores the changed meta.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/document.h"

namespace docfs::fs {

// The value, or nullopt when the attribute is not set (ENODATA).
std::optional<std::string> get_xattr(const DocumentMeta& meta, std::string_view name);
// Every set attribute name, each followed by a NUL (the listxattr(2) format).
std::string list_xattrs(const DocumentMeta& meta);
// Returns 0 or an errno: EEXIST / ENODATA for XATTR_CREATE / XATTR_REPLACE, ENOTSUP for
// names docfs does not store, EINVAL for an embedding whose length is not a multiple of 4.
int set_xattr(DocumentMeta& meta, std::string_view name, std::string_view value, int flags);
// Replaces the DocArray fields of `meta` with a user.docarray JSON record (id, file type,
// owner, times and content stay). Returns 0 or EINVAL.
int set_docarray_record(DocumentMeta& meta, std::string_view json_text);
// Returns 0, ENODATA when not set, or ENOTSUP.
int remove_xattr(DocumentMeta& meta, std::string_view name);

}  // namespace docfs::fs
