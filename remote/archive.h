// The archive one key holds: a fixed 128-byte header, then the live documents of a store.
//
//   header (little-endian): magic "DOCFSARC" | u32 format version | u32 header size (128) |
//     char[16] docfs version | i64 created ns | i64 expires ns (0 = never) | u64 documents |
//     u64 payload length | u8[32] SHA-256 of the payload | u32 CRC-32C of bytes 0..95 |
//     zero padding to 128
//   payload: per document  u32 id length | id | u32 meta length | meta (encode_meta) |
//     u64 content length | content
//   Format version 2 adds sparse documents (files with holes): the content length has its
//   top bit set (the rest is the file size), then u32 n | n x (u64 file offset | u64 length)
//   | the bytes of those ranges back to back; everything else is a hole. An archive with no
//   sparse document is written as version 1, which older builds pull.
//   Format version 3 adds hard links: a record whose meta length is 0xFFFFFFFF
//   (kLinkRecord) is  u32 id length | id | u32 0xFFFFFFFF | u32 target length | target
//   and makes id another name of the document `target`, which an earlier record of the
//   archive holds (each file goes once, under its first name in body order, then one link
//   record per other name). `documents` counts names, links included. Written only when
//   the store has hard links; a pull refuses a link whose target came before it in no
//   record, before anything is visible.
//
// Packing streams from a read-only Store (for_each + meta + ContentRef), unpacking streams
// into Store::put_stream: the array is never held in memory whole.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "core/store_builder.h"
#include "core/store.h"
#include "remote/background_hash.h"
#include "remote/backend.h"
#include "remote/crypto.h"

namespace docfs::remote {

inline constexpr uint32_t kArchiveFormatVersion = 3;  // the newest this build reads
inline constexpr uint64_t kSparseContent = uint64_t{1} << 63;
inline constexpr uint32_t kLinkRecord = 0xffffffffu;  // in place of a meta length
inline constexpr size_t kArchiveHeaderSize = 128;

struct ArchiveHeader {
  uint32_t format_version = kArchiveFormatVersion;
  std::string docfs_version;
  int64_t created_ns = 0;
  int64_t expires_ns = 0;
  uint64_t documents = 0;
  uint64_t payload_length = 0;
  std::array<uint8_t, 32> sha256{};
};

std::string encode_archive_header(const ArchiveHeader& h);
// True when `first_bytes` start with the archive magic "DOCFSARC". Nothing else in a header
// means anything before this holds (the version is read only after it).
bool has_archive_magic(std::string_view first_bytes);
// Checks magic, version (a newer one is refused naming both) and the header CRC. `where`
// names the archive in messages. Throws FormatError.
ArchiveHeader decode_archive_header(std::string_view bytes, const std::string& where);
// Throws FormatError when `version` is newer than this build reads.
void check_archive_version(uint32_t version, const std::string& where);

// Streams a store as an archive. The store should be opened read-only (a snapshot). The
// payload is staged in a few large buffers that a helper thread hashes while the next ones
// are read from the store, so read() costs a copy, not a SHA-256.
class StoreArchiveSource : public UploadSource {
 public:
  StoreArchiveSource(const Store& store, int64_t created_ns, int64_t expires_ns);
  uint64_t size() const override { return kArchiveHeaderSize + payload_size_; }
  size_t head_size() const override { return kArchiveHeaderSize; }
  size_t read(void* buf, size_t n) override;
  std::string head() override;
  uint64_t documents() const { return ids_.size(); }

 private:
  static constexpr size_t kStages = 3;
  static constexpr size_t kStageSize = 4u << 20;
  struct Stage {
    std::vector<char> data;
    size_t off = 0, len = 0;
    uint64_t ticket = 0;  // its hash job, 0 when none is pending
  };

  bool next_document();
  size_t produce(char* out, size_t n);  // the next payload bytes, unhashed
  bool next_stage();                    // refills the next stage; false at the end

  const Store& store_;
  ArchiveHeader header_;
  std::vector<std::string> ids_;
  // For each of ids_: empty for a document, else the earlier name it is a hard link to.
  std::vector<std::string> link_targets_;
  uint64_t payload_size_ = 0;
  size_t next_ = 0;
  std::string prefix_;  // the current record's bytes before its content
  size_t prefix_pos_ = 0;
  std::optional<ContentRef> content_;
  // The content ranges to send: the whole content, or a sparse one's data ranges.
  std::vector<std::pair<uint64_t, uint64_t>> ranges_;
  size_t range_ = 0;
  uint64_t range_pos_ = 0;
  uint64_t produced_ = 0;
  Stage stages_[kStages];
  size_t slot_ = 0;
  bool finished_ = false;
  std::unique_ptr<BackgroundSha256> hasher_;  // after stages_: stops before they go
};

// Builds a new store at `dest` with `fill` (which adds documents and returns how many) the
// way unpack_archive does: in a temporary sibling directory, renamed into place only when
// fill returned; on any exception `dest` is untouched. For pulls of foreign formats.
uint64_t build_store_at(const std::string& dest, const std::function<uint64_t(StoreBuilder&)>& fill);

struct UnpackResult {
  uint64_t documents = 0;
  uint64_t bytes = 0;
  ArchiveHeader header;
};

// Refuses (UsageError) a destination that a pull may not replace: an existing path that is
// neither an empty directory nor an unlocked docfs store. Call before downloading.
void check_pull_destination(const std::string& dest);

// Verifies the archive in `f` (size bytes) and rebuilds the store at `dest`: built in a
// temporary sibling directory, renamed into place only after magic, version, length,
// SHA-256 and document count all check out. On any failure `dest` is untouched and the
// FormatError says which check failed.
UnpackResult unpack_archive(const File& f, uint64_t size, const std::string& dest, Progress* progress,
                            const std::string& where);
// Same while the archive still arrives in f: `available(n)` blocks until bytes [0, n) can be
// read (and throws if they never will, e.g. the download failed). The payload is unpacked
// and hashed as it comes; the checks and the rename still happen only at the end.
UnpackResult unpack_archive(const File& f, uint64_t size, const std::string& dest, Progress* progress,
                            const std::string& where, const std::function<void(uint64_t)>& available);

}  // namespace docfs::remote
