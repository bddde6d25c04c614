// Fuzzes docfs's restricted pickle decoder for DocArray v2's s3:// documents: any input either
// decodes to a DocProto the v2 conversion accepts or refuses, or fails with FormatError;
// nothing else (no crash, no unbounded memory, nothing executed: the decoder has no way to).
#include <cstdint>
#include <string>

#include "core/error.h"
#include "interop/docarray_v2.h"
#include "interop/docarray_v2_pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto p = docfs::interop::docproto_from_pickle(std::string_view(reinterpret_cast<const char*>(data), size));
    docfs::interop::document_from_v2(p.docproto, p.class_name);
  } catch (const docfs::Error&) {
  }
  return 0;
}
