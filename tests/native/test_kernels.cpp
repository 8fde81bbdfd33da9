// Native kernel tests without Python, built by scripts/sanitize.sh under AddressSanitizer
// and UndefinedBehaviorSanitizer: every path this CPU supports against the plain reference
// on awkward sizes (tile and word boundaries), exact equality. Exit status 1 on a mismatch.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "binary_conv2d.hpp"
#include "binary_gemm.hpp"
#include "bitpack.hpp"
#include "im2col.hpp"
#include "int8_gemm.hpp"
#include "kernel_path.hpp"
#include "output_transform.hpp"
#include "plan_runner.hpp"
#include "ternary_gemm.hpp"

using namespace hwnn;

static int failures = 0;
static std::mt19937_64 rng(12345);

static const std::size_t SIZES[] = {1, 2, 3, 7, 8, 33};
static const std::size_t KS[] = {1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000};
// Auto last: for int8 it may take AMX tiles (where the CPU allows) instead of AVX-512 VNNI.
static const Path PATHS[] = {Path::Scalar, Path::Popcnt, Path::Avx2, Path::Avx512, Path::Auto};

template <class T>
static void expect_equal(const std::vector<T> &got, const std::vector<T> &want, const char *what,
                         const char *path, std::size_t m, std::size_t n, std::size_t k) {
  if (got != want) {
    ++failures;
    std::fprintf(stderr, "FAIL %s path=%s m=%zu n=%zu k=%zu\n", what, path, m, n, k);
  }
}

// Random sign words with zero padding bits past k (the packing contract). The buffer is
// exactly rows x words, so a tail read past the last row is caught by AddressSanitizer.
static std::vector<std::uint64_t> random_words(std::size_t rows, std::size_t k) {
  const std::size_t words = words_for(k);
  std::vector<std::uint64_t> v(rows * words);
  for (auto &x : v) x = rng();
  if (k % 64)
    for (std::size_t r = 0; r < rows; ++r) v[r * words + words - 1] &= (std::uint64_t{1} << (k % 64)) - 1;
  return v;
}

static void test_binary_gemm() {
  for (std::size_t k : KS)
    for (std::size_t m : SIZES)
      for (std::size_t n : SIZES) {
        const auto a = random_words(m, k), b = random_words(n, k);
        std::vector<std::int32_t> want(m * n), got(m * n);
        binary_gemm_reference(a.data(), m, b.data(), n, k, want.data());
        for (Path p : PATHS) {
          if (!path_supported(Family::Binary, p)) continue;
          binary_gemm(a.data(), m, b.data(), n, k, got.data(), p);
          expect_equal(got, want, "binary_gemm", path_name(p), m, n, k);
        }
      }
}

// Large enough for the tile driver to split work over threads (HWNN_THREADS=2 run).
static void test_threaded_sizes() {
  const std::size_t m = 40, n = 600, k = 2000;  // m * n * row bytes >= 4 MiB
  const auto a = random_words(m, k), b = random_words(n, k);
  std::vector<std::int32_t> want(m * n), got(m * n);
  binary_gemm_reference(a.data(), m, b.data(), n, k, want.data());
  binary_gemm(a.data(), m, b.data(), n, k, got.data());
  expect_equal(got, want, "binary_gemm (threaded size)", "auto", m, n, k);
  std::vector<std::int8_t> qa(m * k), qb(n * k);
  for (auto &x : qa) x = static_cast<std::int8_t>(rng());
  for (auto &x : qb) x = static_cast<std::int8_t>(rng());
  int8_gemm_reference(qa.data(), m, qb.data(), n, k, want.data());
  int8_gemm(qa.data(), m, qb.data(), n, k, got.data());
  expect_equal(got, want, "int8_gemm (threaded size)", "auto", m, n, k);
}

static void test_ternary_gemm() {
  for (std::size_t k : KS)
    for (std::size_t m : SIZES)
      for (std::size_t n : SIZES) {
        auto anz = random_words(m, k), ang = random_words(m, k);
        auto bnz = random_words(n, k), bng = random_words(n, k);
        for (std::size_t i = 0; i < ang.size(); ++i) ang[i] &= anz[i];
        for (std::size_t i = 0; i < bng.size(); ++i) bng[i] &= bnz[i];
        std::vector<std::int32_t> want(m * n), got(m * n);
        ternary_gemm_reference(anz.data(), ang.data(), m, bnz.data(), bng.data(), n, k, want.data());
        for (Path p : PATHS) {
          if (!path_supported(Family::Ternary, p)) continue;
          ternary_gemm(anz.data(), ang.data(), m, bnz.data(), bng.data(), n, k, got.data(), p);
          expect_equal(got, want, "ternary_gemm", path_name(p), m, n, k);
        }
      }
}

static void test_int8_gemm() {
  std::uniform_int_distribution<int> any(-128, 127), nonneg(0, 127);
  for (int signed_a = 0; signed_a < 2; ++signed_a)
    for (std::size_t k : KS)
      for (std::size_t m : SIZES)
        for (std::size_t n : SIZES) {
          std::vector<std::int8_t> a(m * k), b(n * k);
          for (auto &x : a) x = static_cast<std::int8_t>(signed_a ? any(rng) : nonneg(rng));
          for (auto &x : b) x = static_cast<std::int8_t>(any(rng));
          std::vector<std::int32_t> want(m * n), got(m * n);
          int8_gemm_reference(a.data(), m, b.data(), n, k, want.data());
          for (Path p : PATHS) {
            if (!path_supported(Family::Int8, p)) continue;
            int8_gemm(a.data(), m, b.data(), n, k, got.data(), p);
            expect_equal(got, want, "int8_gemm", path_name(p), m, n, k);
          }
          std::vector<std::uint8_t> ua(m * k);  // unsigned activations over [0, 255]
          for (auto &x : ua) x = static_cast<std::uint8_t>(any(rng) + 128);
          u8s8_gemm_reference(ua.data(), m, b.data(), n, k, want.data());
          for (Path p : PATHS) {
            if (!path_supported(Family::Int8, p)) continue;
            u8s8_gemm(ua.data(), m, b.data(), n, k, got.data(), p);
            expect_equal(got, want, "u8s8_gemm", path_name(p), m, n, k);
          }
        }
}

// The batched panel GEMM with AMX allowed against the VNNI tiles (the same code where AMX
// is absent): awkward m, n and group counts, panels packed tight (no slack past the last
// one, as the plan runner packs them), with and without the offset correction.
static void test_u8_gemm_panels_amx() {
  if (!path_supported(Family::Int8, Path::Avx512)) return;
  for (std::size_t m : {2, 3, 15, 16, 17, 33})
    for (std::size_t n : {1, 15, 16, 17, 33, 48})
      for (std::size_t groups : {1, 15, 16, 17, 49})
        for (int corr_on = 0; corr_on < 2; ++corr_on) {
          const std::size_t lda = groups * 4 + (corr_on ? 12 : 0), np = (n + 15) / 16;
          const std::size_t pb = groups * 64;
          std::vector<std::uint8_t> a(m * lda);
          for (auto &v : a) v = static_cast<std::uint8_t>(rng());
          std::vector<std::int8_t> panels(np * pb, 0);
          for (std::size_t q = 0; q < np; ++q)
            for (std::size_t g = 0; g < groups; ++g)
              for (std::size_t j = 0; j < 16 && q * 16 + j < n; ++j)
                for (std::size_t t = 0; t < 4; ++t)
                  panels[q * pb + g * 64 + j * 4 + t] = static_cast<std::int8_t>(rng());
          std::vector<std::int32_t> corr(np * 16);
          for (auto &v : corr) v = static_cast<std::int32_t>(rng() % 1000);
          std::vector<std::int32_t> got(m * n), want(m * n);
          const std::int32_t *cp = corr_on ? corr.data() : nullptr;
          u8_gemm_panels(a.data(), m, lda, panels.data(), pb, n, groups, cp, got.data(), true);
          u8_gemm_panels(a.data(), m, lda, panels.data(), pb, n, groups, cp, want.data(), false);
          expect_equal(got, want, "u8_gemm_panels amx", "auto", m, n, groups);
        }
}

static void test_binary_conv2d() {
  const ConvShape cases[] = {
      {1, 1, 5, 5, 1, 3, 3, 1, 1},  {2, 3, 7, 6, 4, 3, 3, 1, 1}, {1, 63, 6, 6, 5, 3, 3, 2, 1},
      {1, 64, 5, 7, 3, 3, 3, 1, 2}, {2, 65, 4, 4, 7, 2, 2, 1, 0}, {1, 130, 5, 5, 9, 5, 5, 1, 2},
  };
  std::normal_distribution<float> gauss;
  for (const ConvShape &s : cases) {
    std::vector<float> x(s.n * s.c * s.h * s.w), w(s.o * s.c * s.kh * s.kw);
    for (auto &v : x) v = gauss(rng);
    for (auto &v : w) v = gauss(rng);
    std::vector<std::uint64_t> xp(s.n * s.h * s.w * s.cwords()), wp(s.o * s.kh * s.kw * s.cwords());
    pack_channels(x.data(), s.n, s.c, s.h, s.w, xp.data());
    pack_channels(w.data(), s.o, s.c, s.kh, s.kw, wp.data());
    const std::size_t outn = s.n * s.out_h() * s.out_w() * s.o;
    std::vector<std::int32_t> want(outn), got(outn);
    binary_conv2d_reference(xp.data(), wp.data(), s, want.data());
    for (Path p : PATHS) {
      if (!path_supported(Family::Binary, p)) continue;
      binary_conv2d(xp.data(), wp.data(), s, got.data(), p);
      expect_equal(got, want, "binary_conv2d", path_name(p), s.n, s.o, s.c);
    }
  }
}

static void test_output_transform() {
  std::uniform_int_distribution<int> val(-40, 40), flip(0, 1);
  for (std::size_t m : {5, 301})  // many short rows take the narrow path
  for (std::size_t n : {1, 6, 15, 16, 17, 63, 64, 65, 130}) {
    std::vector<std::int32_t> c(m * n), t(n);
    std::vector<std::uint8_t> f(n);
    for (auto &v : c) v = val(rng);
    for (auto &v : t) v = val(rng);
    for (auto &v : f) v = static_cast<std::uint8_t>(flip(rng));
    std::vector<std::uint64_t> want(m * words_for(n)), got(m * words_for(n));
    sign_threshold_reference(c.data(), m, n, t.data(), f.data(), want.data());
    sign_threshold(c.data(), m, n, t.data(), f.data(), got.data());
    expect_equal(got, want, "sign_threshold", "auto", m, n, 0);
    std::vector<float> rs(m, 0.5f), cs(n, 0.25f), b(n, 1.0f), fw(m * n), fg(m * n);
    scale_bias_reference(c.data(), m, n, rs.data(), cs.data(), b.data(), fw.data());
    scale_bias(c.data(), m, n, rs.data(), cs.data(), b.data(), fg.data());
    expect_equal(fg, fw, "scale_bias", "auto", m, n, 0);
  }
}

// The runner's result lies in its thread's scratch until the next run: copied out here.
static std::vector<float> run(const PlanRunner &r, const float *x, std::size_t rows,
                              PlanRunner::Shape in, PlanRunner::Shape *out) {
  const float *y = r.run(x, rows, in, out);
  return std::vector<float>(y, y + rows * out->cols);
}

// The fused runner: quantize, int8 layer (batch 1 takes the VNNI GEMV on prepacked panels),
// threshold, binary layer, dequantize; against the same arithmetic written out directly.
static void test_plan_runner() {
  std::uniform_int_distribution<int> wdist(-127, 127);
  std::normal_distribution<float> gauss(0.0f, 20.0f);
  for (std::size_t rows : {1, 3})
    for (std::size_t in : {1, 37, 130})
      for (std::size_t out : {1, 16, 70, 150}) {
        std::vector<float> x(rows * in);
        for (auto &v : x) v = gauss(rng);
        std::vector<std::int8_t> w(out * in);
        for (auto &v : w) v = static_cast<std::int8_t>(wdist(rng));
        std::vector<float> scale(out, 0.5f);
        PlanRunner r;
        r.quantize_fixed(8, 1);
        r.int_linear(w.data(), out, in);
        r.dequantize(scale.data(), nullptr, out);
        PlanRunner::Shape shape;
        const std::vector<float> got = run(r, x.data(), rows, PlanRunner::Shape{in}, &shape);
        const std::size_t cols = shape.cols;
        std::vector<float> want(rows * out);
        for (std::size_t i = 0; i < rows; ++i)
          for (std::size_t o = 0; o < out; ++o) {
            std::int32_t acc = 0;
            for (std::size_t q = 0; q < in; ++q) {
              float c = x[i * in + q] / 0.5f;
              c = std::nearbyint(c);  // round half to even, the default rounding mode
              c = c < -128.0f ? -128.0f : (c > 127.0f ? 127.0f : c);
              acc += static_cast<std::int32_t>(c) * w[o * in + q];
            }
            want[i * out + o] = static_cast<float>(acc) * 0.5f;
          }
        if (cols != out) ++failures;
        expect_equal(got, want, "plan_runner", "auto", rows, out, in);
      }
}

// im2col against its reference on awkward shapes, both element types, with and without
// zero-extended rows; the output buffer is exact, so a write past it is caught by ASan.
static void test_im2col() {
  struct Case { std::size_t n, c, h, w, kh, kw, stride, pad; };
  const Case cases[] = {{1, 1, 28, 28, 5, 5, 1, 2}, {2, 3, 7, 6, 3, 3, 1, 1}, {1, 2, 9, 8, 2, 3, 2, 0},
                        {1, 1, 4, 3, 3, 2, 3, 2}, {2, 4, 5, 5, 5, 5, 1, 0}, {1, 2, 6, 9, 4, 6, 2, 3},
                        {1, 1, 1, 1, 1, 1, 1, 0}};
  for (const Case &t : cases) {
    const Im2colShape s{t.n, t.c, t.h, t.w, t.kh, t.kw, t.stride, t.pad};
    std::vector<std::uint8_t> x8(t.n * t.c * t.h * t.w);
    std::vector<float> xf(x8.size());
    for (std::size_t i = 0; i < x8.size(); ++i) x8[i] = static_cast<std::uint8_t>(rng()), xf[i] = float(x8[i]);
    for (std::size_t extra : {0, 3}) {
      const std::size_t cols = s.patch() + extra, rows = t.n * s.out_h() * s.out_w();
      std::vector<std::uint8_t> g8(rows * cols), w8(rows * cols);
      im2col(x8.data(), s, cols, g8.data());
      im2col_reference(x8.data(), s, cols, w8.data());
      expect_equal(g8, w8, "im2col u8", "auto", t.c, t.kh, t.kw);
      std::vector<float> gf(rows * cols), wf(rows * cols);
      im2col(xf.data(), s, cols, gf.data());
      im2col_reference(xf.data(), s, cols, wf.data());
      expect_equal(gf, wf, "im2col f32", "auto", t.c, t.kh, t.kw);
    }
  }
}

// A fused int8 convolution (with the +128 offset: inputs of both signs) against a direct
// convolution of the same codes.
static void test_plan_runner_conv() {
  std::uniform_int_distribution<int> wdist(-128, 127);
  std::normal_distribution<float> gauss(0.0f, 30.0f);
  const std::size_t n = 3, c = 2, h = 7, w = 6, o = 5, k = 3, stride = 2, pad = 1;
  const std::size_t ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
  std::vector<float> x(n * c * h * w);
  for (auto &v : x) v = gauss(rng);
  std::vector<std::int8_t> wt(o * c * k * k);
  for (auto &v : wt) v = static_cast<std::int8_t>(wdist(rng));
  std::vector<float> ones(o, 1.0f);
  PlanRunner r;
  r.quantize_fixed(8, 0);
  r.int_conv(wt.data(), o, c, k, k, stride, pad);
  r.dequantize(ones.data(), nullptr, o);
  PlanRunner::Shape shape;
  const std::vector<float> got = run(r, x.data(), n, PlanRunner::Shape{c * h * w, c, h, w}, &shape);
  std::vector<float> want(n * o * ho * wo);
  auto code = [&](std::size_t b, std::size_t ch, long y, long xx) {
    if (y < 0 || xx < 0 || y >= long(h) || xx >= long(w)) return 0;
    float v = std::nearbyint(x[((b * c + ch) * h + y) * w + xx]);
    return static_cast<int>(v < -128.0f ? -128.0f : (v > 127.0f ? 127.0f : v));
  };
  for (std::size_t b = 0; b < n; ++b)
    for (std::size_t oc = 0; oc < o; ++oc)
      for (std::size_t y = 0; y < ho; ++y)
        for (std::size_t xx = 0; xx < wo; ++xx) {
          int acc = 0;
          for (std::size_t ch = 0; ch < c; ++ch)
            for (std::size_t i = 0; i < k; ++i)
              for (std::size_t j = 0; j < k; ++j)
                acc += code(b, ch, long(y * stride + i) - long(pad), long(xx * stride + j) - long(pad)) *
                       wt[((oc * c + ch) * k + i) * k + j];
          want[((b * o + oc) * ho + y) * wo + xx] = static_cast<float>(acc);
        }
  if (shape.c != o || shape.h != ho || shape.w != wo) ++failures;
  expect_equal(got, want, "plan_runner conv", "auto", n, o, c * k * k);
}

// The binary image ops of the runner (threshold to NHWC signs, AND pooling, binary
// convolution with padding over two channel words, flatten of signs, binary FC layer) run
// here under the sanitizers; their values are checked against the NumPy steps in
// tests/deploy/test_fuse.py. Here: the output shape, and the same logits twice.
static void test_plan_runner_binary_conv(std::size_t c1) {  // c1 < 64: narrow rows, dense taps
  std::uniform_int_distribution<int> wdist(-127, 127);
  std::normal_distribution<float> gauss(0.0f, 3.0f);
  const std::size_t n = 2, c = 2, h = 9, w = 8, o = 5, cw = words_for(c1);
  std::vector<std::int8_t> w0(c1 * c * 9);
  for (auto &v : w0) v = static_cast<std::int8_t>(wdist(rng));
  std::vector<std::uint64_t> wc(o * 9 * cw);
  for (auto &v : wc) v = rng();
  for (std::size_t i = cw - 1; i < wc.size(); i += cw)
    if (c1 % 64) wc[i] &= (std::uint64_t{1} << (c1 % 64)) - 1;
  std::vector<std::int32_t> t1(c1, 3), t2(o, -2);
  std::vector<std::uint8_t> f1(c1, 0), f2(o, 1);
  const std::size_t h2 = h / 2, w2 = w / 2, k = o * h2 * w2;  // 3x3, pad 1: same size
  std::vector<std::uint64_t> wl(3 * words_for(k));
  for (auto &v : wl) v = rng();
  if (k % 64)
    for (std::size_t r = 0; r < 3; ++r) wl[r * words_for(k) + words_for(k) - 1] &= (std::uint64_t{1} << (k % 64)) - 1;
  std::vector<float> ones(3, 1.0f);
  PlanRunner r;
  r.quantize_fixed(8, 2);
  r.int_conv(w0.data(), c1, c, 3, 3, 1, 1);
  r.threshold(t1.data(), f1.data(), c1);
  r.max_pool(2);
  r.sign_conv(wc.data(), o, c1, 3, 3, 1, 1);
  r.threshold(t2.data(), f2.data(), o);
  r.flatten();
  r.sign_linear(wl.data(), 3, words_for(k), k);
  r.dequantize(ones.data(), nullptr, 3);
  std::vector<float> x(n * c * h * w);
  for (auto &v : x) v = gauss(rng);
  PlanRunner::Shape shape;
  const auto a = run(r, x.data(), n, PlanRunner::Shape{c * h * w, c, h, w}, &shape);
  const auto b = run(r, x.data(), n, PlanRunner::Shape{c * h * w, c, h, w}, &shape);
  if (shape.cols != 3 || shape.h != 0 || a.size() != n * 3 || a != b) {
    ++failures;
    std::fprintf(stderr, "FAIL plan_runner binary conv chain (%zu channels)\n", c1);
  }
}

// An int8 convolution dequantized through a ReLU and a 3 x 3 max pool in one pass (on
// AVX-512 16 channels per vector, scattered to their planes), over 1 and 2 channel blocks
// and a floor-mode remainder; values are checked in tests/deploy/test_fuse.py.
static void test_plan_runner_pooled_dequantize() {
  std::uniform_int_distribution<int> wdist(-127, 127);
  std::normal_distribution<float> gauss(0.0f, 30.0f);
  for (std::size_t o : {6, 16, 21}) {
    const std::size_t n = 2, c = 3, h = 11, w = 8, k = 3;
    std::vector<std::int8_t> wt(o * c * 9);
    for (auto &v : wt) v = static_cast<std::int8_t>(wdist(rng));
    std::vector<float> scale(o), bias(o);
    for (std::size_t j = 0; j < o; ++j) scale[j] = j % 2 ? 0.5f : -0.25f, bias[j] = float(j);
    PlanRunner r;
    r.quantize_fixed(8, 0);
    r.int_conv(wt.data(), o, c, 3, 3, 1, 1);
    r.dequantize(scale.data(), bias.data(), o);
    r.relu();
    r.max_pool(k);
    std::vector<float> x(n * c * h * w);
    for (auto &v : x) v = gauss(rng);
    PlanRunner::Shape shape;
    const auto a = run(r, x.data(), n, PlanRunner::Shape{c * h * w, c, h, w}, &shape);
    const auto b = run(r, x.data(), n, PlanRunner::Shape{c * h * w, c, h, w}, &shape);
    if (shape.c != o || shape.h != h / k || shape.w != w / k || a != b) {
      ++failures;
      std::fprintf(stderr, "FAIL plan_runner pooled dequantize (%zu channels)\n", o);
    }
  }
}

// A hidden int8 layer whose dequantize, ReLU and the next quantize run as one pass (AVX-512),
// over a masked tail of outputs; values are checked in tests/deploy/test_fuse.py.
static void test_plan_runner_requantize() {
  std::uniform_int_distribution<int> wdist(-127, 127);
  std::normal_distribution<float> gauss(0.0f, 20.0f);
  for (std::size_t rows : {1, 5}) {
    const std::size_t in = 29, mid = 37, out = 5;
    std::vector<std::int8_t> w1(mid * in), w2(out * mid);
    for (auto &v : w1) v = static_cast<std::int8_t>(wdist(rng));
    for (auto &v : w2) v = static_cast<std::int8_t>(wdist(rng));
    std::vector<float> s1(mid, 0.5f), b1(mid, 0.25f), s2(out, 1.0f);
    PlanRunner r;
    r.quantize_int8(0.25f, true);
    r.int_linear(w1.data(), mid, in);
    r.dequantize(s1.data(), b1.data(), mid);
    r.relu();
    r.quantize_int8(0.7f, false);
    r.int_linear(w2.data(), out, mid);
    r.dequantize(s2.data(), nullptr, out);
    std::vector<float> x(rows * in);
    for (auto &v : x) v = gauss(rng);
    PlanRunner::Shape shape;
    const auto a = run(r, x.data(), rows, PlanRunner::Shape{in}, &shape);
    const auto b = run(r, x.data(), rows, PlanRunner::Shape{in}, &shape);
    if (shape.cols != out || a != b) {
      ++failures;
      std::fprintf(stderr, "FAIL plan_runner requantize (%zu rows)\n", rows);
    }
  }
}

int main() {
  std::printf("binary path %s, int8 path %s, threads %d\n",
              path_name(resolve_path(Family::Binary, Path::Auto)),
              path_name(resolve_path(Family::Int8, Path::Auto)), kernel_threads());
  test_binary_gemm();
  test_threaded_sizes();
  test_ternary_gemm();
  test_int8_gemm();
  test_binary_conv2d();
  test_output_transform();
  test_plan_runner();
  test_im2col();
  test_plan_runner_conv();
  test_plan_runner_binary_conv(70);
  test_plan_runner_binary_conv(6);
  test_plan_runner_pooled_dequantize();
  test_plan_runner_requantize();
  test_u8_gemm_panels_amx();
  if (failures) {
    std::fprintf(stderr, "%d native kernel test(s) failed\n", failures);
    return 1;
  }
  std::printf("native kernel tests passed\n");
  return 0;
}
