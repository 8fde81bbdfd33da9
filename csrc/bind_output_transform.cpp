#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>

#include <optional>
#include <stdexcept>

#include "array_util.hpp"
#include "bindings.hpp"
#include "bitpack.hpp"
#include "output_transform.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace hwnn {

using Vec = std::optional<CVector<float>>;

static const float *opt(const Vec &v, std::size_t len, const char *name) {
  if (!v) return nullptr;
  if (v->shape(0) != len)
    throw std::invalid_argument(std::string("scale_bias: ") + name + " has the wrong length");
  return v->data();
}

static nb::ndarray<nb::numpy, float> scale(CMatrix<std::int32_t> c, Vec row_scale, Vec col_scale,
                                           Vec bias, bool reference) {
  const std::size_t m = c.shape(0), n = c.shape(1);
  const float *rs = opt(row_scale, m, "row_scale"), *cs = opt(col_scale, n, "col_scale"),
              *b = opt(bias, n, "bias");
  auto out = new_array<float>({m, n});
  nb::gil_scoped_release release;
  if (reference) scale_bias_reference(c.data(), m, n, rs, cs, b, out.data());
  else scale_bias(c.data(), m, n, rs, cs, b, out.data());
  return out;
}

static nb::ndarray<nb::numpy, std::uint64_t> threshold(CMatrix<std::int32_t> c,
                                                       CVector<std::int32_t> t,
                                                       CVector<std::uint8_t> flip,
                                                       bool reference) {
  const std::size_t m = c.shape(0), n = c.shape(1);
  if (t.shape(0) != n || flip.shape(0) != n)
    throw std::invalid_argument("sign_threshold: threshold and flip need one entry per column");
  auto out = new_array<std::uint64_t>({m, words_for(n)});
  nb::gil_scoped_release release;
  if (reference) sign_threshold_reference(c.data(), m, n, t.data(), flip.data(), out.data());
  else sign_threshold(c.data(), m, n, t.data(), flip.data(), out.data());
  return out;
}

void bind_output_transform(nb::module_ &m) {
  m.def("scale_bias",
        [](CMatrix<std::int32_t> c, Vec rs, Vec cs, Vec b) { return scale(c, rs, cs, b, false); },
        "c"_a, "row_scale"_a.none(), "col_scale"_a.none(), "bias"_a.none());
  m.def("scale_bias_reference",
        [](CMatrix<std::int32_t> c, Vec rs, Vec cs, Vec b) { return scale(c, rs, cs, b, true); },
        "c"_a, "row_scale"_a.none(), "col_scale"_a.none(), "bias"_a.none());
  m.def("sign_threshold",
        [](CMatrix<std::int32_t> c, CVector<std::int32_t> t, CVector<std::uint8_t> f) {
          return threshold(c, t, f, false);
        },
        "c"_a, "threshold"_a, "flip"_a);
  m.def("sign_threshold_reference",
        [](CMatrix<std::int32_t> c, CVector<std::int32_t> t, CVector<std::uint8_t> f) {
          return threshold(c, t, f, true);
        },
        "c"_a, "threshold"_a, "flip"_a);
}

}  // namespace hwnn
