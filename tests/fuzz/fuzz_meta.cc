// Fuzzes the cereal decoding of document metadata.
#include <cstdint>
#include <string>

#include "core/document.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Metadata records are capped at 64 MiB on disk; cereal trusts lengths inside, so keep
  // inputs small enough that a claimed length cannot make it allocate the machine away.
  if (size > 4096) return 0;
  try {
    docfs::decode_meta(std::string_view(reinterpret_cast<const char*>(data), size), "id");
  } catch (const docfs::Error&) {
  }
  return 0;
}
