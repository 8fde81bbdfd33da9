#include "binary_conv2d.hpp"

#include <vector>

#include "binary_gemm.hpp"

namespace hwnn {

using u64 = std::uint64_t;
using i32 = std::int32_t;

void pack_channels(const float *x, std::size_t n, std::size_t c, std::size_t h, std::size_t w,
                   u64 *out) {
  const std::size_t cw = (c + 63) / 64, plane = h * w;
  for (std::size_t i = 0; i < n * plane * cw; ++i) out[i] = 0;
  for (std::size_t b = 0; b < n; ++b)
    for (std::size_t ch = 0; ch < c; ++ch) {
      const float *src = x + (b * c + ch) * plane;  // read each channel plane contiguously
      u64 *dst = out + b * plane * cw + ch / 64;
      const u64 bit = u64{1} << (ch % 64);
      for (std::size_t p = 0; p < plane; ++p)
        if (src[p] < 0.0f) dst[p * cw] |= bit;
    }
}

static int sign_at(const u64 *words, std::size_t i) { return (words[i / 64] >> (i % 64)) & 1u ? -1 : 1; }

// Direct convolution from the definition, element by element, skipping outside taps.
void binary_conv2d_reference(const u64 *x, const u64 *wt, const ConvShape &s, i32 *out) {
  const std::size_t cw = s.cwords(), ho = s.out_h(), wo = s.out_w();
  for (std::size_t b = 0; b < s.n; ++b)
    for (std::size_t oy = 0; oy < ho; ++oy)
      for (std::size_t ox = 0; ox < wo; ++ox)
        for (std::size_t o = 0; o < s.o; ++o) {
          i32 sum = 0;
          for (std::size_t ky = 0; ky < s.kh; ++ky)
            for (std::size_t kx = 0; kx < s.kw; ++kx) {
              const long iy = static_cast<long>(oy * s.stride + ky) - static_cast<long>(s.pad);
              const long ix = static_cast<long>(ox * s.stride + kx) - static_cast<long>(s.pad);
              if (iy < 0 || ix < 0 || iy >= static_cast<long>(s.h) || ix >= static_cast<long>(s.w))
                continue;
              const u64 *xp = x + ((b * s.h + iy) * s.w + ix) * cw;
              const u64 *wp = wt + ((o * s.kh + ky) * s.kw + kx) * cw;
              for (std::size_t ch = 0; ch < s.c; ++ch) sum += sign_at(xp, ch) * sign_at(wp, ch);
            }
          out[((b * ho + oy) * wo + ox) * s.o + o] = sum;
        }
}

// Below 64 channels a tap's signs fill only c bits of its word. The patch rows then pack
// the taps' bits back to back (tap t at bit t c; outside taps stay 0 bits, corrected as
// below), and the weights likewise: LeNet-5's second layer (6 channels, 5 x 5) has rows of
// 3 words instead of 25, so the GEMM does an eighth of the work.
static void pack_taps(u64 *row, std::size_t t, std::size_t c, u64 v) {
  const std::size_t bit = t * c, word = bit / 64, shift = bit % 64;
  row[word] |= v << shift;
  if (shift + c > 64) row[word + 1] |= v >> (64 - shift);
}

// Appends bit fields to a row of words, building each word in a register and storing it
// once it is full.
struct BitRow {
  u64 *row;
  u64 acc = 0;
  std::size_t filled = 0, word = 0;

  void append(u64 v, std::size_t bits) {  // v < 2^bits, bits <= 64
    acc |= v << filled;
    filled += bits;
    if (filled >= 64) {
      row[word++] = acc;
      filled -= 64;
      acc = filled ? v >> (bits - filled) : 0;
    }
  }
  void finish() {
    if (filled) row[word] = acc;
  }
};

static Path conv_dense_taps(const u64 *x, const u64 *wt, const ConvShape &s, i32 *out,
                            Path path, std::vector<std::uint8_t> &outside) {
  const std::size_t ho = s.out_h(), wo = s.out_w(), taps = s.kh * s.kw, c = s.c;
  const std::size_t k = taps * c, row_words = (k + 63) / 64, pixels = s.n * ho * wo;
  std::vector<u64> cols(pixels * row_words, 0), wd(s.o * row_words, 0);
  for (std::size_t o = 0; o < s.o; ++o)
    for (std::size_t t = 0; t < taps; ++t) pack_taps(&wd[o * row_words], t, c, wt[o * taps + t]);
  const long h = static_cast<long>(s.h), w = static_cast<long>(s.w);
  // A kernel row's kw taps are kw neighbouring pixels: when their bits fit one word, each
  // run of kw pixels is concatenated once (a sliding window along the row) and a patch is kh
  // such pieces instead of kh kw taps (LeNet-5's second layer: 4.7 -> 2.6 us an image).
  const std::size_t run_bits = s.kw * c;
  std::vector<u64> runs;
  if (run_bits <= 64 && s.w >= s.kw) {
    runs.assign(s.n * s.h * s.w, 0);
    for (std::size_t r = 0; r < s.n * s.h; ++r) {
      const u64 *px = x + r * s.w;
      u64 cat = 0;
      for (std::size_t kx = 0; kx < s.kw; ++kx) cat |= px[kx] << (kx * c);
      for (std::size_t x0 = 0;; ++x0) {
        runs[r * s.w + x0] = cat;
        if (x0 + s.kw >= s.w) break;
        cat = (cat >> c) | (px[x0 + s.kw] << ((s.kw - 1) * c));
      }
    }
  }
  for (std::size_t b = 0; b < s.n; ++b)
    for (std::size_t oy = 0; oy < ho; ++oy) {
      const long y0 = static_cast<long>(oy * s.stride) - static_cast<long>(s.pad);
      for (std::size_t ox = 0; ox < wo; ++ox) {
        const long x0 = static_cast<long>(ox * s.stride) - static_cast<long>(s.pad);
        const std::size_t p = (b * ho + oy) * wo + ox;
        u64 *row = &cols[p * row_words];
        const bool inside = y0 >= 0 && x0 >= 0 && y0 + long(s.kh) <= h && x0 + long(s.kw) <= w;
        if (inside && !runs.empty()) {
          // Inside the image: kh runs of kw c bits, gathered in a register and stored once
          // per filled word.
          const u64 *src = runs.data() + (b * s.h + std::size_t(y0)) * s.w + std::size_t(x0);
          BitRow out{row};
          for (std::size_t ky = 0; ky < s.kh; ++ky, src += s.w) out.append(*src, run_bits);
          out.finish();
          continue;
        }
        if (inside) {
          // Inside the image: taps in order, c bits each, gathered in a register and
          // stored once per filled word.
          const u64 *src = x + (b * s.h + std::size_t(y0)) * s.w + std::size_t(x0);
          BitRow out{row};
          for (std::size_t ky = 0; ky < s.kh; ++ky, src += s.w)
            for (std::size_t kx = 0; kx < s.kw; ++kx) out.append(src[kx], c);
          out.finish();
          continue;
        }
        for (std::size_t ky = 0; ky < s.kh; ++ky)
          for (std::size_t kx = 0; kx < s.kw; ++kx) {
            const long iy = y0 + long(ky), ix = x0 + long(kx);
            const std::size_t t = ky * s.kw + kx;
            if (iy < 0 || ix < 0 || iy >= h || ix >= w)
              outside[p * taps + t] = 1;
            else
              pack_taps(row, t, c, x[(b * s.h + std::size_t(iy)) * s.w + std::size_t(ix)]);
          }
      }
    }
  return binary_gemm_words(cols.data(), pixels, wd.data(), s.o, row_words, k, out, path);
}

// im2col on words (outside taps are zero words), one binary GEMM against the weights, whose
// [o, kh, kw, cw] layout already is the GEMM's B.
static Path conv_word_taps(const u64 *x, const u64 *wt, const ConvShape &s, i32 *out,
                           Path path, std::vector<std::uint8_t> &outside) {
  const std::size_t cw = s.cwords(), ho = s.out_h(), wo = s.out_w();
  const std::size_t taps = s.kh * s.kw, row_words = taps * cw, pixels = s.n * ho * wo;
  std::vector<u64> cols(pixels * row_words, 0);
  for (std::size_t b = 0; b < s.n; ++b)
    for (std::size_t oy = 0; oy < ho; ++oy)
      for (std::size_t ox = 0; ox < wo; ++ox) {
        const std::size_t p = (b * ho + oy) * wo + ox;
        for (std::size_t ky = 0; ky < s.kh; ++ky)
          for (std::size_t kx = 0; kx < s.kw; ++kx) {
            const long iy = static_cast<long>(oy * s.stride + ky) - static_cast<long>(s.pad);
            const long ix = static_cast<long>(ox * s.stride + kx) - static_cast<long>(s.pad);
            const std::size_t t = ky * s.kw + kx;
            if (iy < 0 || ix < 0 || iy >= static_cast<long>(s.h) || ix >= static_cast<long>(s.w)) {
              outside[p * taps + t] = 1;
              continue;
            }
            const u64 *src = x + ((b * s.h + iy) * s.w + ix) * cw;
            for (std::size_t q = 0; q < cw; ++q) cols[p * row_words + t * cw + q] = src[q];
          }
      }
  return binary_gemm_words(cols.data(), pixels, wt, s.o, row_words, taps * s.c, out, path);
}

// Either patch layout, then the padding correction.
Path binary_conv2d(const u64 *x, const u64 *wt, const ConvShape &s, i32 *out, Path path) {
  const std::size_t cw = s.cwords(), taps = s.kh * s.kw, pixels = s.n * s.out_h() * s.out_w();
  std::vector<std::uint8_t> outside(pixels * taps, 0);
  const Path taken = s.c < 64 ? conv_dense_taps(x, wt, s, out, path, outside)
                              : conv_word_taps(x, wt, s, out, path, outside);
  if (s.pad == 0) return taken;
  // dot(+1 ... +1, w_tap) = c - 2 popcount(w_tap): what a zero word wrongly added per outside tap.
  std::vector<i32> plus_one_dot(s.o * taps);
  for (std::size_t o = 0; o < s.o; ++o)
    for (std::size_t t = 0; t < taps; ++t) {
      i32 ones = 0;
      for (std::size_t q = 0; q < cw; ++q) ones += __builtin_popcountll(wt[(o * taps + t) * cw + q]);
      plus_one_dot[o * taps + t] = static_cast<i32>(s.c) - 2 * ones;
    }
  for (std::size_t p = 0; p < pixels; ++p)
    for (std::size_t t = 0; t < taps; ++t)
      if (outside[p * taps + t])
        for (std::size_t o = 0; o < s.o; ++o) out[p * s.o + o] -= plus_one_dot[o * taps + t];
  return taken;
}

}  // namespace hwnn
