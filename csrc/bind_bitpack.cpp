#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <stdexcept>

#include "array_util.hpp"
#include "bindings.hpp"
#include "bitpack.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace hwnn {

using FloatMatrix = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using WordMatrix = nb::ndarray<const std::uint64_t, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

static nb::ndarray<nb::numpy, std::uint64_t> pack(FloatMatrix x, bool reference) {
  const std::size_t rows = x.shape(0), k = x.shape(1);
  auto out = new_array<std::uint64_t>({rows, words_for(k)});
  nb::gil_scoped_release release;
  if (reference)
    pack_signs_reference(x.data(), rows, k, out.data());
  else
    pack_signs(x.data(), rows, k, out.data());
  return out;
}

// Row-wise dot products: out[i] = dot(a[i], b[i]) over the true length k.
static nb::ndarray<nb::numpy, std::int64_t> dot(WordMatrix a, WordMatrix b, std::size_t k,
                                                bool reference) {
  const std::size_t rows = a.shape(0), words = words_for(k);
  if (b.shape(0) != rows || a.shape(1) != words || b.shape(1) != words)
    throw std::invalid_argument("binary_dot: operands must both be [rows, ceil(k / 64)] words");
  auto out = new_array<std::int64_t>({rows});
  nb::gil_scoped_release release;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint64_t *ar = a.data() + r * words, *br = b.data() + r * words;
    out.data()[r] = reference ? binary_dot_reference(ar, br, k) : binary_dot(ar, br, k);
  }
  return out;
}

void bind_bitpack(nb::module_ &m) {
  m.def("pack_signs", [](FloatMatrix x) { return pack(x, false); }, "x"_a);
  m.def("pack_signs_reference", [](FloatMatrix x) { return pack(x, true); }, "x"_a);
  m.def("binary_dot", [](WordMatrix a, WordMatrix b, std::size_t k) { return dot(a, b, k, false); },
        "a"_a, "b"_a, "k"_a);
  m.def("binary_dot_reference",
        [](WordMatrix a, WordMatrix b, std::size_t k) { return dot(a, b, k, true); }, "a"_a,
        "b"_a, "k"_a);
}

}  // namespace hwnn
