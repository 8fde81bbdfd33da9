// im2col: the patches of an NCHW tensor as GEMM rows, for convolutions as matrix products.
//     out[(n Ho + y) Wo + x][(c kh + i) kw + j] = in[n][c][y s - p + i][x s - p + j]
// (zero outside the input; torch's weight order), each row zero-padded to `cols` >= C kh kw
// entries so int8 rows can be whole 4-byte groups. Chellapilla et al. 2006.
#pragma once

#include <cstddef>

namespace hwnn {

struct Im2colShape {
  std::size_t n, c, h, w, kh, kw, stride, pad;
  std::size_t out_h() const { return (h + 2 * pad - kh) / stride + 1; }
  std::size_t out_w() const { return (w + 2 * pad - kw) / stride + 1; }
  std::size_t patch() const { return c * kh * kw; }
};

// T is one byte (int8 / uint8 codes) or float.
template <typename T>
void im2col(const T *in, const Im2colShape &s, std::size_t cols, T *out);

template <typename T>
void im2col_reference(const T *in, const Im2colShape &s, std::size_t cols, T *out);

}  // namespace hwnn
