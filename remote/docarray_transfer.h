// Pull and push of DocArray v2's own objects (NAME.docs) on a remote, for `docfs pull`,
// `docfs push --format docarray` and the mount's .remote/NAME.docs/. The stream itself is
// interop/docarray_v2_stream.h; this file moves it between a backend and a store.
#pragma once

#include <cstdint>
#include <string>

#include "remote/backend.h"

namespace docfs::remote {

struct DocArrayTransfer {
  uint64_t documents = 0;
  uint64_t bytes = 0;
  uint64_t skipped = 0;  // push: directory markers, symbolic links and special files
  std::string key;       // the object, NAME.docs
  ObjectInfo info;       // pull: the object that was read (its ETag)
};

// The key DocArray's `push('file://DIR/NAME')` writes: NAME with its last dotted suffix
// replaced by ".docs" (Python's Path.with_suffix), e.g. "texts" and "texts.docs" -> "texts.docs".
std::string docarray_key_for(const std::string& name);

// Pulls the DocArray object `key` into the store `dest` (created, or an unlocked store
// replaced): every document is read and checked before the store is put in place; on any
// error `dest` is untouched. s3:// objects hold pickles: decoded by docfs's restricted
// decoder (interop/docarray_v2_pickle.h), which executes nothing.
DocArrayTransfer pull_docarray(Backend& backend, const std::string& key, const std::string& dest,
                               uint64_t max_bytes);

// Writes the store's documents as NAME.docs the way DocArray's store for the remote does.
// file://: into DIR/NAME.docs.tmp (refused when it exists: a push is under way), then
// renamed. s3://: one object, gzip around the framed pickles (interop/docarray_v2_pickle_writer.h),
// built in an unlinked temporary file beside the store, then put.
DocArrayTransfer push_docarray(const std::string& store_dir, Backend& backend, const std::string& name);

// For the mount's .remote/KEY (KEY ends in .docs): the object in the backend's DocArray form
// (file://: the protobuf stream; s3://: gzip'd pickles), built in an unlinked temporary file
// in `tmp_dir`, then Backend::put with `opts`, so conditional pushes and their conflicts
// work as for docfs archives. r.info is what the put returned (its ETag).
DocArrayTransfer put_docarray(const std::string& store_dir, Backend& backend, const std::string& key,
                              const PutOptions& opts, const std::string& tmp_dir);

}  // namespace docfs::remote
