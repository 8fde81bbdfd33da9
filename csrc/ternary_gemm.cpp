#include "simd_reduce.hpp"  // first: its pragmas cover the intrinsics headers
//
#include "bitpack.hpp"
#include "ternary_gemm.hpp"
#include "tile_driver.hpp"

namespace hwnn {

using u64 = std::uint64_t;
using i32 = std::int32_t;
using TileFn = void (*)(const u64 *anz, const u64 *aneg, std::size_t lda, const u64 *bnz,
                        const u64 *bneg, std::size_t ldb, std::size_t words, i32 *c,
                        std::size_t ldc);

// ---------------------------------------------------------------- reference

static int bit(const u64 *row, std::size_t i) { return static_cast<int>((row[i / 64] >> (i % 64)) & 1u); }

// Element by element, from the definition of the two planes.
void ternary_gemm_reference(const u64 *a_nz, const u64 *a_neg, std::size_t m, const u64 *b_nz,
                            const u64 *b_neg, std::size_t n, std::size_t k, i32 *c) {
  const std::size_t words = words_for(k);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      i32 s = 0;
      for (std::size_t q = 0; q < k; ++q) {
        const int va = bit(a_nz + i * words, q) * (bit(a_neg + i * words, q) ? -1 : 1);
        const int vb = bit(b_nz + j * words, q) * (bit(b_neg + j * words, q) ? -1 : 1);
        s += va * vb;
      }
      c[i * n + j] = s;
    }
}

// ---------------------------------------------------------------- scalar tiles

template <int R, int C>
__attribute__((always_inline)) inline void scalar_body(const u64 *anz, const u64 *aneg,
                                                       std::size_t lda, const u64 *bnz,
                                                       const u64 *bneg, std::size_t ldb,
                                                       std::size_t words, i32 *c, std::size_t ldc) {
  i32 acc[R][C] = {};
  for (std::size_t w = 0; w < words; ++w)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < C; ++j) {
        const u64 both = anz[r * lda + w] & bnz[j * ldb + w];
        const u64 differ = both & (aneg[r * lda + w] ^ bneg[j * ldb + w]);
        acc[r][j] += __builtin_popcountll(both) - 2 * __builtin_popcountll(differ);
      }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j) c[r * ldc + j] = acc[r][j];
}

template <int R, int C>
struct ScalarTile {
  static void fn(const u64 *anz, const u64 *aneg, std::size_t lda, const u64 *bnz,
                 const u64 *bneg, std::size_t ldb, std::size_t words, i32 *c, std::size_t ldc) {
    scalar_body<R, C>(anz, aneg, lda, bnz, bneg, ldb, words, c, ldc);
  }
};

template <int R, int C>
struct PopcntTile {
  __attribute__((target("popcnt"))) static void fn(const u64 *anz, const u64 *aneg,
                                                   std::size_t lda, const u64 *bnz,
                                                   const u64 *bneg, std::size_t ldb,
                                                   std::size_t words, i32 *c, std::size_t ldc) {
    scalar_body<R, C>(anz, aneg, lda, bnz, bneg, ldb, words, c, ldc);
  }
};

// ---------------------------------------------------------------- AVX-512 tiles
// Per pair and 512 trits: AND, one VPTERNLOGQ for m AND (x XOR y), two VPOPCNTD, two adds.

template <int R, int C>
__attribute__((target("avx512f,avx512bw,avx512vpopcntdq"))) static void avx512_tile(
    const u64 *anz, const u64 *aneg, std::size_t lda, const u64 *bnz, const u64 *bneg,
    std::size_t ldb, std::size_t words, i32 *c, std::size_t ldc) {
  static_assert(R * C <= 8, "two accumulators per pair, one reduce16 per tile");
  __m512i both[8], differ[8];
  for (int p = 0; p < 8; ++p) both[p] = differ[p] = _mm512_setzero_si512();
  for (std::size_t w = 0; w < words; w += 8) {
    const __mmask8 mask = words - w >= 8 ? 0xff : static_cast<__mmask8>((1u << (words - w)) - 1);
    __m512i nz[R], ng[R];
    for (int r = 0; r < R; ++r) {
      nz[r] = _mm512_maskz_loadu_epi64(mask, anz + r * lda + w);
      ng[r] = _mm512_maskz_loadu_epi64(mask, aneg + r * lda + w);
    }
    for (int j = 0; j < C; ++j) {
      const __m512i bz = _mm512_maskz_loadu_epi64(mask, bnz + j * ldb + w);
      const __m512i bg = _mm512_maskz_loadu_epi64(mask, bneg + j * ldb + w);
      for (int r = 0; r < R; ++r) {
        const __m512i m = _mm512_and_si512(nz[r], bz);
        const __m512i d = _mm512_ternarylogic_epi64(m, ng[r], bg, 0x60);  // m & (x ^ y)
        both[r * C + j] = _mm512_add_epi32(both[r * C + j], _mm512_popcnt_epi32(m));
        differ[r * C + j] = _mm512_add_epi32(differ[r * C + j], _mm512_popcnt_epi32(d));
      }
    }
  }
  __m512i dot[8];
  for (int p = 0; p < 8; ++p) dot[p] = _mm512_sub_epi32(both[p], _mm512_slli_epi32(differ[p], 1));
  const __m512i z = _mm512_setzero_si512();
  alignas(64) i32 out[16];
  _mm512_store_si512(out, reduce16_epi32(dot[0], dot[1], dot[2], dot[3], dot[4], dot[5], dot[6],
                                         dot[7], z, z, z, z, z, z, z, z));
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j) c[r * ldc + j] = out[r * C + j];
}

template <int R, int C>
struct Avx512Tile {
  static constexpr TileFn fn = avx512_tile<R, C>;
};

// ---------------------------------------------------------------- driver

template <int MR, int NR, template <int, int> class Make>
static void run(const u64 *anz, const u64 *aneg, std::size_t m, const u64 *bnz, const u64 *bneg,
                std::size_t n, std::size_t k, i32 *c) {
  static constexpr TileTable<TileFn, Make, MR, NR> table{};
  const std::size_t words = words_for(k);
  for_each_tile(m, n, MR, NR, 2 * words * 8,
                [&](std::size_t i0, std::size_t rows, std::size_t j0, std::size_t cols) {
                  table.fn[rows - 1][cols - 1](anz + i0 * words, aneg + i0 * words, words,
                                               bnz + j0 * words, bneg + j0 * words, words, words,
                                               c + i0 * n + j0, n);
                });
}

Path ternary_gemm(const u64 *a_nz, const u64 *a_neg, std::size_t m, const u64 *b_nz,
                  const u64 *b_neg, std::size_t n, std::size_t k, i32 *c, Path path) {
  const Path p = resolve_path(Family::Ternary, path);
  switch (p) {
    case Path::Avx512: run<2, 4, Avx512Tile>(a_nz, a_neg, m, b_nz, b_neg, n, k, c); break;
    case Path::Popcnt: run<2, 2, PopcntTile>(a_nz, a_neg, m, b_nz, b_neg, n, k, c); break;
    default: run<2, 2, ScalarTile>(a_nz, a_neg, m, b_nz, b_neg, n, k, c); break;
  }
  return p;
}

}  // namespace hwnn
