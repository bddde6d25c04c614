#include "remote/file_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "core/direct_file_writer.h"
#include "core/error.h"
#include "remote/archive.h"
#include "remote/docarray_object.h"
#include "remote/key_name.h"

namespace docfs::remote {
namespace {

// '~' cannot appear in a key, so temporary files never show up as keys.
constexpr const char* kTmpPrefix = "tmp~";

// An exclusive flock on the remote directory, held while a key is compared and renamed
// or deleted.
class DirLock {
 public:
  explicit DirLock(const std::string& dir) {
    fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) throw IoError(errno, "open remote directory " + dir);
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd_);
      throw IoError(e, "lock remote directory " + dir);
    }
  }
  ~DirLock() { ::close(fd_); }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

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
  // The archive header carries what S3 keeps in object metadata. Magic first: only an
  // archive's bytes 8..11 are a format version (a DocArray stream's are not). A damaged
  // header just leaves the fields unknown here; pull reports the problem.
  try {
    File own;
    if (!open_file) own = File::open(path, O_RDONLY);
    const File& f = open_file ? *open_file : own;
    std::string bytes = f.pread_string(std::min<uint64_t>(info.size, kArchiveHeaderSize), 0);
    if (has_archive_magic(bytes)) {
      info.format = "docfs";
      info.format_version = bytes.size() >= 12 ? static_cast<uint32_t>(static_cast<unsigned char>(bytes[8])) |
                                                     static_cast<uint32_t>(static_cast<unsigned char>(bytes[9])) << 8
                                               : 0;
      ArchiveHeader h = decode_archive_header(bytes, path);
      info.documents = h.documents;
      info.documents_known = true;
      info.created_ns = h.created_ns;
      info.expires_ns = h.expires_ns;
    } else if (is_docarray_key(key)) {
      info.format = "docarray";
      if (auto n = count_docarray_stream(f, info.size)) {
        info.documents = *n;
        info.documents_known = true;
      }
    }
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
  std::optional<ObjectInfo> info;
  try {
    // This thread fills chunks (reading the store; the source hashes on its own thread)
    // while earlier chunks are written, several at once.
    DirectFileWriter out(tmp, f);
    if (opts.progress) out.on_written = [p = opts.progress](size_t n) { p->add(n); };
    const size_t head = src.head_size();
    for (bool first = true;; first = false) {
      char* buf = out.next_buffer();
      size_t fill = 0;
      if (first) {
        std::memset(buf, 0, head);  // the head is written last, over these zeros
        fill = head;
      }
      size_t n = 0;
      while (fill < DirectFileWriter::kChunk && (n = src.read(buf + fill, DirectFileWriter::kChunk - fill)) > 0) fill += n;
      out.submit(fill);
      if (fill < DirectFileWriter::kChunk) break;
    }
    out.finish(src.head());
    out.sync();
    DirLock lock(dir_);
    if (opts.condition != PutCondition::none) {
      auto cur = info_of(key, nullptr);
      if (opts.condition == PutCondition::if_absent && cur)
        throw ConditionFailed("key " + key + " already exists on " + url() + " (etag " + cur->etag + ")", cur);
      if (opts.condition == PutCondition::if_match && (!cur || cur->etag != opts.if_match))
        throw ConditionFailed("key " + key + " on " + url() + (cur ? " is etag " + cur->etag : " is gone") +
                                  ", not " + opts.if_match,
                              cur);
    }
    if (::rename(tmp.c_str(), (dir_ + "/" + key).c_str()) != 0) throw IoError(errno, "rename " + tmp);
    sync_dir(dir_);
    info = info_of(key, nullptr);  // under the lock: the ETag of what we put
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
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
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec)) return false;
  DirLock lock(dir_);
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
