// The document model: what one entry of a store is, and the rules for its id.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
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

// A tag or _metadata value, typed as in JSON and protobuf's Struct: null, bool, integer,
// float, string, list or object. Integers and floats stay apart (3 is not 3.0).
using TagValue = nlohmann::json;
using Tags = std::map<std::string, TagValue>;

// An n-dimensional array (an embedding), its bytes kept exactly as given.
struct NdArray {
  std::string dtype;             // numpy's dtype string: "<f4", "<f8", "|u1", "|b1", ...
  std::vector<uint64_t> shape;   // empty for a 0-d array
  std::string data;              // the elements in C order, dtype's byte order
  std::string cls_name;          // the array library DocArray recorded ("numpy", "torch"); "" = numpy

  bool empty() const { return dtype.empty() && shape.empty() && data.empty(); }
  // A 1-D little-endian float32 array of `v` (what user.embedding sets).
  static NdArray float32(const std::vector<float>& v);
  // The values when this is a 1-D "<f4" array, else nullopt.
  std::optional<std::vector<float>> as_float32() const;
  // Every element as a double, in C order, for any dtype dtype_size() knows except 16-byte
  // floats; nullopt otherwise (or when the data does not match the shape).
  std::optional<std::vector<double>> to_doubles() const;
  bool operator==(const NdArray&) const = default;
};

// Bytes per element of a numpy dtype string ("<f4" -> 4), or 0 when docfs does not know it.
size_t dtype_size(std::string_view dtype);
// "" when `a` is consistent (known dtype, data size = product of shape x element size),
// else a sentence saying what is wrong.
std::string check_ndarray(const NdArray& a);

// A named score or evaluation (DocArray's NamedScore, Jina's NamedScoreProto).
struct NamedScore {
  double value = 0;
  std::string op_name;
  std::string description;
  std::string ref_id;
  std::vector<NamedScore> operands;  // Jina 2.x nests scores
  bool operator==(const NamedScore&) const = default;
};

// Which DocArray/Jina field a document's content came from, so export writes it back there.
// kUnset: not recorded (made by docfs); export picks text for UTF-8 text/*, else blob.
// kTensor: the content is the tensor as a .npy file (numpy's format, version 1.0).
// kUri: the document has no content of its own, only `uri` (a Jina 2.x uri-only document).
enum class ContentField : uint8_t { kUnset = 0, kText = 1, kBlob = 2, kTensor = 3, kUri = 4 };

struct Document;

// Everything about a document except its content bytes. Stored in body.bin next to the
// content (serialized with cereal, versioned) and partly mirrored in header.bin (see Stat).
struct DocumentMeta {
  std::string id;
  std::string mime_type;
  std::string uri;
  Tags tags;
  NdArray embedding;
  // S_IFREG | 0644 by default; S_IFDIR marks a directory marker, S_IFLNK a symbolic link
  // (content = the target), S_IFIFO / S_IFCHR / S_IFBLK / S_IFSOCK a special file.
  uint32_t mode = 0100644;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_ns = 0;  // nanoseconds since the epoch
  int64_t ctime_ns = 0;
  uint64_t rdev = 0;  // device number of a character or block device (cereal version 2)

  // The rest of a DocArray v0.x / Jina 2.x Document (cereal version 3).
  ContentField content_field = ContentField::kUnset;
  std::string parent_id;
  uint32_t granularity = 0;
  uint32_t adjacency = 0;
  double weight = 0;
  std::string modality;
  double offset = 0;
  std::vector<double> location;
  std::map<std::string, NamedScore> scores;
  std::map<std::string, NamedScore> evaluations;
  TagValue metadata;           // DocArray's _metadata: null or an object
  std::string content_hash;    // Jina 2.x
  std::vector<Document> chunks;   // nested documents (recursive, at most kMaxNestingDepth)
  std::vector<Document> matches;
  // A document that came from a format whose fields docfs does not model one by one
  // (DocArray v2: a typed field map per document class) keeps that format's own record
  // whole, so pushing it back in that format loses nothing. Opaque to core: interop/
  // reads and writes it. "" for every other document.
  std::string foreign_format;  // e.g. "docarray-v2"
  std::string foreign_class;   // e.g. "TextDoc", "__main__.MyDoc"
  std::string foreign_record;  // e.g. the DocProto bytes

  bool is_directory_marker() const { return (mode & 0170000) == 0040000; }
  bool is_symlink() const { return (mode & 0170000) == 0120000; }
  bool operator==(const DocumentMeta&) const;
};

// How deep chunks/matches and tag values may nest; deeper input is refused, not recursed.
inline constexpr int kMaxNestingDepth = 64;

// A whole document, content in memory. Used by the CLI, import/export and tests;
// the filesystem streams content instead (see Store::put_stream).
struct Document {
  DocumentMeta meta;
  std::string content;
  bool operator==(const Document&) const = default;
};

// A tag value as text: a string as itself, anything else as compact JSON.
std::string tag_text(const TagValue& v);
// Parses JSON text nested at most `max_depth` levels; throws FormatError otherwise.
TagValue parse_json_limited(std::string_view text, int max_depth = kMaxNestingDepth);

// cereal binary encoding of DocumentMeta (without the id, which the record carries).
std::string encode_meta(const DocumentMeta& meta);
// Decodes what encode_meta wrote; throws docfs::FormatError on malformed bytes.
DocumentMeta decode_meta(std::string_view bytes, std::string id);

int64_t now_ns();

// The mime type docfs records for a new document named `name` ("" when it cannot tell):
// one guesser for `docfs put`, the mount and import.
std::string guess_mime(std::string_view name);

}  // namespace docfs
