#include "core/failpoint.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace docfs {

void failpoint(const char* name) {
  // Read every time (not cached): only rare paths call this, and tests arm it after fork.
  const char* armed = std::getenv("DOCFS_FAILPOINT");
  if (armed && std::strcmp(armed, name) == 0) _exit(99);
}

}  // namespace docfs
