// numpy's .npy format (version 1.0 and 2.0 read, 1.0 written), used for a document whose
// content is a tensor: the file a user sees in the mount is `np.load`-able.
#pragma once

#include <string>
#include <string_view>

#include "core/document.h"

namespace docfs::interop {

// The .npy bytes of `a` (C order, header padded to 64 bytes as numpy does).
std::string npy_encode(const NdArray& a);
// Parses .npy bytes. Throws UsageError saying what is wrong (not .npy, Fortran order,
// an object or structured dtype, data size not matching the shape).
NdArray npy_decode(std::string_view bytes);

}  // namespace docfs::interop
