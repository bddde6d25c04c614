// Fuzzes the Jina DocumentArrayMemmap reader: key length detection, header rows, the id
// peek and the Jina 2 DocumentProto parse. The input's first 4 bytes (little-endian) say
// how many of the rest are header.bin; the remainder is body.bin.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/file_io.h"
#include "interop/jina_dam.h"

namespace {

const std::string& scratch_dir() {
  static std::string dir = [] {
    // In memory when there is a tmpfs: two small file writes per input dominate otherwise.
    std::string tmpl = std::string(::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") + "/docfs-fuzz-dam-XXXXXX";
    return std::string(::mkdtemp(tmpl.data()));
  }();
  return dir;
}

void write_all(const std::string& path, const std::string& bytes) {
  docfs::File f = docfs::File::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!bytes.empty()) f.pwrite(bytes.data(), bytes.size(), 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint32_t n = data[0] | data[1] << 8 | data[2] << 16 | static_cast<uint32_t>(data[3]) << 24;
  std::string rest(reinterpret_cast<const char*>(data) + 4, size - 4);
  const size_t split = std::min<size_t>(n, rest.size());
  const std::string& dir = scratch_dir();
  write_all(dir + "/header.bin", rest.substr(0, split));
  write_all(dir + "/body.bin", rest.substr(split));
  try {
    if (!docfs::interop::looks_like_jina_dam(dir)) return 0;
    auto src = docfs::interop::jina_dam_source(dir, std::nullopt);
    while (true) {
      try {
        if (!src->next()) break;
      } catch (const docfs::interop::BadDocument&) {
        // a damaged row: reported, reading goes on
      }
    }
  } catch (const docfs::Error&) {
    // a clear error is the right answer to bad bytes
  }
  return 0;
}
