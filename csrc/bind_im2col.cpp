#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <stdexcept>

#include "array_util.hpp"
#include "bindings.hpp"
#include "im2col.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace hwnn {

template <typename T>
static nb::ndarray<nb::numpy, T> patches(CTensor4<T> x, std::size_t kh, std::size_t kw,
                                         std::size_t stride, std::size_t pad, std::size_t cols,
                                         bool reference) {
  const Im2colShape s{x.shape(0), x.shape(1), x.shape(2), x.shape(3), kh, kw, stride, pad};
  if (kh == 0 || kw == 0 || stride == 0)
    throw std::invalid_argument("im2col: kernel sizes and stride must be at least 1");
  if (s.h + 2 * pad < kh || s.w + 2 * pad < kw)
    throw std::invalid_argument("im2col: the kernel is larger than the padded input");
  if (cols < s.patch())
    throw std::invalid_argument("im2col: cols must be at least channels * kh * kw");
  auto out = new_array<T>({s.n * s.out_h() * s.out_w(), cols});
  nb::gil_scoped_release release;
  if (reference) im2col_reference(x.data(), s, cols, out.data());
  else im2col(x.data(), s, cols, out.data());
  return out;
}

void bind_im2col(nb::module_ &m) {
  // One byte codes travel as uint8 (int8 arrays are passed as a uint8 view).
  m.def("im2col_u8", &patches<std::uint8_t>, "x"_a, "kh"_a, "kw"_a, "stride"_a, "pad"_a,
        "cols"_a, "reference"_a = false);
  m.def("im2col_f32", &patches<float>, "x"_a, "kh"_a, "kw"_a, "stride"_a, "pad"_a, "cols"_a,
        "reference"_a = false);
}

}  // namespace hwnn
