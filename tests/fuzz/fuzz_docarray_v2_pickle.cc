// Fuzzes docfs's restricted pickle decoder for DocArray v2's s3:// documents: any input either
// decodes to a DocProto the v2 conversion accepts or refuses, or fails with FormatError;
// nothing else (no crash, no unbounded memory, nothing executed: the decoder has no way to).
// What decodes is written back by docfs's pickle writer (or refused with UsageError), and
// the writer is stable: decoding its pickle and writing again gives the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "interop/docarray_v2.h"
#include "interop/docarray_v2_pickle.h"
#include "interop/docarray_v2_pickle_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace io = docfs::interop;
  io::PickledDocument p;
  try {
    p = io::docproto_from_pickle(std::string_view(reinterpret_cast<const char*>(data), size));
    io::document_from_v2(p.docproto, p.class_name);
  } catch (const docfs::Error&) {
    return 0;
  }
  std::string mine;
  try {
    mine = io::pickle_from_docproto(p.docproto, p.class_name);
  } catch (const docfs::UsageError&) {
    return 0;  // a value or class the writer does not name: refused by message
  }
  // The decoder must read what the writer wrote (an exception here is a finding), and the
  // writer must give the same bytes for it again.
  io::PickledDocument again = io::docproto_from_pickle(mine);
  if (io::pickle_from_docproto(again.docproto, again.class_name) != mine) std::abort();
  return 0;
}
