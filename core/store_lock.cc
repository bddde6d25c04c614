#include "core/store_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/error.h"
#include "core/store.h"

namespace docfs {
namespace {

int read_pid(const File& f) {
  char buf[32] = {};
  size_t n = f.pread(buf, sizeof buf - 1, 0);
  buf[n] = '\0';
  return std::atoi(buf);
}

}  // namespace

StoreLock StoreLock::acquire(const std::string& dir) {
  File f = File::open(dir + "/lock", O_RDWR | O_CREAT, 0644);
  if (::flock(f.fd(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) throw IoError(errno, "lock " + f.path());
    int pid = read_pid(f);
    throw LockedError("store " + dir + " is locked by pid " + std::to_string(pid) +
                      " (a mount or another docfs writer; unmount it or wait)");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  f.truncate(0);
  f.pwrite(pid.data(), pid.size(), 0);
  return StoreLock(std::move(f));
}

int lock_holder_pid(const std::string& dir) {
  int fd = ::open((dir + "/lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  File f(fd, dir + "/lock");
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) return 0;  // nobody holds it exclusively
  return read_pid(f);
}

}  // namespace docfs
