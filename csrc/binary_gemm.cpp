#include "simd_reduce.hpp"  // first: its pragmas cover the intrinsics headers
//
#include "binary_gemm.hpp"
#include "bitpack.hpp"
#include "tile_driver.hpp"

namespace hwnn {

using u64 = std::uint64_t;
using TileFn = void (*)(const u64 *a, std::size_t lda, const u64 *b, std::size_t ldb,
                        std::size_t words, std::int32_t k, std::int32_t *c, std::size_t ldc);

// ---------------------------------------------------------------- reference

void binary_gemm_reference(const u64 *a, std::size_t m, const u64 *b, std::size_t n,
                           std::size_t k, std::int32_t *c) {
  const std::size_t words = words_for(k);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j)
      c[i * n + j] = static_cast<std::int32_t>(binary_dot_reference(a + i * words, b + j * words, k));
}

// ---------------------------------------------------------------- scalar tiles
// R rows of A against C rows of B, one word at a time: each A word is reused C times and
// each B word R times from registers. Compiled twice: with the POPCNT instruction, and
// without it (the compiler's bit-trick popcount) for CPUs that lack it.

template <int R, int C>
__attribute__((always_inline)) inline void scalar_body(const u64 *a, std::size_t lda, const u64 *b,
                                                       std::size_t ldb, std::size_t words,
                                                       std::int32_t k, std::int32_t *c,
                                                       std::size_t ldc) {
  u64 acc[R][C] = {};
  for (std::size_t w = 0; w < words; ++w) {
    u64 av[R];
    for (int r = 0; r < R; ++r) av[r] = a[r * lda + w];
    for (int j = 0; j < C; ++j) {
      const u64 bv = b[j * ldb + w];
      for (int r = 0; r < R; ++r) acc[r][j] += static_cast<u64>(__builtin_popcountll(av[r] ^ bv));
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j) c[r * ldc + j] = k - 2 * static_cast<std::int32_t>(acc[r][j]);
}

template <int R, int C>
struct ScalarTile {
  static void fn(const u64 *a, std::size_t lda, const u64 *b, std::size_t ldb, std::size_t words,
                 std::int32_t k, std::int32_t *c, std::size_t ldc) {
    scalar_body<R, C>(a, lda, b, ldb, words, k, c, ldc);
  }
};

template <int R, int C>
struct PopcntTile {
  __attribute__((target("popcnt"))) static void fn(const u64 *a, std::size_t lda, const u64 *b,
                                                   std::size_t ldb, std::size_t words,
                                                   std::int32_t k, std::int32_t *c,
                                                   std::size_t ldc) {
    scalar_body<R, C>(a, lda, b, ldb, words, k, c, ldc);
  }
};

// ---------------------------------------------------------------- AVX2 tiles
// AVX2 has no vector popcount: the nibble-lookup method (vpshufb on a 16-entry table,
// Mula et al. 2016) counts 256 bits in ~6 instructions on the vector ports, while scalar
// POPCNT runs on the integer ports. A tile that gives its first NV columns to the vector
// units and the rest to POPCNT keeps both kinds of port busy in one loop (on AMD Zen 1 the
// lookup alone is slower than scalar POPCNT; mixed is faster than either).

template <int R, int C, int NV>
__attribute__((target("avx2,popcnt"))) static void avx2_tile(const u64 *a, std::size_t lda,
                                                             const u64 *b, std::size_t ldb,
                                                             std::size_t words, std::int32_t k,
                                                             std::int32_t *c, std::size_t ldc) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2,
                                       1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  __m256i accq[R][NV > 0 ? NV : 1];
  u64 accs[R][C] = {};
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NV; ++j) accq[r][j] = _mm256_setzero_si256();
  std::size_t w = 0;
  while (w + 4 <= words) {
    // Byte counters hold at most 8 per step, so 31 steps fit before they must widen.
    const std::size_t steps = std::min<std::size_t>((words - w) / 4, 31);
    __m256i accb[R][NV > 0 ? NV : 1];
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < NV; ++j) accb[r][j] = _mm256_setzero_si256();
    for (std::size_t s = 0; s < steps; ++s, w += 4) {
      if constexpr (NV > 0) {
        __m256i va[R];
        for (int r = 0; r < R; ++r)
          va[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(a + r * lda + w));
        for (int j = 0; j < NV; ++j) {
          const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b + j * ldb + w));
          for (int r = 0; r < R; ++r) {
            const __m256i x = _mm256_xor_si256(va[r], vb);
            const __m256i lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(x, low));
            const __m256i hi =
                _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(x, 4), low));
            accb[r][j] = _mm256_add_epi8(accb[r][j], _mm256_add_epi8(lo, hi));
          }
        }
      }
      for (int q = 0; q < 4; ++q)
        for (int j = NV; j < C; ++j) {
          const u64 bv = b[j * ldb + w + q];
          for (int r = 0; r < R; ++r) accs[r][j] += _mm_popcnt_u64(a[r * lda + w + q] ^ bv);
        }
    }
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < NV; ++j)
        accq[r][j] = _mm256_add_epi64(accq[r][j], _mm256_sad_epu8(accb[r][j], _mm256_setzero_si256()));
  }
  for (; w < words; ++w)
    for (int j = 0; j < C; ++j)
      for (int r = 0; r < R; ++r) accs[r][j] += _mm_popcnt_u64(a[r * lda + w] ^ b[j * ldb + w]);
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j) {
      long long differing = static_cast<long long>(accs[r][j]);
      if (j < NV) differing += hsum_epi64(accq[r][j < NV ? j : 0]);
      c[r * ldc + j] = k - 2 * static_cast<std::int32_t>(differing);
    }
}

template <int R, int C>
struct Avx2Tile {
  static constexpr TileFn fn = avx2_tile<R, C, C / 2>;
};

// ---------------------------------------------------------------- AVX-512 tiles
// VPOPCNTD counts 512 bits in one instruction: xor, popcount, add per (row, column) pair
// and 512 bits, one 16-lane accumulator per pair, summed across lanes once per tile.

#define HWNN_AVX512_POPCNT __attribute__((target("avx512f,avx512bw,avx512vpopcntdq")))

template <int R, int C, bool Masked>
HWNN_AVX512_POPCNT __attribute__((always_inline)) inline void avx512_step(const u64 *a, std::size_t lda, const u64 *b,
                                                       std::size_t ldb, std::size_t w,
                                                       __mmask8 mask, __m512i *acc) {
  __m512i va[R];
  for (int r = 0; r < R; ++r)
    va[r] = Masked ? _mm512_maskz_loadu_epi64(mask, a + r * lda + w) : _mm512_loadu_si512(a + r * lda + w);
  for (int j = 0; j < C; ++j) {
    const __m512i vb =
        Masked ? _mm512_maskz_loadu_epi64(mask, b + j * ldb + w) : _mm512_loadu_si512(b + j * ldb + w);
    for (int r = 0; r < R; ++r)
      acc[r * C + j] =
          _mm512_add_epi32(acc[r * C + j], _mm512_popcnt_epi32(_mm512_xor_si512(va[r], vb)));
  }
}

template <int R, int C>
HWNN_AVX512_POPCNT static void avx512_tile(const u64 *a, std::size_t lda, const u64 *b,
                                           std::size_t ldb, std::size_t words, std::int32_t k,
                                           std::int32_t *c, std::size_t ldc) {
  static_assert(R * C <= 16, "one reduce16 per tile");
  // Exactly R * C accumulators, all in registers: the main loop runs unmasked over whole
  // 512-bit steps, one masked step takes the tail (masked loads read zeros, which never
  // differ).
  __m512i acc[16];
#pragma GCC unroll 16
  for (int p = 0; p < 16; ++p) acc[p] = _mm512_setzero_si512();
  std::size_t w = 0;
  for (; w + 8 <= words; w += 8) avx512_step<R, C, false>(a, lda, b, ldb, w, 0xff, acc);
  if (w < words)
    avx512_step<R, C, true>(a, lda, b, ldb, w, static_cast<__mmask8>((1u << (words - w)) - 1), acc);
  const __m512i differing = reduce16_epi32(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6],
                                           acc[7], acc[8], acc[9], acc[10], acc[11], acc[12],
                                           acc[13], acc[14], acc[15]);
  const __m512i dot = _mm512_sub_epi32(_mm512_set1_epi32(k), _mm512_slli_epi32(differing, 1));
  if constexpr (C == 4 && R <= 4) {
    for (int r = 0; r < R; ++r)
      _mm_storeu_si128(reinterpret_cast<__m128i *>(c + r * ldc),
                       _mm512_extracti32x4_epi32(dot, r));
  } else if constexpr (R == 1 && C == 16) {
    _mm512_storeu_si512(c, dot);
  } else {
    alignas(64) std::int32_t out[16];
    _mm512_store_si512(out, dot);
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < C; ++j) c[r * ldc + j] = out[r * C + j];
  }
}

template <int R, int C>
struct Avx512Tile {
  static constexpr TileFn fn = avx512_tile<R, C>;
};

// ---------------------------------------------------------------- driver

template <int MR, int NR, template <int, int> class Make>
static void run(const u64 *a, std::size_t m, const u64 *b, std::size_t n, std::size_t words,
                std::size_t k, std::int32_t *c) {
  static constexpr TileTable<TileFn, Make, MR, NR> table{};
  for_each_tile(m, n, MR, NR, words * 8,
                [&](std::size_t i0, std::size_t rows, std::size_t j0, std::size_t cols) {
                  table.fn[rows - 1][cols - 1](a + i0 * words, words, b + j0 * words, words, words,
                                               static_cast<std::int32_t>(k), c + i0 * n + j0, n);
                });
}

Path binary_gemm_words(const u64 *a, std::size_t m, const u64 *b, std::size_t n,
                       std::size_t words, std::size_t k, std::int32_t *c, Path path) {
  const Path p = resolve_path(Family::Binary, path);
  switch (p) {
    // Batch 1 and 2 (fully connected layers at small batch) would leave a 4 x 4 tile mostly
    // empty: wider tiles keep 16 accumulators busy, each reduce16 lane useful.
    case Path::Avx512:
      if (m == 1) run<1, 16, Avx512Tile>(a, m, b, n, words, k, c);
      else if (m == 2) run<2, 8, Avx512Tile>(a, m, b, n, words, k, c);
      else run<4, 4, Avx512Tile>(a, m, b, n, words, k, c);
      break;
    case Path::Avx2: run<2, 4, Avx2Tile>(a, m, b, n, words, k, c); break;
    case Path::Popcnt: run<2, 2, PopcntTile>(a, m, b, n, words, k, c); break;
    default: run<2, 2, ScalarTile>(a, m, b, n, words, k, c); break;
  }
  return p;
}

Path binary_gemm(const u64 *a, std::size_t m, const u64 *b, std::size_t n, std::size_t k,
                 std::int32_t *c, Path path) {
  return binary_gemm_words(a, m, b, n, words_for(k), k, c, path);
}

}  // namespace hwnn
