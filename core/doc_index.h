// The in-memory map from id to the location of a document's newest version: the only
// per-document state a store keeps in RAM. Built for millions of entries: ids live in a
// chunked arena, entries in one vector, and an open-addressing table of 32-bit slots maps
// ids to entries (about 100 bytes per document with 32-byte ids, no per-entry allocation).
//
// Hard links: an id is a *name* of a file. Most files have one name and keep their
// location in their name's slot. A file given a second name (kLink) moves its location into
// a shared file object that all its names point at, so a put through any name is seen
// through every other one. The index also keeps the live byte count: each file's bytes are
// counted once, however many names it has.
// Not thread-safe; the store guards it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "core/store_format.h"

namespace docfs {

using ExtentList = std::vector<format::Extent>;

struct Location {
  uint64_t record_off = 0;   // body record holding the metadata
  uint64_t content_off = 0;  // first content byte (in that record or an earlier one)
  uint64_t content_len = 0;  // the file size
  // Set for a kPutExtents version: its content is these extents and holes between them
  // (content_off is then unused). Shared, never changed: versions and readers share it.
  std::shared_ptr<const ExtentList> extents;
  uint32_t meta_len = 0;
  uint32_t mode = 0, uid = 0, gid = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
};

// How many names a file has, and what all of them share.
struct FileLinks {
  uint32_t nlink = 1;
  // 0 for a file that never had a second name; otherwise the same for every name of one
  // file and different between files, for as long as the index lives (not across opens).
  uint64_t file_id = 0;
};

// Body bytes a version keeps from being garbage: its metadata record (counted with a name
// of `id_len` bytes) and its data.
uint64_t live_size(size_t id_len, const Location& l);

class DocIndex {
 public:
  DocIndex();
  void reserve(size_t n);
  // The newest version of the file `id` names (shared by all its names).
  const Location* find(std::string_view id) const;
  const Location* find(std::string_view id, FileLinks* links) const;
  // Sets the newest version of id's file (creating a one-name file when id is new);
  // returns the previous location when there was one.
  bool upsert(std::string_view id, const Location& loc, Location* previous = nullptr);
  // Removes the name `id`; its file's bytes become garbage when it was the last name.
  bool erase(std::string_view id);
  // Moves the name `from` to `to` (its file goes with it); `to` loses the file it named.
  // Both naming one file: `from` goes, `to` stays. False when `from` does not exist.
  bool rename(std::string_view from, std::string_view to);
  // `name` becomes another name of the file `target` names (`name` loses the file it named
  // before). False when `target` does not exist.
  bool link(std::string_view target, std::string_view name);
  void clear();
  size_t size() const { return live_; }  // names
  uint64_t live_bytes() const { return live_bytes_; }
  void for_each(const std::function<void(std::string_view, const Location&)>& fn) const;
  void for_each(const std::function<void(std::string_view, const Location&, const FileLinks&)>& fn) const;

 private:
  static constexpr uint32_t kNoFile = 0xffffffffu;
  struct Slot {
    uint64_t id_pos;  // arena position
    uint32_t id_len : 31;
    uint32_t live : 1;
    uint32_t file;  // index into files_, or kNoFile: the location is `loc`
    Location loc;
  };
  // A file with more than one name (or that had one): its names' slots point here.
  struct SharedFile {
    Location loc;
    uint32_t nlink = 0;
    uint32_t counted_id_len = 0;  // its bytes are counted in live_bytes_ with this name length
    uint64_t id = 0;
  };
  static constexpr uint32_t kEmpty = 0xffffffffu;
  static constexpr uint32_t kTombstone = 0xfffffffeu;

  std::string_view id_of(const Slot& s) const;
  uint64_t store_id(std::string_view id);
  // Table position holding `id`, or where it would go (first free) when absent.
  size_t probe(std::string_view id, bool* found) const;
  void rehash(size_t capacity);
  Slot* slot(std::string_view id);
  const Slot* slot(std::string_view id) const;
  // Adds a slot for a new id (the caller checked it is absent).
  Slot& insert(std::string_view id, uint32_t file, const Location& loc);
  // Takes the name out of the table without touching its file.
  void drop_slot(std::string_view id);
  // One name fewer for the file of `s` (counted bytes released when it was the last).
  void release_file_of(const Slot& s);
  uint64_t counted(const Slot& s) const;

  static constexpr size_t kChunkBits = 22;  // 4 MiB arena chunks; an id never spans two
  std::vector<std::unique_ptr<char[]>> chunks_;
  size_t chunk_used_ = size_t{1} << kChunkBits;
  std::vector<Slot> entries_;
  std::vector<uint32_t> free_entries_;
  std::vector<uint32_t> table_;  // entry index, kEmpty or kTombstone
  std::vector<SharedFile> files_;
  std::vector<uint32_t> free_files_;
  uint64_t next_file_id_ = 1;
  size_t live_ = 0;
  size_t tombstones_ = 0;
  uint64_t live_bytes_ = 0;
};

}  // namespace docfs
