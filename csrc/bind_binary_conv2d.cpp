#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <stdexcept>

#include "array_util.hpp"
#include "binary_conv2d.hpp"
#include "bindings.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace hwnn {

using Words4 = CTensor4<std::uint64_t>;

static nb::ndarray<nb::numpy, std::uint64_t> pack(CTensor4<float> x) {
  const std::size_t n = x.shape(0), c = x.shape(1), h = x.shape(2), w = x.shape(3);
  if (c == 0) throw std::invalid_argument("pack_channels: x has no channels");
  auto out = new_array<std::uint64_t>({n, h, w, (c + 63) / 64});
  nb::gil_scoped_release release;
  pack_channels(x.data(), n, c, h, w, out.data());
  return out;
}

// x: [n, h, w, cw] words, wt: [o, kh, kw, cw] words; c is the true channel count.
static nb::ndarray<nb::numpy, std::int32_t> conv(Words4 x, Words4 wt, std::size_t c,
                                                 std::size_t stride, std::size_t pad,
                                                 const std::string &path, bool reference) {
  ConvShape s{x.shape(0), c, x.shape(1), x.shape(2), wt.shape(0), wt.shape(1), wt.shape(2),
              stride, pad};
  if (c == 0 || x.shape(3) != s.cwords() || wt.shape(3) != s.cwords())
    throw std::invalid_argument("binary_conv2d: both operands need ceil(c / 64) channel words");
  if (stride == 0) throw std::invalid_argument("binary_conv2d: stride must be at least 1");
  if (s.h + 2 * pad < s.kh || s.w + 2 * pad < s.kw)
    throw std::invalid_argument("binary_conv2d: the kernel is larger than the padded input");
  const Path p = parse_path(path);
  auto out = new_array<std::int32_t>({s.n, s.out_h(), s.out_w(), s.o});
  nb::gil_scoped_release release;
  if (reference) binary_conv2d_reference(x.data(), wt.data(), s, out.data());
  else binary_conv2d(x.data(), wt.data(), s, out.data(), p);
  return out;
}

void bind_binary_conv2d(nb::module_ &m) {
  m.def("pack_channels", &pack, "x"_a, "NCHW float -> NHWC sign words packed along channels.");
  m.def("binary_conv2d",
        [](Words4 x, Words4 wt, std::size_t c, std::size_t stride, std::size_t pad,
           const std::string &path) { return conv(x, wt, c, stride, pad, path, false); },
        "x"_a, "w"_a, "c"_a, "stride"_a = 1, "pad"_a = 0, "path"_a = "auto");
  m.def("binary_conv2d_reference",
        [](Words4 x, Words4 wt, std::size_t c, std::size_t stride, std::size_t pad) {
          return conv(x, wt, c, stride, pad, "scalar", true);
        },
        "x"_a, "w"_a, "c"_a, "stride"_a = 1, "pad"_a = 0);
}

}  // namespace hwnn
