// Fuzzes the header.bin entry decoder on raw bytes (no files), and checks that whatever
// decodes re-encodes to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/store_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    docfs::format::Entry e;
    size_t used = 0;
    std::string why;
    if (docfs::format::decode_entry(in, &e, &used, &why) != docfs::format::DecodeStatus::kOk) break;
    if (docfs::format::encode_entry(e) != in.substr(0, used)) std::abort();
    in.remove_prefix(used);
  }
  docfs::format::FileHeader fh;
  docfs::format::decode_file_header(std::string_view(reinterpret_cast<const char*>(data), size),
                                    docfs::format::kHeaderMagic, &fh);
  return 0;
}
