#include "fs/write_buffer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace docfs::fs {
namespace {

int open_temp(const std::string& dir) {
  // O_TMPFILE: never visible, vanishes on crash. Fall back to mkstemp + unlink.
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string tmpl = dir + "/.docfs-stage-XXXXXX";
  fd = mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) {
    const char* tmpdir = getenv("TMPDIR");
    tmpl = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/docfs-stage-XXXXXX";
    fd = mkostemp(tmpl.data(), O_CLOEXEC);
  }
  if (fd < 0) throw IoError(errno, "creating a staging file in " + dir);
  unlink(tmpl.c_str());
  return fd;
}

void pwrite_all(int fd, const char* p, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw IoError(errno, "writing a staging file");
    }
    p += w;
    n -= static_cast<size_t>(w);
    off += static_cast<uint64_t>(w);
  }
}

}  // namespace

WriteBuffer::WriteBuffer(std::string spill_dir, uint64_t memory_limit)
    : spill_dir_(std::move(spill_dir)), memory_limit_(memory_limit) {}

WriteBuffer::~WriteBuffer() {
  if (fd_ >= 0) ::close(fd_);
}

void WriteBuffer::spill(uint64_t needed) {
  if (fd_ >= 0 || needed <= memory_limit_) return;
  int fd = open_temp(spill_dir_);
  try {
    pwrite_all(fd, mem_.data(), mem_.size(), 0);
  } catch (...) {
    ::close(fd);
    throw;
  }
  fd_ = fd;
  std::string().swap(mem_);
}

void WriteBuffer::write(uint64_t off, const void* data, size_t n) {
  uint64_t end = off + n;
  spill(std::max(end, size_));
  if (fd_ >= 0) {
    pwrite_all(fd_, static_cast<const char*>(data), n, off);
  } else {
    if (end > mem_.size()) mem_.resize(end);  // zero-fills a sparse gap
    memcpy(mem_.data() + off, data, n);
  }
  size_ = std::max(size_, end);
}

size_t WriteBuffer::read(uint64_t off, void* buf, size_t n) const {
  if (off >= size_) return 0;
  n = static_cast<size_t>(std::min<uint64_t>(n, size_ - off));
  if (fd_ < 0) {
    memcpy(buf, mem_.data() + off, n);
    return n;
  }
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, static_cast<char*>(buf) + done, n - done,
                        static_cast<off_t>(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw IoError(errno, "reading a staging file");
    }
    if (r == 0) {  // a hole past the file's end (truncate up): zeros
      memset(static_cast<char*>(buf) + done, 0, n - done);
      break;
    }
    done += static_cast<size_t>(r);
  }
  return n;
}

void WriteBuffer::truncate(uint64_t size) {
  spill(size);
  if (fd_ >= 0) {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
      throw IoError(errno, "truncating a staging file");
  } else {
    mem_.resize(size);
  }
  size_ = size;
}

void WriteBuffer::load(const ContentRef& content) {
  truncate(0);
  std::vector<char> chunk(1 << 20);
  uint64_t off = 0;
  while (off < content.size()) {
    size_t n = content.read(off, chunk.data(), chunk.size());
    if (n == 0) throw IoError(EIO, "short read of the content being modified");
    write(off, chunk.data(), n);
    off += n;
  }
}

}  // namespace docfs::fs
