// The bytes of header.bin and body.bin. All integers are little-endian.
//
// Both files start with a 32-byte file header:
//   magic[8] ("DOCFSHDR" / "DOCFSBDY") | u32 format version | u32 reserved (0)
//   | u64 generation | u32 crc32c of the 24 bytes before | u32 reserved (0)
// A header.bin and a body.bin belong together when their generations match; prune writes
// a new pair with a new generation, so a half-swapped pair is detected, never misread.
//
// body.bin records (one per document version), appended one after another:
//   u32 meta_crc | u32 content_crc | u32 id_len | u32 meta_len | u64 content_len
//   | id | meta (cereal, see document.h) | content (raw, contiguous)
// meta_crc covers every byte from content_crc to the end of meta; content_crc covers the
// content. A metadata-only version has content_len 0 and its header entry points at the
// content of an earlier record.
//
// header.bin entries, appended one after another:
//   u32 crc | u32 length | u8 type | payload[length - 1]
// crc covers length, type and payload. Types and payloads:
//   kPut:    u32 id_len | id | u64 record_off | u32 meta_len | u64 content_off
//            | u64 content_len | u32 mode | u32 uid | u32 gid | i64 mtime_ns | i64 ctime_ns
//   kDelete: u32 id_len | id
//   kRename: u32 from_len | from | u32 to_len | to
//   kClear:  (empty)
//   kPutExtents (format version 2): the kPut payload with content_off 0 and content_len the
//            file size, then u32 n | n x (u64 file_off | u64 len | u64 body_off | u32 crc)
//            A version whose content is a list of extents: file bytes [file_off, file_off+len)
//            are body.bin bytes [body_off, body_off+len), crc is their CRC-32C. Extents are
//            sorted, do not overlap and lie inside [0, content_len); every byte no extent
//            covers is a hole and reads as zero (it takes no space and has no CRC). The
//            record at record_off is metadata only (content_len 0, content_crc 0). Extents
//            may point at bytes that no record header precedes (a StreamWriter's staging
//            runs) and at bytes an earlier version uses too (an append references the old
//            extents and adds one), so a change costs the bytes it changes.
//   kLink (format version 3): u32 name_len | name | u32 target_len | target
//            A hard link: `name` becomes another name of the file `target` is a name of
//            (a file named `name` before loses that name). Afterwards the file has one
//            newest version whatever name a kPut / kPutExtents / metadata-only put uses;
//            kDelete removes one name, and the file's bytes are garbage once its last name
//            is gone; kRename moves one name (from and to naming one file: from goes);
//            kClear removes every name. A record's id is the name it was written under;
//            reading through another name shows that name as the id. A kLink whose target
//            does not exist, or equals name, changes nothing. One entry, so a crash leaves
//            the link made or not made, never half.
// An entry is written only after the body bytes it points at, so a reader never sees a
// document whose bytes are not there. A torn last entry (crash mid-append) is skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace docfs::format {

inline constexpr std::string_view kHeaderMagic = "DOCFSHDR";  // 8 bytes
inline constexpr std::string_view kBodyMagic = "DOCFSBDY";
// 1: kPut/kDelete/kRename/kClear. 2: adds kPutExtents. 3: adds kLink. New files are
// written as version 2 (kNewFileVersion). A header.bin is marked 2 (in place) before its
// first kPutExtents entry, and 3 before its first kLink entry, so older builds refuse it
// cleanly; a store without hard links stays readable by builds that know version 2.
inline constexpr uint32_t kFormatVersion = 3;  // the newest this build reads
inline constexpr uint32_t kNewFileVersion = 2;
inline constexpr uint32_t kLinkFormatVersion = 3;
inline constexpr size_t kFileHeaderSize = 32;
inline constexpr size_t kRecordHeaderSize = 24;
inline constexpr size_t kEntryPrefixSize = 8;  // crc + length
// A version has at most this many extents (a StreamWriter defragments beyond it).
inline constexpr uint32_t kMaxExtents = 16384;
inline constexpr uint32_t kExtentSize = 28;  // encoded bytes per extent
// No header entry is longer than a put with the most extents plus slack (a rename of two
// maximal ids is far shorter).
inline constexpr uint32_t kMaxEntryLength = 4 + 4095 + 128 + kMaxExtents * kExtentSize;
// The largest file: offsets and sizes stay far from overflow in every sum the code makes.
inline constexpr uint64_t kMaxContentSize = uint64_t{1} << 62;
// Metadata beyond this is refused (tags and embeddings live here, content does not).
inline constexpr uint32_t kMaxMetaLength = 64u << 20;

enum class EntryType : uint8_t { kPut = 1, kDelete = 2, kRename = 3, kClear = 4, kPutExtents = 5, kLink = 6 };

struct FileHeader {
  uint32_t version = kNewFileVersion;
  uint64_t generation = 0;
};

std::string encode_file_header(std::string_view magic, const FileHeader& h);
// Returns an explanation when the bytes are not a valid file header of this kind.
std::optional<std::string> decode_file_header(std::string_view bytes, std::string_view magic,
                                              FileHeader* out);

struct Extent {
  uint64_t file_off = 0;
  uint64_t len = 0;
  uint64_t body_off = 0;
  uint32_t crc = 0;
  uint64_t file_end() const { return file_off + len; }
  bool operator==(const Extent&) const = default;
};

struct PutEntry {
  std::string id;
  uint64_t record_off = 0;
  uint32_t meta_len = 0;
  uint64_t content_off = 0;
  uint64_t content_len = 0;
  uint32_t mode = 0, uid = 0, gid = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  std::vector<Extent> extents;  // kPutExtents only
};

// Why `extents` cannot describe a file of `size` bytes (unsorted, overlapping, empty or
// past the end, too many), or nothing when they can.
std::optional<std::string> check_extents(const std::vector<Extent>& extents, uint64_t size);

struct Entry {
  EntryType type = EntryType::kClear;
  PutEntry put;     // kPut (also: id of kDelete, from of kRename, the new name of kLink)
  std::string to;   // kRename: the new name; kLink: the target (an existing name)
};

// Whole entry, prefix included.
std::string encode_entry(const Entry& e);

enum class DecodeStatus { kOk, kIncomplete, kCorrupt };
// Decodes the entry at the start of `bytes`. kIncomplete: `bytes` ends inside it (a torn
// tail if the file ends there). kCorrupt: checksum or layout is wrong; `why` says how.
// *out may be partly overwritten even when the status is not kOk.
DecodeStatus decode_entry(std::string_view bytes, Entry* out, size_t* consumed,
                          std::string* why);

struct RecordHeader {
  uint32_t meta_crc = 0;
  uint32_t content_crc = 0;
  uint32_t id_len = 0;
  uint32_t meta_len = 0;
  uint64_t content_len = 0;
  uint64_t size() const { return kRecordHeaderSize + id_len + meta_len + content_len; }
};

// Record header + id + meta, with meta_crc computed (content_crc must be set already).
std::string encode_record_prefix(RecordHeader h, std::string_view id, std::string_view meta);
RecordHeader decode_record_header(std::string_view bytes);  // bytes.size() >= 24
// CRC that meta_crc must equal, over a record prefix (header + id + meta).
uint32_t record_meta_crc(std::string_view prefix);

}  // namespace docfs::format
