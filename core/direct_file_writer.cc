#include "core/direct_file_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <new>
#include <stdexcept>

#include "core/error.h"

namespace docfs {
namespace {

char* aligned_buffer(size_t n) {
  void* p = nullptr;
  if (::posix_memalign(&p, DirectFileWriter::kAlign, n) != 0) throw std::bad_alloc();
  return static_cast<char*>(p);
}

}  // namespace

DirectFileWriter::DirectFileWriter(const std::string& path, const File& buffered, bool direct)
    : path_(path), buffered_(buffered) {
  int fd = direct ? ::open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC) : -1;
  if (fd >= 0) {
    direct_ = File(fd, path);
    direct_ok_ = true;
  }  // EINVAL (tmpfs, some FUSE filesystems): everything goes through `buffered`
  first_block_.reset(aligned_buffer(kAlign));
  std::memset(first_block_.get(), 0, kAlign);
}

DirectFileWriter::~DirectFileWriter() {
  for (auto& w : writing_)
    if (w.valid()) w.wait();
}

char* DirectFileWriter::next_buffer() {
  if (ended_) throw std::logic_error("DirectFileWriter: chunk after the last one");
  slot_ = (slot_ + 1) % kSlots;
  if (writing_[slot_].valid()) writing_[slot_].get();  // rethrows that write's error
  if (!slots_[slot_]) slots_[slot_].reset(aligned_buffer(kChunk));
  return slots_[slot_].get();
}

void DirectFileWriter::submit(size_t n) {
  if (slot_ < 0 || n > kChunk) throw std::logic_error("DirectFileWriter: submit without a buffer");
  char* p = slots_[slot_].get();
  if (offset_ == 0) std::memcpy(first_block_.get(), p, std::min(n, kAlign));
  size_t aligned = n & ~(kAlign - 1);
  if (aligned < n) {  // the end of the file: its last partial block waits for finish()
    ended_ = true;
    tail_ = p + aligned;
    tail_len_ = n - aligned;
    tail_off_ = offset_ + aligned;
  }
  if (aligned > 0)
    writing_[slot_] = std::async(std::launch::async, [this, p, aligned, off = offset_] { write_chunk(p, aligned, off, true); });
  offset_ += n;
  if (n < kChunk) ended_ = true;
}

void DirectFileWriter::write_chunk(const char* p, size_t n, uint64_t off, bool count) {
  size_t done = 0;
  while (done < n) {
    const bool direct = direct_ok_.load();
    ssize_t w = ::pwrite(direct ? direct_.fd() : buffered_.fd(), p + done, n - done, static_cast<off_t>(off + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && direct) {  // this filesystem wants another alignment: go buffered
        direct_ok_ = false;
        continue;
      }
      throw IoError(errno, "write " + path_);
    }
    done += static_cast<size_t>(w);
    if (count && on_written) on_written(static_cast<size_t>(w));
  }
  if (!direct_ok_.load())  // start writeback now, so the final fsync has little left to do
    ::sync_file_range(buffered_.fd(), static_cast<off64_t>(off), static_cast<off64_t>(n), SYNC_FILE_RANGE_WRITE);
}

void DirectFileWriter::finish(std::string_view head) {
  for (auto& w : writing_)
    if (w.valid()) w.get();
  if (tail_len_ > 0) {
    buffered_.pwrite(tail_, tail_len_, tail_off_);
    if (on_written) on_written(tail_len_);
  }
  if (head.empty()) return;
  if (head.size() > kAlign) throw std::logic_error("DirectFileWriter: head larger than a block");
  if (direct_ok_.load() && offset_ >= kAlign) {
    // Rewrite the whole first block directly: a buffered write of part of it would first
    // read the block back from the disk.
    std::memcpy(first_block_.get(), head.data(), head.size());
    write_chunk(first_block_.get(), kAlign, 0, false);
  } else {
    buffered_.pwrite(head.data(), head.size(), 0);
  }
}

}  // namespace docfs
