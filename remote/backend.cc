#include "remote/backend.h"

#include <cstdlib>

#include "core/error.h"
#include "remote/file_backend.h"
#include "remote/s3_backend.h"

namespace docfs::remote {

std::string default_remote_url() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg && *xdg == '/') return std::string("file://") + xdg + "/docfs/remote";
  const char* home = std::getenv("HOME");
  if (!home || !*home) throw UsageError(EINVAL, "no --remote given and neither XDG_DATA_HOME nor HOME is set");
  return std::string("file://") + home + "/.local/share/docfs/remote";
}

std::unique_ptr<Backend> open_backend(const std::string& url, const BackendOptions& opts) {
  if (url.rfind("file://", 0) == 0) {
    std::string dir = url.substr(7);
    if (dir.empty() || dir[0] != '/')
      throw UsageError(EINVAL, "remote " + url + ": a file:// remote needs an absolute path, e.g. file:///srv/docfs");
    return std::make_unique<FileBackend>(dir);
  }
  if (url.rfind("s3://", 0) == 0) {
    std::string rest = url.substr(5);
    auto slash = rest.find('/');
    std::string bucket = rest.substr(0, slash);
    std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (bucket.empty()) throw UsageError(EINVAL, "remote " + url + ": no bucket name (s3://BUCKET[/PREFIX])");
    return std::make_unique<S3Backend>(bucket, prefix, opts);
  }
  throw UsageError(EINVAL, "remote '" + url + "' is not a file:///DIR or s3://BUCKET[/PREFIX] URL");
}

}  // namespace docfs::remote
