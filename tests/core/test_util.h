// Helpers for core tests: a temporary directory removed at the end, and small documents.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <string>

#include "core/file_io.h"
#include "core/store.h"

namespace docfs::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/docfs-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { remove_tree(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline Document doc(const std::string& id, const std::string& content) {
  Document d;
  d.meta.id = id;
  d.meta.mime_type = "text/plain";
  d.meta.mtime_ns = d.meta.ctime_ns = 1700000000000000000;
  d.content = content;
  return d;
}

// Metadata for a StreamWriter commit: the id and fixed times.
inline DocumentMeta meta_for(const std::string& id) {
  DocumentMeta m;
  m.id = id;
  m.mtime_ns = m.ctime_ns = 1;
  return m;
}

inline std::unique_ptr<Store> create_store(const std::string& dir) {
  return Store::open(dir, OpenOptions{.create = true, .read_only = false});
}
inline std::unique_ptr<Store> open_store(const std::string& dir) { return Store::open(dir); }
inline std::unique_ptr<Store> open_reader(const std::string& dir) {
  return Store::open(dir, OpenOptions{.create = false, .read_only = true});
}

// The content of id, or "<missing>".
inline std::string content_of(const Store& s, const std::string& id) {
  auto d = s.get(id);
  return d ? d->content : "<missing>";
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// The format version in dir/header.bin's file header (which must decode).
inline uint32_t header_version_of(const std::string& dir) {
  format::FileHeader h;
  std::string bytes = read_file(dir + "/header.bin").substr(0, format::kFileHeaderSize);
  EXPECT_FALSE(format::decode_file_header(bytes, format::kHeaderMagic, &h).has_value());
  return h.version;
}

}  // namespace docfs::testing
