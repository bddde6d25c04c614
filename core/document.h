// The document model: what one entry of a store is, and the rules for its id.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace docfs {

// Limits on ids. An id is 1..kMaxIdBytes bytes of '/'-separated parts; each part is
// 1..kMaxIdPartBytes bytes, not "." or "..", with no NUL. Ids are never truncated.
inline constexpr size_t kMaxIdBytes = 4095;
inline constexpr size_t kMaxIdPartBytes = 255;

// Why an id was refused, or kOk.
enum class IdError { kOk, kEmpty, kTooLong, kPartTooLong, kEmptyPart, kDotPart, kNul };

IdError check_id(std::string_view id);
// A sentence that names the id problem, e.g. "id part is 256 bytes, the limit is 255".
std::string describe_id_error(IdError e, std::string_view id);
inline bool is_valid_id(std::string_view id) { return check_id(id) == IdError::kOk; }

// Everything about a document except its content bytes. Stored in body.bin next to the
// content (serialized with cereal, versioned) and partly mirrored in header.bin (see Stat).
struct DocumentMeta {
  std::string id;
  std::string mime_type;
  std::string uri;
  std::map<std::string, std::string> tags;
  std::vector<float> embedding;
  // S_IFREG | 0644 by default; S_IFDIR marks a directory marker, S_IFLNK a symbolic link
  // (content = the target), S_IFIFO / S_IFCHR / S_IFBLK / S_IFSOCK a special file.
  uint32_t mode = 0100644;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_ns = 0;  // nanoseconds since the epoch
  int64_t ctime_ns = 0;
  uint64_t rdev = 0;  // device number of a character or block device (cereal version 2)

  bool is_directory_marker() const { return (mode & 0170000) == 0040000; }
  bool is_symlink() const { return (mode & 0170000) == 0120000; }
  bool operator==(const DocumentMeta&) const = default;
};

// A whole document, content in memory. Used by the CLI, JSON import/export and tests;
// the filesystem streams content instead (see Store::put_stream).
struct Document {
  DocumentMeta meta;
  std::string content;
  bool operator==(const Document&) const = default;
};

// cereal binary encoding of DocumentMeta (without the id, which the record carries).
std::string encode_meta(const DocumentMeta& meta);
// Decodes what encode_meta wrote; throws docfs::FormatError on malformed bytes.
DocumentMeta decode_meta(std::string_view bytes, std::string id);

int64_t now_ns();

// The mime type docfs records for a new document named `name` ("" when it cannot tell):
// one guesser for `docfs put`, the mount and import.
std::string guess_mime(std::string_view name);

}  // namespace docfs
