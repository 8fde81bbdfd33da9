#include "simd_reduce.hpp"  // first: its pragmas cover the intrinsics headers
//
#include <vector>

#include "int8_gemm.hpp"
#include "tile_driver.hpp"

namespace hwnn {

using i8 = std::int8_t;
using i32 = std::int32_t;
// bsum: per B row, sum of its entries (for the AVX-512 offset correction); may be null.
using TileFn = void (*)(const i8 *a, std::size_t lda, const i8 *b, std::size_t ldb, std::size_t k,
                        const i32 *bsum, i32 *c, std::size_t ldc);

// ---------------------------------------------------------------- reference

void int8_gemm_reference(const i8 *a, std::size_t m, const i8 *b, std::size_t n, std::size_t k,
                         i32 *c) {
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      i32 s = 0;
      for (std::size_t q = 0; q < k; ++q) s += i32{a[i * k + q]} * i32{b[j * k + q]};
      c[i * n + j] = s;
    }
}

static bool all_nonnegative(const i8 *a, std::size_t count) {
  i8 lowest = 0;
  for (std::size_t q = 0; q < count; ++q) lowest = a[q] < lowest ? a[q] : lowest;
  return lowest >= 0;
}

// ---------------------------------------------------------------- scalar tiles

template <int R, int C>
struct ScalarTile {
  static void fn(const i8 *a, std::size_t lda, const i8 *b, std::size_t ldb, std::size_t k,
                 const i32 *, i32 *c, std::size_t ldc) {
    i32 acc[R][C] = {};
    for (std::size_t q = 0; q < k; ++q)
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < C; ++j) acc[r][j] += i32{a[r * lda + q]} * i32{b[j * ldb + q]};
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < C; ++j) c[r * ldc + j] = acc[r][j];
  }
};

// ---------------------------------------------------------------- AVX2 tiles
// VPMADDUBSW multiplies unsigned by signed bytes and adds adjacent pairs into int16 with
// saturation; VPMADDWD by ones widens to int32. The pair sum saturates only when the
// unsigned operand exceeds 127, so:
//   * Signed = false (every a >= 0, the usual post-ReLU activations): a is a valid u7,
//     2 * 127 * 128 < 32767, exact in one VPMADDUBSW.
//   * Signed = true: a = (a & 0x7f) - 128 [a < 0], so
//         sum a b = sum (a & 0x7f) b - 128 sum [a < 0] b,
//     two exact VPMADDUBSW whose int16 pairs are widened with weights 1 and -128.

template <int R, int C, bool Signed>
__attribute__((target("avx2"))) static void avx2_tile(const i8 *a, std::size_t lda, const i8 *b,
                                                      std::size_t ldb, std::size_t k, const i32 *,
                                                      i32 *c, std::size_t ldc) {
  static_assert(R * C <= 8, "one reduce8 per tile");
  const __m256i ones = _mm256_set1_epi16(1), minus128 = _mm256_set1_epi16(-128);
  const __m256i low7 = _mm256_set1_epi8(0x7f), one8 = _mm256_set1_epi8(1);
  __m256i acc[8];
  for (int p = 0; p < 8; ++p) acc[p] = _mm256_setzero_si256();
  std::size_t q = 0;
  for (; q + 32 <= k; q += 32) {
    __m256i lo[R], neg[R];
    for (int r = 0; r < R; ++r) {
      const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(a + r * lda + q));
      if constexpr (Signed) {
        lo[r] = _mm256_and_si256(va, low7);
        neg[r] = _mm256_and_si256(_mm256_cmpgt_epi8(_mm256_setzero_si256(), va), one8);
      } else {
        lo[r] = va;
      }
    }
    for (int j = 0; j < C; ++j) {
      const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b + j * ldb + q));
      for (int r = 0; r < R; ++r) {
        __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(lo[r], vb), ones);
        if constexpr (Signed)
          s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(neg[r], vb), minus128));
        acc[r * C + j] = _mm256_add_epi32(acc[r * C + j], s);
      }
    }
  }
  alignas(32) i32 out[8];
  _mm256_store_si256(reinterpret_cast<__m256i *>(out),
                      reduce8_epi32(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]));
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j) {
      i32 s = out[r * C + j];
      for (std::size_t t = q; t < k; ++t) s += i32{a[r * lda + t]} * i32{b[j * ldb + t]};
      c[r * ldc + j] = s;
    }
}

template <int R, int C>
struct Avx2Tile {
  static constexpr TileFn fn = avx2_tile<R, C, false>;
};
template <int R, int C>
struct Avx2SignedTile {
  static constexpr TileFn fn = avx2_tile<R, C, true>;
};

// ---------------------------------------------------------------- AVX-512 VNNI tiles
// VPDPBUSD adds four u8 x s8 products into each int32 lane with no intermediate
// saturation: 64 multiply-adds per instruction. Signed a is offset to u8 by XOR 0x80
// (a + 128), and the excess 128 sum_k B[j][k] is subtracted at the end (bsum).

template <int R, int C, bool Signed>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void vnni_tile(
    const i8 *a, std::size_t lda, const i8 *b, std::size_t ldb, std::size_t k, const i32 *bsum,
    i32 *c, std::size_t ldc) {
  static_assert(R * C <= 16, "one reduce16 per tile");
  const __m512i offset = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i acc[16];
  for (int p = 0; p < 16; ++p) acc[p] = _mm512_setzero_si512();
  for (std::size_t q = 0; q < k; q += 64) {
    // Past k both operands load as zero; the offset a then is 128, times b = 0.
    const __mmask64 mask = k - q >= 64 ? ~__mmask64{0} : (__mmask64{1} << (k - q)) - 1;
    __m512i va[R];
    for (int r = 0; r < R; ++r) {
      va[r] = _mm512_maskz_loadu_epi8(mask, a + r * lda + q);
      if constexpr (Signed) va[r] = _mm512_xor_si512(va[r], offset);
    }
    for (int j = 0; j < C; ++j) {
      const __m512i vb = _mm512_maskz_loadu_epi8(mask, b + j * ldb + q);
      for (int r = 0; r < R; ++r) acc[r * C + j] = _mm512_dpbusd_epi32(acc[r * C + j], va[r], vb);
    }
  }
  alignas(64) i32 out[16];
  _mm512_store_si512(out, reduce16_epi32(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6],
                                         acc[7], acc[8], acc[9], acc[10], acc[11], acc[12],
                                         acc[13], acc[14], acc[15]));
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j)
      c[r * ldc + j] = Signed ? out[r * C + j] - 128 * bsum[j] : out[r * C + j];
}

template <int R, int C>
struct VnniTile {
  static constexpr TileFn fn = vnni_tile<R, C, false>;
};
template <int R, int C>
struct VnniSignedTile {
  static constexpr TileFn fn = vnni_tile<R, C, true>;
};

// ---------------------------------------------------------------- driver

template <int MR, int NR, template <int, int> class Make>
static void run(const i8 *a, std::size_t m, const i8 *b, std::size_t n, std::size_t k,
                const i32 *bsum, i32 *c) {
  static constexpr TileTable<TileFn, Make, MR, NR> table{};
  for_each_tile(m, n, MR, NR, k,
                [&](std::size_t i0, std::size_t rows, std::size_t j0, std::size_t cols) {
                  table.fn[rows - 1][cols - 1](a + i0 * k, k, b + j0 * k, k, k,
                                               bsum ? bsum + j0 : nullptr, c + i0 * n + j0, n);
                });
}

Path int8_gemm(const i8 *a, std::size_t m, const i8 *b, std::size_t n, std::size_t k, i32 *c,
               Path path) {
  const Path p = resolve_path(Family::Int8, path);
  const bool is_signed = !all_nonnegative(a, m * k);
  if (p == Path::Avx512) {
    std::vector<i32> bsum;
    if (is_signed) {
      bsum.assign(n, 0);
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t q = 0; q < k; ++q) bsum[j] += b[j * k + q];
    }
    // Batch 1 and 2 get wider tiles, as in binary_gemm.
    if (m == 1) {
      if (is_signed) run<1, 16, VnniSignedTile>(a, m, b, n, k, bsum.data(), c);
      else run<1, 16, VnniTile>(a, m, b, n, k, nullptr, c);
    } else if (m == 2) {
      if (is_signed) run<2, 8, VnniSignedTile>(a, m, b, n, k, bsum.data(), c);
      else run<2, 8, VnniTile>(a, m, b, n, k, nullptr, c);
    } else {
      if (is_signed) run<4, 4, VnniSignedTile>(a, m, b, n, k, bsum.data(), c);
      else run<4, 4, VnniTile>(a, m, b, n, k, nullptr, c);
    }
  } else if (p == Path::Avx2) {
    if (is_signed) run<2, 4, Avx2SignedTile>(a, m, b, n, k, nullptr, c);
    else run<2, 4, Avx2Tile>(a, m, b, n, k, nullptr, c);
  } else {
    run<2, 2, ScalarTile>(a, m, b, n, k, nullptr, c);
  }
  return p;
}

}  // namespace hwnn
