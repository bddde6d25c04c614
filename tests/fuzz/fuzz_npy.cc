// Fuzzes the .npy reader (a tensor document's content as a user writes it into the mount),
// and checks that whatever it accepts encodes and decodes to the same array.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "interop/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    docfs::NdArray a = docfs::interop::npy_decode(std::string_view(reinterpret_cast<const char*>(data), size));
    if (docfs::interop::npy_decode(docfs::interop::npy_encode(a)) != a) std::abort();
  } catch (const docfs::Error&) {
  }
  return 0;
}
