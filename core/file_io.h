// Thin, EINTR-safe wrappers over the system calls the store uses. Each throws IoError
// naming the path on failure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace docfs {

// Owns a file descriptor.
class File {
 public:
  File() = default;
  File(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  File(File&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  File& operator=(File&& o) noexcept;
  ~File();
  static File open(const std::string& path, int flags, int mode = 0644);

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  bool valid() const { return fd_ >= 0; }
  uint64_t size() const;
  ino_t inode() const;
  // Reads up to n bytes; returns the count (short only at end of file).
  size_t pread(void* buf, size_t n, uint64_t off) const;
  std::string pread_string(size_t n, uint64_t off) const;  // throws FormatError if short
  void pwrite(const void* buf, size_t n, uint64_t off) const;
  // Writes a then b, contiguously at off, in one system call when it can.
  void pwrite2(std::string_view a, std::string_view b, uint64_t off) const;
  void truncate(uint64_t size) const;
  void sync() const;  // fdatasync

 private:
  int fd_ = -1;
  std::string path_;
};

// fsync of a directory, so a rename or create in it is durable.
void sync_dir(const std::string& dir);
bool path_exists(const std::string& path);
// Removes a directory tree (the prune scratch directory); ignores what is missing.
void remove_tree(const std::string& path);

}  // namespace docfs
