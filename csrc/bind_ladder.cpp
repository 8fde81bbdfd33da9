// Python bindings of the optimization ladder (ladder.hpp). Friendly argument checks live in
// hwnn.ladder; these enforce dtypes, shapes and the names of rungs.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <stdexcept>
#include <string>

#include "array_util.hpp"
#include "bindings.hpp"
#include "ladder.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace hwnn {

namespace {

using FloatMatrix = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using WordMatrix = nb::ndarray<const std::uint64_t, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

// C = A x B with the named rung: naive, loop_order, blocked, unrolled, avx2 or avx512.
nb::ndarray<nb::numpy, float> ladder_gemm(FloatMatrix a, FloatMatrix b, const std::string &rung,
                                          int threads, const std::string &layout) {
  const std::size_t m = a.shape(0), k = a.shape(1), n = b.shape(1);
  if (b.shape(0) != k) throw std::invalid_argument("ladder_gemm: a is [m, k], b must be [k, n]");
  auto c = new_array<float>({m, n});
  if (rung == "avx2" || rung == "avx512") {
    if (!ladder::simd_available(rung.c_str()))
      throw std::runtime_error("ladder_gemm: this CPU cannot run the " + rung + " rung");
    const ladder::BLayout lay = layout == "packed"     ? ladder::BLayout::Packed
                                : layout == "in_place" ? ladder::BLayout::InPlace
                                : layout == "auto"     ? ladder::BLayout::Auto
                                  : throw std::invalid_argument(
                                        "ladder_gemm: layout must be auto, packed or in_place");
    nb::gil_scoped_release release;
    ladder::gemm_simd(rung.c_str(), a.data(), b.data(), c.data(), m, n, k, threads, lay);
    return c;
  }
  void (*fn)(const float *, const float *, float *, std::size_t, std::size_t, std::size_t) =
      rung == "naive"        ? ladder::gemm_naive
      : rung == "loop_order" ? ladder::gemm_loop_order
      : rung == "blocked"    ? ladder::gemm_blocked
      : rung == "unrolled"   ? ladder::gemm_unrolled
                             : nullptr;
  if (fn == nullptr) throw std::invalid_argument("ladder_gemm: unknown rung '" + rung + "'");
  nb::gil_scoped_release release;
  fn(a.data(), b.data(), c.data(), m, n, k);
  return c;
}

// Fig. 5: a is [n, kw] words, b is [kw, m] words (the figure's layout); counts of differing
// bits, int32 [n, m].
nb::ndarray<nb::numpy, std::int32_t> fig5(WordMatrix a, WordMatrix b, int threads,
                                          bool reference) {
  const std::size_t n = a.shape(0), kw = a.shape(1), m = b.shape(1);
  if (b.shape(0) != kw)
    throw std::invalid_argument("binary_gemm_fig5: a is [n, kw] words, b must be [kw, m]");
  auto c = new_array<std::int32_t>({n, m});
  nb::gil_scoped_release release;
  if (reference)
    ladder::binary_gemm_fig5_reference(a.data(), b.data(), c.data(), n, m, kw);
  else
    ladder::binary_gemm_fig5(a.data(), b.data(), c.data(), n, m, kw, threads);
  return c;
}

double fma_peak(const std::string &isa, std::size_t iterations) {
  if (!ladder::simd_available(isa.c_str()))
    throw std::runtime_error("ladder_fma_peak: this CPU cannot run " + isa);
  nb::gil_scoped_release release;
  return ladder::fma_peak_gflops(isa.c_str(), iterations);
}

}  // namespace

void bind_ladder(nb::module_ &m) {
  m.def("ladder_gemm", &ladder_gemm, "a"_a, "b"_a, "rung"_a, "threads"_a = 1,
        "layout"_a = "auto",
        "C = A x B (float32) with one rung of the optimization ladder; `layout` (auto, packed, "
        "in_place) says how the SIMD rungs read B.");
  m.def("ladder_simd_available",
        [](const std::string &isa) { return ladder::simd_available(isa.c_str()); }, "isa"_a);
  m.def("ladder_best_simd", [] { return std::string(ladder::best_simd()); });
  m.def("ladder_fma_peak", &fma_peak, "isa"_a, "iterations"_a,
        "GFLOP/s of an FMA-only loop on one core (1 FMA = 2 flops).");
  m.def("binary_gemm_fig5",
        [](WordMatrix a, WordMatrix b, int threads) { return fig5(a, b, threads, false); }, "a"_a,
        "b"_a, "threads"_a = 1);
  m.def("binary_gemm_fig5_reference",
        [](WordMatrix a, WordMatrix b) { return fig5(a, b, 1, true); }, "a"_a, "b"_a);
}

}  // namespace hwnn
