// Walks a GEMM output [m, n] in register tiles, blocked over columns so that a block of
// B rows stays in L2 while every row tile of A streams past it, with OpenMP threads
// splitting the (column block, row tile) pairs statically.
#pragma once

#include <algorithm>
#include <cstddef>

#include "kernel_path.hpp"

namespace hwnn {

// Columns per block: about `budget` bytes of B rows of `row_bytes` each, a multiple of nr,
// and small enough that every thread gets at least one block when m is small.
inline std::size_t block_columns(std::size_t n, std::size_t nr, std::size_t row_bytes,
                                 int threads, std::size_t budget = 256 * 1024) {
  std::size_t cols = std::max<std::size_t>(nr, budget / std::max<std::size_t>(row_bytes, 1));
  const std::size_t per_thread = (n + threads - 1) / threads;
  cols = std::min(cols, std::max<std::size_t>(per_thread, nr));
  return (cols + nr - 1) / nr * nr;
}

// tile(i0, rows, j0, cols) computes output rows [i0, i0+rows) x columns [j0, j0+cols).
template <class Tile>
void for_each_tile(std::size_t m, std::size_t n, std::size_t mr, std::size_t nr,
                   std::size_t row_bytes, Tile &&tile) {
  if (m == 0 || n == 0) return;
  const int threads = kernel_threads();
  const std::size_t bc = block_columns(n, nr, row_bytes, threads);
  const std::size_t row_tiles = (m + mr - 1) / mr, blocks = (n + bc - 1) / bc;
  const long long total = static_cast<long long>(row_tiles * blocks);
  // Threads only pay above ~50 us of work: waking a team costs microseconds, and a batch-1
  // layer of a small MLP would be slower on two threads than on one.
  const bool parallel = threads > 1 && total > 1 && m * n * row_bytes >= (std::size_t{1} << 22);
  auto body = [&](long long t) {
    const std::size_t jb = static_cast<std::size_t>(t) / row_tiles;
    const std::size_t i0 = static_cast<std::size_t>(t) % row_tiles * mr;
    const std::size_t rows = std::min(mr, m - i0), jend = std::min(n, (jb + 1) * bc);
    for (std::size_t j0 = jb * bc; j0 < jend; j0 += nr)
      tile(i0, rows, j0, std::min(nr, jend - j0));
  };
  if (!parallel) {  // not even a one-thread team: entering OpenMP costs ~0.1 us per call
    for (long long t = 0; t < total; ++t) body(t);
    return;
  }
#ifdef HWNN_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
  for (long long t = 0; t < total; ++t) body(t);
}

// A [R][C] table of tile functions, indexed by the actual tile size (edges use smaller ones).
template <class Fn, template <int, int> class Make, int R, int C>
struct TileTable {
  Fn fn[R][C];
  constexpr TileTable() : fn() { fill<R, C>(); }

 private:
  template <int r, int c>
  constexpr void fill() {
    fn[r - 1][c - 1] = Make<r, c>::fn;
    if constexpr (c > 1) fill<r, c - 1>();
    else if constexpr (r > 1) fill<r - 1, C>();
  }
};

}  // namespace hwnn
