// Jina 2.x's DocumentArrayMemmap directory (jina/types/arrays/memmap.py), read in place and
// never written: header.bin is fixed rows (id as UTF-32LE, NUL-padded and truncated to
// key_length; p, r, r+l as int64), body.bin is DocumentProto records back to back; a
// document is body[p+r : p+r+l]; a row (id, -1, -1, -1) is a deleted document.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "interop/document_io.h"

namespace docfs::interop {

struct JinaDamInfo {
  int key_length = 0;
  uint64_t rows = 0;
  uint64_t live = 0;            // documents a reader sees (one per full id)
  uint64_t tombstones = 0;      // rows (id, -1, -1, -1)
  uint64_t superseded = 0;      // live-looking rows replaced by a later row of the same id
  uint64_t truncated_ids = 0;   // documents whose full id is longer than key_length
  uint64_t bad_rows = 0;        // rows that cannot be read (bad offsets, past body.bin)
  uint64_t torn_tail_bytes = 0; // header.bin bytes after the last whole row (a torn append)
  std::vector<std::string> warnings;  // e.g. the torn tail, one sentence each
};

// True when `dir` holds header.bin and body.bin that are not docfs's (no DOCFS magic) and
// header.bin reads, for some key length, as mostly well-formed rows (a damaged DAM with a
// torn tail or a few bad rows is still one). Reads only.
bool looks_like_jina_dam(const std::string& dir, std::optional<int> key_length = std::nullopt);

// Detects the key length (or checks `key_length`), reads the header and the ids. Throws
// UsageError saying why the directory is not a DAM Jina could open.
JinaDamInfo inspect_jina_dam(const std::string& dir, std::optional<int> key_length = std::nullopt);

// The live documents in row order, each parsed from its protobuf (the full id, not the
// header's truncated one). A row that cannot be read (not well-formed, pointing past
// body.bin, a protobuf that does not parse) throws BadDocument naming the row, its
// header.bin byte and body.bin bytes; reading goes on past it. Memory: the header's rows
// plus one document.
std::unique_ptr<DocumentSource> jina_dam_source(const std::string& dir, std::optional<int> key_length,
                                                JinaDamInfo* info = nullptr);

}  // namespace docfs::interop
