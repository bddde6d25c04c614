// Writes a brand-new store front to back in one pass: how a pull rebuilds an array.
//
// Store::put goes through the page cache one record at a time and keeps an index; a builder
// knows the whole store is new and written in order, so it stages records in large aligned
// chunks, writes body.bin with O_DIRECT (DirectFileWriter) and keeps only header.bin's
// entries in memory. The result is an ordinary store: Store::open reads it like any other.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/direct_file_writer.h"
#include "core/document.h"
#include "core/file_io.h"
#include "core/store.h"

namespace docfs {

class StoreBuilder {
 public:
  // `dir` must exist and hold no store; body.bin and header.bin are created in it.
  // direct=false writes body.bin through the page cache (it stays cached for the readers
  // that are likely to come next; worth it for small stores).
  explicit StoreBuilder(const std::string& dir, bool direct = true);
  ~StoreBuilder();
  StoreBuilder(const StoreBuilder&) = delete;
  StoreBuilder& operator=(const StoreBuilder&) = delete;

  // Appends one document; its content is read from src front to back, size() bytes. A later
  // document with the same id replaces the earlier one, as with Store::put.
  void add(const DocumentMeta& meta, ContentSource& src);
  // Appends a document of `size` bytes with holes: `data` holds the bytes of the given
  // (file offset, length) ranges back to back (sorted, not overlapping); the rest are holes.
  void add_sparse(const DocumentMeta& meta, uint64_t size, const std::vector<std::pair<uint64_t, uint64_t>>& ranges,
                  ContentSource& data);
  // A hard link (kLink): `name` becomes another name of the document added as `target`.
  // The caller makes sure `target` was added and `name` was not (a kLink to a missing
  // target would change nothing, and the name would be missing from the store).
  void add_link(const std::string& name, const std::string& target);
  // Writes what is staged and fsyncs body.bin, then header.bin, then the directory. Nothing
  // is a store until this returns.
  void finish();

  uint64_t documents() const { return documents_; }

 private:
  void append(const void* p, size_t n);
  // Appends bytes [from, from + n) of src; returns their CRC-32C.
  uint32_t copy_in(ContentSource& src, uint64_t from, uint64_t n, const std::string& id);
  void next_chunk();

  std::string dir_;
  File body_, header_;
  DirectFileWriter out_;
  char* chunk_ = nullptr;     // the chunk being filled
  size_t fill_ = 0;           // bytes in chunk_
  uint64_t chunk_start_ = 0;  // body.bin offset of chunk_[0]
  uint64_t body_end_ = 0;
  std::string header_buf_;    // every entry, written by finish()
  // Record prefixes that could not be filled in before their chunk went to disk (contents
  // larger than a chunk): body.bin offset and bytes, written by finish().
  std::vector<std::pair<uint64_t, std::string>> patches_;
  uint64_t documents_ = 0;
  uint64_t generation_ = 0;
  bool has_links_ = false;
  bool finished_ = false;
};

}  // namespace docfs
