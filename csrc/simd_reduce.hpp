// Transposing horizontal sums: many vector accumulators (one per output element) reduced
// to one vector of totals, about 3 instructions per accumulator instead of ~8 for a
// reduction of each vector on its own. The microkernels accumulate one vector per
// (row, column) pair and call these once per tile.
#pragma once

// GCC 12 warns inside its own AVX-512 headers (an "uninitialized" undefined vector used
// for zero-masking) and about the vector ABI of target-attribute functions; both are
// harmless here, and every file that uses intrinsics includes this header first.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wpsabi"

#include <immintrin.h>

namespace hwnn {

// v[0..15]: 16 vectors of 16 int32 lanes. Returns lane p = sum of the lanes of v[p].
// Takes its inputs by value: passing the accumulator array's address makes GCC keep the
// accumulators in memory, storing every one of them on every loop iteration.
__attribute__((target("avx512f"), always_inline)) inline __m512i reduce16_epi32(
    __m512i v0, __m512i v1, __m512i v2, __m512i v3, __m512i v4, __m512i v5, __m512i v6, __m512i v7,
    __m512i v8, __m512i v9, __m512i v10, __m512i v11, __m512i v12, __m512i v13, __m512i v14,
    __m512i v15) {
  const __m512i v[16] = {v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15};
  __m512i t[8], u[4];
  for (int i = 0; i < 8; ++i)  // per 128-bit block: [a0+a2, b0+b2, a1+a3, b1+b3]
    t[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]),
                            _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]));
  for (int i = 0; i < 4; ++i)  // per block: [a, b, c, d] partial sums
    u[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(t[2 * i], t[2 * i + 1]),
                            _mm512_unpackhi_epi64(t[2 * i], t[2 * i + 1]));
  // Blocks: fold block pairs (0,1) and (2,3) of two vectors into one vector, twice.
  const __m512i w0 = _mm512_add_epi32(_mm512_shuffle_i64x2(u[0], u[1], 0x88),
                                      _mm512_shuffle_i64x2(u[0], u[1], 0xDD));
  const __m512i w1 = _mm512_add_epi32(_mm512_shuffle_i64x2(u[2], u[3], 0x88),
                                      _mm512_shuffle_i64x2(u[2], u[3], 0xDD));
  return _mm512_add_epi32(_mm512_shuffle_i64x2(w0, w1, 0x88), _mm512_shuffle_i64x2(w0, w1, 0xDD));
}

// v[0..7]: 8 vectors of 8 int32 lanes. Returns lane p = sum of the lanes of v[p].
__attribute__((target("avx2"), always_inline)) inline __m256i reduce8_epi32(
    __m256i v0, __m256i v1, __m256i v2, __m256i v3, __m256i v4, __m256i v5, __m256i v6,
    __m256i v7) {
  const __m256i v[8] = {v0, v1, v2, v3, v4, v5, v6, v7};
  __m256i t[4], u[2];
  for (int i = 0; i < 4; ++i)
    t[i] = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]),
                            _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]));
  for (int i = 0; i < 2; ++i)
    u[i] = _mm256_add_epi32(_mm256_unpacklo_epi64(t[2 * i], t[2 * i + 1]),
                            _mm256_unpackhi_epi64(t[2 * i], t[2 * i + 1]));
  // u[0] = [pairs 0-3 | pairs 0-3], u[1] = [pairs 4-7 | pairs 4-7] (low | high 128 bits).
  return _mm256_add_epi32(_mm256_permute2x128_si256(u[0], u[1], 0x20),
                          _mm256_permute2x128_si256(u[0], u[1], 0x31));
}

// Sum of the four int64 lanes of v.
__attribute__((target("avx2"), always_inline)) inline long long hsum_epi64(__m256i v) {
  const __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
}

}  // namespace hwnn
