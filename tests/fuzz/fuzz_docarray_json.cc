// Fuzzes DocArray/Jina JSON input (array and JSON Lines, all three layouts): every document
// that reads must write back out and read back equal.
#include <cstdint>
#include <sstream>
#include <string>

#include "core/error.h"
#include "interop/docarray_json.h"

namespace {

void check(const std::string& bytes, bool lines) {
  std::istringstream in(bytes);
  auto src = docfs::interop::json_source(docfs::interop::input_from(in), lines);
  for (int n = 0; n < 1000; ++n) {
    std::optional<docfs::Document> d;
    try {
      d = src->next();
    } catch (const docfs::interop::BadDocument&) {
      continue;  // the source steps over it
    }
    if (!d) return;
    std::string text;
    try {
      text = docfs::interop::document_to_json(*d).dump();
    } catch (const docfs::Error&) {
      continue;  // e.g. a tensor whose .npy the format cannot show
    }
    docfs::Document back = docfs::interop::document_from_json(nlohmann::json::parse(text));
    // The jsonschema layout has no dtypes: a tensor's .npy bytes may change (float32 comes
    // back float64, as in DocArray); text and blob content must not.
    const bool exact = d->meta.content_field != docfs::ContentField::kTensor;
    if (back.meta.id != d->meta.id || (exact && back.content != d->content)) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  for (bool lines : {false, true}) {
    try {
      check(bytes, lines);
    } catch (const docfs::Error&) {
    }
  }
  return 0;
}
