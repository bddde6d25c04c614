// Fuzzes the remote archive envelope and its unpacking (remote/archive.h): the 128-byte
// header (magic, version, CRC, lengths) and the payload records (id / meta / content
// lengths, cereal metadata) that unpack_archive streams into a store.
// Input byte 0 picks the mode:
//   even: the input is the archive as downloaded (header checks usually refuse it)
//   odd:  the rest is a payload, wrapped in a header with the right length, SHA-256 and a
//         document count from byte 1, so the fuzzer gets past the envelope into the records.
// Every call must either unpack (and the result must open) or throw docfs::Error, and must
// never leave the destination half-made.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "core/file_io.h"
#include "core/store.h"
#include "remote/archive.h"
#include "remote/crypto.h"

namespace {

const std::string& scratch_dir() {
  static std::string dir = [] {
    // tmpfs when there is one: unpacking fsyncs, which would make every run slow.
    std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string tmpl = base + "/docfs-fuzz-archive-XXXXXX";
    return std::string(::mkdtemp(tmpl.data()));
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace docfs::remote;
  if (size < 2) return 0;
  std::string in(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::string archive;
  if (data[0] & 1) {
    ArchiveHeader h;
    h.docfs_version = "fuzz";
    h.documents = data[1] % 8;
    h.payload_length = in.size();
    h.sha256 = sha256(in);
    archive = encode_archive_header(h) + in;
  } else {
    archive = std::string(reinterpret_cast<const char*>(data), size);
  }
  try {
    decode_archive_header(archive, "fuzz");
  } catch (const docfs::Error&) {
  }
  const std::string dir = scratch_dir();
  const std::string src = dir + "/archive", dest = dir + "/dest";
  {
    docfs::File f = docfs::File::open(src, O_RDWR | O_CREAT | O_TRUNC, 0644);
    f.pwrite(archive.data(), archive.size(), 0);
    try {
      UnpackResult r = unpack_archive(f, archive.size(), dest, nullptr, "fuzz");
      // What was unpacked must open and hold the documents the archive claimed.
      auto store = docfs::Store::open(dest, {.create = false, .read_only = true});
      if (store->size() > r.documents) std::abort();
      for (const auto& id : store->ids()) store->get(id);
    } catch (const docfs::Error&) {
      // A refused archive must leave no destination behind (it did not exist before).
      if (std::filesystem::exists(dest + "/body.bin")) {
        // Only a successful unpack may create it.
        std::abort();
      }
    }
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().filename() != "archive") std::filesystem::remove_all(e.path(), ec);
  return 0;
}
