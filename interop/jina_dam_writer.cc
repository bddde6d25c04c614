#include "interop/jina_dam_writer.h"

#include <unistd.h>

#include <cerrno>

#include "core/error.h"
#include "interop/docarray_proto.h"

namespace docfs::interop {
namespace {

constexpr uint64_t kPageSize = 4096;  // mmap.ALLOCATIONGRANULARITY on Linux

// UTF-8 to code points. The ids reaching here passed protobuf's UTF-8 check or check_id;
// a stray byte still becomes one code point (U+FFFD) rather than being dropped.
std::u32string code_points(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
    if (n < 0 || s.size() - i <= static_cast<size_t>(n)) {
      if (n != 0) {  // a stray or cut-off byte
        out += U'\ufffd';
        ++i;
        continue;
      }
    }
    uint32_t cp = n == 0 ? c : n == 1 ? c & 0x1f : n == 2 ? c & 0x0f : c & 0x07;
    for (int k = 1; k <= n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    out += static_cast<char32_t>(cp);
    i += static_cast<size_t>(n) + 1;
  }
  return out;
}

void put(std::FILE* f, const void* data, size_t n, const std::string& path) {
  if (n && std::fwrite(data, 1, n, f) != n) throw IoError(errno ? errno : EIO, "write " + path);
}

void put_le64(std::string& out, int64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
}

}  // namespace

size_t id_code_points(std::string_view utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xc0) != 0x80;
  return n;
}

JinaDamWriter::JinaDamWriter(const std::string& dir, int key_length) : dir_(dir), key_length_(key_length) {
  if (key_length < 1 || key_length > 4096) throw UsageError(EINVAL, "key length must be 1..4096");
  header_ = std::fopen((dir + "/header.bin").c_str(), "wbx");
  if (!header_) throw IoError(errno, "create " + dir + "/header.bin");
  body_ = std::fopen((dir + "/body.bin").c_str(), "wbx");
  if (!body_) throw IoError(errno, "create " + dir + "/body.bin");
}

JinaDamWriter::~JinaDamWriter() {
  if (header_) std::fclose(header_);
  if (body_) std::fclose(body_);
}

void JinaDamWriter::append(const Document& doc) {
  std::u32string id = code_points(doc.meta.id);
  if (id.size() > static_cast<size_t>(key_length_))
    throw UsageError(EINVAL, "id '" + doc.meta.id + "' is " + std::to_string(id.size()) +
                                 " characters, longer than the key length " + std::to_string(key_length_) +
                                 " (Jina would truncate it)");
  std::string value = document_to_proto(doc, ProtoSchema::kJina2);
  std::string row;
  row.reserve(24 + 4 * static_cast<size_t>(key_length_));
  for (int i = 0; i < key_length_; ++i) {
    uint32_t c = i < static_cast<int>(id.size()) ? static_cast<uint32_t>(id[static_cast<size_t>(i)]) : 0;
    for (int b = 0; b < 4; ++b) row += static_cast<char>((c >> (8 * b)) & 0xff);
  }
  const uint64_t p = start_ / kPageSize * kPageSize, r = start_ % kPageSize;
  put_le64(row, static_cast<int64_t>(p));
  put_le64(row, static_cast<int64_t>(r));
  put_le64(row, static_cast<int64_t>(r + value.size()));
  put(body_, value.data(), value.size(), dir_ + "/body.bin");
  put(header_, row.data(), row.size(), dir_ + "/header.bin");
  start_ = p + r + value.size();
  ++rows_;
}

void JinaDamWriter::finish() {
  for (auto [f, name] : {std::pair{&header_, "/header.bin"}, {&body_, "/body.bin"}}) {
    if (std::fflush(*f) != 0 || ::fsync(fileno(*f)) != 0) throw IoError(errno, "write " + dir_ + name);
    int rc = std::fclose(*f);
    *f = nullptr;
    if (rc != 0) throw IoError(errno, "close " + dir_ + name);
  }
}

}  // namespace docfs::interop
