// The in-memory map from id to the location of a document's newest version: the only
// per-document state a store keeps in RAM. Built for millions of entries: ids live in a
// chunked arena, entries in one vector, and an open-addressing table of 32-bit slots maps
// ids to entries (about 100 bytes per document with 32-byte ids, no per-entry allocation).
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

class DocIndex {
 public:
  DocIndex();
  void reserve(size_t n);
  const Location* find(std::string_view id) const;
  // Inserts or replaces; returns the previous location when there was one.
  bool upsert(std::string_view id, const Location& loc, Location* previous = nullptr);
  bool erase(std::string_view id, Location* previous = nullptr);
  void clear();
  size_t size() const { return live_; }
  void for_each(const std::function<void(std::string_view, const Location&)>& fn) const;

 private:
  struct Slot {
    uint64_t id_pos;  // arena position
    uint32_t id_len;
    bool live;
    Location loc;
  };
  static constexpr uint32_t kEmpty = 0xffffffffu;
  static constexpr uint32_t kTombstone = 0xfffffffeu;

  std::string_view id_of(const Slot& s) const;
  uint64_t store_id(std::string_view id);
  // Table position holding `id`, or where it would go (first free) when absent.
  size_t probe(std::string_view id, bool* found) const;
  void rehash(size_t capacity);

  static constexpr size_t kChunkBits = 22;  // 4 MiB arena chunks; an id never spans two
  std::vector<std::unique_ptr<char[]>> chunks_;
  size_t chunk_used_ = size_t{1} << kChunkBits;
  std::vector<Slot> entries_;
  std::vector<uint32_t> free_entries_;
  std::vector<uint32_t> table_;  // entry index, kEmpty or kTombstone
  size_t live_ = 0;
  size_t tombstones_ = 0;
};

}  // namespace docfs
