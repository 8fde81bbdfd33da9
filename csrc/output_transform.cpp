#include "simd_reduce.hpp"  // first: its pragmas cover the intrinsics headers
//
#include "bitpack.hpp"
#include "cpu_features.hpp"
#include "kernel_path.hpp"
#include "output_transform.hpp"

#include <vector>

namespace hwnn {

using i32 = std::int32_t;
using u64 = std::uint64_t;

void scale_bias_reference(const i32 *c, std::size_t m, std::size_t n, const float *row_scale,
                          const float *col_scale, const float *bias, float *out) {
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      float y = static_cast<float>(c[i * n + j]);
      if (row_scale) y *= row_scale[i];
      if (col_scale) y *= col_scale[j];
      if (bias) y += bias[j];
      out[i * n + j] = y;
    }
}

// Same operations in the same order as the reference, so results are bit-identical; the
// compiler vectorizes the inner loop (no reassociation is needed, so no -ffast-math).
static void scale_bias_row(const i32 *ci, std::size_t n, float rs, const float *col_scale,
                           const float *bias, float *oi) {
  if (col_scale && bias) {
    for (std::size_t j = 0; j < n; ++j) oi[j] = static_cast<float>(ci[j]) * rs * col_scale[j] + bias[j];
  } else {
    for (std::size_t j = 0; j < n; ++j) {
      float y = static_cast<float>(ci[j]) * rs;
      if (col_scale) y *= col_scale[j];
      if (bias) y += bias[j];
      oi[j] = y;
    }
  }
}

void scale_bias(const i32 *c, std::size_t m, std::size_t n, const float *row_scale,
                const float *col_scale, const float *bias, float *out) {
  const int threads = kernel_threads();
  auto row = [&](std::size_t i) {
    scale_bias_row(c + i * n, n, row_scale ? row_scale[i] : 1.0f, col_scale, bias, out + i * n);
  };
  // Small outputs never enter OpenMP, not even a one-thread team (~0.1 us per call).
  if (threads <= 1 || m <= 1 || m * n < (1u << 16)) {
    for (std::size_t i = 0; i < m; ++i) row(i);
    return;
  }
#ifdef HWNN_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
  for (long long ii = 0; ii < static_cast<long long>(m); ++ii) row(static_cast<std::size_t>(ii));
}

void sign_threshold_reference(const i32 *c, std::size_t m, std::size_t n, const i32 *threshold,
                              const std::uint8_t *flip, u64 *out) {
  const std::size_t words = words_for(n);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t w = 0; w < words; ++w) out[i * words + w] = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const i32 v = c[i * n + j];
      const bool negative = flip[j] ? v > threshold[j] : v < threshold[j];
      if (negative) out[i * words + j / 64] |= u64{1} << (j % 64);
    }
  }
}

// The flip flags as bits, one word per 64 channels, so a group's flags are one shift away.
void pack_flip_bits(const std::uint8_t *flip, std::size_t n, u64 *bits) {
  for (std::size_t w = 0; w < words_for(n); ++w) bits[w] = 0;
  for (std::size_t j = 0; j < n; ++j) bits[j / 64] |= static_cast<u64>(flip[j] != 0) << (j % 64);
}

// One compare per 16 channels gives 16 sign bits directly as a mask register.
__attribute__((target("avx512f"))) static void sign_threshold_avx512(
    const i32 *c, std::size_t m, std::size_t n, const i32 *threshold, const u64 *flips,
    u64 *out) {
  const std::size_t words = words_for(n);
  for (std::size_t i = 0; i < m; ++i) {
    const i32 *ci = c + i * n;
    for (std::size_t w = 0; w < words; ++w) {
      u64 word = 0;
      for (std::size_t g = 0; g < 4; ++g) {
        const std::size_t j = w * 64 + g * 16;
        if (j >= n) break;
        const __mmask16 valid = n - j >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - j)) - 1);
        const __m512i v = _mm512_maskz_loadu_epi32(valid, ci + j);
        const __m512i t = _mm512_maskz_loadu_epi32(valid, threshold + j);
        const __mmask16 flipped = static_cast<__mmask16>(flips[w] >> (g * 16));
        const __mmask16 lt = _mm512_cmplt_epi32_mask(v, t), gt = _mm512_cmpgt_epi32_mask(v, t);
        const __mmask16 neg = static_cast<__mmask16>(((lt & ~flipped) | (gt & flipped)) & valid);
        word |= static_cast<u64>(neg) << (g * 16);
      }
      out[i * words + w] = word;
    }
  }
}

// The 64 bits of a stream from bit `bit` on (the word after it must exist).
static inline u64 bits_from(const u64 *stream, std::size_t bit) {
  const std::size_t word = bit / 64, shift = bit % 64;
  return shift ? stream[word] >> shift | stream[word + 1] << (64 - shift) : stream[word];
}

// Fewer than 64 channels (a small convolution's pixels: 6 per row in LeNet-5): one row per
// compare would leave most lanes idle. The rows are one contiguous run of m n values, so
// 16 at a time are compared against the thresholds in the matching phase (lane l holds
// channel (phase + l) mod n), their signs appended to one bit stream, and row r is then
// bits [r n, r n + n) of it.
__attribute__((target("avx512f,bmi2"))) static void sign_threshold_narrow(
    const i32 *c, std::size_t m, std::size_t n, const i32 *threshold, const std::uint8_t *flip,
    u64 *out) {
  // A flipped channel is negative when v > t, that is when ~v < ~t: with x = -1 on flipped
  // lanes and 0 elsewhere, every lane is one signed compare (v ^ x) < (t ^ x).
  thread_local std::vector<i32> pattern;  // [phase][16]: t ^ x, then x
  thread_local std::vector<u64> stream;
  pattern.resize(n * 32);
  for (std::size_t ph = 0; ph < n; ++ph)
    for (std::size_t l = 0, j = ph; l < 16; ++l, j = j + 1 == n ? 0 : j + 1) {  // j = (ph + l) % n
      const i32 x = flip[j] ? -1 : 0;  // (with %, 2 n 16 divisions cost 1-2 us a call)
      pattern[ph * 32 + l] = threshold[j] ^ x;
      pattern[ph * 32 + 16 + l] = x;
    }
  const std::size_t total = m * n;
  stream.assign(total / 64 + 2, 0);  // two zero words of slack: bits_from reads one ahead
  // Raw pointers and one word built in a register: through the thread_local vectors GCC
  // reloaded every pointer and updated the stream in memory on each step.
  const i32 *pat = pattern.data();
  u64 *st = stream.data();
  // The phase advances by 16 mod n with one conditional subtract: `(ph + 16) % n` put a
  // division on the loop-carried path.
  const std::size_t step = 16 % n;
  std::size_t ph = 0;
  u64 bits = 0;
  for (std::size_t e = 0; e < total; e += 16) {
    const __mmask16 valid = total - e >= 16 ? 0xffff : static_cast<__mmask16>((1u << (total - e)) - 1);
    const __m512i v = _mm512_maskz_loadu_epi32(valid, c + e);
    const __m512i t = _mm512_loadu_si512(pat + ph * 32);
    const __m512i x = _mm512_loadu_si512(pat + ph * 32 + 16);
    const u64 neg = _mm512_mask_cmplt_epi32_mask(valid, _mm512_xor_si512(v, x), t);
    bits |= neg << (e % 64);  // e % 64 is a multiple of 16: no spill
    if (e % 64 == 48 || e + 16 >= total) {  // a full word, or the last one
      st[e / 64] = bits;
      bits = 0;
    }
    ph += step;
    if (ph >= n) ph -= n;
  }
  const u64 mask = (u64{1} << n) - 1;
  std::size_t r = 0;
  if (n <= 8) {
    // Eight rows at a time: their 8 n bits, spread by PDEP into the low bits of 8 bytes,
    // widened to 8 words (one row's extraction alone took ~1 ns, two thirds of the call).
    const u64 bytes = 0x0101010101010101ull * mask;
    for (; r + 8 <= m; r += 8) {
      const u64 v = bits_from(st, r * n);
      const __m128i spread = _mm_cvtsi64_si128(static_cast<long long>(_pdep_u64(v, bytes)));
      _mm512_storeu_si512(out + r, _mm512_cvtepu8_epi64(spread));
    }
  }
  for (; r < m; ++r) out[r] = bits_from(st, r * n) & mask;
}

void sign_threshold_bits(const i32 *c, std::size_t m, std::size_t n, const i32 *threshold,
                         const std::uint8_t *flip, const u64 *flip_bits, u64 *out) {
  const CpuFeatures &f = cpu_features();
  if (f.avx512f && f.avx512bw && f.bmi2 && n < 64 && m * n >= 256)
    sign_threshold_narrow(c, m, n, threshold, flip, out);
  else if (f.avx512f && f.avx512bw) sign_threshold_avx512(c, m, n, threshold, flip_bits, out);
  else sign_threshold_reference(c, m, n, threshold, flip, out);
}

void sign_threshold(const i32 *c, std::size_t m, std::size_t n, const i32 *threshold,
                    const std::uint8_t *flip, u64 *out) {
  std::vector<u64> bits(words_for(n));
  pack_flip_bits(flip, n, bits.data());
  sign_threshold_bits(c, m, n, threshold, flip, bits.data(), out);
}

const char *output_transform_path() {
  const CpuFeatures &f = cpu_features();
  return f.avx512f && f.avx512bw ? "avx512" : "scalar";
}

}  // namespace hwnn
