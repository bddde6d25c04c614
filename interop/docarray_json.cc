#include "interop/docarray_json.h"

namespace docfs::interop {
// (being rewritten)
}  // namespace docfs::interop
