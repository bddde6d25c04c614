// Errors the core reports. Every one carries an errno so the filesystem can answer the
// kernel with the right code, and a message that names the file and offset when it can.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>

namespace docfs {

class Error : public std::runtime_error {
 public:
  Error(int err, const std::string& what) : std::runtime_error(what), errno_(err) {}
  int error_code() const { return errno_; }

 private:
  int errno_;
};

// A system call failed: message is "<what>: <strerror>".
class IoError : public Error {
 public:
  IoError(int err, const std::string& what);
};

// Bytes on disk (or in an archive) are not what the format says: corrupt, wrong magic,
// unknown version. Message names the file and the offset.
class FormatError : public Error {
 public:
  explicit FormatError(const std::string& what) : Error(EIO, what) {}
};

// A directory holds files of the same names that another program wrote (e.g. a Jina
// DocumentArrayMemmap): docfs reads nothing from it as a store and writes nothing into it.
class ForeignStoreError : public FormatError {
 public:
  ForeignStoreError(std::string dir, const std::string& what) : FormatError(what), dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// Another process holds the store's writer lock.
class LockedError : public Error {
 public:
  explicit LockedError(const std::string& what) : Error(EBUSY, what) {}
};

// A caller asked for something that is not allowed: bad id, missing document, ...
class UsageError : public Error {
 public:
  UsageError(int err, const std::string& what) : Error(err, what) {}
};

}  // namespace docfs
