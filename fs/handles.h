// Per-inode write staging and the per-open() handles the kernel gets in fi->fh.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/store.h"
#include "fs/inode_table.h"
#include "fs/write_buffer.h"

namespace docfs::fs {

// Staged content of one inode, shared by all of its write handles so that two file
// descriptors writing the same file behave like on a local filesystem. Created at the
// first open for writing, dropped when the last write handle is released.
struct WriteState {
  std::mutex mu;                     // serializes buffer access and commits
  std::unique_ptr<WriteBuffer> buf;  // nullptr until the first write or truncate
  bool dirty = false;                // buf differs from the committed version
  int writers = 0;                   // open write handles (guarded by the table mutex)
  // Read without `mu` by getattr (which must not wait behind a long commit).
  std::atomic<bool> staged{false};
  std::atomic<uint64_t> size{0};
  std::atomic<uint64_t> data_bytes{0};  // size minus holes (st_blocks)
  std::atomic<int64_t> mtime_ns{0};
};

struct FileHandle {
  Node* node = nullptr;
  bool writable = false;
  bool append = false;
  std::optional<ContentRef> content;  // the version seen at open (close-to-open)
};

struct DirEntry {
  std::string name;
  fuse_ino_t ino;
  bool is_dir;
};

struct DirHandle {
  Node* node = nullptr;
  std::vector<DirEntry> entries;  // snapshot at opendir; offsets index it
};

}  // namespace docfs::fs
