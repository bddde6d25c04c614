#include "core/crc32c.h"

#include <nmmintrin.h>

#include <array>
#include <cstring>

namespace docfs::crc32c {
namespace {

constexpr uint32_t kPolyReflected = 0x82F63B78u;

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPolyReflected : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kTable = make_table();

uint32_t extend_table(uint32_t crc, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) crc = kTable[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

uint64_t crc_u64_run(uint64_t c, const uint8_t* p, size_t words) {
  for (size_t i = 0; i < words; ++i) {
    uint64_t w;
    std::memcpy(&w, p + 8 * i, 8);
    c = _mm_crc32_u64(c, w);
  }
  return c;
}

// The CRC instruction has a latency of three cycles but can start one per cycle, so
// long inputs are cut into three lanes computed side by side and joined with a "shift by
// kLane zero bytes" operator (a 32x32 matrix over GF(2), as zlib's crc32_combine does).
constexpr size_t kLane = 4096;

using Matrix = std::array<uint32_t, 32>;

uint32_t times(const Matrix& m, uint32_t v) {
  uint32_t r = 0;
  for (int i = 0; v; ++i, v >>= 1)
    if (v & 1) r ^= m[i];
  return r;
}

Matrix compose(const Matrix& a, const Matrix& b) {  // a after b
  Matrix r;
  for (int i = 0; i < 32; ++i) r[i] = times(a, b[i]);
  return r;
}

// The operator that feeds n zero bytes through the raw (unconditioned) register.
Matrix zeros_operator(size_t n) {
  Matrix bit;  // one zero bit
  bit[0] = kPolyReflected;
  for (int i = 1; i < 32; ++i) bit[i] = 1u << (i - 1);
  Matrix byte = compose(bit, bit);
  byte = compose(byte, byte);
  byte = compose(byte, byte);
  Matrix result;
  for (int i = 0; i < 32; ++i) result[i] = 1u << i;
  for (Matrix p = byte; n; n >>= 1, p = compose(p, p))
    if (n & 1) result = compose(p, result);
  return result;
}

const Matrix kShiftLane = zeros_operator(kLane);

uint32_t extend_sse42(uint32_t crc, const uint8_t* p, size_t n) {
  uint64_t c = crc;
  while (n >= 3 * kLane) {
    uint64_t a = c, b = 0, d = 0;
    for (size_t i = 0; i < kLane; i += 8) {
      uint64_t wa, wb, wd;
      std::memcpy(&wa, p + i, 8);
      std::memcpy(&wb, p + kLane + i, 8);
      std::memcpy(&wd, p + 2 * kLane + i, 8);
      a = _mm_crc32_u64(a, wa);
      b = _mm_crc32_u64(b, wb);
      d = _mm_crc32_u64(d, wd);
    }
    uint32_t ab = times(kShiftLane, static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b);
    c = times(kShiftLane, ab) ^ static_cast<uint32_t>(d);
    p += 3 * kLane;
    n -= 3 * kLane;
  }
  c = crc_u64_run(c, p, n / 8);
  p += n / 8 * 8;
  n %= 8;
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");

}  // namespace

uint32_t extend(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  crc = kHaveSse42 ? extend_sse42(crc, p, n) : extend_table(crc, p, n);
  return ~crc;
}

namespace {

// Multiplication by a 32x32 matrix over GF(2) (zlib's crc32_combine method, for the
// Castagnoli polynomial): applying the "append one zero bit" operator log2(n) times.
uint32_t gf2_times(const uint32_t* mat, uint32_t vec) {
  uint32_t sum = 0;
  for (; vec; vec >>= 1, ++mat)
    if (vec & 1) sum ^= *mat;
  return sum;
}

void gf2_square(uint32_t* square, const uint32_t* mat) {
  for (int n = 0; n < 32; ++n) square[n] = gf2_times(mat, mat[n]);
}

}  // namespace

uint32_t extend_by(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
  if (len_b == 0) return crc_a;
  uint32_t even[32], odd[32];
  odd[0] = 0x82f63b78u;  // one zero bit, reflected polynomial
  for (int n = 1; n < 32; ++n) odd[n] = 1u << (n - 1);
  gf2_square(even, odd);  // two zero bits
  gf2_square(odd, even);  // four
  do {  // the first square gives one zero byte
    gf2_square(even, odd);
    if (len_b & 1) crc_a = gf2_times(even, crc_a);
    len_b >>= 1;
    if (len_b == 0) break;
    gf2_square(odd, even);
    if (len_b & 1) crc_a = gf2_times(odd, crc_a);
    len_b >>= 1;
  } while (len_b != 0);
  return crc_a ^ crc_b;
}

}  // namespace docfs::crc32c
