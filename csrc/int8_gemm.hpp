// int8 GEMM: C[i][j] = sum_k A[i][k] B[j][k], int8 operands, exact int32 result.
// A is [m, k] and B is [n, k] int8 (row-major); C is [m, n] int32 (Jacob et al. 2018,
// "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
// Inference"). Exact for every int8 value: the fast paths split or offset operands so no
// 16-bit intermediate saturates (see int8_gemm.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel_path.hpp"

namespace hwnn {

void int8_gemm_reference(const std::int8_t *a, std::size_t m, const std::int8_t *b, std::size_t n,
                         std::size_t k, std::int32_t *c);

Path int8_gemm(const std::int8_t *a, std::size_t m, const std::int8_t *b, std::size_t n,
               std::size_t k, std::int32_t *c, Path path = Path::Auto);

// uint8 A (unsigned activations, e.g. post-ReLU quantized to [0, 255]) times int8 B.
void u8s8_gemm_reference(const std::uint8_t *a, std::size_t m, const std::int8_t *b,
                         std::size_t n, std::size_t k, std::int32_t *c);
Path u8s8_gemm(const std::uint8_t *a, std::size_t m, const std::int8_t *b, std::size_t n,
               std::size_t k, std::int32_t *c, Path path = Path::Auto);

}  // namespace hwnn
