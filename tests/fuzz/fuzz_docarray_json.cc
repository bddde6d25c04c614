// Fuzzes DocArray JSON import into a store (rolled back by clear() after each input).
#include <unistd.h>

#include <cstdint>
#include <sstream>
#include <string>

#include "core/docarray_json.h"
#include "core/error.h"
#include "core/store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<docfs::Store> store = [] {
    char tmpl[] = "/tmp/docfs-fuzz-json-XXXXXX";
    std::string dir = ::mkdtemp(tmpl);
    return docfs::Store::open(dir + "/s", {.create = true, .read_only = false});
  }();
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    docfs::import_docarray_json(*store, in);
  } catch (const docfs::Error&) {
  }
  if (store->size() > 0) store->clear();
  if (store->stats().body_bytes > (64u << 20)) store->prune();
  return 0;
}
