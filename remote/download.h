// Parallel ranged GETs into a local file: how both s3:// pulls and presigned-URL pulls
// download large objects.
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/file_io.h"
#include "remote/backend.h"
#include "remote/http_client.h"

namespace docfs::remote {

// An unlinked temporary file in `dir` (O_TMPFILE when the filesystem has it).
File make_temp_file(const std::string& dir);

// Downloads bytes [start, end) of an object into f (at the same offsets) in the background,
// in ranges of client.options().part_size fetched by up to options().concurrency threads
// (taken in order). A consumer may read the contiguous prefix while the rest still arrives:
// wait_for(n) blocks until bytes [start, n) are all in f. `build(from, to_inclusive)` returns a
// fresh, signed request carrying the Range header. The destructor cancels what is still
// running and joins the threads; client and build's captures must outlive this object.
class RangeDownload {
 public:
  RangeDownload(HttpClient& client, std::function<HttpRequest(uint64_t, uint64_t)> build, uint64_t start,
                uint64_t end, const File& f, Progress* progress, std::string what);
  ~RangeDownload();
  RangeDownload(const RangeDownload&) = delete;
  RangeDownload& operator=(const RangeDownload&) = delete;

  // Blocks until [start, min(n, end)) is written; throws the download's error if it failed.
  void wait_for(uint64_t n);
  // Waits for everything and joins; throws the download's error.
  void finish();

 private:
  void worker();
  void cancel_and_join();

  HttpClient& client_;
  std::function<HttpRequest(uint64_t, uint64_t)> build_;
  const uint64_t start_, end_, part_, parts_;
  File f_;  // a dup of the caller's descriptor: the caller's File may move
  Progress* progress_;
  const std::string what_;

  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_ = 0;             // next part to take
  std::vector<bool> done_;        // per part
  uint64_t prefix_parts_ = 0;     // parts [0, prefix_parts_) all done
  std::atomic<bool> failed_{false};  // an error, or cancelled
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
  bool joined_ = false;
};

// The same, in the foreground: returns once all of [start, end) is in f.
void download_ranges(HttpClient& client, const std::function<HttpRequest(uint64_t, uint64_t)>& build,
                     uint64_t start, uint64_t end, const File& f, Progress* progress, const std::string& what);

}  // namespace docfs::remote
