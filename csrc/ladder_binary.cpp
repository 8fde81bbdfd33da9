// The deck's Fig. 5, "CPU implementation of binarized matrix multiply (C = A x B)", rebuilt
// line for line so the report can set it beside hwnn's optimized binary GEMM.
//
// Names follow the figure: A is n x k words (row i of A, packed along the reduction axis),
// B is k x m words (word p of column j at B[p * m + j]), C is n x m. The figure's outer loops
// walk blocks of fBlkI rows, fBlkJ columns and fBlkK words; each block of B is first copied
// transposed into bt[jj][kk] so that the inner loop reads it with unit stride; the innermost
// tile is 4 rows x 2 columns of C held in eight accumulators ct_00..ct_31, each fed by
// popcnt(a ^ b). The figure leaves block edges out (it assumes sizes are multiples of the
// blocks); the edges here fall back to one accumulator per output.
#include <algorithm>
#include <cstdint>

#include "cpu_features.hpp"
#include "ladder.hpp"

namespace hwnn::ladder {

using std::size_t;
using std::uint64_t;

namespace {

// The figure's block sizes: fBlkI x fBlkJ outputs per block over fBlkK words of k; the
// transposed tile bt is fBlkJ x fBlkK words (32 KiB, one L1); fBlkII x fBlkJJ = 4 x 2 register
// tile; fBlkKK words per trip of the accumulator loop.
constexpr size_t fBlkI = 64, fBlkJ = 64, fBlkK = 64;
constexpr size_t fBlkII = 4, fBlkJJ = 2, fBlkKK = 16;

// always_inline so the popcounts compile to the POPCNT instruction inside the targeted
// block function below and to a portable bit count in the generic one.
__attribute__((always_inline)) inline int popcnt(uint64_t x) { return __builtin_popcountll(x); }

// One fBlkI-row block of C over all columns: the body of the figure's `omp parallel for`.
__attribute__((always_inline)) inline void fig5_block(const uint64_t *A, const uint64_t *B,
                                                      std::int32_t *C, size_t n, size_t m,
                                                      size_t k, size_t i) {
  alignas(64) uint64_t bt[fBlkJ][fBlkK];
  const size_t iN = std::min(fBlkI, n - i);
  for (size_t j = 0; j < m; j += fBlkJ) {
    const size_t jN = std::min(fBlkJ, m - j);
    for (size_t kb = 0; kb < k; kb += fBlkK) {  // the figure's k block index
      const size_t kN = std::min(fBlkK, k - kb);
      for (size_t jj = 0; jj < jN; jj++)
        for (size_t kk = 0; kk < kN; kk++) bt[jj][kk] = B[(kb + kk) * m + j + jj];
      for (size_t ii = 0; ii < iN; ii += fBlkII)
        for (size_t jj = 0; jj < jN; jj += fBlkJJ) {
          if (ii + fBlkII > iN || jj + fBlkJJ > jN) {  // ragged edge: one output at a time
            for (size_t r = ii; r < std::min(ii + fBlkII, iN); ++r)
              for (size_t s = jj; s < std::min(jj + fBlkJJ, jN); ++s) {
                std::int32_t acc = C[(i + r) * m + j + s];
                for (size_t kk = 0; kk < kN; ++kk) acc += popcnt(A[(i + r) * k + kb + kk] ^ bt[s][kk]);
                C[(i + r) * m + j + s] = acc;
              }
            continue;
          }
          for (size_t kk = 0; kk < kN; kk += fBlkKK) {
            const size_t kkN = std::min(fBlkKK, kN - kk);
            std::int32_t ct_00 = C[(i + ii + 0) * m + j + jj + 0], ct_01 = C[(i + ii + 0) * m + j + jj + 1];
            std::int32_t ct_10 = C[(i + ii + 1) * m + j + jj + 0], ct_11 = C[(i + ii + 1) * m + j + jj + 1];
            std::int32_t ct_20 = C[(i + ii + 2) * m + j + jj + 0], ct_21 = C[(i + ii + 2) * m + j + jj + 1];
            std::int32_t ct_30 = C[(i + ii + 3) * m + j + jj + 0], ct_31 = C[(i + ii + 3) * m + j + jj + 1];
            const uint64_t *a0 = A + (i + ii + 0) * k + kb + kk, *a1 = A + (i + ii + 1) * k + kb + kk;
            const uint64_t *a2 = A + (i + ii + 2) * k + kb + kk, *a3 = A + (i + ii + 3) * k + kb + kk;
            for (size_t kkk = 0; kkk < kkN; kkk++) {
              const uint64_t b0 = bt[jj + 0][kk + kkk], b1 = bt[jj + 1][kk + kkk];
              ct_00 += popcnt(a0[kkk] ^ b0);
              ct_01 += popcnt(a0[kkk] ^ b1);
              ct_10 += popcnt(a1[kkk] ^ b0);
              ct_11 += popcnt(a1[kkk] ^ b1);
              ct_20 += popcnt(a2[kkk] ^ b0);
              ct_21 += popcnt(a2[kkk] ^ b1);
              ct_30 += popcnt(a3[kkk] ^ b0);
              ct_31 += popcnt(a3[kkk] ^ b1);
            }
            C[(i + ii + 0) * m + j + jj + 0] = ct_00; C[(i + ii + 0) * m + j + jj + 1] = ct_01;
            C[(i + ii + 1) * m + j + jj + 0] = ct_10; C[(i + ii + 1) * m + j + jj + 1] = ct_11;
            C[(i + ii + 2) * m + j + jj + 0] = ct_20; C[(i + ii + 2) * m + j + jj + 1] = ct_21;
            C[(i + ii + 3) * m + j + jj + 0] = ct_30; C[(i + ii + 3) * m + j + jj + 1] = ct_31;
          }
        }
    }
  }
}

__attribute__((target("popcnt"))) void fig5_block_popcnt(const uint64_t *A, const uint64_t *B,
                                                          std::int32_t *C, size_t n, size_t m,
                                                          size_t k, size_t i) {
  fig5_block(A, B, C, n, m, k, i);
}

void fig5_block_generic(const uint64_t *A, const uint64_t *B, std::int32_t *C, size_t n,
                        size_t m, size_t k, size_t i) {
  fig5_block(A, B, C, n, m, k, i);
}

// Bit-by-bit count: the reference shares no instruction with the fast path.
int popcount_reference(uint64_t v) {
  int count = 0;
  for (; v != 0; v >>= 1) count += static_cast<int>(v & 1u);
  return count;
}

}  // namespace

void binary_gemm_fig5(const uint64_t *a, const uint64_t *b, std::int32_t *c, size_t n, size_t m,
                      size_t kw, int threads) {
  std::fill(c, c + n * m, 0);
  const bool hw = cpu_features().popcnt;
  const long blocks = static_cast<long>((n + fBlkI - 1) / fBlkI);
  threads = std::max(threads, 1);
#ifdef HWNN_HAVE_OPENMP
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
#endif
  for (long blk = 0; blk < blocks; ++blk) {
    const size_t i = static_cast<size_t>(blk) * fBlkI;
    if (hw)
      fig5_block_popcnt(a, b, c, n, m, kw, i);
    else
      fig5_block_generic(a, b, c, n, m, kw, i);
  }
}

void binary_gemm_fig5_reference(const uint64_t *a, const uint64_t *b, std::int32_t *c, size_t n,
                                size_t m, size_t kw) {
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < m; ++j) {
      std::int32_t differing = 0;
      for (size_t p = 0; p < kw; ++p) differing += popcount_reference(a[i * kw + p] ^ b[p * m + j]);
      c[i * m + j] = differing;
    }
}

}  // namespace hwnn::ladder
