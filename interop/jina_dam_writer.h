// Writes a Jina 2.x DocumentArrayMemmap directory the way Jina 2.0.10's memmap.py append()
// does: body.bin gets each DocumentProto (Jina 2 schema) back to back; header.bin gets one
// row per document: the id as numpy '<U key_length' (UTF-32LE, NUL-padded), then int64
// p = start rounded down to 4096, r = start % 4096, r + length.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/document.h"

namespace docfs::interop {

// Jina's default key_length (DocumentArrayMemmap(path, key_length=36)): a uuid's length.
inline constexpr int kJinaDefaultKeyLength = 36;

// Code points in a UTF-8 string: what numpy counts against '<U key_length'.
size_t id_code_points(std::string_view utf8);

class JinaDamWriter {
 public:
  // Creates header.bin and body.bin in `dir` (an existing, empty directory).
  JinaDamWriter(const std::string& dir, int key_length);
  ~JinaDamWriter();
  JinaDamWriter(const JinaDamWriter&) = delete;
  JinaDamWriter& operator=(const JinaDamWriter&) = delete;

  // Throws UsageError when the id is longer than key_length code points (Jina would truncate
  // it and could no longer tell it apart) or a field has no Jina 2 form.
  void append(const Document& doc);
  // Flushes and fsyncs both files. Throws IoError.
  void finish();
  uint64_t documents() const { return rows_; }
  uint64_t body_bytes() const { return start_; }

 private:
  std::string dir_;
  int key_length_;
  std::FILE* header_ = nullptr;
  std::FILE* body_ = nullptr;
  uint64_t start_ = 0;  // memmap.py's self._start: where the next record begins
  uint64_t rows_ = 0;
};

}  // namespace docfs::interop
