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
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/document.h"

namespace docfs {

// What header.bin mirrors for each live document: enough for stat(2) and `ls -l`
// without touching body.bin.
struct Stat {
  uint64_t size = 0;  // content length
  uint32_t mode = 0100644;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
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
  uint64_t body_bytes = 0;     // size of body.bin
  uint64_t header_bytes = 0;   // size of header.bin
};

class BodyFile;  // an open body.bin, shared by readers so prune never pulls it away

// The bytes of one document version. Stays valid (and unchanged) after that document is
// overwritten, deleted or the store is pruned: it pins the body.bin it points into.
class ContentRef {
 public:
  ContentRef(std::shared_ptr<const BodyFile> file, uint64_t offset, uint64_t size);
  uint64_t size() const { return size_; }
  // Reads up to n bytes at `off` within the content; returns the count (short at the end).
  // Throws IoError.
  size_t read(uint64_t off, void* buf, size_t n) const;
  std::string read_all() const;
  // For zero-copy replies (FUSE_BUF_IS_FD): content byte `off` is at file_offset()+off of fd().
  int fd() const;
  uint64_t file_offset() const { return offset_; }

 private:
  std::shared_ptr<const BodyFile> file_;
  uint64_t offset_;
  uint64_t size_;
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
  // Tombstones `id`; returns false if it did not exist.
  bool remove(std::string_view id, bool flush = true);
  // Atomic: afterwards `to` has from's document and `from` is gone; an existing `to` is
  // replaced. UsageError(ENOENT) if `from` is missing.
  void rename(std::string_view from, std::string_view to, bool flush = true);
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
  // Verifies every header entry and every live body record CRC. repair=true truncates
  // torn tails (needs the writer lock).
  static FsckReport fsck(const std::string& dir, bool repair);

  class Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A document being written in place at the end of body.bin: space is reserved there and
// grown in place while nobody else appends (else the bytes move once, in the kernel, to a
// bigger reservation). Nothing is visible until commit(): then a content-only record header
// and a metadata record with its header entry make it the newest version. Random writes
// and truncation work too. Not thread-safe: one owner (e.g. one open file) drives it.
class StreamWriter {
 public:
  ~StreamWriter();  // uncommitted bytes become garbage (or are given back at the tail)
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  uint64_t size() const { return size_; }
  // Writes n bytes at off, growing (zero-filled) as needed. Throws IoError (ENOSPC, ...).
  void write(uint64_t off, const void* data, size_t n);
  // Reads up to n bytes at off; short only at the end.
  size_t read(uint64_t off, void* buf, size_t n) const;
  void truncate(uint64_t size);
  // Publishes the bytes as the newest version of meta.id. The writer stays usable: a later
  // write starts a new version (copy on write), leaving the committed one untouched.
  void commit(const DocumentMeta& meta, bool flush = true);

 private:
  friend class Store;
  explicit StreamWriter(Store::Impl* store) : store_(store) {}
  // Makes room for `capacity` content bytes, moving the bytes written so far if the
  // reservation cannot grow in place (or was committed, or a prune replaced body.bin).
  void reserve(uint64_t capacity, bool force_move = false);
  void release_reservation();

  Store::Impl* store_;
  std::shared_ptr<BodyFile> body_;  // the body.bin the reservation is in
  uint64_t record_off_ = 0;         // content-only record header; content follows it
  uint64_t capacity_ = 0;
  uint64_t size_ = 0;
  bool reserved_ = false;
  bool committed_ = false;   // the current bytes are a published version: copy on write
  bool sequential_ = true;   // written strictly front to back so far
  uint32_t crc_ = 0;         // CRC-32C of [0, size_) while sequential_
  uint64_t writeback_mark_ = 0;  // body.bin offset: writeback was started for bytes before it
};

// pid of the process holding the writer lock of `dir`, or 0 if none.
int lock_holder_pid(const std::string& dir);

}  // namespace docfs
