// Binary GEMM on sign-packed operands (DESIGN.md bit order):
//     C[i][j] = sum_k sign(A[i][k]) sign(B[j][k]) = K - 2 popcount(A_i XOR B_j)
// A is [m, words] and B is [n, words] uint64 (row-major, words = ceil(k / 64), padding bits
// zero); C is [m, n] int32. The deck's Fig. 5 (XNOR-popcount), Courbariaux et al. 2016.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel_path.hpp"

namespace hwnn {

void binary_gemm_reference(const std::uint64_t *a, std::size_t m, const std::uint64_t *b,
                           std::size_t n, std::size_t k, std::int32_t *c);

// Register-tiled, column-blocked, OpenMP-threaded; `path` as in kernel_path.hpp.
// Returns the path it took.
Path binary_gemm(const std::uint64_t *a, std::size_t m, const std::uint64_t *b, std::size_t n,
                 std::size_t k, std::int32_t *c, Path path = Path::Auto);

// As binary_gemm, but rows are `words` long and C = k - 2 popcount(...): for operands
// built from several packed pieces (binary_conv2d's im2col), where k counts true bits only.
Path binary_gemm_words(const std::uint64_t *a, std::size_t m, const std::uint64_t *b,
                       std::size_t n, std::size_t words, std::size_t k, std::int32_t *c,
                       Path path = Path::Auto);

// B packed ahead of time for the AVX-512 path (the deployment engine's batched layers):
// panels of 8 rows, binary_panel_stride(words) words apart, in which each 64-byte line
// holds one word of those 8 rows; zero past n. Size: ceil(n / 8) * stride words, zeroed.
std::size_t binary_panel_stride(std::size_t words);
void pack_b_panels(const std::uint64_t *b, std::size_t n, std::size_t words, std::size_t stride,
                   std::uint64_t *bp);
// C = k - 2 popcount(A_i XOR B_j) on such panels, A rows `words` long. Needs AVX-512
// VPOPCNTDQ (path_supported(Family::Binary, Path::Avx512)).
void binary_gemm_panels(const std::uint64_t *a, std::size_t m, const std::uint64_t *bp,
                        std::size_t n, std::size_t words, std::size_t k, std::int32_t *c);

}  // namespace hwnn
