// A DocumentArrayMemmap-style store: a directory with an append-only body.bin (one record
// per document version) and an append-only header.bin (put / delete / rename entries) that
// is replayed into an in-memory index at open. See core/store_format.h for the bytes.
//
// Thread-safe: any number of threads may call any method at once. One writer *process*
// per store (flock on STORE/lock); read-only openers run alongside and see the snapshot
// of header.bin taken at open (or at reload()).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/document.h"
#include "core/store_format.h"

namespace docfs {

// What header.bin mirrors for each live document: enough for stat(2) and `ls -l`
// without touching body.bin.
struct Stat {
  uint64_t size = 0;  // content length (holes included)
  uint32_t mode = 0100644;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t data_bytes = 0;  // bytes that take space (size minus holes): st_blocks
  uint32_t nlink = 1;       // names of this file (hard links)
  // 0 for a file that never had a second name; otherwise one number for all names of a
  // file, different between files while the store is open (not across opens or prunes).
  uint64_t file_id = 0;
  bool is_directory_marker() const { return (mode & 0170000) == 0040000; }
};

struct OpenOptions {
  bool create = false;     // create the directory and empty files when missing
  bool read_only = false;  // no lock, no writes; sees a snapshot
};

struct StoreStats {
  uint64_t documents = 0;      // live entries (directory markers included)
  uint64_t live_bytes = 0;     // body bytes that live entries still use
  uint64_t garbage_bytes = 0;  // body bytes of overwritten / deleted versions
  uint64_t staged_bytes = 0;   // body bytes written or reserved for uncommitted files
  uint64_t body_bytes = 0;     // size of body.bin
  uint64_t header_bytes = 0;   // size of header.bin
};

class BodyFile;  // an open body.bin, shared by readers so prune never pulls it away

// The bytes of one document version. Stays valid (and unchanged) after that document is
// overwritten, deleted or the store is pruned: it pins the body.bin it points into.
// A version is contiguous (one run of body.bin) or a list of extents with holes between
// them that read as zeros (see kPutExtents in core/store_format.h).
class ContentRef {
 public:
  ContentRef(std::shared_ptr<const BodyFile> file, uint64_t offset, uint64_t size);
  ContentRef(std::shared_ptr<const BodyFile> file, std::shared_ptr<const std::vector<format::Extent>> extents,
             uint64_t size);
  uint64_t size() const { return size_; }
  // Reads up to n bytes at `off` within the content; returns the count (short at the end).
  // Holes read as zeros. Throws IoError / FormatError.
  size_t read(uint64_t off, void* buf, size_t n) const;
  // The whole content in memory; UsageError(EFBIG) above 2 GiB (a sparse file can be huge).
  std::string read_all() const;
  int fd() const;
  const std::shared_ptr<const BodyFile>& body() const { return file_; }
  bool contiguous() const { return !extents_; }
  // The extent list of a version with extents (shared with the store's index), else null.
  const std::shared_ptr<const std::vector<format::Extent>>& extent_list() const { return extents_; }
  // Contiguous only: content byte `off` is at file_offset()+off of fd() (zero-copy replies).
  uint64_t file_offset() const { return offset_; }
  // The data extents (a contiguous version is one extent, crc = `contiguous_crc`).
  std::vector<format::Extent> extents(uint32_t contiguous_crc = 0) const;
  uint64_t data_bytes() const;
  // One piece of [off, off+n): `len` bytes at body offset `body_off`, or a hole.
  struct Piece {
    uint64_t len;
    bool hole;
    uint64_t body_off;
  };
  // Pieces covering [off, min(off+n, size)), in order.
  std::vector<Piece> map(uint64_t off, uint64_t n) const;
  // lseek(SEEK_DATA / SEEK_HOLE) from `off` (< size): the answer, or size() when there
  // is no more data (SEEK_DATA then fails with ENXIO).
  uint64_t seek_data(uint64_t off) const;
  uint64_t seek_hole(uint64_t off) const;

 private:
  std::shared_ptr<const BodyFile> file_;
  std::shared_ptr<const std::vector<format::Extent>> extents_;
  uint64_t offset_ = 0;
  uint64_t size_ = 0;
};

// Where put_stream() gets content bytes from (a staged file, a socket, ...).
class ContentSource {
 public:
  virtual ~ContentSource() = default;
  virtual uint64_t size() const = 0;
  // Reads up to n bytes at `off`; returns the count, 0 only at the end. Throws on error.
  virtual size_t read(uint64_t off, void* buf, size_t n) = 0;
  // Optional fast path: when the bytes are in a file (at offset 0, size() long) and their
  // CRC-32C is already known, the store copies them in the kernel (copy_file_range)
  // instead of reading them through user space.
  virtual int fd() const { return -1; }
  virtual std::optional<uint32_t> crc32c() const { return std::nullopt; }
};

class StreamWriter;

struct FsckReport {
  uint64_t header_entries = 0;
  uint64_t documents = 0;        // live documents whose body record was verified
  uint64_t torn_header_bytes = 0;  // bytes after the last whole header entry
  uint64_t torn_body_bytes = 0;    // bytes after the last referenced body record
  std::vector<std::string> problems;  // one sentence each, naming file and offset
  bool repaired = false;
  bool ok() const { return problems.empty(); }
};

struct PruneResult {
  uint64_t bytes_before = 0;  // body.bin + header.bin before
  uint64_t bytes_after = 0;
  uint64_t documents = 0;
};

class Store {
 public:
  // Opens (or with create, creates) the store in `dir`. Throws LockedError
  // ("store DIR is locked by pid N") when another writer holds it, FormatError on a
  // corrupt or foreign file, IoError on a system failure. A writable open finishes an
  // interrupted prune and truncates torn tails; a read-only open only skips them.
  static std::unique_ptr<Store> open(const std::string& dir, OpenOptions opts = {});
  ~Store();  // flushes; errors are logged, not thrown
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& dir() const;
  bool read_only() const;

  // ---- writes (throw UsageError(EROFS) on a read-only store) ----
  // Appends a new version of doc.meta.id (create or overwrite). flush=false keeps the
  // bytes in a user-space buffer until flush()/sync() or the buffer fills.
  void put(const Document& doc, bool flush = true);
  // Same, content streamed from `src` (never held in memory whole).
  void put_stream(const DocumentMeta& meta, ContentSource& src, bool flush = true);
  // Many puts, one flush at the end.
  void extend(const std::vector<Document>& docs);
  // Starts a document whose bytes are written straight into body.bin as they come, for
  // contents too big to stage in memory: each byte is written once. See StreamWriter.
  // The store must outlive the writer.
  std::unique_ptr<StreamWriter> begin_stream(uint64_t capacity_hint = 0);
  // A metadata-only version: new meta, same content bytes (no copy). ENOENT if absent.
  void update_meta(const DocumentMeta& meta, bool flush = true);
  // Tombstones `id` (one name of its file); returns false if it did not exist.
  bool remove(std::string_view id, bool flush = true);
  // Atomic: afterwards `to` has from's document and `from` is gone; an existing `to` is
  // replaced. UsageError(ENOENT) if `from` is missing.
  void rename(std::string_view from, std::string_view to, bool flush = true);
  // A hard link: `name` becomes another name of the file `existing` names (one kLink
  // header entry, so atomic). A write, metadata change or put through either name is seen
  // through both; remove() of one keeps the other. UsageError ENOENT when `existing` is
  // missing, EEXIST when `name` exists, EPERM for a directory marker.
  void link(std::string_view existing, std::string_view name, bool flush = true);
  // Deletes every document (one header entry).
  void clear();
  // Writes buffered bytes to the files (body first, then header).
  void flush();
  // flush(), then fsync body.bin, then header.bin: everything put so far is durable.
  void sync();

  // ---- reads ----
  size_t size() const;  // live documents
  bool contains(std::string_view id) const;
  std::optional<Stat> stat(std::string_view id) const;
  // Reads the metadata record from body.bin (not the content).
  std::optional<DocumentMeta> meta(std::string_view id) const;
  std::optional<ContentRef> content(std::string_view id) const;
  // The same, with the CRC-32C of every extent (for a contiguous version: read from its
  // record), for a writer that keeps the old extents of a file it changes.
  std::optional<std::pair<ContentRef, std::vector<format::Extent>>> content_extents(std::string_view id) const;
  std::optional<Document> get(std::string_view id) const;
  // Calls fn for every live document, in unspecified order. fn must not call into this
  // store's write methods (a shared lock is held).
  void for_each(const std::function<void(std::string_view id, const Stat&)>& fn) const;
  std::vector<std::string> ids() const;  // sorted
  // Every live id, ordered by where its content lies in body.bin: reading the documents in
  // this order reads body.bin front to back (what push and export want from a cold cache).
  std::vector<std::string> ids_in_body_order() const;

  // ---- maintenance ----
  StoreStats stats() const;
  // Read-only stores: apply header entries the writer appended since open (or reopen
  // everything after a prune). Writable stores: no-op.
  void reload();
  // Compacts: writes a new body/header with only live versions, fsyncs, renames into
  // place (a crash at any point leaves the old or the new store whole). Writers pause only
  // for the final catch-up; readers holding a ContentRef keep reading the old body.
  PruneResult prune();
  // Rewrites versions with more than kDefragExtents extents (appended to or written in
  // place many times) as few extents, contiguous in body.bin: at most `max_bytes` of data
  // per call. Only a version already seen (unchanged) by the previous call is rewritten,
  // and one changed meanwhile is left alone. Returns the documents rewritten. Call from one
  // thread at a time.
  static constexpr size_t kDefragExtents = 256;
  size_t defragment(uint64_t max_bytes);
  // Verifies every header entry and every live body record CRC. repair=true truncates
  // torn tails (needs the writer lock).
  static FsckReport fsck(const std::string& dir, bool repair);

  class Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A file being written: a map from file ranges to bytes in body.bin. New bytes are
// appended to a run of space reserved at the end of body.bin (grown in place while nobody
// else appends, else a new run starts; bytes are never moved and never overwritten), so
// each written byte is written once and its CRC is taken as it goes by. Ranges no write
// covered are holes. load() starts from a committed version's extents without copying a
// byte, so an append or an in-place write costs the bytes it writes. Nothing is visible
// until commit(): then a metadata record and a kPutExtents header entry make it the newest
// version. Not thread-safe: one owner (e.g. one open file) drives it.
class StreamWriter {
 public:
  ~StreamWriter();  // uncommitted bytes become garbage (or are given back at the tail)
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  uint64_t size() const { return size_; }
  uint64_t data_bytes() const { return data_bytes_; }  // kept as pieces change: writes ask every time
  // Starts from `content` (its extents, with their CRCs): no byte is copied.
  void load(const ContentRef& content, const std::vector<format::Extent>& extents);
  // Writes n bytes at off, growing as needed (a gap before off is a hole). Throws
  // UsageError(EFBIG) past format::kMaxContentSize, IoError (ENOSPC, ...).
  void write(uint64_t off, const void* data, size_t n);
  // Reads up to n bytes at off; short only at the end; holes read as zeros.
  size_t read(uint64_t off, void* buf, size_t n) const;
  void truncate(uint64_t size);  // O(extents); growing adds a hole
  void punch_hole(uint64_t off, uint64_t len);  // size unchanged
  uint64_t seek_data(uint64_t off) const;  // as ContentRef
  uint64_t seek_hole(uint64_t off) const;
  // The work commit() would do that is proportional to data (CRCs of split extents,
  // moving extents out of a body.bin a prune replaced, defragmenting past kMaxExtents),
  // done now, without any lock of the store: call it before taking locks of your own.
  void prepare();
  // Publishes the bytes as the newest version of meta.id. The writer stays usable: later
  // writes go to new bytes, the committed version never changes.
  void commit(const DocumentMeta& meta, bool flush = true);

 private:
  friend class Store;
  // commit(); with `expected`, only if meta.id's newest version is still the one whose
  // index entry holds that extent list (each version has its own).
  bool commit_if(const DocumentMeta& meta, bool flush, const std::vector<format::Extent>* expected);
  explicit StreamWriter(Store::Impl* store) : store_(store) {}
  struct Piece {
    uint64_t len;
    std::shared_ptr<const BodyFile> body;
    uint64_t body_off;
    std::optional<uint32_t> crc;  // unknown after a split, until prepare()
    // The body range `crc` covers when it is wider than the piece (a remainder of a split
    // keeps the CRC of the piece it was cut from): 0 for the piece's own bytes.
    uint64_t crc_off = 0, crc_len = 0;
  };
  // Room for n more bytes in the current run (a new run if needed); returns its offset.
  uint64_t room_for(uint64_t n);
  void give_back_run();
  // Removes [off, end) from the map, splitting pieces at the edges.
  void cut(uint64_t off, uint64_t end);
  void append_bytes(uint64_t off, const void* data, size_t n);  // into the run + map
  void rewrite_into_run(uint64_t coalesce_below);  // copies every piece into fresh runs
  // Joins the smallest pieces with a touching neighbour (copying just those) until at most
  // `target` pieces are left or no touching pair remains.
  void join_smallest(size_t target);

  Store::Impl* store_;
  std::map<uint64_t, Piece> pieces_;  // file offset -> piece
  uint64_t size_ = 0;
  uint64_t data_bytes_ = 0;  // sum of the pieces' lengths
  // The extent list of the version this writer started from or last committed: while it
  // is still the newest, a commit writes only what changed (kPatchExtents).
  std::shared_ptr<const std::vector<format::Extent>> base_;
  std::shared_ptr<BodyFile> run_body_;  // the body.bin the run is in
  uint64_t run_off_ = 0, run_cap_ = 0, run_used_ = 0;
  uint64_t run_committed_ = 0;  // run bytes before this are part of a committed version
  uint64_t run_hint_ = 0;       // size of the next run
  uint64_t staged_ = 0;  // bytes of the run counted in Impl::staged_bytes
  uint64_t writeback_mark_ = 0;  // body.bin offset: writeback was started for bytes before it
};

// pid of the process holding the writer lock of `dir`, or 0 if none.
int lock_holder_pid(const std::string& dir);

}  // namespace docfs
