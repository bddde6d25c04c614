#include "remote/download.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

namespace docfs::remote {
namespace {

// Thrown by a request builder once the download was cancelled: not a TransportError, so
// perform_with_retries does not retry it.
struct Cancelled : std::exception {
  const char* what() const noexcept override { return "download cancelled"; }
};

File dup_file(const File& f) {
  int fd = ::fcntl(f.fd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) throw IoError(errno, "dup " + f.path());
  return File(fd, f.path());
}

}  // namespace

File make_temp_file(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return File(fd, dir + "/(download)");
  std::string tmpl = dir + "/.docfs-download-XXXXXX";
  fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw IoError(errno, "create a temporary file in " + dir);
  ::unlink(tmpl.c_str());
  return File(fd, tmpl);
}

RangeDownload::RangeDownload(HttpClient& client, std::function<HttpRequest(uint64_t, uint64_t)> build,
                             uint64_t start, uint64_t end, const File& f, Progress* progress, std::string what)
    : client_(client), build_(std::move(build)), start_(start), end_(std::max(start, end)),
      part_(std::max<uint64_t>(client.options().part_size, 1u << 20)),
      parts_((end_ - start_ + part_ - 1) / part_), f_(dup_file(f)), progress_(progress), what_(std::move(what)),
      done_(parts_, false) {
  const int n = static_cast<int>(std::min<uint64_t>(std::max(1, client.options().concurrency), parts_));
  try {
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { worker(); });
  } catch (...) {
    cancel_and_join();
    throw;
  }
}

RangeDownload::~RangeDownload() { cancel_and_join(); }

void RangeDownload::cancel_and_join() {
  {
    std::lock_guard lk(mu_);
    if (!error_ && prefix_parts_ < parts_) failed_ = true;  // cancelled: workers stop soon
  }
  cv_.notify_all();
  if (joined_) return;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  joined_ = true;
}

void RangeDownload::worker() {
  for (;;) {
    uint64_t i;
    {
      std::lock_guard lk(mu_);
      if (failed_ || next_ >= parts_) return;
      i = next_++;
    }
    const uint64_t from = start_ + i * part_, to = std::min(end_, from + part_) - 1;
    try {
      uint64_t written = 0;
      HttpResponse r = client_.perform_with_retries(
          [&] {
            {
              std::lock_guard lk(mu_);
              if (failed_) throw Cancelled();
            }
            // A retry starts the range again from its first byte.
            if (progress_ && written) progress_->done.fetch_sub(written);
            written = 0;
            HttpRequest req = build_(from, to);
            req.sink = [&](const char* d, size_t n) {
              if (failed_ || written + n > to - from + 1) return false;
              f_.pwrite(d, n, from + written);
              written += n;
              if (progress_) progress_->add(n);
              return true;
            };
            return req;
          },
          what_);
      if (r.status != 206 && !(r.status == 200 && from == 0 && to + 1 == end_))
        throw_http_error(r, what_ + " (bytes " + std::to_string(from) + "-" + std::to_string(to) + ")");
      if (written != to - from + 1)
        throw TransportError(what_ + ": got " + std::to_string(written) + " bytes of range " + std::to_string(from) +
                             "-" + std::to_string(to));
      std::lock_guard lk(mu_);
      done_[i] = true;
      while (prefix_parts_ < parts_ && done_[prefix_parts_]) ++prefix_parts_;
    } catch (const Cancelled&) {
      return;
    } catch (...) {
      std::lock_guard lk(mu_);
      if (!error_ && !failed_) error_ = std::current_exception();
      failed_ = true;
    }
    cv_.notify_all();
  }
}

void RangeDownload::wait_for(uint64_t n) {
  n = std::min(n, end_);
  if (n <= start_) return;
  const uint64_t need = (n - start_ + part_ - 1) / part_;
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return prefix_parts_ >= need || error_ || failed_; });
  if (prefix_parts_ >= need) return;
  if (error_) std::rethrow_exception(error_);
  throw TransportError(what_ + ": download cancelled");
}

void RangeDownload::finish() {
  wait_for(end_);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  joined_ = true;
}

void download_ranges(HttpClient& client, const std::function<HttpRequest(uint64_t, uint64_t)>& build,
                     uint64_t start, uint64_t end, const File& f, Progress* progress, const std::string& what) {
  if (end <= start) return;
  RangeDownload d(client, build, start, end, f, progress, what);
  d.finish();
}

}  // namespace docfs::remote
