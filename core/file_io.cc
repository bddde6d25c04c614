#include "core/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"

namespace docfs {

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

File File::open(const std::string& path, int flags, int mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw IoError(errno, "open " + path);
  return File(fd, path);
}

uint64_t File::size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) throw IoError(errno, "stat " + path_);
  return static_cast<uint64_t>(st.st_size);
}

ino_t File::inode() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) throw IoError(errno, "stat " + path_);
  return st.st_ino;
}

size_t File::pread(void* buf, size_t n, uint64_t off) const {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, static_cast<char*>(buf) + done, n - done, static_cast<off_t>(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw IoError(errno, "read " + path_ + " at offset " + std::to_string(off + done));
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

std::string File::pread_string(size_t n, uint64_t off) const {
  std::string s(n, '\0');
  size_t got = pread(s.data(), n, off);
  if (got != n)
    throw FormatError(path_ + ": expected " + std::to_string(n) + " bytes at offset " +
                      std::to_string(off) + ", the file ends after " + std::to_string(got));
  return s;
}

void File::pwrite(const void* buf, size_t n, uint64_t off) const {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pwrite(fd_, static_cast<const char*>(buf) + done, n - done, static_cast<off_t>(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw IoError(errno, "write " + path_ + " at offset " + std::to_string(off + done));
    }
    done += static_cast<size_t>(r);
  }
}

void File::pwrite2(std::string_view a, std::string_view b, uint64_t off) const {
  iovec iov[2] = {{const_cast<char*>(a.data()), a.size()}, {const_cast<char*>(b.data()), b.size()}};
  ssize_t r;
  do {
    r = ::pwritev(fd_, iov, 2, static_cast<off_t>(off));
  } while (r < 0 && errno == EINTR);
  if (r < 0) throw IoError(errno, "write " + path_ + " at offset " + std::to_string(off));
  const uint64_t done = static_cast<uint64_t>(r);
  if (done == a.size() + b.size()) return;
  // Short write (rare: a signal, or the disk filling up): finish piece by piece.
  if (done < a.size()) pwrite(a.data() + done, a.size() - done, off + done);
  const uint64_t b_done = done > a.size() ? done - a.size() : 0;
  pwrite(b.data() + b_done, b.size() - b_done, off + a.size() + b_done);
}

void File::truncate(uint64_t size) const {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
    throw IoError(errno, "truncate " + path_ + " to " + std::to_string(size));
}

void File::sync() const {
  if (::fdatasync(fd_) != 0) throw IoError(errno, "fsync " + path_);
}

void sync_dir(const std::string& dir) {
  File d = File::open(dir, O_RDONLY | O_DIRECTORY);
  if (::fsync(d.fd()) != 0) throw IoError(errno, "fsync " + dir);
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

void remove_tree(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) {
    ::unlink(path.c_str());
    return;
  }
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string child = path + "/" + name;
    struct stat st;
    if (::lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      remove_tree(child);
    else
      ::unlink(child.c_str());
  }
  ::closedir(d);
  ::rmdir(path.c_str());
}

}  // namespace docfs
