// Throwing an errno from deep inside a handler; operations.cc replies with it.
#pragma once

#include "core/error.h"

namespace docfs::fs {

// An expected failure (ENOENT, EEXIST, ...): replied, not logged.
class FsErrno : public Error {
 public:
  explicit FsErrno(int err) : Error(err, "") {}
};

[[noreturn]] inline void fail(int err) { throw FsErrno(err); }

}  // namespace docfs::fs
