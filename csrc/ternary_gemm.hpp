// Ternary GEMM on two bit-planes per operand (values in {-1, 0, +1}):
//     nz  bit i set: element i is nonzero;  neg bit i set: element i is -1.
//     dot(a, b) = popcount(m) - 2 popcount(m AND (neg_a XOR neg_b)),  m = nz_a AND nz_b
// (both nonzero and equal signs: +1; both nonzero and different: -1; else 0). Layout as
// the binary GEMM: [rows, ceil(k / 64)] uint64 per plane, padding bits zero. TWN (Li et al.
// 2016) and TTQ (Zhu et al. 2017) weights; with ternary activations the whole layer is
// logic and popcount (Alemdar et al. 2017, "Ternary neural networks").
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel_path.hpp"

namespace hwnn {

void ternary_gemm_reference(const std::uint64_t *a_nz, const std::uint64_t *a_neg, std::size_t m,
                            const std::uint64_t *b_nz, const std::uint64_t *b_neg, std::size_t n,
                            std::size_t k, std::int32_t *c);

Path ternary_gemm(const std::uint64_t *a_nz, const std::uint64_t *a_neg, std::size_t m,
                  const std::uint64_t *b_nz, const std::uint64_t *b_neg, std::size_t n,
                  std::size_t k, std::int32_t *c, Path path = Path::Auto);

}  // namespace hwnn
