// A native runner for the integer part of a deployed network: quantize the input, int8
// convolutions (im2col + GEMM), max pooling, int8 GEMM, sign thresholds, binary GEMMs,
// dequantize, batch norm, in one call. At batch 1 the arithmetic of a binarized MLP takes a
// few microseconds, and one Python step per layer would cost more than that (hwnn.deploy
// fuses runs of these steps here). Images travel as NCHW floats or codes, as in the NumPy
// steps; a convolution's accumulator is [N, Ho, Wo, O], and its signs after a threshold are
// NHWC words packed along channels, as binary_conv2d takes them.
// Each op does exactly what its NumPy step in hwnn/deploy/steps.py does, in the same float
// order, so fused and unfused plans give bit-identical logits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hwnn {

class PlanRunner {
 public:
  void quantize_fixed(int bits, int frac);
  void quantize_int8(float scale, bool is_signed);
  void int_linear(const std::int8_t *w, std::size_t out, std::size_t in);
  // w: int8 [out, c * kh * kw] in torch's (c, kh, kw) order.
  void int_conv(const std::int8_t *w, std::size_t out, std::size_t c, std::size_t kh,
                std::size_t kw, std::size_t stride, std::size_t pad);
  // w: sign words [out, kh, kw, ceil(c / 64)] packed along channels (binary_conv2d.hpp).
  void sign_conv(const std::uint64_t *w, std::size_t out, std::size_t c, std::size_t kh,
                 std::size_t kw, std::size_t stride, std::size_t pad);
  void max_pool(std::size_t k);  // on float images, or on NHWC signs (an AND of sign bits)
  void flatten();
  void sign_linear(const std::uint64_t *w, std::size_t out, std::size_t words, std::size_t k);
  void threshold(const std::int32_t *t, const std::uint8_t *flip, std::size_t n);
  void dequantize(const float *scale, const float *bias, std::size_t n);  // bias may be null
  void batch_norm(const float *a, const float *b, std::size_t n);
  void relu();
  void hardtanh(float low, float high);

  // x: float [rows, cols], or NCHW images [rows, c, h, w] when h > 0 (cols = c h w) ->
  // float [rows, out.cols] (NCHW [rows, out.c, out.h, out.w] when out.h > 0); throws
  // std::invalid_argument when the ops do not chain (each op checks what it receives).
  // The result lies in the calling thread's scratch, valid until that thread's next run():
  // at batch 1 a copy into a vector of its own cost more than the last layer.
  struct Shape {
    std::size_t cols = 0, c = 0, h = 0, w = 0;
  };
  const float *run(const float *x, std::size_t rows, Shape in, Shape *out) const;
  std::size_t size() const { return ops_.size(); }

 private:
  enum class Kind { QuantFixed, QuantInt8, IntLinear, IntConv, SignConv, MaxPool, Flatten,
                    SignLinear, Threshold, Dequantize, BatchNorm, Relu, Hardtanh };
  struct Op {
    explicit Op(Kind k) : kind(k) {}
    Kind kind;
    int bits = 0, frac = 0;
    float scale = 1.0f, low = 0.0f, high = 0.0f;
    bool is_signed = true, has_bias = false;
    bool implicit = false;  // int_conv as an implicit GEMM (weights in 8-byte segments)
    std::size_t out = 0, in = 0, words = 0, k = 0;
    // int_conv and sign_conv: input channels, kernel, stride, padding (k is max_pool's window)
    std::size_t c = 0, kh = 0, kw = 0, stride = 1, pad = 0;
    std::vector<std::int8_t> w8;
    std::vector<std::int8_t> panels;  // w8 in VPDPBUSD panels (see .cpp)
    std::vector<std::int32_t> row_sums;
    std::vector<std::int32_t> corr;  // 128 row_sums, padded to whole panels (offset int8 input)
    std::vector<std::uint64_t> wb;
    std::vector<std::uint64_t> wb_panels;  // wb packed for the AVX-512 path (rows >= 2)
    std::vector<std::int32_t> t;
    std::vector<std::uint8_t> flip;
    std::vector<std::uint64_t> flip_bits;
    std::vector<float> a, b;
  };
  static void pack_int_weights(Op &op, const std::int8_t *w, std::size_t out, std::size_t in);
  std::vector<Op> ops_;
};

}  // namespace hwnn
