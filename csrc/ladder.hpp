// The deck's CPU speed-ups as an optimization ladder for C = A x B in float32.
//
// Every rung computes the same product: A is m x k, B is k x n, C is m x n, all row-major and
// contiguous; C is overwritten. Each rung changes one thing relative to the rung below it, so
// the measured GFLOP/s show what each technique from the deck's CPU slides is worth:
//
//   naive       i-j-k triple loop: the textbook dot-product form
//   loop_order  i-k-j: the inner loop walks B and C along rows (memory locality)
//   blocked     i-k-j on tiles that stay in cache (cache blocking)
//   unrolled    blocked, with a 4 x 8 tile of C held in registers as independent accumulators
//               (the deck's c0..c3: loop unrolling + multiple accumulators)
//   simd        packed panels and an FMA micro-kernel (AVX2 6x16, or AVX-512 12x32); B that
//               fits in L2 is read in place instead, 4 rows of C at a time
//   threads     the simd rung with its row blocks spread over OpenMP threads
//
// The SIMD kernels are compiled per function with target attributes and chosen at run time
// from cpu_features(); nothing here needs -march=native.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hwnn::ladder {

void gemm_naive(const float *a, const float *b, float *c, std::size_t m, std::size_t n,
                std::size_t k);
void gemm_loop_order(const float *a, const float *b, float *c, std::size_t m, std::size_t n,
                     std::size_t k);
void gemm_blocked(const float *a, const float *b, float *c, std::size_t m, std::size_t n,
                  std::size_t k);
void gemm_unrolled(const float *a, const float *b, float *c, std::size_t m, std::size_t n,
                   std::size_t k);

// How the SIMD rungs read B: packed into panels (large B), or in place, 4 rows of C at a
// time (B that fits in half of L2, or A with fewer rows than the micro-kernel). Auto picks.
enum class BLayout { Auto, Packed, InPlace };

// SIMD rungs. `isa` is "avx2" or "avx512"; throws std::invalid_argument for an unknown name
// and std::runtime_error when this CPU lacks the instructions. threads <= 1 runs on the
// calling thread only.
void gemm_simd(const char *isa, const float *a, const float *b, float *c, std::size_t m,
               std::size_t n, std::size_t k, int threads, BLayout layout = BLayout::Auto);
bool simd_available(const char *isa);
// The widest SIMD rung this CPU runs ("avx512", "avx2" or "" when neither).
const char *best_simd();

// Peak float throughput of one core for `isa` ("avx2" or "avx512"): independent FMA chains
// in registers, timed for `iterations` loop trips. Returns GFLOP/s (1 FMA = 2 flops).
double fma_peak_gflops(const char *isa, std::size_t iterations);

// The deck's Fig. 5 binarized multiply, rebuilt (ladder_binary.cpp). A is n x kw words
// (row i of A packed along k), B is kw x m words (column j of B packed along k, word-major as
// in the figure), C is n x m counts of differing bits: C[i][j] = sum_w popcount(A[i][w] ^
// B[w][j]). The dot product of the +-1 vectors is then k - 2 * C[i][j] (DESIGN.md).
void binary_gemm_fig5(const std::uint64_t *a, const std::uint64_t *b, std::int32_t *c,
                      std::size_t n, std::size_t m, std::size_t kw, int threads);
void binary_gemm_fig5_reference(const std::uint64_t *a, const std::uint64_t *b, std::int32_t *c,
                                std::size_t n, std::size_t m, std::size_t kw);

}  // namespace hwnn::ladder
