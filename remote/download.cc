#include "remote/download.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace docfs::remote {

File make_temp_file(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return File(fd, dir + "/(download)");
  std::string tmpl = dir + "/.docfs-download-XXXXXX";
  fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw IoError(errno, "create a temporary file in " + dir);
  ::unlink(tmpl.c_str());
  return File(fd, tmpl);
}

void download_ranges(HttpClient& client, const std::function<HttpRequest(uint64_t, uint64_t)>& build,
                     uint64_t start, uint64_t end, const File& f, Progress* progress, const std::string& what) {
  if (end <= start) return;
  const uint64_t part = std::max<uint64_t>(client.options().part_size, 1u << 20);
  const uint64_t parts = (end - start + part - 1) / part;
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mu;

  auto worker = [&] {
    for (;;) {
      uint64_t i = next.fetch_add(1);
      if (i >= parts || failed) return;
      const uint64_t from = start + i * part, to = std::min(end, from + part) - 1;
      try {
        uint64_t written = 0;
        HttpResponse r = client.perform_with_retries(
            [&] {
              // A retry starts the range again from its first byte.
              if (progress && written) progress->done.fetch_sub(written);
              written = 0;
              HttpRequest req = build(from, to);
              req.sink = [&](const char* d, size_t n) {
                if (failed || written + n > to - from + 1) return false;
                f.pwrite(d, n, from + written);
                written += n;
                if (progress) progress->add(n);
                return true;
              };
              return req;
            },
            what);
        if (r.status != 206 && !(r.status == 200 && from == 0 && to + 1 == end))
          throw_http_error(r, what + " (bytes " + std::to_string(from) + "-" + std::to_string(to) + ")");
        if (written != to - from + 1)
          throw TransportError(what + ": got " + std::to_string(written) + " bytes of range " + std::to_string(from) +
                               "-" + std::to_string(to));
      } catch (...) {
        std::lock_guard lk(error_mu);
        if (!error) error = std::current_exception();
        failed = true;
        return;
      }
    }
  };
  const int n = static_cast<int>(std::min<uint64_t>(std::max(1, client.options().concurrency), parts));
  std::vector<std::thread> threads;
  for (int i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace docfs::remote
