#include "remote/file_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <future>
#include <vector>

#include "core/error.h"
#include "remote/archive.h"
#include "remote/key_name.h"

namespace docfs::remote {
namespace {

// '~' cannot appear in a key, so temporary files never show up as keys.
constexpr const char* kTmpPrefix = "tmp~";

void write_all(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw IoError(errno, "write " + path);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

FileBackend::FileBackend(std::string dir) : dir_(std::move(dir)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

std::optional<ObjectInfo> FileBackend::info_of(const std::string& key, const File* open_file) {
  struct stat st;
  const std::string path = dir_ + "/" + key;
  int rc = open_file ? ::fstat(open_file->fd(), &st) : ::stat(path.c_str(), &st);
  if (rc != 0) {
    if (errno == ENOENT) return std::nullopt;
    throw IoError(errno, "stat " + path);
  }
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  ObjectInfo info;
  info.key = key;
  info.size = static_cast<uint64_t>(st.st_size);
  info.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  info.etag = std::to_string(st.st_ino) + "-" + std::to_string(info.size) + "-" + std::to_string(info.mtime_ns);
  // The archive header carries what S3 keeps in object metadata. A damaged header just
  // leaves the fields unknown here; pull reports the problem.
  try {
    File own;
    if (!open_file) own = File::open(path, O_RDONLY);
    const File& f = open_file ? *open_file : own;
    std::string bytes = f.pread_string(std::min<uint64_t>(info.size, kArchiveHeaderSize), 0);
    info.format_version = bytes.size() >= 12 ? static_cast<uint32_t>(static_cast<unsigned char>(bytes[8])) |
                                                   static_cast<uint32_t>(static_cast<unsigned char>(bytes[9])) << 8
                                             : 0;
    ArchiveHeader h = decode_archive_header(bytes, path);
    info.documents = h.documents;
    info.documents_known = true;
    info.created_ns = h.created_ns;
    info.expires_ns = h.expires_ns;
  } catch (const Error&) {
  }
  return info;
}

std::vector<ObjectInfo> FileBackend::list() {
  std::vector<ObjectInfo> out;
  DIR* d = ::opendir(dir_.c_str());
  if (!d) {
    if (errno == ENOENT) return out;  // nothing pushed yet
    throw IoError(errno, "open remote directory " + dir_);
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (is_valid_key_name(n)) names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names)
    if (auto i = info_of(n, nullptr)) out.push_back(*i);
  return out;
}

std::optional<ObjectInfo> FileBackend::head(const std::string& key) {
  check_key_name(key);
  return info_of(key, nullptr);
}

ObjectInfo FileBackend::put(const std::string& key, UploadSource& src, const PutOptions& opts) {
  check_key_name(key);
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw IoError(ec.value(), "create remote directory " + dir_);
  std::string tmp = dir_ + "/" + kTmpPrefix + "push.XXXXXX";  // not the key: 255 + suffix > NAME_MAX
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) throw IoError(errno, "create temporary file in " + dir_);
  File f(fd, tmp);
  ::fchmod(fd, 0644);
  try {
    // Two buffers: this thread fills one (reading the store and hashing) while a writer
    // thread writes the other and starts its writeback early, so the final fsync is short.
    const size_t head = src.head_size();
    constexpr size_t kBuf = 8u << 20;
    std::vector<char> bufs[2] = {std::vector<char>(kBuf), std::vector<char>(kBuf)};
    std::memset(bufs[0].data(), 0, head);  // the head is written last, over these zeros
    std::future<void> writing;
    uint64_t offset = 0;
    for (int cur = 0;; cur ^= 1) {
      std::vector<char>& buf = bufs[cur];
      size_t fill = offset == 0 ? head : 0;
      size_t n = 0;
      while (fill < buf.size() && (n = src.read(buf.data() + fill, buf.size() - fill)) > 0) fill += n;
      if (writing.valid()) writing.get();
      if (fill == 0) break;
      writing = std::async(std::launch::async, [&, data = buf.data(), fill, at = offset] {
        write_all(fd, data, fill, tmp);
        ::sync_file_range(fd, static_cast<off64_t>(at), static_cast<off64_t>(fill), SYNC_FILE_RANGE_WRITE);
        if (opts.progress) opts.progress->add(fill);
      });
      offset += fill;
      if (n == 0) {
        writing.get();
        break;
      }
    }
    std::string h = src.head();
    f.pwrite(h.data(), h.size(), 0);
    f.sync();
    if (::rename(tmp.c_str(), (dir_ + "/" + key).c_str()) != 0) throw IoError(errno, "rename " + tmp);
    sync_dir(dir_);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  auto info = info_of(key, nullptr);
  if (!info) throw IoError(ENOENT, "pushed key " + key + " vanished from " + dir_);
  return *info;
}

Fetched FileBackend::fetch(const std::string& key, const FetchOptions& opts) {
  check_key_name(key);
  const std::string path = dir_ + "/" + key;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw UsageError(ENOENT, "no key " + key + " on " + url());
    throw IoError(errno, "open " + path);
  }
  // The open file is a stable snapshot: a concurrent push renames a new file over the name.
  Fetched out{File(fd, path), 0, {}, nullptr};
  auto info = info_of(key, &out.file);
  if (!info) throw UsageError(ENOENT, "no key " + key + " on " + url());
  out.info = *info;
  out.size = info->size;
  if (opts.check) opts.check(out.info);
  return out;
}

bool FileBackend::remove(const std::string& key) {
  check_key_name(key);
  const std::string path = dir_ + "/" + key;
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return false;
    throw IoError(errno, "remove " + path);
  }
  sync_dir(dir_);
  return true;
}

std::string FileBackend::presign(const std::string&, uint64_t) {
  throw UsageError(ENOTSUP, "a file:// remote cannot make share links: share the directory " + dir_ +
                                " itself, or push to an s3:// remote");
}

}  // namespace docfs::remote
