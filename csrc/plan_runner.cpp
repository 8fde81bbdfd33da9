#include "simd_reduce.hpp"  // first: its pragmas cover the intrinsics headers
//
#include "plan_runner.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <cstring>
#include <string>


#include "binary_conv2d.hpp"
#include "binary_gemm.hpp"
#include "bitpack.hpp"
#include "cpu_features.hpp"
#include "im2col.hpp"
#include "int8_gemm.hpp"
#include "kernel_path.hpp"
#include "output_transform.hpp"

namespace hwnn {

void PlanRunner::quantize_fixed(int bits, int frac) {
  if (bits < 2 || bits > 8) throw std::invalid_argument("quantize_fixed: bits must be 2..8");
  Op op{Kind::QuantFixed};
  op.bits = bits;
  op.frac = frac;
  ops_.push_back(std::move(op));
}

void PlanRunner::quantize_int8(float scale, bool is_signed) {
  Op op{Kind::QuantInt8};
  op.scale = scale;
  op.is_signed = is_signed;
  ops_.push_back(std::move(op));
}

// Layout for VPDPBUSD: panels of 16 output channels, and within a panel groups of 4
// inputs, [panel][group][16 channels][4 bytes] (zero padded). A GEMV then broadcasts 4
// input bytes and multiplies them with 64 contiguous weight bytes: the weights stream once,
// in order, and each vector lane is one output, so no horizontal sums are needed. Batches
// of two and more run int8_gemm's packed register tiles on the same panels.
static constexpr std::size_t kPanel = 16;

// The weights as they are (the portable GEMMs), in VPDPBUSD panels, and their row sums.
void PlanRunner::pack_int_weights(Op &op, const std::int8_t *w, std::size_t out,
                                  std::size_t in) {
  op.out = out;
  op.in = in;
  op.w8.assign(w, w + out * in);
  const std::size_t panels = (out + kPanel - 1) / kPanel, groups = (in + 3) / 4;
  op.panels.assign(panels * groups * kPanel * 4, 0);
  op.row_sums.assign(out, 0);
  for (std::size_t o = 0; o < out; ++o)
    for (std::size_t i = 0; i < in; ++i) {
      const std::size_t p = o / kPanel, g = i / 4;
      op.panels[((p * groups + g) * kPanel + o % kPanel) * 4 + i % 4] = w[o * in + i];
      op.row_sums[o] += w[o * in + i];
    }
  op.corr.assign(panels * kPanel, 0);
  for (std::size_t o = 0; o < out; ++o) op.corr[o] = 128 * op.row_sums[o];
}

void PlanRunner::int_linear(const std::int8_t *w, std::size_t out, std::size_t in) {
  Op op{Kind::IntLinear};
  pack_int_weights(op, w, out, in);
  ops_.push_back(std::move(op));
}

// The patches of a convolution are GEMM rows zero-extended to whole 4-byte groups (read in
// place by the VPDPBUSD tiles), so the weights are extended with zeros to match.
void PlanRunner::int_conv(const std::int8_t *w, std::size_t out, std::size_t c, std::size_t kh,
                          std::size_t kw, std::size_t stride, std::size_t pad) {
  if (c == 0 || kh == 0 || kw == 0 || stride == 0)
    throw std::invalid_argument("int_conv: channels, kernel sizes and stride must be >= 1");
  Op op{Kind::IntConv};
  // With VNNI and kernels up to 8 wide the convolution is an implicit GEMM on the image
  // (u8_conv_panels): each (channel, kernel row) segment of the weights is zero-extended to
  // 8 bytes. Otherwise patches come from im2col, rows zero-extended to whole 4-byte groups.
  op.implicit = kw <= 8 && path_supported(Family::Int8, Path::Avx512);
  const std::size_t k = c * kh * kw, seg = op.implicit ? 8 : kw;
  const std::size_t width = op.implicit ? c * kh * 8 : (k + 3) / 4 * 4;
  std::vector<std::int8_t> padded(out * width, 0);
  for (std::size_t o = 0; o < out; ++o)
    for (std::size_t r = 0; r < c * kh; ++r)
      std::memcpy(&padded[o * width + r * seg], w + o * k + r * kw, kw);
  pack_int_weights(op, padded.data(), out, width);
  op.c = c;
  op.kh = kh;
  op.kw = kw;
  op.stride = stride;
  op.pad = pad;
  ops_.push_back(std::move(op));
}

void PlanRunner::sign_conv(const std::uint64_t *w, std::size_t out, std::size_t c,
                           std::size_t kh, std::size_t kw, std::size_t stride, std::size_t pad) {
  if (c == 0 || kh == 0 || kw == 0 || stride == 0)
    throw std::invalid_argument("sign_conv: channels, kernel sizes and stride must be >= 1");
  Op op{Kind::SignConv};
  op.out = out;
  op.c = c;
  op.kh = kh;
  op.kw = kw;
  op.stride = stride;
  op.pad = pad;
  op.wb.assign(w, w + out * kh * kw * words_for(c));
  ops_.push_back(std::move(op));
}

void PlanRunner::max_pool(std::size_t k) {
  if (k == 0) throw std::invalid_argument("max_pool: the window must be at least 1");
  Op op{Kind::MaxPool};
  op.k = k;
  ops_.push_back(std::move(op));
}

void PlanRunner::flatten() { ops_.push_back(Op{Kind::Flatten}); }

// Stores the 16-lane accumulators of panels [p, p + np) into c (masked at the last panel),
// subtracting 128 x the row sums when the input bytes were offset from int8 to uint8.
__attribute__((target("avx512f,avx512bw"))) static void store_panels(
    const __m512i *acc, std::size_t p, std::size_t np, std::size_t out, bool offset,
    const std::int32_t *row_sums, std::int32_t *c) {
  for (std::size_t j = 0; j < np; ++j) {
    const std::size_t o0 = (p + j) * kPanel, valid = std::min(kPanel, out - o0);
    const __mmask16 mask = static_cast<__mmask16>((1u << valid) - 1);
    __m512i r = acc[j];
    if (offset)
      r = _mm512_sub_epi32(r, _mm512_slli_epi32(_mm512_maskz_loadu_epi32(mask, row_sums + o0), 7));
    _mm512_mask_storeu_epi32(c + o0, mask, r);
  }
}

// c[o] = sum_i a[i] w[o][i] for one row from `groups` input words of 4 bytes (VPDPBUSD's
// unsigned operand; int8 input arrives offset by 128 and `offset` corrects it with the row
// sums). Dense: every group, in order.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void gemv_vnni_dense(
    const std::uint32_t *words, std::size_t groups, bool offset, const std::int8_t *panels,
    const std::int32_t *row_sums, std::size_t out, std::int32_t *c) {
  const std::size_t npanels = (out + kPanel - 1) / kPanel;
  // Up to 8 panels at once, even and odd groups in separate accumulators: 16 independent
  // VPDPBUSD chains hide its 5-cycle latency (4 chains left the GEMV latency-bound).
  for (std::size_t p = 0; p < npanels; p += 8) {
    const std::size_t np = std::min<std::size_t>(8, npanels - p);
    __m512i acc[8], odd[8];
    for (int j = 0; j < 8; ++j) acc[j] = odd[j] = _mm512_setzero_si512();
    const std::int8_t *base = panels + p * groups * kPanel * 4;
    std::size_t g = 0;
    for (; g + 2 <= groups; g += 2) {
      const __m512i a0 = _mm512_set1_epi32(static_cast<int>(words[g]));
      const __m512i a1 = _mm512_set1_epi32(static_cast<int>(words[g + 1]));
      for (std::size_t j = 0; j < np; ++j) {
        const std::int8_t *wp = base + (j * groups + g) * kPanel * 4;
        acc[j] = _mm512_dpbusd_epi32(acc[j], a0, _mm512_loadu_si512(wp));
        odd[j] = _mm512_dpbusd_epi32(odd[j], a1, _mm512_loadu_si512(wp + kPanel * 4));
      }
    }
    if (g < groups) {
      const __m512i a0 = _mm512_set1_epi32(static_cast<int>(words[g]));
      for (std::size_t j = 0; j < np; ++j)
        acc[j] = _mm512_dpbusd_epi32(acc[j], a0,
                                     _mm512_loadu_si512(base + (j * groups + g) * kPanel * 4));
    }
    for (std::size_t j = 0; j < np; ++j) acc[j] = _mm512_add_epi32(acc[j], odd[j]);
    store_panels(acc, p, np, out, offset, row_sums, c);
  }
}

// The same product over the listed groups only: a group of four zero bytes adds nothing,
// so for sparse non-negative input (a ReLU's output, an image's background) only the
// weights of nonzero groups are read. Exact, like skipping zero activations in Cnvlutin
// (Albericio et al., ISCA 2016) and EIE (Han et al., ISCA 2016).
template <int NP>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void gemv_vnni_sparse_panels(
    const std::uint32_t *words, const std::uint32_t *nz, std::size_t nnz, std::size_t groups,
    const std::int8_t *base, __m512i *acc) {
  // NP is a constant so the NP accumulators stay in registers as independent chains (with a
  // run-time count GCC interchanged the loops into one latency-bound chain per panel).
  for (int j = 0; j < NP; ++j) acc[j] = _mm512_setzero_si512();
  for (std::size_t t = 0; t < nnz; ++t) {
    const std::size_t g = nz[t];
    const __m512i a0 = _mm512_set1_epi32(static_cast<int>(words[g]));
    const std::int8_t *wp = base + g * kPanel * 4;
#pragma GCC unroll 8
    for (int j = 0; j < NP; ++j)
      acc[j] = _mm512_dpbusd_epi32(acc[j], a0, _mm512_loadu_si512(wp + j * groups * kPanel * 4));
  }
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void gemv_vnni_sparse(
    const std::uint32_t *words, const std::uint32_t *nz, std::size_t nnz, std::size_t groups,
    const std::int8_t *panels, std::size_t out, std::int32_t *c) {
  const std::size_t npanels = (out + kPanel - 1) / kPanel;
  for (std::size_t p = 0; p < npanels; p += 8) {
    const std::size_t np = std::min<std::size_t>(8, npanels - p);
    __m512i acc[8];
    const std::int8_t *base = panels + p * groups * kPanel * 4;
    const std::size_t stride = groups * kPanel * 4;  // bytes per panel
    std::size_t j = 0;
    if (np == 8) {
      gemv_vnni_sparse_panels<8>(words, nz, nnz, groups, base, acc);
      j = 8;
    }
    for (; j + 4 <= np; j += 4)
      gemv_vnni_sparse_panels<4>(words, nz, nnz, groups, base + j * stride, acc + j);
    for (; j < np; ++j)
      gemv_vnni_sparse_panels<1>(words, nz, nnz, groups, base + j * stride, acc + j);
    store_panels(acc, p, np, out, false, nullptr, c);
  }
}

// Batch-1 integer layer on the VPDPBUSD panels: int8 codes with a negative value (`offset`,
// from the caller's scan) take the dense path with the +128 offset; non-negative codes
// (uint8, or int8 that happen to be >= 0) are already VPDPBUSD's unsigned operand and skip
// their zero groups when at least a quarter of the groups are zero (below that the dense
// loop's two chains win).
static void gemv_vnni(const std::int8_t *a, std::size_t in, bool offset,
                      const std::int8_t *panels, const std::int32_t *row_sums, std::size_t out,
                      std::int32_t *c) {
  const std::size_t groups = (in + 3) / 4;
  thread_local std::vector<std::uint32_t> words;  // the words, then the nonzero list
  words.assign(2 * groups, 0);
  std::memcpy(words.data(), a, in);
  if (offset) {
    for (std::size_t g = 0; g < groups; ++g) words[g] ^= 0x80808080u;  // padding meets zero weights
    gemv_vnni_dense(words.data(), groups, true, panels, row_sums, out, c);
    return;
  }
  std::uint32_t *nz = words.data() + groups;
  std::size_t nnz = 0;
  for (std::size_t g = 0; g < groups; ++g) {
    nz[nnz] = static_cast<std::uint32_t>(g);
    nnz += words[g] != 0;
  }
  if (4 * nnz <= 3 * groups)
    gemv_vnni_sparse(words.data(), nz, nnz, groups, panels, out, c);
  else
    gemv_vnni_dense(words.data(), groups, false, panels, row_sums, out, c);
}

static bool any_negative(const std::int8_t *q, std::size_t n) {
  return !all_below_128(reinterpret_cast<const std::uint8_t *>(q), n);
}

// Two rows and up on the same panels: int8 codes with a negative value are offset by 128
// (and corrected with 128 x the row sums), in place in the caller's scratch copy of the
// codes (they are not needed after this layer); rows not a whole number of 4-byte groups
// are copied into padded rows. Packing the weights per call and summing their rows, as
// int8_gemm must, took most of a 16-row layer.
static void gemm_vnni(std::int8_t *a, std::size_t rows, std::size_t in, bool offset,
                      const std::int8_t *panels, const std::int32_t *corr, std::size_t out,
                      std::int32_t *c) {
  const std::size_t groups = (in + 3) / 4;
  auto *bytes = reinterpret_cast<std::uint8_t *>(a);
  const std::uint8_t *ap = bytes;
  const std::uint8_t flip = offset ? 0x80 : 0;
  thread_local std::vector<std::uint8_t> padded;
  if (in % 4 != 0) {
    ap = group_rows(bytes, rows, in, flip, padded);
  } else if (offset) {
    for (std::size_t i = 0; i < rows * in; ++i) bytes[i] ^= flip;
  }
  u8_gemm_panels(ap, rows, groups * 4, panels, groups * kPanel * 4, out, groups,
                 offset ? corr : nullptr, c, /*amx=*/true);
}

void PlanRunner::sign_linear(const std::uint64_t *w, std::size_t out, std::size_t words,
                             std::size_t k) {
  if (words != words_for(k)) throw std::invalid_argument("sign_linear: words must be ceil(k/64)");
  Op op{Kind::SignLinear};
  op.out = out;
  op.words = words;
  op.k = k;
  op.wb.assign(w, w + out * words);
  if (path_supported(Family::Binary, Path::Avx512)) {  // batches of 2+ (see run)
    op.wb_panels.assign((out + 7) / 8 * binary_panel_stride(words), 0);
    pack_b_panels(w, out, words, binary_panel_stride(words), op.wb_panels.data());
  }
  ops_.push_back(std::move(op));
}

void PlanRunner::threshold(const std::int32_t *t, const std::uint8_t *flip, std::size_t n) {
  Op op{Kind::Threshold};
  op.out = n;
  op.t.assign(t, t + n);
  op.flip.assign(flip, flip + n);
  op.flip_bits.assign(words_for(n), 0);
  pack_flip_bits(flip, n, op.flip_bits.data());
  ops_.push_back(std::move(op));
}

void PlanRunner::dequantize(const float *scale, const float *bias, std::size_t n) {
  Op op{Kind::Dequantize};
  op.out = n;
  op.a.assign(scale, scale + n);
  op.has_bias = bias != nullptr;
  if (bias) op.b.assign(bias, bias + n);
  ops_.push_back(std::move(op));
}

void PlanRunner::batch_norm(const float *a, const float *b, std::size_t n) {
  Op op{Kind::BatchNorm};
  op.out = n;
  op.a.assign(a, a + n);
  op.b.assign(b, b + n);
  ops_.push_back(std::move(op));
}

void PlanRunner::relu() { ops_.push_back(Op{Kind::Relu}); }

void PlanRunner::hardtanh(float low, float high) {
  Op op{Kind::Hardtanh};
  op.low = low;
  op.high = high;
  ops_.push_back(std::move(op));
}

namespace {

// Round half to even (NumPy's np.round, torch.round) without a libm call: adding and
// subtracting 1.5 * 2^23 rounds in the FPU's default nearest-even mode, exactly for
// |v| < 2^22; larger values are clamped first (the codes saturate at 255 anyway).
inline float round_even(float v) {
  constexpr float magic = 12582912.0f;  // 1.5 * 2^23
  v = v < -4194304.0f ? -4194304.0f : v;  // ternaries, not std::clamp: they vectorize
  v = v > 4194304.0f ? 4194304.0f : v;
  const float t = v + magic;  // IEEE arithmetic: without -ffast-math this is not folded
  return t - magic;
}

// The constants of quantize() on 16 lanes.
struct Quant16 {
  __m512 d, r, lo, hi;
  bool multiply, reciprocal, is_unsigned;
};

__attribute__((target("avx512f"))) Quant16 quant16(float divisor, float lo, float hi,
                                                   bool multiply) {
  // Dividing is most of the cost. y = x * (1 / divisor) lies within 2^-22 |y| of the
  // correctly rounded x / divisor, so both round to the same integer unless y is that
  // close to a half-integer: such vectors (and only they) are divided exactly.
  const float inverse = 1.0f / divisor;
  return {_mm512_set1_ps(multiply ? inverse : divisor), _mm512_set1_ps(inverse),
          _mm512_set1_ps(lo), _mm512_set1_ps(hi), multiply,
          !multiply && std::isnormal(divisor) && std::isnormal(inverse), lo >= 0.0f};
}

// round_even's operations on 16 lanes (GCC lambdas take no target attribute): the clamp to
// +-2^22, then the rounding by adding and subtracting 1.5 * 2^23.
__attribute__((target("avx512f"), always_inline)) inline __m512 clamp16(__m512 v) {
  return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-4194304.0f)), _mm512_set1_ps(4194304.0f));
}

__attribute__((target("avx512f"), always_inline)) inline __m512 round16(__m512 v) {
  const __m512 magic = _mm512_set1_ps(12582912.0f);
  return _mm512_sub_ps(_mm512_add_ps(v, magic), magic);
}

// Codes of 16 values (lanes outside m are don't-care): past the clamps every value is a
// whole number in [lo, hi], so the caller's saturating narrow is exact.
__attribute__((target("avx512f"), always_inline)) inline __m512i quantize16(
    __m512 xv, __mmask16 m, const Quant16 &k) {
  __m512 v;
  if (k.reciprocal) {
    const __m512 vc = clamp16(_mm512_mul_ps(xv, k.r));
    v = round16(vc);  // kept when no lane is near a tie
    const __m512 off = _mm512_abs_ps(_mm512_sub_ps(vc, v));  // to the nearest integer
    const __m512 slack = _mm512_mul_ps(_mm512_add_ps(_mm512_abs_ps(vc), _mm512_set1_ps(1.0f)),
                                       _mm512_set1_ps(0x1p-20f));
    if (_mm512_mask_cmp_ps_mask(m, _mm512_sub_ps(_mm512_set1_ps(0.5f), off), slack, _CMP_LE_OQ))
      v = round16(clamp16(_mm512_div_ps(xv, k.d)));
  } else {
    v = round16(clamp16(k.multiply ? _mm512_mul_ps(xv, k.d) : _mm512_div_ps(xv, k.d)));
  }
  return _mm512_cvttps_epi32(_mm512_min_ps(_mm512_max_ps(v, k.lo), k.hi));
}

__attribute__((target("avx512f"), always_inline)) inline void store_codes16(
    std::int8_t *q, __mmask16 m, __m512i w, bool is_unsigned) {
  if (is_unsigned) _mm512_mask_cvtusepi32_storeu_epi8(q, m, w);
  else _mm512_mask_cvtsepi32_storeu_epi8(q, m, w);
}

// quantize() 16 lanes at a time, the tail under a mask.
__attribute__((target("avx512f"))) void quantize_avx512(const float *x, std::int8_t *q,
                                                         std::size_t n, float divisor, float lo,
                                                         float hi, bool multiply) {
  const Quant16 k = quant16(divisor, lo, hi, multiply);
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - i)) - 1);
    store_codes16(q + i, m, quantize16(_mm512_maskz_loadu_ps(m, x + i), m, k), k.is_unsigned);
  }
}

// 16 lanes of scale_bias's operations, in its order (GCC lambdas take no target attribute).
// Its multiply by the row scale 1.0 is left out: for a converted integer it is exact.
__attribute__((target("avx512f"), always_inline)) static inline __m512 dequantized16(
    const std::int32_t *src, __mmask16 m, __m512 s, const __m512 *b) {
  __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, src)), s);
  return b ? _mm512_add_ps(y, *b) : y;
}

// np.maximum(y, 0): NaN stays, -0.0 and below give +0.0.
__attribute__((target("avx512f"), always_inline)) static inline __m512 relu16(__m512 y) {
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ) |
                                 _mm512_cmp_ps_mask(y, y, _CMP_UNORD_Q),
                             y);
}

// A hidden layer's dequantize, optional ReLU and the next layer's quantize_int8 in one pass
// over [rows, n] accumulators: the floats between them are never stored (three passes over
// them were a third of an int8 MLP's time at batch 64). Each step's arithmetic as alone.
__attribute__((target("avx512f"))) void requantize_avx512(
    const std::int32_t *c, std::size_t rows, std::size_t n, const float *scale,
    const float *bias, bool relu, float divisor, float lo, float hi, std::int8_t *q) {
  const Quant16 k = quant16(divisor, lo, hi, false);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < n; j += 16) {
      const __mmask16 m = n - j >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - j)) - 1);
      const __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias + j) : _mm512_setzero_ps();
      __m512 y = dequantized16(c + r * n + j, m, _mm512_maskz_loadu_ps(m, scale + j),
                               bias ? &b : nullptr);
      if (relu) y = relu16(y);
      store_codes16(q + r * n + j, m, quantize16(y, m, k), k.is_unsigned);
    }
}

// q = clamp(round(x / divisor), lo, hi) in int8 (lo = -128) or uint8 (lo = 0) codes. SSE2
// (every x86-64 core) by hand: GCC does not vectorize the scalar loop (it sees control flow
// in the float compares). The same IEEE operations as round_even, so results are identical
// to the NumPy step for every finite input (a NaN becomes lo here; NumPy's cast of NaN to
// an integer is undefined). Fixed point passes multiply = true with the power of two
// 2^frac: x * 2^frac equals x / 2^-frac exactly (scaling by a power of two is exact), and a
// multiply is several times cheaper than a divide.
void quantize(const float *x, std::int8_t *q, std::size_t n, float divisor, float lo, float hi,
              bool multiply = false) {
  static const bool wide = cpu_features().avx512f;
  if (wide) return quantize_avx512(x, q, n, divisor, lo, hi, multiply);
  const float factor = multiply ? 1.0f / divisor : divisor;
  const __m128 d = _mm_set1_ps(factor), magic = _mm_set1_ps(12582912.0f);
  const __m128 vlo = _mm_set1_ps(lo), vhi = _mm_set1_ps(hi);
  const bool is_unsigned = lo >= 0.0f;
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i w[4];
    for (int g = 0; g < 4; ++g) {
      const __m128 xv = _mm_loadu_ps(x + i + 4 * g);
      __m128 v = multiply ? _mm_mul_ps(xv, d) : _mm_div_ps(xv, d);
      v = _mm_min_ps(_mm_max_ps(v, _mm_set1_ps(-4194304.0f)), _mm_set1_ps(4194304.0f));
      v = _mm_sub_ps(_mm_add_ps(v, magic), magic);
      w[g] = _mm_cvttps_epi32(_mm_min_ps(_mm_max_ps(v, vlo), vhi));
    }
    const __m128i lo16 = _mm_packs_epi32(w[0], w[1]), hi16 = _mm_packs_epi32(w[2], w[3]);
    const __m128i b = is_unsigned ? _mm_packus_epi16(lo16, hi16) : _mm_packs_epi16(lo16, hi16);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(q + i), b);
  }
  for (; i < n; ++i) {
    float r = round_even(multiply ? x[i] * factor : x[i] / factor);
    r = r >= lo ? r : lo;  // NaN gives lo, as the vector bodies' max does
    r = r > hi ? hi : r;
    q[i] = static_cast<std::int8_t>(static_cast<std::int32_t>(r) & 0xff);
  }
}

// What flows between ops: one of these buffers is live. Rows: [rows, cols] (signs: [rows,
// words]). Images (hh > 0): NCHW floats or codes; a convolution's Acc is [rows hh ww, ch]
// and its signs [rows, hh, ww, ceil(ch / 64)] words.
enum class Tag { Float, Codes8, CodesU8, Acc, Signs };

struct Value {
  Tag tag = Tag::Float;
  std::size_t cols = 0;            // true width (bits for signs)
  std::size_t ch = 0, hh = 0, ww = 0;  // images (hh > 0): NCHW, or [N, hh, ww, ch] for Acc
  std::vector<float> f;
  std::vector<std::int8_t> q, patches;
  std::vector<std::int32_t> c;
  std::vector<std::uint64_t> s;
};

// Scratch buffers only grow: a batch's first layer needs the most room, and resizing down
// and back up each call re-zeroed megabytes (a LeNet-5 batch of 256: 1.2 M accumulators).
// The live length is always rows x cols of the current value, never the vector's size.
template <typename T>
T *room(std::vector<T> &v, std::size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

void expect(bool ok, const char *what) {
  if (!ok) throw std::invalid_argument(std::string("native plan: ") + what);
}

}  // namespace

// An integer layer on `rows` rows of `in` codes (a fully connected layer's inputs, or a
// convolution's patches); `negative`: whether any code is below zero (the caller scans
// the codes once: a convolution's patches repeat each code kh kw times).
static void int_layer(std::vector<std::int8_t> &q_or_patches, std::size_t rows,
                      std::size_t in, bool is_signed, bool negative, const std::int8_t *panels,
                      const std::int32_t *row_sums, const std::int32_t *corr,
                      const std::int8_t *w8, std::size_t out, std::int32_t *c) {
  std::int8_t *a = q_or_patches.data();
  if (rows == 1 && path_supported(Family::Int8, Path::Avx512))
    gemv_vnni(a, in, negative, panels, row_sums, out, c);
  else if (path_supported(Family::Int8, Path::Avx512))
    gemm_vnni(a, rows, in, negative, panels, corr, out, c);
  else if (!is_signed)
    u8s8_gemm(reinterpret_cast<const std::uint8_t *>(a), rows, w8, out, in, c);
  else
    int8_gemm(a, rows, w8, out, in, c);
}

// max over each k x k window (stride k, floor mode) of NCHW planes, with the NumPy step's
// order and rules: out = v[0][0], then out = np.maximum(out, v[i][j]) for the other
// offsets in row-major order, np.maximum(a, b) being (a > b || a != a) ? a : b (NaN
// propagates; on a tie, +0.0 against -0.0 included, the second operand). One output row at
// a time, offset by offset, so the inner loop has no branches and vectorizes.
static void max_pool_nchw(const float *in, std::size_t planes, std::size_t h, std::size_t w,
                          std::size_t k, float *out) {
  const std::size_t ho = h / k, wo = w / k;
  for (std::size_t p = 0; p < planes; ++p)
    for (std::size_t y = 0; y < ho; ++y) {
      float *o = out + (p * ho + y) * wo;
      const float *top = in + (p * h + y * k) * w;
      for (std::size_t x = 0; x < wo; ++x) o[x] = top[x * k];
      for (std::size_t i = 0; i < k; ++i)
        for (std::size_t j = i == 0 ? 1 : 0; j < k; ++j) {
          const float *r = top + i * w + j;
          for (std::size_t x = 0; x < wo; ++x) {
            const float a = o[x], b = r[x * k];
            o[x] = (a > b || a != a) ? a : b;
          }
        }
    }
}

// max over k x k windows of +-1 values packed as NHWC sign words (a set bit is -1): the max
// is -1 only when every input is, an AND of the words (the NumPy step's order is irrelevant
// for AND).
static void max_pool_signs(const std::uint64_t *in, std::size_t n, std::size_t h,
                           std::size_t w, std::size_t cw, std::size_t k, std::uint64_t *out) {
  const std::size_t ho = h / k, wo = w / k;
  if (k == 2 && cw == 1) {  // LeNet-5's pools of under 64 channels: no loops per window
    for (std::size_t b = 0; b < n; ++b)
      for (std::size_t y = 0; y < ho; ++y) {
        const std::uint64_t *r0 = in + (b * h + 2 * y) * w, *r1 = r0 + w;
        std::uint64_t *o = out + (b * ho + y) * wo;
        for (std::size_t x = 0; x < wo; ++x)
          o[x] = r0[2 * x] & r0[2 * x + 1] & r1[2 * x] & r1[2 * x + 1];
      }
    return;
  }
  for (std::size_t b = 0; b < n; ++b)
    for (std::size_t y = 0; y < ho; ++y)
      for (std::size_t x = 0; x < wo; ++x) {
        std::uint64_t *o = out + ((b * ho + y) * wo + x) * cw;
        const std::uint64_t *corner = in + ((b * h + y * k) * w + x * k) * cw;
        for (std::size_t q = 0; q < cw; ++q) {
          // in a register: `o[q] &= ...` chained every AND through a store and a reload
          // (o may alias the input), 13x slower for LeNet-5's 28 x 28 x 6 signs
          std::uint64_t all = ~std::uint64_t{0};
          for (std::size_t i = 0; i < k; ++i)
            for (std::size_t j = 0; j < k; ++j) all &= corner[(i * w + j) * cw + q];
          o[q] = all;
        }
      }
}

// NHWC sign words -> one row per sample in torch's flatten order (c, h, w), the order the
// flat SignLinear weights were packed in. (The NumPy step keeps the NHWC order and packs
// the weights to match instead; a dot product does not depend on the order.)
static void flatten_signs(const std::uint64_t *in, std::size_t n, std::size_t c, std::size_t h,
                          std::size_t w, std::uint64_t *out) {
  const std::size_t cw = words_for(c), plane = h * w, words = words_for(c * plane);
  // In output order, each word built in a register: a branch per bit and an OR into memory
  // per set bit cost ~3 ns a bit (random signs mispredict; the ORs chain through stores).
  for (std::size_t b = 0; b < n; ++b) {
    std::uint64_t *row = out + b * words, bits = 0;
    const std::uint64_t *image = in + b * plane * cw;
    std::size_t at = 0;  // output bit
    for (std::size_t ch = 0; ch < c; ++ch) {
      const std::uint64_t *word = image + ch / 64;
      for (std::size_t p = 0; p < plane; ++p, ++at) {
        bits |= ((word[p * cw] >> (ch % 64)) & 1u) << (at % 64);
        if (at % 64 == 63) {
          row[at / 64] = bits;
          bits = 0;
        }
      }
    }
    if (at % 64 != 0) row[at / 64] = bits;
  }
}

// AVX-512 with a k x k pool: the accumulator's channels of one pixel are contiguous, so 16
// of them go through the same operations in one vector; the window offsets are taken in
// max_pool_nchw's order with its comparison, and each pooled pixel's channels are
// scattered to their planes. LeNet-5's first layer (6 channels, 28 x 28): 10.7 -> 6.5 us.
__attribute__((target("avx512f"))) static void dequantize_images_avx512(
    const std::int32_t *c, std::size_t rows, std::size_t h, std::size_t w, std::size_t o,
    const float *scale, const float *bias, bool relu, std::size_t k, float *out) {
  const std::size_t ho = h / k, wo = w / k, pooled = ho * wo;
  const __m512i planes = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                              11, 12, 13, 14, 15),
                                            _mm512_set1_epi32(static_cast<int>(pooled)));
  for (std::size_t j0 = 0; j0 < o; j0 += 16) {
    const std::size_t nj = std::min<std::size_t>(16, o - j0);
    const __mmask16 m = static_cast<__mmask16>((1u << nj) - 1);
    const __m512 s = _mm512_maskz_loadu_ps(m, scale + j0);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias + j0) : _mm512_setzero_ps();
    const __m512 *bp = bias ? &b : nullptr;
    for (std::size_t n = 0; n < rows; ++n)
      for (std::size_t py = 0; py < ho; ++py)
        for (std::size_t px = 0; px < wo; ++px) {
          const std::int32_t *at = c + ((n * h + py * k) * w + px * k) * o + j0;
          // The ReLU after the pool, not before each value: as ReLU is monotonic and keeps
          // NaN, relu(max) has the bits of max(relu) (both give +0.0, never -0.0, at zero;
          // the same NaN wins either way).
          __m512 acc = dequantized16(at, m, s, bp);
          for (std::size_t i = 0; i < k; ++i)
            for (std::size_t j = i == 0 ? 1 : 0; j < k; ++j) {
              const __m512 y = dequantized16(at + (i * w + j) * o, m, s, bp);
              // np.maximum(acc, y): acc where acc > y or acc is NaN, else y
              acc = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(acc, y, _CMP_GT_OQ) |
                                             _mm512_cmp_ps_mask(acc, acc, _CMP_UNORD_Q),
                                         y, acc);
            }
          if (relu) acc = relu16(acc);
          _mm512_mask_i32scatter_ps(out + (n * o + j0) * pooled + py * wo + px, m, planes, acc, 4);
        }
  }
}

// A convolution's [N, H, W, O] accumulator to NCHW floats, each value as scale_bias computes
// it (c * 1 * scale + bias, in that order), optionally through a ReLU, and through a k x k
// max pool when k > 1: one plane at a time into a small buffer that stays in L1, then
// max_pool_nchw on it, so the full-size image is never written.
static void dequantize_images(const std::int32_t *c, std::size_t rows, std::size_t h,
                              std::size_t w, std::size_t o, const float *scale,
                              const float *bias, bool relu, std::size_t k, float *out) {
  // Without a pool every value is scattered on its own, which measured slower than this
  // loop's strided reads for 6 channels: the vector path only where it pools.
  static const bool wide = cpu_features().avx512f;
  if (wide && k > 1) return dequantize_images_avx512(c, rows, h, w, o, scale, bias, relu, k, out);
  const std::size_t plane = h * w, pooled = (h / k) * (w / k);
  thread_local std::vector<float> buffer;
  float *tmp = k > 1 ? room(buffer, plane) : nullptr;
  for (std::size_t n = 0; n < rows; ++n)
    for (std::size_t j = 0; j < o; ++j) {
      const std::int32_t *src = c + n * plane * o + j;
      float *dst = k > 1 ? tmp : out + (n * o + j) * plane;
      const float s = scale[j], b = bias ? bias[j] : 0.0f;
      for (std::size_t p = 0; p < plane; ++p) {
        float y = static_cast<float>(src[p * o]) * 1.0f * s;
        if (bias) y += b;
        if (relu) y = (y > 0.0f || y != y) ? y : 0.0f;  // np.maximum(y, 0): -0.0 gives +0.0
        dst[p] = y;
      }
      if (k > 1) max_pool_nchw(tmp, 1, h, w, k, out + (n * o + j) * pooled);
    }
}

// k x k max pooling of the live images: floats (read from `fin`) or NHWC signs.
static void pool_images(Value &v, const float *&fin, std::size_t rows, std::size_t k) {
  const std::size_t ho = v.hh / k, wo = v.ww / k;
  if (v.tag == Tag::Signs) {
    thread_local std::vector<std::uint64_t> pooled_signs;
    const std::size_t cw = words_for(v.ch);
    room(pooled_signs, rows * ho * wo * cw);
    max_pool_signs(v.s.data(), rows, v.hh, v.ww, cw, k, pooled_signs.data());
    v.s.swap(pooled_signs);
  } else {
    thread_local std::vector<float> pooled;
    room(pooled, rows * v.ch * ho * wo);
    max_pool_nchw(fin, rows * v.ch, v.hh, v.ww, k, pooled.data());
    v.f.swap(pooled);
    fin = v.f.data();
    v.cols = v.ch * ho * wo;
  }
  v.hh = ho;
  v.ww = wo;
}

// Images to rows: NCHW floats already are torch's (c, h, w) order; NHWC signs are gathered
// into it.
static void flatten_images(Value &v, std::size_t rows) {
  if (v.tag == Tag::Signs && v.hh > 0) {
    thread_local std::vector<std::uint64_t> flat;
    const std::size_t k = v.ch * v.hh * v.ww;
    room(flat, rows * words_for(k));
    flatten_signs(v.s.data(), rows, v.ch, v.hh, v.ww, flat.data());
    v.s.swap(flat);
    v.cols = k;
  }
  v.ch = v.hh = v.ww = 0;
}

// int8 convolution without patches: each image is copied into a zero-bordered buffer (with
// the +128 offset when a code is negative, its border then 0x80, the offset of 0) and the
// VPDPBUSD tiles read their 4-byte groups straight from it (u8_conv_panels). The group
// offsets follow the weights' layout: segment (c, i) of 8 bytes, two groups each.
static void implicit_conv(const std::int8_t *codes, const Im2colShape &s, bool offset,
                          std::size_t groups, const std::int8_t *panels, const std::int32_t *corr,
                          std::size_t out, std::int32_t *c) {
  const std::size_t hp = s.h + 2 * s.pad, wp = s.w + 2 * s.pad, ho = s.out_h(), wo = s.out_w();
  std::vector<std::int32_t> goff(groups);
  for (std::size_t q = 0; q < groups; ++q) {
    const std::size_t segment = q / 2, ch = segment / s.kh, i = segment % s.kh;
    goff[q] = static_cast<std::int32_t>((ch * hp + i) * wp + 4 * (q % 2));
  }
  const std::uint8_t flip = offset ? 0x80 : 0;
  auto one_image = [&](std::size_t b) {
    thread_local std::vector<std::uint8_t> image;  // one per OpenMP thread
    room(image, s.c * hp * wp + 8);  // 8 bytes of slack: the last group reads past the end
    std::memset(image.data(), flip, s.c * hp * wp + 8);
    const auto *src = reinterpret_cast<const std::uint8_t *>(codes) + b * s.c * s.h * s.w;
    for (std::size_t ch = 0; ch < s.c; ++ch)
      for (std::size_t y = 0; y < s.h; ++y) {
        std::uint8_t *dst = &image[(ch * hp + y + s.pad) * wp + s.pad];
        const std::uint8_t *row = src + (ch * s.h + y) * s.w;
        if (!flip) {  // rows of 14 or 28 bytes: the byte loop would not vectorize
          std::memcpy(dst, row, s.w);
          continue;
        }
        for (std::size_t x = 0; x < s.w; ++x) dst[x] = row[x] ^ flip;
      }
    u8_conv_panels(image.data(), wp, s.stride, ho, wo, goff.data(), panels, groups * kPanel * 4,
                   out, groups, offset ? corr : nullptr, c + b * ho * wo * out);
  };
  // Images split over the kernel threads above ~4 M multiply-adds (as the GEMMs do).
  const int threads = kernel_threads();
  if (threads <= 1 || s.n < 2 || s.n * ho * wo * out * groups * 4 < (std::size_t{1} << 22)) {
    for (std::size_t b = 0; b < s.n; ++b) one_image(b);
    return;
  }
#ifdef HWNN_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
  for (long long b = 0; b < static_cast<long long>(s.n); ++b) one_image(static_cast<std::size_t>(b));
}

const float *PlanRunner::run(const float *x, std::size_t rows, Shape in, Shape *out) const {
  // One scratch set per thread, reused: at batch 1 the arithmetic takes a few microseconds,
  // and allocating and freeing six buffers per call cost about a tenth of that.
  thread_local Value v;
  static const bool wide = cpu_features().avx512f;
  v.tag = Tag::Float;
  v.cols = in.cols;
  v.ch = in.c;
  v.hh = in.h;
  v.ww = in.w;
  expect(in.h == 0 || in.c * in.h * in.w == in.cols, "images must be c x h x w floats");
  // Float input is read in place until an op must change it: copying a batch of 256 MNIST
  // images (800 KB) cost about a twentieth of the whole call.
  const float *fin = x;
  auto own_floats = [&] {
    if (fin != v.f.data()) std::copy(fin, fin + rows * v.cols, room(v.f, rows * v.cols));
    fin = v.f.data();
  };
  for (std::size_t i = 0; i < ops_.size(); ++i) {
    const Op &op = ops_[i];
    switch (op.kind) {
      case Kind::QuantFixed: {  // clamp(round(x / 2^-frac)), round half to even like NumPy
        expect(v.tag == Tag::Float, "quantize_fixed needs float input");
        const float step = static_cast<float>(std::ldexp(1.0, -op.frac));
        const float lo = -std::ldexp(1.0f, op.bits - 1), hi = std::ldexp(1.0f, op.bits - 1) - 1;
        room(v.q, rows * v.cols);
        const bool exact_multiply = op.frac >= -126 && op.frac <= 126;  // 2^frac is a float
        quantize(fin, v.q.data(), rows * v.cols, step, lo, hi, exact_multiply);
        v.tag = Tag::Codes8;
        break;
      }
      case Kind::QuantInt8: {
        expect(v.tag == Tag::Float, "quantize_int8 needs float input");
        const float lo = op.is_signed ? -128.0f : 0.0f, hi = op.is_signed ? 127.0f : 255.0f;
        room(v.q, rows * v.cols);
        quantize(fin, v.q.data(), rows * v.cols, op.scale, lo, hi);
        v.tag = op.is_signed ? Tag::Codes8 : Tag::CodesU8;
        break;
      }
      case Kind::IntLinear: {
        expect(v.tag == Tag::Codes8 || v.tag == Tag::CodesU8, "int_linear needs codes");
        expect(v.hh == 0, "int_linear needs flat rows: flatten the images first");
        expect(v.cols == op.in, "int_linear: input width does not match the weights");
        room(v.c, rows * op.out);  // every kernel writes every output
        const bool is_signed = v.tag == Tag::Codes8;
        const bool negative = is_signed && any_negative(v.q.data(), rows * op.in);
        int_layer(v.q, rows, op.in, is_signed, negative, op.panels.data(), op.row_sums.data(),
                  op.corr.data(), op.w8.data(), op.out, v.c.data());
        v.tag = Tag::Acc;
        v.cols = op.out;
        break;
      }
      case Kind::IntConv: {
        expect(v.tag == Tag::Codes8 || v.tag == Tag::CodesU8, "int_conv needs codes");
        expect(v.hh > 0 && v.ch == op.c, "int_conv needs images with the weights' channels");
        expect(v.hh + 2 * op.pad >= op.kh && v.ww + 2 * op.pad >= op.kw,
               "int_conv: the kernel is larger than the padded image");
        const Im2colShape shape{rows, op.c, v.hh, v.ww, op.kh, op.kw, op.stride, op.pad};
        const std::size_t pixels = rows * shape.out_h() * shape.out_w();
        room(v.c, pixels * op.out);
        const bool is_signed = v.tag == Tag::Codes8;
        const bool negative = is_signed && any_negative(v.q.data(), rows * v.cols);
        if (op.implicit) {
          implicit_conv(v.q.data(), shape, negative, op.in / 4, op.panels.data(),
                        op.corr.data(), op.out, v.c.data());
        } else {
          room(v.patches, pixels * op.in);
          im2col(reinterpret_cast<const std::uint8_t *>(v.q.data()), shape, op.in,
                 reinterpret_cast<std::uint8_t *>(v.patches.data()));
          int_layer(v.patches, pixels, op.in, is_signed, negative, op.panels.data(),
                    op.row_sums.data(), op.corr.data(), op.w8.data(), op.out, v.c.data());
        }
        v.tag = Tag::Acc;
        v.cols = op.out;
        v.ch = op.out;
        v.hh = shape.out_h();
        v.ww = shape.out_w();
        break;
      }
      case Kind::SignLinear: {
        expect(v.tag == Tag::Signs && v.cols == op.k && v.hh == 0,
               "sign_linear needs flat signs of width k");
        room(v.c, rows * op.out);  // every kernel writes every output
        // From two rows up the weights' packed panels serve every batch size: the kernel
        // would pack them per call, and below 24 rows it takes tiles with horizontal sums
        // (a 16 x 256 x 256 layer: 10 us, on the panels ~3 us).
        if (rows >= 2 && !op.wb_panels.empty())
          binary_gemm_panels(v.s.data(), rows, op.wb_panels.data(), op.out, op.words, op.k,
                             v.c.data());
        else
          binary_gemm(v.s.data(), rows, op.wb.data(), op.out, op.k, v.c.data());
        v.tag = Tag::Acc;
        v.cols = op.out;
        break;
      }
      case Kind::Threshold: {  // a convolution's rows are its pixels: NHWC signs
        expect(v.tag == Tag::Acc && v.cols == op.out,
               "threshold needs an int32 accumulator as wide as its thresholds");
        const std::size_t acc_rows = v.hh ? rows * v.hh * v.ww : rows;
        room(v.s, acc_rows * words_for(op.out));  // the threshold writes whole words
        sign_threshold_bits(v.c.data(), acc_rows, op.out, op.t.data(), op.flip.data(),
                            op.flip_bits.data(), v.s.data());
        v.tag = Tag::Signs;
        break;
      }
      case Kind::SignConv: {
        expect(v.tag == Tag::Signs && v.hh > 0 && v.ch == op.c,
               "sign_conv needs NHWC signs with the weights' channels");
        expect(v.hh + 2 * op.pad >= op.kh && v.ww + 2 * op.pad >= op.kw,
               "sign_conv: the kernel is larger than the padded image");
        const ConvShape shape{rows, op.c, v.hh, v.ww, op.out, op.kh, op.kw, op.stride, op.pad};
        room(v.c, rows * shape.out_h() * shape.out_w() * op.out);
        binary_conv2d(v.s.data(), op.wb.data(), shape, v.c.data());
        v.tag = Tag::Acc;
        v.cols = v.ch = op.out;
        v.hh = shape.out_h();
        v.ww = shape.out_w();
        break;
      }
      case Kind::Dequantize: {
        expect(v.tag == Tag::Acc && v.cols == op.out, "dequantize needs an int32 accumulator");
        const bool relu = i + 1 < ops_.size() && ops_[i + 1].kind == Kind::Relu;
        const std::size_t at = i + 1 + relu;
        if (v.hh == 0 && wide && at < ops_.size() && ops_[at].kind == Kind::QuantInt8) {
          const Op &next = ops_[at];  // straight to the next layer's codes
          room(v.q, rows * op.out);
          requantize_avx512(v.c.data(), rows, op.out, op.a.data(),
                            op.has_bias ? op.b.data() : nullptr, relu, next.scale,
                            next.is_signed ? -128.0f : 0.0f, next.is_signed ? 127.0f : 255.0f,
                            v.q.data());
          v.tag = next.is_signed ? Tag::Codes8 : Tag::CodesU8;
          i = at;
          break;
        }
        if (v.hh == 0) {
          room(v.f, rows * op.out);
          scale_bias(v.c.data(), rows, op.out, nullptr, op.a.data(),
                     op.has_bias ? op.b.data() : nullptr, v.f.data());
        } else {
          // A ReLU and a max pool right after run in the same pass, plane by plane.
          const bool pool = at < ops_.size() && ops_[at].kind == Kind::MaxPool &&
                            v.hh >= ops_[at].k && v.ww >= ops_[at].k;
          const std::size_t k = pool ? ops_[at].k : 1;
          room(v.f, rows * op.out * (v.hh / k) * (v.ww / k));
          dequantize_images(v.c.data(), rows, v.hh, v.ww, op.out, op.a.data(),
                            op.has_bias ? op.b.data() : nullptr, relu, k, v.f.data());
          v.hh /= k;
          v.ww /= k;
          v.cols = op.out * v.hh * v.ww;
          i += relu + pool;
        }
        fin = v.f.data();
        v.tag = Tag::Float;
        break;
      }
      case Kind::MaxPool:
        expect((v.tag == Tag::Float || v.tag == Tag::Signs) && v.hh > 0,
               "max_pool needs float images or NHWC signs");
        expect(v.hh >= op.k && v.ww >= op.k, "max_pool: the window is larger than the image");
        pool_images(v, fin, rows, op.k);
        break;
      case Kind::Flatten:
        expect(v.tag == Tag::Float || v.tag == Tag::Signs, "flatten needs floats or signs");
        flatten_images(v, rows);
        break;
      case Kind::BatchNorm: {
        expect(v.tag == Tag::Float && v.cols == op.out && v.hh == 0,
               "batch_norm needs flat float input");
        own_floats();
        for (std::size_t r = 0; r < rows; ++r)
          for (std::size_t j = 0; j < op.out; ++j) {
            float &y = v.f[r * op.out + j];
            y = y * op.a[j] + op.b[j];
          }
        break;
      }
      case Kind::Relu:
        expect(v.tag == Tag::Float, "relu needs float input");
        own_floats();
        for (float *y = v.f.data(), *end = y + rows * v.cols; y != end; ++y)
          *y = (*y > 0.0f || *y != *y) ? *y : 0.0f;  // np.maximum(y, 0): -0.0 gives +0.0
        break;
      case Kind::Hardtanh:
        expect(v.tag == Tag::Float, "hardtanh needs float input");
        own_floats();
        for (float *y = v.f.data(), *end = y + rows * v.cols; y != end; ++y) {
          *y = *y < op.low ? op.low : *y;
          *y = *y > op.high ? op.high : *y;
        }
        break;
    }
  }
  expect(v.tag == Tag::Float, "the last op must produce floats");
  *out = Shape{v.cols, v.ch, v.hh, v.ww};
  own_floats();
  return v.f.data();
}

}  // namespace hwnn
