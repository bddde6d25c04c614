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
//   kPutExtentSpans (format version 3): as kPutExtents, with 44 bytes per extent:
//            u64 file_off | u64 len | u64 body_off | u32 crc | u64 crc_off | u64 crc_len
//            crc_len 0: crc covers the extent's own bytes, as in kPutExtents. Otherwise crc
//            is the CRC-32C of body.bin bytes [crc_off, crc_off+crc_len), a range that holds
//            the extent's bytes [body_off, body_off+len) and that was whole when the CRC was
//            taken (a write that splits an extent keeps the old CRC for both remainders, so
//            a 4 KiB overwrite of a 1 GiB file reads nothing back). Checking such an extent
//            reads its whole range, once per distinct range; compaction writes every extent
//            with its own CRC again. Bytes of the range no live extent uses are garbage
//            that stays readable until then.
//   kPatchExtents (format version 3): a new version of a document whose newest version has
//            extents, told by what changed: the kPut payload (content_len the new size,
//            record_off its metadata record) | u32 r | r x u64 file_off | u32 a | a x the
//            44-byte extents of kPutExtentSpans. The new extent list is the previous
//            version's, without its r extents starting at those file offsets, with the a
//            extents added; it must satisfy the same rules as a whole list. An append or a
//            4 KiB overwrite writes a few extents here, not the whole list, so header.bin
//            grows with the change, not with the file's fragmentation. A patch whose
//            previous version is missing or does not match is invalid: skipped and named
//            (the document stays at its previous version). Compaction writes whole lists.
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
// 1: kPut/kDelete/kRename/kClear. 2: adds kPutExtents. 3: adds kPutExtentSpans,
// kPatchExtents and kLink. New files are written as version 2 (kNewFileVersion); a
// header.bin is marked (in place, synced) with the version an entry needs before the first
// such entry (format_version_for), so older builds refuse it cleanly and a store that never
// needs version 3 stays readable by builds that know version 2.
inline constexpr uint32_t kFormatVersion = 3;  // the newest this build reads
inline constexpr uint32_t kNewFileVersion = 2;
inline constexpr size_t kFileHeaderSize = 32;
inline constexpr size_t kRecordHeaderSize = 24;
inline constexpr size_t kEntryPrefixSize = 8;  // crc + length
// A version has at most this many extents (a StreamWriter defragments beyond it).
inline constexpr uint32_t kMaxExtents = 16384;
inline constexpr uint32_t kExtentSize = 28;      // encoded bytes per extent (kPutExtents)
inline constexpr uint32_t kSpanExtentSize = 44;  // (kPutExtentSpans)
// No header entry is longer than a put with the most extents plus slack (a rename of two
// maximal ids is far shorter).
inline constexpr uint32_t kMaxEntryLength = 4 + 4095 + 128 + kMaxExtents * kSpanExtentSize;
// The largest file: offsets and sizes stay far from overflow in every sum the code makes.
inline constexpr uint64_t kMaxContentSize = uint64_t{1} << 62;
// Metadata beyond this is refused (tags and embeddings live here, content does not).
inline constexpr uint32_t kMaxMetaLength = 64u << 20;

enum class EntryType : uint8_t {
  kPut = 1,
  kDelete = 2,
  kRename = 3,
  kClear = 4,
  kPutExtents = 5,
  kLink = 6,
  kPutExtentSpans = 7,
  kPatchExtents = 8,
};
inline bool has_extents(EntryType t) { return t == EntryType::kPutExtents || t == EntryType::kPutExtentSpans; }
// The header.bin format version an entry of this type needs.
constexpr uint32_t format_version_for(EntryType t) {
  switch (t) {
    case EntryType::kPutExtentSpans:
    case EntryType::kPatchExtents:
    case EntryType::kLink:
      return 3;
    case EntryType::kPutExtents:
      return 2;
    default:
      return 1;
  }
}
inline constexpr uint32_t kLinkFormatVersion = format_version_for(EntryType::kLink);

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
  // The body range `crc` covers when it is not the extent's own (kPutExtentSpans).
  uint64_t crc_off = 0;
  uint64_t crc_len = 0;  // 0: the extent's own bytes
  uint64_t file_end() const { return file_off + len; }
  bool own_crc() const { return crc_len == 0; }
  uint64_t checked_off() const { return crc_len ? crc_off : body_off; }
  uint64_t checked_len() const { return crc_len ? crc_len : len; }
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
  std::vector<Extent> extents;  // kPutExtents, kPutExtentSpans; kPatchExtents: those added
  std::vector<uint64_t> removed;  // kPatchExtents: file offsets of the extents removed
};

// The entry type that can hold `extents`: kPutExtentSpans when one of them has a wider
// checksummed range, else kPutExtents (readable by format-2 builds).
EntryType extents_entry_type(const std::vector<Extent>& extents);

// The extent list a kPatchExtents entry `p` makes of `base` (sorted, valid), or why it
// cannot (an offset to remove that base does not have, or a list check_extents refuses).
std::optional<std::string> apply_patch(const std::vector<Extent>& base, const PutEntry& p, std::vector<Extent>* out);
// The patch that turns `base` into `target` (both sorted): fills p.removed and p.extents.
void make_patch(const std::vector<Extent>& base, const std::vector<Extent>& target, PutEntry* p);

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
