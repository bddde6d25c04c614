// The one-writer-per-store rule: an exclusive flock on STORE/lock, with the holder's pid
// written inside so the second writer can be told who holds it. The kernel drops the lock
// when the holder dies, so a crash never leaves a store locked.
#pragma once

#include <string>

#include "core/file_io.h"

namespace docfs {

class StoreLock {
 public:
  // Throws LockedError("store DIR is locked by pid N") when another process holds it.
  static StoreLock acquire(const std::string& dir);
  StoreLock(StoreLock&&) = default;
  StoreLock& operator=(StoreLock&&) = default;

 private:
  explicit StoreLock(File f) : file_(std::move(f)) {}
  File file_;
};

}  // namespace docfs
