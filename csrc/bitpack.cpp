#include "bitpack.hpp"

#include <immintrin.h>

#include "cpu_features.hpp"

namespace hwnn {

// ---------------------------------------------------------------- reference

void pack_signs_reference(const float *x, std::size_t rows, std::size_t k, std::uint64_t *out) {
  const std::size_t words = words_for(k);
  for (std::size_t r = 0; r < rows; ++r) {
    const float *row = x + r * k;
    std::uint64_t *dst = out + r * words;
    for (std::size_t w = 0; w < words; ++w) dst[w] = 0;
    for (std::size_t i = 0; i < k; ++i) {
      if (row[i] < 0.0f) dst[i / 64] |= std::uint64_t{1} << (i % 64);
    }
  }
}

// Bit-by-bit popcount so the reference shares no code, and no instruction, with the fast path.
static int popcount_reference(std::uint64_t v) {
  int n = 0;
  for (; v != 0; v >>= 1) n += static_cast<int>(v & 1u);
  return n;
}

std::int64_t binary_dot_reference(const std::uint64_t *a, const std::uint64_t *b, std::size_t k) {
  std::int64_t differing = 0;
  for (std::size_t w = 0; w < words_for(k); ++w) differing += popcount_reference(a[w] ^ b[w]);
  return static_cast<std::int64_t>(k) - 2 * differing;
}

// ---------------------------------------------------------------- fast paths

// Eight lanes compared against zero give eight sign bits in one movemask; eight
// movemasks fill a word. -0.0f compares equal to zero, so it packs as +1 like the reference.
__attribute__((target("avx2"))) static void pack_row_avx2(const float *row, std::size_t k,
                                                         std::uint64_t *dst) {
  const __m256 zero = _mm256_setzero_ps();
  const std::size_t full_words = k / 64;
  for (std::size_t w = 0; w < full_words; ++w) {
    std::uint64_t word = 0;
    for (int g = 0; g < 8; ++g) {
      const __m256 v = _mm256_loadu_ps(row + w * 64 + g * 8);
      const int mask = _mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_LT_OQ));
      word |= static_cast<std::uint64_t>(mask) << (g * 8);
    }
    dst[w] = word;
  }
  if (full_words * 64 < k) {
    std::uint64_t word = 0;
    for (std::size_t i = full_words * 64; i < k; ++i) {
      if (row[i] < 0.0f) word |= std::uint64_t{1} << (i % 64);
    }
    dst[full_words] = word;
  }
}

void pack_signs(const float *x, std::size_t rows, std::size_t k, std::uint64_t *out) {
  if (!cpu_features().avx2) {
    pack_signs_reference(x, rows, k, out);
    return;
  }
  const std::size_t words = words_for(k);
  for (std::size_t r = 0; r < rows; ++r) pack_row_avx2(x + r * k, k, out + r * words);
}

__attribute__((target("popcnt"))) static std::int64_t binary_dot_popcnt(const std::uint64_t *a,
                                                                       const std::uint64_t *b,
                                                                       std::size_t k) {
  std::int64_t differing = 0;
  for (std::size_t w = 0; w < words_for(k); ++w) differing += _mm_popcnt_u64(a[w] ^ b[w]);
  return static_cast<std::int64_t>(k) - 2 * differing;
}

std::int64_t binary_dot(const std::uint64_t *a, const std::uint64_t *b, std::size_t k) {
  if (cpu_features().popcnt) return binary_dot_popcnt(a, b, k);
  std::int64_t differing = 0;
  for (std::size_t w = 0; w < words_for(k); ++w) differing += __builtin_popcountll(a[w] ^ b[w]);
  return static_cast<std::int64_t>(k) - 2 * differing;
}

const char *pack_signs_path() { return cpu_features().avx2 ? "avx2" : "scalar"; }
const char *binary_dot_path() { return cpu_features().popcnt ? "popcnt" : "scalar"; }

}  // namespace hwnn
