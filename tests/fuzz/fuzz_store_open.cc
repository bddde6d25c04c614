// Fuzzes everything Store::open and reads parse from disk: header.bin entries, body.bin
// records and the cereal metadata inside them. The input is split into a header.bin tail
// and a body.bin tail, each written after a valid file header of the same generation.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/file_io.h"
#include "core/store.h"
#include "core/store_format.h"

namespace {

const std::string& scratch_dir() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/docfs-fuzz-XXXXXX";
    return std::string(::mkdtemp(tmpl));
  }();
  return dir;
}

void write_all(const std::string& path, const std::string& bytes) {
  docfs::File f = docfs::File::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  f.pwrite(bytes.data(), bytes.size(), 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t split = (static_cast<size_t>(data[0]) << 8 | data[1]) % (size - 1);
  std::string rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  docfs::format::FileHeader fh{docfs::format::kFormatVersion, 7};
  const std::string& dir = scratch_dir();
  write_all(dir + "/header.bin", docfs::format::encode_file_header(docfs::format::kHeaderMagic, fh) + rest.substr(0, split));
  write_all(dir + "/body.bin", docfs::format::encode_file_header(docfs::format::kBodyMagic, fh) + rest.substr(split));
  try {
    auto store = docfs::Store::open(dir, {.create = false, .read_only = true});
    for (const std::string& id : store->ids()) {
      try {
        store->get(id);
      } catch (const docfs::Error&) {
      }
    }
    store->stats();
  } catch (const docfs::Error&) {
    // a clear error is the right answer to bad bytes
  }
  docfs::Store::fsck(dir, false);
  return 0;
}
