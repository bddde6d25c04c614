// Reading a Jina 2.x DocumentArrayMemmap directory in place, for the commands that only
// read (ls, get, stat, export, mount -o ro): the DAM is converted, reading only, into a
// private docfs store in a fresh 0700 directory outside it, and that copy is what the
// command reads. The DAM directory gets no byte written, no lock, no temp file.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "core/store.h"
#include "interop/jina_dam.h"

namespace docfs::cli {

// A fresh directory (mode 0700) under $XDG_RUNTIME_DIR, else $TMPDIR, else /tmp.
std::string make_private_dir(const std::string& prefix);
// Removes the files of a private copy and the directory; errors are ignored (best effort).
void remove_private_dir(const std::string& dir) noexcept;

// Converts the DAM at `dam_dir` into a new docfs store in the (empty) `store_dir`. Rows
// that cannot be read (bad offsets, a protobuf that does not parse, an id docfs refuses)
// and a torn header tail are skipped with one line each on `warn`, naming row and offset.
interop::JinaDamInfo convert_jina_dam(const std::string& dam_dir, const std::string& store_dir,
                                      std::optional<int> key_length, std::ostream& warn);

// Store::open read-only; a Jina DAM directory is read through a private converted copy,
// whose files are unlinked as soon as the store has them open.
std::unique_ptr<Store> open_store_for_reading(const std::string& dir, std::optional<int> key_length = std::nullopt);

}  // namespace docfs::cli
