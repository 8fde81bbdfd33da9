#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <stdexcept>

#include "array_util.hpp"
#include "bindings.hpp"
#include "bitpack.hpp"
#include "ternary_gemm.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace hwnn {

using Words = CMatrix<std::uint64_t>;

static nb::ndarray<nb::numpy, std::int32_t> gemm(Words a_nz, Words a_neg, Words b_nz, Words b_neg,
                                                 std::size_t k, const std::string &path,
                                                 bool reference) {
  const std::size_t words = words_for(k), m = a_nz.shape(0), n = b_nz.shape(0);
  if (k == 0) throw std::invalid_argument("ternary_gemm: k must be at least 1");
  if (a_neg.shape(0) != m || b_neg.shape(0) != n)
    throw std::invalid_argument("ternary_gemm: the two planes of an operand need equal rows");
  for (const Words *p : {&a_nz, &a_neg, &b_nz, &b_neg})
    if (p->shape(1) != words)
      throw std::invalid_argument("ternary_gemm: every plane must be [rows, ceil(k / 64)] words");
  const Path pth = parse_path(path);
  auto c = new_array<std::int32_t>({m, n});
  nb::gil_scoped_release release;
  if (reference)
    ternary_gemm_reference(a_nz.data(), a_neg.data(), m, b_nz.data(), b_neg.data(), n, k, c.data());
  else
    ternary_gemm(a_nz.data(), a_neg.data(), m, b_nz.data(), b_neg.data(), n, k, c.data(), pth);
  return c;
}

void bind_ternary_gemm(nb::module_ &m) {
  m.def("ternary_gemm",
        [](Words a_nz, Words a_neg, Words b_nz, Words b_neg, std::size_t k,
           const std::string &path) { return gemm(a_nz, a_neg, b_nz, b_neg, k, path, false); },
        "a_nz"_a, "a_neg"_a, "b_nz"_a, "b_neg"_a, "k"_a, "path"_a = "auto");
  m.def("ternary_gemm_reference",
        [](Words a_nz, Words a_neg, Words b_nz, Words b_neg, std::size_t k) {
          return gemm(a_nz, a_neg, b_nz, b_neg, k, "scalar", true);
        },
        "a_nz"_a, "a_neg"_a, "b_nz"_a, "b_neg"_a, "k"_a);
}

}  // namespace hwnn
