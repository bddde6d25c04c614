#include "remote/docarray_transfer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <set>

#include "core/error.h"
#include "core/file_io.h"
#include "core/store.h"
#include "interop/docarray_v2_stream.h"
#include "remote/archive.h"
#include "remote/docarray_object.h"
#include "remote/download.h"
#include "remote/key_name.h"

namespace docfs::remote {
namespace {

// The bytes of a fetched object, read front to back; `available(n)` (when set) blocks until
// the first n bytes are in the file (a download still running).
class FileInput : public interop::ByteInput {
 public:
  FileInput(const File& f, uint64_t size, std::function<void(uint64_t)> available = {})
      : f_(f), size_(size), available_(std::move(available)) {}
  size_t read(char* buf, size_t n) override {
    n = static_cast<size_t>(std::min<uint64_t>(n, size_ - at_));
    if (n == 0) return 0;
    if (available_) available_(at_ + n);
    size_t got = f_.pread(buf, n, at_);
    at_ += got;
    return got;
  }

 private:
  const File& f_;
  uint64_t size_;
  std::function<void(uint64_t)> available_;
  uint64_t at_ = 0;
};

// Writes through a buffer at the end of a file.
class FileOutput : public interop::ByteOutput {
 public:
  explicit FileOutput(const File& f) : f_(f) {}
  void write(std::string_view bytes) override {
    buf_.append(bytes);
    if (buf_.size() >= kFlushBytes) flush();
  }
  void finish() override { flush(); }
  uint64_t size() const { return at_ + buf_.size(); }

 private:
  static constexpr size_t kFlushBytes = 4u << 20;
  void flush() {
    f_.pwrite(buf_.data(), buf_.size(), at_);
    at_ += buf_.size();
    buf_.clear();
  }
  const File& f_;
  std::string buf_;
  uint64_t at_ = 0;
};

class StringContent : public ContentSource {
 public:
  explicit StringContent(const std::string& s) : s_(s) {}
  uint64_t size() const override { return s_.size(); }
  size_t read(uint64_t off, void* buf, size_t n) override {
    if (off >= s_.size()) return 0;
    n = std::min<size_t>(n, s_.size() - off);
    std::memcpy(buf, s_.data() + off, n);
    return n;
  }

 private:
  const std::string& s_;
};

std::string file_dir(const Backend& b) {
  const std::string url = b.url();
  if (url.rfind("file://", 0) != 0) return "";
  return url.substr(7);
}

}  // namespace

std::string docarray_key_for(const std::string& name) {
  std::string stem = name;
  if (auto dot = stem.rfind('.'); dot != std::string::npos && dot > 0) stem.resize(dot);
  return stem + std::string(kDocArraySuffix);
}

DocArrayTransfer pull_docarray(Backend& backend, const std::string& key, const std::string& dest,
                               uint64_t max_bytes) {
  const std::string where = backend.url() + "/" + key;
  // file:// objects frame gzip(DocProto); s3:// ones are one gzip around framed pickles.
  const bool pickled = file_dir(backend).empty();
  check_pull_destination(dest);
  FetchOptions fo;
  std::string d = dest;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  fo.tmp_dir = std::filesystem::path(d).parent_path().string();
  if (fo.tmp_dir.empty()) fo.tmp_dir = ".";
  fo.check = [&](const ObjectInfo& i) {
    if (max_bytes && i.size > max_bytes)
      throw UsageError(EFBIG, key + " is " + std::to_string(i.size) + " bytes, more than --max-bytes " +
                                  std::to_string(max_bytes) + "; nothing was read");
  };
  // Decode the prefix while the rest downloads (s3://); nothing is visible before the end.
  fo.background = true;
  Fetched f = backend.fetch(key, fo);
  std::function<void(uint64_t)> available;
  if (f.download) available = [d = f.download.get()](uint64_t n) { d->wait_for(n); };
  DocArrayTransfer r;
  r.key = key;
  r.bytes = f.size;
  r.info = f.info;
  r.documents = build_store_at(dest, [&](StoreBuilder& store) {
    auto in = std::make_unique<FileInput>(f.file, f.size, available);
    auto src = pickled ? interop::docarray_v2_pickle_source(std::move(in))
                       : interop::docarray_v2_source(std::move(in));
    std::set<std::string> ids;
    uint64_t n = 0;
    try {
      while (auto d = src->next()) {
        // DocArray allows repeated ids; a store does not. Refuse rather than drop one.
        if (!ids.insert(d->meta.id).second)
          throw UsageError(EINVAL, "document " + std::to_string(n) + ": id '" + d->meta.id +
                                       "' appears twice; a docfs store holds one document per id");
        if (d->meta.mtime_ns == 0) d->meta.mtime_ns = d->meta.ctime_ns = f.info.mtime_ns;
        StringContent content(d->content);
        store.add(d->meta, content);
        ++n;
      }
    } catch (const FormatError& e) {  // the object's bytes: name the object; I/O errors pass as they are
      throw FormatError(where + ": " + e.what() + "; nothing was pulled");
    } catch (const UsageError& e) {
      throw FormatError(where + ": " + e.what() + "; nothing was pulled");
    }
    if (f.download) f.download->finish();  // the download's own error, if any
    return n;
  });
  return r;
}

namespace {

// Every file of the store into `sink`, in store order; DocArray has no directories, links or
// special files (counted in r.skipped).
void write_documents(const std::string& store_dir, interop::DocumentSink& sink, DocArrayTransfer& r) {
  auto store = Store::open(store_dir, OpenOptions{.create = false, .read_only = true});
  for (const auto& id : store->ids_in_body_order()) {
    auto doc = store->get(id);
    if (!doc) continue;  // removed meanwhile (the store is a snapshot, but be safe)
    if ((doc->meta.mode & 0170000) != 0100000) {
      ++r.skipped;
      continue;
    }
    sink.write(*doc);
    ++r.documents;
  }
  sink.finish();
}

// A temporary file nobody else sees: unlinked from the start where the file system allows.
File unnamed_file(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return File(fd, dir + "/(temporary)");
  std::string path = dir + "/.docfs-docarray.XXXXXX";
  fd = ::mkstemp(path.data());
  if (fd < 0) throw IoError(errno, "create a temporary file in " + dir);
  ::unlink(path.c_str());
  return File(fd, path);
}

class FileUpload : public UploadSource {
 public:
  FileUpload(const File& f, uint64_t size) : in_(f, size), size_(size) {}
  uint64_t size() const override { return size_; }
  size_t head_size() const override { return 0; }
  size_t read(void* buf, size_t n) override { return in_.read(static_cast<char*>(buf), n); }
  std::string head() override { return ""; }

 private:
  FileInput in_;
  uint64_t size_;
};

}  // namespace

DocArrayTransfer put_docarray(const std::string& store_dir, Backend& backend, const std::string& key,
                              const PutOptions& opts, const std::string& tmp_dir) {
  DocArrayTransfer r;
  r.key = key;
  check_key_name(key);
  File f = unnamed_file(tmp_dir);
  {
    FileOutput out(f);
    auto sink = file_dir(backend).empty() ? interop::docarray_v2_pickle_sink(out) : interop::docarray_v2_sink(out);
    write_documents(store_dir, *sink, r);
    out.finish();
    r.bytes = out.size();
  }
  FileUpload src(f, r.bytes);
  r.info = backend.put(key, src, opts);
  return r;
}

DocArrayTransfer push_docarray(const std::string& store_dir, Backend& backend, const std::string& name) {
  const std::string dir = file_dir(backend);
  if (dir.empty()) {
    // s3://: DocArray's store makes one PUT of the whole object; so does this (multipart when large).
    std::string parent = std::filesystem::path(store_dir).lexically_normal().parent_path().string();
    if (parent.empty()) parent = ".";
    return put_docarray(store_dir, backend, docarray_key_for(name), PutOptions{}, parent);
  }
  DocArrayTransfer r;
  r.key = docarray_key_for(name);
  check_key_name(r.key);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IoError(ec.value(), "create remote directory " + dir);
  const std::string path = dir + "/" + r.key, tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST)
      throw UsageError(EEXIST, tmp + " exists: another push of " + r.key +
                                   " is under way, or one was interrupted (remove the file if none runs)");
    throw IoError(errno, "create " + tmp);
  }
  File f(fd, tmp);
  try {
    FileOutput out(f);
    auto sink = interop::docarray_v2_sink(out);
    write_documents(store_dir, *sink, r);
    out.finish();
    r.bytes = out.size();
    f.sync();
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw IoError(errno, "rename " + tmp + " to " + path);
    sync_dir(dir);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  return r;
}

}  // namespace docfs::remote
