// Binary 2-D convolution, exactly the float convolution of the same +-1 tensors with zero
// padding. Signs are packed along channels: input [n, h, w, ceil(c / 64)] words (NHWC),
// weights [o, kh, kw, ceil(c / 64)] words, output [n, ho, wo, o] int32 (NHWC, so a sign
// threshold on its rows packs the next layer's input directly).
//
// Padding correction: a zero-padded input is 0, not +1 or -1, so out-of-image taps must
// contribute nothing. Padding with 0 bits (= +1) would add dot(+1, w_tap) = c - 2 popcount(w_tap)
// per outside tap (the bug daBNN's padding correction fixes); the kernel runs the padded
// im2col GEMM and subtracts exactly that term on border pixels.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel_path.hpp"

namespace hwnn {

struct ConvShape {
  std::size_t n, c, h, w;      // input
  std::size_t o, kh, kw;       // weights
  std::size_t stride, pad;     // same in both directions
  std::size_t out_h() const { return (h + 2 * pad - kh) / stride + 1; }
  std::size_t out_w() const { return (w + 2 * pad - kw) / stride + 1; }
  std::size_t cwords() const { return (c + 63) / 64; }
};

// x: float [n, c, h, w] (NCHW) -> [n, h, w, ceil(c / 64)] sign words.
void pack_channels(const float *x, std::size_t n, std::size_t c, std::size_t h, std::size_t w,
                   std::uint64_t *out);

void binary_conv2d_reference(const std::uint64_t *x, const std::uint64_t *wt, const ConvShape &s,
                             std::int32_t *out);
Path binary_conv2d(const std::uint64_t *x, const std::uint64_t *wt, const ConvShape &s,
                   std::int32_t *out, Path path = Path::Auto);

}  // namespace hwnn
