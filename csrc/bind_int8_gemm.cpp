#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <stdexcept>

#include "array_util.hpp"
#include "bindings.hpp"
#include "int8_gemm.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace hwnn {

static nb::ndarray<nb::numpy, std::int32_t> gemm(CMatrix<std::int8_t> a, CMatrix<std::int8_t> b,
                                                 const std::string &path, bool reference) {
  if (a.shape(1) != b.shape(1) || a.shape(1) == 0)
    throw std::invalid_argument("int8_gemm: a [m, k] and b [n, k] need the same k >= 1");
  const Path p = parse_path(path);
  const std::size_t m = a.shape(0), n = b.shape(0), k = a.shape(1);
  auto c = new_array<std::int32_t>({m, n});
  nb::gil_scoped_release release;
  if (reference) int8_gemm_reference(a.data(), m, b.data(), n, k, c.data());
  else int8_gemm(a.data(), m, b.data(), n, k, c.data(), p);
  return c;
}

static nb::ndarray<nb::numpy, std::int32_t> ugemm(CMatrix<std::uint8_t> a, CMatrix<std::int8_t> b,
                                                  const std::string &path, bool reference) {
  if (a.shape(1) != b.shape(1) || a.shape(1) == 0)
    throw std::invalid_argument("u8s8_gemm: a [m, k] and b [n, k] need the same k >= 1");
  const Path p = parse_path(path);
  const std::size_t m = a.shape(0), n = b.shape(0), k = a.shape(1);
  auto c = new_array<std::int32_t>({m, n});
  nb::gil_scoped_release release;
  if (reference) u8s8_gemm_reference(a.data(), m, b.data(), n, k, c.data());
  else u8s8_gemm(a.data(), m, b.data(), n, k, c.data(), p);
  return c;
}

void bind_int8_gemm(nb::module_ &m) {
  m.def("u8s8_gemm",
        [](CMatrix<std::uint8_t> a, CMatrix<std::int8_t> b, const std::string &path) {
          return ugemm(a, b, path, false);
        },
        "a"_a, "b"_a, "path"_a = "auto", "C = A B^T, uint8 [m, k] x int8 [n, k] -> exact int32.");
  m.def("u8s8_gemm_reference",
        [](CMatrix<std::uint8_t> a, CMatrix<std::int8_t> b) { return ugemm(a, b, "scalar", true); },
        "a"_a, "b"_a);
  m.def("int8_gemm",
        [](CMatrix<std::int8_t> a, CMatrix<std::int8_t> b, const std::string &path) {
          return gemm(a, b, path, false);
        },
        "a"_a, "b"_a, "path"_a = "auto", "C = A B^T, int8 [m, k] x int8 [n, k] -> exact int32.");
  m.def("int8_gemm_reference",
        [](CMatrix<std::int8_t> a, CMatrix<std::int8_t> b) { return gemm(a, b, "scalar", true); },
        "a"_a, "b"_a);
}

}  // namespace hwnn
