#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <stdexcept>
#include <string>

#include "array_util.hpp"
#include "binary_gemm.hpp"
#include "bindings.hpp"
#include "bitpack.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace hwnn {

static void check_operands(const CMatrix<std::uint64_t> &a, const CMatrix<std::uint64_t> &b,
                           std::size_t k, const char *who) {
  const std::size_t words = words_for(k);
  if (k == 0) throw std::invalid_argument(std::string(who) + ": k must be at least 1");
  // Rows may be longer than ceil(k / 64) words when they carry zero padding words (the
  // deployment engine's channel-packed NHWC rows); k counts the true bits only.
  if (a.shape(1) != b.shape(1) || a.shape(1) < words)
    throw std::invalid_argument(std::string(who) +
                                ": both operands must be [rows, W] words with W >= ceil(k / 64)");
}

static nb::ndarray<nb::numpy, std::int32_t> gemm(CMatrix<std::uint64_t> a,
                                                 CMatrix<std::uint64_t> b, std::size_t k,
                                                 const std::string &path) {
  check_operands(a, b, k, "binary_gemm");
  const Path p = parse_path(path);
  const std::size_t m = a.shape(0), n = b.shape(0);
  auto c = new_array<std::int32_t>({m, n});
  nb::gil_scoped_release release;
  binary_gemm_words(a.data(), m, b.data(), n, a.shape(1), k, c.data(), p);
  return c;
}

static nb::ndarray<nb::numpy, std::int32_t> gemm_reference(CMatrix<std::uint64_t> a,
                                                           CMatrix<std::uint64_t> b,
                                                           std::size_t k) {
  check_operands(a, b, k, "binary_gemm_reference");
  const std::size_t m = a.shape(0), n = b.shape(0);
  auto c = new_array<std::int32_t>({m, n});
  nb::gil_scoped_release release;
  if (a.shape(1) != words_for(k))
    throw std::invalid_argument("binary_gemm_reference: rows must be ceil(k / 64) words");
  binary_gemm_reference(a.data(), m, b.data(), n, k, c.data());
  return c;
}

void bind_binary_gemm(nb::module_ &m) {
  m.def("binary_gemm", &gemm, "a"_a, "b"_a, "k"_a, "path"_a = "auto",
        "C = K - 2 popcount(A_i XOR B_j) as int32 [m, n] from sign-packed rows.");
  m.def("binary_gemm_reference", &gemm_reference, "a"_a, "b"_a, "k"_a);
}

}  // namespace hwnn
