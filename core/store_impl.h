// Private to core/: the state behind docfs::Store, shared by store.cc (open, reads,
// writes), store_prune.cc (compaction and its crash recovery) and store_fsck.cc.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

#include "core/doc_index.h"
#include "core/file_io.h"
#include "core/store.h"
#include "core/store_format.h"
#include "core/store_lock.h"

namespace docfs {

class BodyFile {
 public:
  explicit BodyFile(File f) : file(std::move(f)) {}
  File file;
  uint64_t writeback_mark = 0;  // writeback was started for bytes before this (Impl::mu)
};

// Result of reading header.bin entries from some offset to its end.
struct EntryScan {
  uint64_t valid_end = 0;   // offset just past the last whole, valid entry
  uint64_t torn_bytes = 0;  // bytes after valid_end that are a torn tail
  std::optional<std::string> corruption;  // set when a bad entry is not at the tail
  // Whole entries with a good checksum whose payload is invalid (e.g. overlapping
  // extents): skipped, not applied, one sentence each naming file and offset (at most
  // kMaxInvalidReported; invalid_count counts them all).
  std::vector<std::string> invalid;
  uint64_t invalid_count = 0;
  static constexpr size_t kMaxInvalidReported = 100;
};

// Calls fn(entry, offset) for each entry of `f` from `start`. A bad or partial entry at
// the tail is reported as torn; a bad entry with more data after it is corruption and
// stops the scan. A whole entry whose checksum matches but whose payload is invalid was
// not torn by a crash: it is skipped and listed in `invalid`, and the scan goes on.
EntryScan scan_entries(const File& f, uint64_t start,
                       const std::function<void(const format::Entry&, uint64_t)>& fn);
// The same, reading no further than `end` (entries a writer appends meanwhile are not seen).
EntryScan scan_entries(const File& f, uint64_t start, uint64_t end,
                       const std::function<void(const format::Entry&, uint64_t)>& fn);

inline constexpr char kPruneScratch[] = "prune.tmp";  // being written: delete on open
inline constexpr char kPruneReady[] = "prune.ready";  // complete: roll forward on open

class Store::Impl {
 public:
  std::string dir;
  bool read_only = false;
  std::optional<StoreLock> lock;

  // Guards everything below. Readers share it; writers hold it briefly (big contents are
  // written outside it into space reserved under it).
  mutable std::shared_mutex mu;
  // Large streaming puts hold this shared for their whole write; prune's final step holds
  // it exclusively so no write lands in the old body after the swap.
  std::shared_mutex stream_gate;
  std::mutex prune_mu;  // one prune at a time

  std::shared_ptr<BodyFile> body;
  File header;
  uint64_t generation = 0;
  DocIndex index;

  // Logical ends, including buffered bytes and reserved space. The buffers hold the last
  // bytes of each file: body_buf covers [body_end - body_buf.size(), body_end).
  uint64_t body_end = 0;
  uint64_t header_end = 0;
  std::string body_buf;
  std::string header_buf;
  uint64_t staged_bytes = 0;  // run space of uncommitted StreamWriters and parked runs
  // Never-written ends of StreamWriter runs that were not at the tail when their writer
  // finished: offset -> length in the current body.bin, handed to the next writer that
  // needs room instead of growing body.bin (counted in staged_bytes, not garbage).
  std::multimap<uint64_t, uint64_t> parked_runs;
  uint32_t header_version = format::kNewFileVersion;  // of header.bin as opened (or marked since)
  uint64_t max_referenced_end = 0;  // furthest body byte any header entry points at
  std::set<std::string, std::less<>> fragmented;  // ids whose version has > kDefragExtents extents
  // defragment(): the version each fragmented id had at the previous call. Only a version
  // seen unchanged twice is rewritten, so a file being written (a database) is left alone.
  std::map<std::string, const void*, std::less<>> defrag_seen;
  uint64_t body_size_at_scan = 0;   // read-only: body.bin size when entries were checked

  // ---- open / replay (store.cc) ----
  void open_files(bool create);
  void replay_from(uint64_t start);  // scans header.bin and applies; throws on corruption
  // Applies one entry to the index; false when it points past the end of body.bin.
  bool apply(const format::Entry& e);
  // Entries apply() skipped as invalid (a patch of a version that is not there), one
  // sentence each naming the file: replay logs them, fsck reports them.
  std::vector<std::string> apply_problems;
  uint64_t flushed_body_end() const { return body_end - body_buf.size(); }

  // ---- writes (store.cc) ----
  void require_writable() const;
  void flush_locked();
  void flush_body_locked();  // only the body buffer (header entries stay buffered)
  // Appends a record (prefix + content; both may be empty) and a header entry, all or
  // nothing when flush is set.
  void append_locked(std::string_view prefix, std::string_view content, const format::Entry& entry,
                     bool flush);
  // Writes buffered bytes out if the body bytes up to `end` are still only in the buffer.
  void ensure_flushed_through(uint64_t end) const;
  // Marks header.bin with format `version` (in place, synced) unless it has it already:
  // before the first entry an older build could not read (format::format_version_for).
  void require_format_locked(uint32_t version);
  // Where id's newest version is, and the body.bin it is in (pinned for the caller).
  std::optional<std::pair<Location, std::shared_ptr<BodyFile>>> locate(std::string_view id) const;

  // ---- prune (store_prune.cc) ----
  void recover_interrupted_prune();
  PruneResult prune();
};

// The index location a put entry describes (extents shared, not copied, from then on).
Location location_of(const format::PutEntry& p, bool extents);
// Furthest body byte a version's content reaches.
uint64_t content_end(const Location& l);

// Checks the CRCs of extents whose CRC covers a wider body range (kPutExtentSpans), each
// distinct range once; the extents' own CRCs are the caller's. What is wrong, or nothing.
std::optional<std::string> check_crc_ranges(const File& body, const std::vector<format::Extent>& xs);

// A fresh random generation for a new header/body pair.
uint64_t new_generation();

// ---- shared by every writer of records (Store, StreamWriter, StoreBuilder) ----
// UsageError naming the rule an id breaks (ENAMETOOLONG or EINVAL).
void check_id_or_throw(std::string_view id);
// encode_meta, refused with E2BIG above format::kMaxMetaLength (fsck would call it corrupt).
std::string encode_meta_checked(const DocumentMeta& m);
// Throws ForeignStoreError when body.bin or header.bin in `dir` exists without our magic
// (another program's files): called before anything could write there, lock file included.
void refuse_foreign_files(const std::string& dir);
// The put entry for a version of m whose record is at record_off.
format::Entry put_entry(const DocumentMeta& m, uint64_t record_off, uint32_t meta_len, uint64_t content_off,
                        uint64_t content_len);
// Bytes of f before `end` were just written and writeback was started for those before
// `mark`: once kWritebackChunk of whole pages have gathered, start theirs (like RocksDB's
// bytes_per_sync) so a later fsync waits for little. Returns the new mark.
inline constexpr uint64_t kWritebackChunk = 8u << 20;
uint64_t start_writeback(const File& f, uint64_t mark, uint64_t end);

}  // namespace docfs
