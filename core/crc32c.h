// CRC-32C (Castagnoli), the checksum of every record in header.bin, body.bin and archives.
// Debian ships no C/C++ crc32c library (OpenSSL has none), so it lives here: the SSE4.2
// instruction when the CPU has it, a table otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace docfs::crc32c {

// Extends `crc` (the CRC of earlier bytes, 0 to start) with n more bytes.
uint32_t extend(uint32_t crc, const void* data, size_t n);
inline uint32_t value(const void* data, size_t n) { return extend(0, data, n); }
// The CRC of A followed by B, from crc_a, crc_b and B's length (O(log len_b), no bytes):
// what joins extents without reading them again.
uint32_t extend_by(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
inline uint32_t value(std::string_view s) { return extend(0, s.data(), s.size()); }

}  // namespace docfs::crc32c
