#include "core/error.h"

#include <cstring>

namespace docfs {

IoError::IoError(int err, const std::string& what)
    : Error(err, what + ": " + std::strerror(err)) {}

}  // namespace docfs
