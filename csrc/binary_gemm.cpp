#include "simd_reduce.hpp"  // first: its pragmas cover the intrinsics headers
//
#include "binary_gemm.hpp"
#include "bitpack.hpp"
#include "tile_driver.hpp"

#include <vector>

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
  // (no _mm512_extracti32x4_epi32(dot, r) per row: its lane must be an immediate, which a
  // loop index is only after unrolling, so the -O1 sanitizer build rejects it)
  if constexpr (R == 1 && C == 16) {
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

// ---------------------------------------------------------------- AVX-512, packed B
// From packed_min_rows(words) rows up (below), B is packed once per call into panels of 8
// columns in which each 64-byte line holds one word of those 8 columns (or ahead of time, by
// the deployment engine: binary_gemm_panels). One broadcast A word XOR such a line
// gives 8 outputs' differing bits in 64-bit lanes: xor, VPOPCNTQ and add per 512 bit-MACs
// as in the tiles above, but the accumulators are already per output (no transposing
// reduction per tile, no A vector loads), and an 8 x 24 tile keeps 24 accumulators busy.

static constexpr std::size_t kPackedMinRows = 24;

// Packing B costs ~n words per call; the 4 x 4 tiles' per-tile horizontal sum costs more the
// shorter the rows. Measured (1-23 rows, K 256 to 4096, N 256 and 1024): packing pays from
// 8 rows at 4 words, 12 at 16 and 24 at 64.
static std::size_t packed_min_rows(std::size_t words) {
  return std::min<std::size_t>(kPackedMinRows, 8 + words / 4);
}
static constexpr int kPackedMR = 8, kPackedNV = 3;  // 8 rows x 24 columns

// bp[(j / 8) * stride + w * 8 + j % 8] = b[j * words + w], zero past n.
void pack_b_panels(const u64 *b, std::size_t n, std::size_t words, std::size_t stride,
                   u64 *bp) {
  for (std::size_t j = 0; j < n; ++j) {
    const u64 *row = b + j * words;
    u64 *out = bp + (j / 8) * stride + j % 8;
    for (std::size_t w = 0; w < words; ++w) out[w * 8] = row[w];
  }
}

template <int NV>
HWNN_AVX512_POPCNT __attribute__((always_inline)) inline void packed_row_update(
    __m512i (&acc)[NV], const u64 *arow, const __m512i (&vb)[NV]) {
  const __m512i va = _mm512_set1_epi64(static_cast<long long>(*arow));
  for (int j = 0; j < NV; ++j)
    acc[j] = _mm512_add_epi64(acc[j], _mm512_popcnt_epi64(_mm512_xor_si512(va, vb[j])));
}

template <int NV>
HWNN_AVX512_POPCNT __attribute__((always_inline)) inline void packed_row_store(
    const __m512i (&acc)[NV], std::int32_t k, std::int32_t *c, std::size_t cols) {
  const __m256i kv = _mm256_set1_epi32(k);
  for (int j = 0; j < NV; ++j) {
    const std::size_t left = cols - 8 * static_cast<std::size_t>(j);
    // A 512-bit masked store of the low 8 lanes (no AVX-512VL needed).
    const __mmask16 mask = left >= 8 ? 0xff : static_cast<__mmask16>((1u << left) - 1);
    const __m256i d = _mm512_cvtepi64_epi32(acc[j]);
    _mm512_mask_storeu_epi32(c + 8 * j, mask,
                             _mm512_castsi256_si512(_mm256_sub_epi32(kv, _mm256_slli_epi32(d, 1))));
  }
}

// One small accumulator array per row (GCC keeps one array of 24 vectors in memory).
template <int R, int NV>
HWNN_AVX512_POPCNT static void avx512_packed_tile(const u64 *a, std::size_t lda, const u64 *bp,
                                                  std::size_t stride, std::size_t words,
                                                  std::int32_t k, std::int32_t *c,
                                                  std::size_t ldc, std::size_t cols) {
  static_assert(R >= 1 && R <= 8, "up to 8 rows");
  __m512i c0[NV], c1[NV], c2[NV], c3[NV], c4[NV], c5[NV], c6[NV], c7[NV];
  for (int j = 0; j < NV; ++j)
    c0[j] = c1[j] = c2[j] = c3[j] = c4[j] = c5[j] = c6[j] = c7[j] = _mm512_setzero_si512();
  for (std::size_t w = 0; w < words; ++w) {
    __m512i vb[NV];
    for (int j = 0; j < NV; ++j) vb[j] = _mm512_loadu_si512(bp + j * stride + w * 8);
    const u64 *ar = a + w;
    packed_row_update<NV>(c0, ar, vb);
    if constexpr (R > 1) packed_row_update<NV>(c1, ar + lda, vb);
    if constexpr (R > 2) packed_row_update<NV>(c2, ar + 2 * lda, vb);
    if constexpr (R > 3) packed_row_update<NV>(c3, ar + 3 * lda, vb);
    if constexpr (R > 4) packed_row_update<NV>(c4, ar + 4 * lda, vb);
    if constexpr (R > 5) packed_row_update<NV>(c5, ar + 5 * lda, vb);
    if constexpr (R > 6) packed_row_update<NV>(c6, ar + 6 * lda, vb);
    if constexpr (R > 7) packed_row_update<NV>(c7, ar + 7 * lda, vb);
  }
  packed_row_store<NV>(c0, k, c, cols);
  if constexpr (R > 1) packed_row_store<NV>(c1, k, c + ldc, cols);
  if constexpr (R > 2) packed_row_store<NV>(c2, k, c + 2 * ldc, cols);
  if constexpr (R > 3) packed_row_store<NV>(c3, k, c + 3 * ldc, cols);
  if constexpr (R > 4) packed_row_store<NV>(c4, k, c + 4 * ldc, cols);
  if constexpr (R > 5) packed_row_store<NV>(c5, k, c + 5 * ldc, cols);
  if constexpr (R > 6) packed_row_store<NV>(c6, k, c + 6 * ldc, cols);
  if constexpr (R > 7) packed_row_store<NV>(c7, k, c + 7 * ldc, cols);
}

using PackedFn = void (*)(const u64 *, std::size_t, const u64 *, std::size_t, std::size_t,
                          std::int32_t, std::int32_t *, std::size_t, std::size_t);

template <int R, int NV>
struct Avx512Packed {
  static constexpr PackedFn fn = avx512_packed_tile<R, NV>;
};

std::size_t binary_panel_stride(std::size_t words) {
  return words * 8 + 8;  // padded by one line so the NV panels of a tile do not share an L1 set
}

void binary_gemm_panels(const u64 *a, std::size_t m, const u64 *bp, std::size_t n,
                        std::size_t words, std::size_t k, std::int32_t *c) {
  const std::size_t stride = binary_panel_stride(words);
  static constexpr TileTable<PackedFn, Avx512Packed, kPackedMR, kPackedNV> table{};
  for_each_tile(m, n, kPackedMR, 8 * kPackedNV, words * 8,
                [&](std::size_t i0, std::size_t rows, std::size_t j0, std::size_t cols) {
                  table.fn[rows - 1][(cols + 7) / 8 - 1](
                      a + i0 * words, words, bp + (j0 / 8) * stride, stride, words,
                      static_cast<std::int32_t>(k), c + i0 * n + j0, n, cols);
                });
}

static void run_avx512_packed(const u64 *a, std::size_t m, const u64 *b, std::size_t n,
                              std::size_t words, std::size_t k, std::int32_t *c) {
  std::vector<u64> bp((n + 7) / 8 * binary_panel_stride(words), 0);
  pack_b_panels(b, n, words, binary_panel_stride(words), bp.data());
  binary_gemm_panels(a, m, bp.data(), n, words, k, c);
}

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
      else if (m < packed_min_rows(words)) run<4, 4, Avx512Tile>(a, m, b, n, words, k, c);
      else run_avx512_packed(a, m, b, n, words, k, c);
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
