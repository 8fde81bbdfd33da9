// int8 GEMM: C[i][j] = sum_k A[i][k] B[j][k], int8 operands, exact int32 result.
// A is [m, k] and B is [n, k] int8 (row-major); C is [m, n] int32 (Jacob et al. 2018,
// "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
// Inference"). Exact for every int8 value: the fast paths split or offset operands so no
// 16-bit intermediate saturates (see int8_gemm.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

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

// True when every byte is below 128 (int8 codes: none negative).
bool all_below_128(const std::uint8_t *a, std::size_t count);

// A's m rows of k bytes XOR `flip` (0x80 offsets int8 to uint8) as rows of whole 4-byte
// groups, (k + 3) / 4 * 4 bytes apart, in `scratch` (grown as needed; bytes past k are left
// as they are, as they meet zero weights). Returns scratch.data().
const std::uint8_t *group_rows(const std::uint8_t *a, std::size_t m, std::size_t k,
                               std::uint8_t flip, std::vector<std::uint8_t> &scratch);

// C = A B^T on B packed ahead of time into VPDPBUSD panels: panel p (columns 16p..16p+15)
// starts at panels + p * panel_bytes and holds, for each group q of 4 inputs, 64 bytes
// [16 columns][4 bytes], zero past n and k. A is uint8, rows of lda >= 4 * groups bytes;
// corr (n rounded up to 16 entries, or null) is subtracted per column. Needs AVX-512 VNNI
// (path_supported(Family::Int8, Path::Avx512)): the deployment engine's batched layers.
// With `amx`, 2 rows and up run as AMX tile products where the CPU and OS allow them and
// one kernel thread is set (cpu_features().amx_int8); the results are the same integers.
void u8_gemm_panels(const std::uint8_t *a, std::size_t m, std::size_t lda,
                    const std::int8_t *panels, std::size_t panel_bytes, std::size_t n,
                    std::size_t groups, const std::int32_t *corr, std::int32_t *c,
                    bool amx = false);

// A convolution as an implicit GEMM on the same kind of panels (its weights laid out with
// each (channel, kernel row) segment zero-extended to 8 bytes, so a 4-byte group never
// straddles two segments): output pixel (y, x) reads group q at
// image + (y wp + x) stride + goff[q] of a zero-bordered uint8 image with `wp` columns (and
// 8 bytes of slack past its end). c: [ho wo, n] int32. Needs AVX-512 VNNI.
void u8_conv_panels(const std::uint8_t *image, std::size_t wp, std::size_t stride,
                    std::size_t ho, std::size_t wo, const std::int32_t *goff,
                    const std::int8_t *panels, std::size_t panel_bytes, std::size_t n,
                    std::size_t groups, const std::int32_t *corr, std::int32_t *c);

}  // namespace hwnn
