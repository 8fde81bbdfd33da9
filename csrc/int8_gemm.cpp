#include "simd_reduce.hpp"  // first: its pragmas cover the intrinsics headers
//
#include <cstring>
#include <vector>

#include "cpu_features.hpp"
#include "int8_gemm.hpp"
#include "tile_driver.hpp"

namespace hwnn {

using i8 = std::int8_t;
using u8 = std::uint8_t;
using i32 = std::int32_t;

// How the bytes of A are read. B is always int8.
//   U7: every a in [0, 127] (checked): one exact VPMADDUBSW / VPDPBUSD, no correction.
//   S8: int8 a, top bit weighs -128.    U8: uint8 a, top bit weighs +128.
enum class Mode { U7, S8, U8 };

// bsum: per B row, the sum of its entries (the AVX-512 S8 offset correction); may be null.
using TileFn = void (*)(const u8 *a, std::size_t lda, const i8 *b, std::size_t ldb, std::size_t k,
                        const i32 *bsum, i32 *c, std::size_t ldc);

template <Mode M>
static inline i32 value(u8 byte) {
  return M == Mode::S8 ? i32{static_cast<i8>(byte)} : i32{byte};
}

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

void u8s8_gemm_reference(const u8 *a, std::size_t m, const i8 *b, std::size_t n, std::size_t k,
                         i32 *c) {
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      i32 s = 0;
      for (std::size_t q = 0; q < k; ++q) s += i32{a[i * k + q]} * i32{b[j * k + q]};
      c[i * n + j] = s;
    }
}

bool all_below_128(const u8 *a, std::size_t count) {
  u8 top = 0;
  for (std::size_t q = 0; q < count; ++q) top |= a[q];
  return top < 128;
}

const u8 *group_rows(const u8 *a, std::size_t m, std::size_t k, u8 flip,
                     std::vector<u8> &scratch) {
  const std::size_t lda = (k + 3) / 4 * 4;
  if (scratch.size() < m * lda) scratch.resize(m * lda);  // past k, B is zero: any byte will do
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t q = 0; q < k; ++q) scratch[i * lda + q] = a[i * k + q] ^ flip;
  return scratch.data();
}

// ---------------------------------------------------------------- scalar tiles

template <int R, int C, Mode M>
static void scalar_tile(const u8 *a, std::size_t lda, const i8 *b, std::size_t ldb, std::size_t k,
                        const i32 *, i32 *c, std::size_t ldc) {
  i32 acc[R][C] = {};
  for (std::size_t q = 0; q < k; ++q)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < C; ++j) acc[r][j] += value<M>(a[r * lda + q]) * i32{b[j * ldb + q]};
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j) c[r * ldc + j] = acc[r][j];
}

template <Mode M>
struct Scalar {
  template <int R, int C>
  struct Tile {
    static constexpr TileFn fn = scalar_tile<R, C, M>;
  };
};

// ---------------------------------------------------------------- AVX2 tiles
// VPMADDUBSW multiplies unsigned by signed bytes and adds adjacent pairs into int16 with
// saturation; VPMADDWD by ones widens to int32. The pair sum saturates only when the
// unsigned operand exceeds 127, so:
//   * U7 (every a in [0, 127], e.g. post-ReLU activations): 2 * 127 * 128 < 32767, exact in
//     one VPMADDUBSW.
//   * S8 / U8: a = (a & 0x7f) + w * [top bit], w = -128 (int8) or +128 (uint8), so
//         sum a b = sum (a & 0x7f) b + w sum [top bit] b,
//     two exact VPMADDUBSW whose int16 pairs are widened with weights 1 and w.

template <int R, int C, Mode M>
__attribute__((target("avx2"))) static void avx2_tile(const u8 *a, std::size_t lda, const i8 *b,
                                                      std::size_t ldb, std::size_t k, const i32 *,
                                                      i32 *c, std::size_t ldc) {
  static_assert(R * C <= 8, "one reduce8 per tile");
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i top_weight = _mm256_set1_epi16(M == Mode::S8 ? -128 : 128);
  const __m256i low7 = _mm256_set1_epi8(0x7f), one8 = _mm256_set1_epi8(1);
  __m256i acc[8];
  for (int p = 0; p < 8; ++p) acc[p] = _mm256_setzero_si256();
  std::size_t q = 0;
  for (; q + 32 <= k; q += 32) {
    __m256i lo[R], top[R];
    for (int r = 0; r < R; ++r) {
      const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(a + r * lda + q));
      if constexpr (M != Mode::U7) {
        lo[r] = _mm256_and_si256(va, low7);
        top[r] = _mm256_and_si256(_mm256_srli_epi16(va, 7), one8);
      } else {
        lo[r] = va;
      }
    }
    for (int j = 0; j < C; ++j) {
      const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b + j * ldb + q));
      for (int r = 0; r < R; ++r) {
        __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(lo[r], vb), ones);
        if constexpr (M != Mode::U7)
          s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(top[r], vb), top_weight));
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
      for (std::size_t t = q; t < k; ++t) s += value<M>(a[r * lda + t]) * i32{b[j * ldb + t]};
      c[r * ldc + j] = s;
    }
}

template <Mode M>
struct Avx2 {
  template <int R, int C>
  struct Tile {
    static constexpr TileFn fn = avx2_tile<R, C, M>;
  };
};

// ---------------------------------------------------------------- AVX-512 VNNI tiles
// VPDPBUSD adds four u8 x s8 products into each int32 lane with no intermediate
// saturation: 64 multiply-adds per instruction. uint8 a is native; int8 a is offset to u8
// by XOR 0x80 (a + 128), and the excess 128 sum_k B[j][k] is subtracted at the end (bsum).

template <int R, int C, Mode M>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void vnni_tile(
    const u8 *a, std::size_t lda, const i8 *b, std::size_t ldb, std::size_t k, const i32 *bsum,
    i32 *c, std::size_t ldc) {
  static_assert(R * C <= 16, "one reduce16 per tile");
  const __m512i offset = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i acc[16];
  for (int p = 0; p < 16; ++p) acc[p] = _mm512_setzero_si512();
  for (std::size_t q = 0; q < k; q += 64) {
    // Past k both operands load as zero; an offset a there is 128, times b = 0.
    const __mmask64 mask = k - q >= 64 ? ~__mmask64{0} : (__mmask64{1} << (k - q)) - 1;
    __m512i va[R];
    for (int r = 0; r < R; ++r) {
      va[r] = _mm512_maskz_loadu_epi8(mask, a + r * lda + q);
      if constexpr (M == Mode::S8) va[r] = _mm512_xor_si512(va[r], offset);
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
      c[r * ldc + j] = M == Mode::S8 ? out[r * C + j] - 128 * bsum[j] : out[r * C + j];
}

template <Mode M>
struct Vnni {
  template <int R, int C>
  struct Tile {
    static constexpr TileFn fn = vnni_tile<R, C, M>;
  };
};

// ---------------------------------------------------------------- AVX-512 VNNI, packed B
// From kPackedMinRows rows up, B is packed once per call into panels of 16 columns in which
// each 64-byte line holds 4 consecutive k of those 16 columns (VPDPBUSD's groups of four).
// One broadcast of 4 bytes of an A row times one such line updates 16 outputs, so an
// R x (16 NV) register tile needs no horizontal sums at all: per 4 k, NV vector loads, R
// broadcasts and R * NV VPDPBUSD. A is read in place (4-byte groups) unless k % 4 != 0 or
// it is int8, when a copy is padded to whole groups and offset by 128 (S8).

#define HWNN_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

static constexpr std::size_t kPackedMinRows = 32;
static constexpr int kPackedMR = 8, kPackedNV = 3;  // 8 rows x 48 columns, 24 accumulators

static inline i32 load_group(const u8 *p) {  // 4 bytes of A, any alignment
  i32 v;
  std::memcpy(&v, p, 4);
  return v;
}

// bp[(j / 16) * stride + q * 64 + (j % 16) * 4 + t] = b[j * k + 4 q + t], zero past n and k.
// Whole 16-row x 64-byte blocks go through a 16 x 16 transpose of 4-byte groups (four
// shuffle stages); the rest (last rows, tail of k) byte by byte.
HWNN_VNNI static void pack_b_groups(const i8 *b, std::size_t n, std::size_t k,
                                    std::size_t stride, i8 *bp) {
  const std::size_t full_rows = n / 16 * 16, full_q = k / 64 * 16;
  for (std::size_t j0 = 0; j0 < full_rows; j0 += 16) {
    i8 *panel = bp + (j0 / 16) * stride;
    for (std::size_t q0 = 0; q0 < full_q; q0 += 16) {
      __m512i r[16], t[16], u[16];
      for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_si512(b + (j0 + i) * k + 4 * q0);
      for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
      }
      for (int i = 0; i < 4; ++i) {  // u[4i + s], 128-bit lane L: rows 4i..4i+3, group 4L + s
        u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
      }
      for (int s = 0; s < 4; ++s) {
        const __m512i v0 = _mm512_shuffle_i32x4(u[s], u[4 + s], 0x88);
        const __m512i w0 = _mm512_shuffle_i32x4(u[s], u[4 + s], 0xDD);
        const __m512i v1 = _mm512_shuffle_i32x4(u[8 + s], u[12 + s], 0x88);
        const __m512i w1 = _mm512_shuffle_i32x4(u[8 + s], u[12 + s], 0xDD);
        i8 *out = panel + (q0 + s) * 64;
        _mm512_storeu_si512(out + 0 * 256, _mm512_shuffle_i32x4(v0, v1, 0x88));
        _mm512_storeu_si512(out + 1 * 256, _mm512_shuffle_i32x4(w0, w1, 0x88));
        _mm512_storeu_si512(out + 2 * 256, _mm512_shuffle_i32x4(v0, v1, 0xDD));
        _mm512_storeu_si512(out + 3 * 256, _mm512_shuffle_i32x4(w0, w1, 0xDD));
      }
    }
  }
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t from = j < full_rows ? 4 * full_q : 0;  // bytes already packed
    const i8 *row = b + j * k;
    i8 *out = bp + (j / 16) * stride + (j % 16) * 4;
    for (std::size_t t = from; t < k; ++t) out[t / 4 * 64 + t % 4] = row[t];
  }
}

// acc += VPDPBUSD(a, b) in place: with the intrinsic, GCC 12 copies each accumulator to a
// scratch register and back (and spills them) around every instruction.
HWNN_VNNI __attribute__((always_inline)) inline __m512i dpbusd(__m512i acc, __m512i a, __m512i b) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}

template <int NV>
HWNN_VNNI __attribute__((always_inline)) inline void row_update(__m512i (&acc)[NV], const u8 *arow,
                                                               const __m512i (&vb)[NV]) {
  const __m512i va = _mm512_set1_epi32(load_group(arow));
  for (int j = 0; j < NV; ++j) acc[j] = dpbusd(acc[j], va, vb[j]);
}

template <int NV>
HWNN_VNNI __attribute__((always_inline)) inline void row_store(const __m512i (&acc)[NV],
                                                              const i32 *corr, i32 *c,
                                                              std::size_t cols) {
  for (int j = 0; j < NV; ++j) {
    const std::size_t left = cols - 16 * static_cast<std::size_t>(j);
    const __mmask16 mask = left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1);
    const __m512i cv = corr ? _mm512_loadu_si512(corr + 16 * j) : _mm512_setzero_si512();
    _mm512_mask_storeu_epi32(c + 16 * j, mask, _mm512_sub_epi32(acc[j], cv));
  }
}

// One small accumulator array per row (GCC keeps one array of 24 vectors in memory). With
// Offsets, group q of row r is read at a + r lda + goff[q] instead of a + r lda + 4 q: an
// implicit-im2col convolution reads its patches straight from the image.
template <int R, int NV, bool Offsets = false>
HWNN_VNNI static void vnni_packed_tile(const u8 *a, std::size_t lda, const i8 *bp,
                                       std::size_t panel, std::size_t k4, const i32 *corr, i32 *c,
                                       std::size_t ldc, std::size_t cols, const i32 *goff) {
  static_assert(R >= 1 && R <= 8, "up to 8 rows");
  __m512i c0[NV], c1[NV], c2[NV], c3[NV], c4[NV], c5[NV], c6[NV], c7[NV];
  for (int j = 0; j < NV; ++j)
    c0[j] = c1[j] = c2[j] = c3[j] = c4[j] = c5[j] = c6[j] = c7[j] = _mm512_setzero_si512();
  for (std::size_t q = 0; q < k4; ++q) {
    __m512i vb[NV];
    for (int j = 0; j < NV; ++j) vb[j] = _mm512_loadu_si512(bp + j * panel + q * 64);
    const u8 *ar = a + (Offsets ? static_cast<std::size_t>(goff[q]) : 4 * q);
    row_update<NV>(c0, ar, vb);
    if constexpr (R > 1) row_update<NV>(c1, ar + lda, vb);
    if constexpr (R > 2) row_update<NV>(c2, ar + 2 * lda, vb);
    if constexpr (R > 3) row_update<NV>(c3, ar + 3 * lda, vb);
    if constexpr (R > 4) row_update<NV>(c4, ar + 4 * lda, vb);
    if constexpr (R > 5) row_update<NV>(c5, ar + 5 * lda, vb);
    if constexpr (R > 6) row_update<NV>(c6, ar + 6 * lda, vb);
    if constexpr (R > 7) row_update<NV>(c7, ar + 7 * lda, vb);
  }
  row_store<NV>(c0, corr, c, cols);
  if constexpr (R > 1) row_store<NV>(c1, corr, c + ldc, cols);
  if constexpr (R > 2) row_store<NV>(c2, corr, c + 2 * ldc, cols);
  if constexpr (R > 3) row_store<NV>(c3, corr, c + 3 * ldc, cols);
  if constexpr (R > 4) row_store<NV>(c4, corr, c + 4 * ldc, cols);
  if constexpr (R > 5) row_store<NV>(c5, corr, c + 5 * ldc, cols);
  if constexpr (R > 6) row_store<NV>(c6, corr, c + 6 * ldc, cols);
  if constexpr (R > 7) row_store<NV>(c7, corr, c + 7 * ldc, cols);
}

using PackedTileFn = void (*)(const u8 *, std::size_t, const i8 *, std::size_t, std::size_t,
                              const i32 *, i32 *, std::size_t, std::size_t, const i32 *);

template <int R, int NV>
struct VnniPacked {
  static constexpr PackedTileFn fn = vnni_packed_tile<R, NV>;
};

template <int R, int NV>
struct VnniOffsets {
  static constexpr PackedTileFn fn = vnni_packed_tile<R, NV, true>;
};

// ---------------------------------------------------------------- AMX
// An AMX tile multiply-add (TDPBUSD) does 16 x 16 x 64 uint8 x int8 products into a 16 x 16
// int32 tile: 128 times a VPDPBUSD. Its B operand is [groups of 4][16 columns x 4 bytes],
// exactly a VPDPBUSD panel's layout, so the same prepacked panels serve both. Tiles: C for
// two panels (tmm0, tmm1), A and the two B for 16 groups (tmm2-4), and A and the two B for
// the last groups % 16 (tmm5-7), so one configuration serves a whole call (loading another
// would clear the accumulators). Rows past m are read from a zero-padded copy, columns past
// n are computed (the panels are zero there) and not stored.

struct alignas(64) TileConfig {
  std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};

#define HWNN_AMX __attribute__((target("amx-tile,amx-int8")))

HWNN_AMX static void amx_panel_pair(const u8 *ab, std::size_t stride, const i8 *b0,
                                    const i8 *b1, std::size_t full, std::size_t tail,
                                    i32 (*out)[16][16]) {
  _tile_zero(0);
  if (b1) _tile_zero(1);
  for (std::size_t q = 0; q < full; ++q) {
    _tile_loadd(2, ab + q * 64, static_cast<long>(stride));
    _tile_loadd(3, b0 + q * 1024, 64);
    _tile_dpbusd(0, 2, 3);
    if (b1) {
      _tile_loadd(4, b1 + q * 1024, 64);
      _tile_dpbusd(1, 2, 4);
    }
  }
  if (tail) {
    _tile_loadd(5, ab + full * 64, static_cast<long>(stride));
    _tile_loadd(6, b0 + full * 1024, 64);
    _tile_dpbusd(0, 5, 6);
    if (b1) {
      _tile_loadd(7, b1 + full * 1024, 64);
      _tile_dpbusd(1, 5, 7);
    }
  }
  _tile_stored(0, out[0], 64);
  if (b1) _tile_stored(1, out[1], 64);
}

HWNN_AMX static void amx_gemm_panels(const u8 *a, std::size_t m, std::size_t lda,
                                     const i8 *panels, std::size_t panel_bytes, std::size_t n,
                                     std::size_t groups, const i32 *corr, i32 *c) {
  const std::size_t full = groups / 16, tail = groups % 16, npanels = (n + 15) / 16;
  TileConfig cfg;
  for (int t = 0; t < 5; ++t) cfg.rows[t] = 16, cfg.colsb[t] = 64;
  if (tail) {
    cfg.rows[5] = 16, cfg.colsb[5] = static_cast<std::uint16_t>(4 * tail);
    cfg.rows[6] = cfg.rows[7] = static_cast<std::uint8_t>(tail), cfg.colsb[6] = cfg.colsb[7] = 64;
  }
  _tile_loadconfig(&cfg);
  thread_local std::vector<u8> padded;  // the last rows, zero-extended to 16
  alignas(64) i32 out[2][16][16];
  for (std::size_t i0 = 0; i0 < m; i0 += 16) {
    const std::size_t rows = std::min<std::size_t>(16, m - i0);
    const u8 *ab = a + i0 * lda;
    std::size_t stride = lda;
    if (rows < 16) {
      stride = groups * 4;
      padded.assign(16 * stride, 0);
      for (std::size_t r = 0; r < rows; ++r)
        std::memcpy(padded.data() + r * stride, ab + r * lda, stride);
      ab = padded.data();
    }
    for (std::size_t p = 0; p < npanels; p += 2) {
      const i8 *b0 = panels + p * panel_bytes;
      const i8 *b1 = p + 1 < npanels ? b0 + panel_bytes : nullptr;
      amx_panel_pair(ab, stride, b0, b1, full, tail, out);
      for (std::size_t h = 0; h < (b1 ? 2u : 1u); ++h) {
        const std::size_t j0 = (p + h) * 16, cols = std::min<std::size_t>(16, n - j0);
        for (std::size_t r = 0; r < rows; ++r)
          for (std::size_t j = 0; j < cols; ++j)
            c[(i0 + r) * n + j0 + j] = out[h][r][j] - (corr ? corr[j0 + j] : 0);
      }
    }
  }
  _tile_release();
}

void u8_gemm_panels(const u8 *a, std::size_t m, std::size_t lda, const i8 *panels,
                    std::size_t panel_bytes, std::size_t n, std::size_t groups, const i32 *corr,
                    i32 *c, bool amx) {
  // One thread: each thread would load its own tile configuration (left for later).
  if (amx && m >= 2 && groups > 0 && cpu_features().amx_int8 && kernel_threads() == 1)
    return amx_gemm_panels(a, m, lda, panels, panel_bytes, n, groups, corr, c);
  static constexpr TileTable<PackedTileFn, VnniPacked, kPackedMR, kPackedNV> table{};
  for_each_tile(m, n, kPackedMR, 16 * kPackedNV, groups * 4,
                [&](std::size_t i0, std::size_t rows, std::size_t j0, std::size_t cols) {
                  table.fn[rows - 1][(cols + 15) / 16 - 1](
                      a + i0 * lda, lda, panels + (j0 / 16) * panel_bytes, panel_bytes, groups,
                      corr ? corr + j0 : nullptr, c + i0 * n + j0, n, cols, nullptr);
                });
}

void u8_conv_panels(const u8 *image, std::size_t wp, std::size_t stride, std::size_t ho,
                    std::size_t wo, const i32 *goff, const i8 *panels, std::size_t panel_bytes,
                    std::size_t n, std::size_t groups, const i32 *corr, i32 *c) {
  static constexpr TileTable<PackedTileFn, VnniOffsets, kPackedMR, kPackedNV> table{};
  // Row tiles are up to 8 pixels of one output row (their patches start `stride` bytes
  // apart); no OpenMP here: the plan runs it per image.
  for (std::size_t y = 0; y < ho; ++y)
    for (std::size_t x0 = 0; x0 < wo; x0 += kPackedMR) {
      const std::size_t rows = std::min<std::size_t>(kPackedMR, wo - x0);
      const u8 *a = image + y * stride * wp + x0 * stride;
      for (std::size_t j0 = 0; j0 < n; j0 += 16 * kPackedNV) {
        const std::size_t cols = std::min<std::size_t>(16 * kPackedNV, n - j0);
        table.fn[rows - 1][(cols + 15) / 16 - 1](
            a, stride, panels + (j0 / 16) * panel_bytes, panel_bytes, groups,
            corr ? corr + j0 : nullptr, c + (y * wo + x0) * n + j0, n, cols, goff);
      }
    }
}

template <Mode M>
static void run_vnni_packed(const u8 *a, std::size_t m, const i8 *b, std::size_t n,
                            std::size_t k, const i32 *bsum, i32 *c, bool amx) {
  // Panels are padded by one cache line so that the NV panels of a tile do not all map to
  // the same L1 set when k is a multiple of 1024.
  const std::size_t k4 = (k + 3) / 4, panels = (n + 15) / 16, stride = k4 * 64 + 64;
  std::vector<i8> bp(panels * stride, 0);
  pack_b_groups(b, n, k, stride, bp.data());
  std::vector<i32> corr;
  if (M == Mode::S8) {  // a + 128 was multiplied: subtract 128 sum_k B[j][k]
    corr.assign(panels * 16, 0);
    for (std::size_t j = 0; j < n; ++j) corr[j] = 128 * bsum[j];
  }
  // A is read in place when its rows are whole 4-byte groups of unsigned bytes; otherwise a
  // copy pads them (and offsets int8 by 128).
  std::vector<u8> padded;
  const bool copy = M == Mode::S8 || k % 4 != 0;
  const u8 *ap = copy ? group_rows(a, m, k, M == Mode::S8 ? 0x80 : 0, padded) : a;
  u8_gemm_panels(ap, m, copy ? k4 * 4 : k, bp.data(), stride, n, k4,
                 corr.empty() ? nullptr : corr.data(), c, amx);
}

// ---------------------------------------------------------------- driver

template <int MR, int NR, template <int, int> class Make>
static void run(const u8 *a, std::size_t m, const i8 *b, std::size_t n, std::size_t k,
                const i32 *bsum, i32 *c) {
  static constexpr TileTable<TileFn, Make, MR, NR> table{};
  for_each_tile(m, n, MR, NR, k,
                [&](std::size_t i0, std::size_t rows, std::size_t j0, std::size_t cols) {
                  table.fn[rows - 1][cols - 1](a + i0 * k, k, b + j0 * k, k, k,
                                               bsum ? bsum + j0 : nullptr, c + i0 * n + j0, n);
                });
}

// Row sums of B with VPDPBUSD against ones: scalar int8 sums do not vectorize well (the
// loop took ~50 us for a 256 x 784 layer, ten times the GEMM it corrects).
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void row_sums_vnni(
    const i8 *b, std::size_t n, std::size_t k, i32 *out) {
  const __m512i ones = _mm512_set1_epi8(1);
  for (std::size_t j = 0; j < n; ++j) {
    __m512i acc = _mm512_setzero_si512();
    for (std::size_t q = 0; q < k; q += 64) {
      const __mmask64 mask = k - q >= 64 ? ~__mmask64{0} : (__mmask64{1} << (k - q)) - 1;
      acc = _mm512_dpbusd_epi32(acc, ones, _mm512_maskz_loadu_epi8(mask, b + j * k + q));
    }
    out[j] = _mm512_reduce_add_epi32(acc);
  }
}

template <Mode M>
static void run_vnni(const u8 *a, std::size_t m, const i8 *b, std::size_t n, std::size_t k,
                     i32 *c, bool amx) {
  std::vector<i32> bsum;
  if (M == Mode::S8) {
    bsum.assign(n, 0);
    row_sums_vnni(b, n, k, bsum.data());
  }
  const i32 *bs = bsum.empty() ? nullptr : bsum.data();
  if (m >= kPackedMinRows) return run_vnni_packed<M>(a, m, b, n, k, bs, c, amx);
  // Batch 1 and 2 get wider tiles, as in binary_gemm.
  if (m == 1) run<1, 16, Vnni<M>::template Tile>(a, m, b, n, k, bs, c);
  else if (m == 2) run<2, 8, Vnni<M>::template Tile>(a, m, b, n, k, bs, c);
  else run<4, 4, Vnni<M>::template Tile>(a, m, b, n, k, bs, c);
}

// `amx`: the caller asked for no path in particular, so AMX may stand in for AVX-512 VNNI.
template <Mode M>
static void dispatch(Path p, const u8 *a, std::size_t m, const i8 *b, std::size_t n,
                     std::size_t k, i32 *c, bool amx) {
  if (p == Path::Avx512) run_vnni<M>(a, m, b, n, k, c, amx);
  else if (p == Path::Avx2) run<2, 4, Avx2<M>::template Tile>(a, m, b, n, k, nullptr, c);
  else run<2, 2, Scalar<M>::template Tile>(a, m, b, n, k, nullptr, c);
}

Path int8_gemm(const i8 *a, std::size_t m, const i8 *b, std::size_t n, std::size_t k, i32 *c,
               Path path) {
  const Path p = resolve_path(Family::Int8, path);
  const u8 *bytes = reinterpret_cast<const u8 *>(a);
  const bool amx = path == Path::Auto;
  if (all_below_128(bytes, m * k)) dispatch<Mode::U7>(p, bytes, m, b, n, k, c, amx);
  else dispatch<Mode::S8>(p, bytes, m, b, n, k, c, amx);
  return p;
}

Path u8s8_gemm(const u8 *a, std::size_t m, const i8 *b, std::size_t n, std::size_t k, i32 *c,
               Path path) {
  const Path p = resolve_path(Family::Int8, path);
  const bool amx = path == Path::Auto;
  if (all_below_128(a, m * k)) dispatch<Mode::U7>(p, a, m, b, n, k, c, amx);
  else dispatch<Mode::U8>(p, a, m, b, n, k, c, amx);
  return p;
}

}  // namespace hwnn
