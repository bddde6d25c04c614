// Writes one large new file front to back from aligned chunks, with O_DIRECT where the
// filesystem takes it (ext4, xfs, NFS), buffered where it does not (tmpfs) or when the
// kernel refuses an alignment.
//
// For bulk output: a file:// push (an object this host will not read back) and the body of
// a store rebuilt by a pull. Through the page cache such a file would evict what the user
// is working with and pay for a fresh page per 4 KiB; directly, the disk reads our few
// reused buffers and several chunks are in flight at once. The caller still calls sync()
// before it renames the file into place.
#pragma once

#include <cstdint>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "core/file_io.h"

namespace docfs {

class DirectFileWriter {
 public:
  static constexpr size_t kAlign = 4096;
  static constexpr size_t kChunk = 8u << 20;  // a multiple of kAlign
  static constexpr int kSlots = 4;            // chunks filled or in flight at once

  // `path` must be a new, empty regular file; `buffered` is already open on it for writing.
  // direct=false writes everything through `buffered` (what happens where O_DIRECT fails).
  DirectFileWriter(const std::string& path, const File& buffered, bool direct = true);
  ~DirectFileWriter();  // waits for writes still in flight
  DirectFileWriter(const DirectFileWriter&) = delete;
  DirectFileWriter& operator=(const DirectFileWriter&) = delete;

  // The next chunk to fill (kChunk bytes, aligned). Waits until the slot's last write is done.
  char* next_buffer();
  // Queues the buffer from next_buffer(), holding n bytes, at the current end. Only the last
  // chunk may be shorter than kChunk.
  void submit(size_t n);
  // Waits for every queued write, then writes `head` (if any) over the file's first bytes.
  void finish(std::string_view head = {});
  void sync() const { buffered_.sync(); }
  // Bytes written so far; called from the writing threads, so keep it cheap.
  std::function<void(size_t)> on_written;

 private:
  struct FreeDeleter {
    void operator()(char* p) const { std::free(p); }
  };
  void write_chunk(const char* p, size_t n, uint64_t off, bool count);

  std::string path_;
  const File& buffered_;
  File direct_;  // invalid when the filesystem has no O_DIRECT
  std::unique_ptr<char, FreeDeleter> slots_[kSlots];
  std::future<void> writing_[kSlots];
  std::unique_ptr<char, FreeDeleter> first_block_;  // chunk 0's first kAlign bytes, for finish()
  std::atomic<bool> direct_ok_{false};
  int slot_ = -1;
  uint64_t offset_ = 0;
  bool ended_ = false;
  // The last chunk's unaligned end, written through the page cache by finish().
  const char* tail_ = nullptr;
  size_t tail_len_ = 0;
  uint64_t tail_off_ = 0;
};

}  // namespace docfs
