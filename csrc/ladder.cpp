#include "ladder.hpp"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "cpu_features.hpp"

#ifdef HWNN_HAVE_OPENMP
#include <omp.h>
#endif

namespace hwnn::ladder {

using std::size_t;

namespace {

void zero(float *c, size_t count) { std::memset(c, 0, count * sizeof(float)); }

}  // namespace

// ---------------------------------------------------------------- rung 1: naive i-j-k

// The textbook form: C[i][j] is one dot product of row i of A and column j of B. Walking a
// column of B jumps n floats per step, so nearly every B load misses the cache line it needs.
void gemm_naive(const float *a, const float *b, float *c, size_t m, size_t n, size_t k) {
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (size_t p = 0; p < k; ++p) sum += a[i * k + p] * b[p * n + j];
      c[i * n + j] = sum;
    }
}

// ---------------------------------------------------------------- rung 2: loop order i-k-j

// Same arithmetic, loops swapped so the inner loop walks a row of B and a row of C with unit
// stride: every cache line fetched is used in full, and the compiler can vectorize the inner
// loop (with SSE2, the x86-64 baseline). B is still streamed from memory once per row of C.
void gemm_loop_order(const float *a, const float *b, float *c, size_t m, size_t n, size_t k) {
  zero(c, m * n);
  for (size_t i = 0; i < m; ++i)
    for (size_t p = 0; p < k; ++p) {
      const float aip = a[i * k + p];
      for (size_t j = 0; j < n; ++j) c[i * n + j] += aip * b[p * n + j];
    }
}

// ---------------------------------------------------------------- rung 3: cache blocking

// Tile sizes for rungs 3 and 4: a KB x NB tile of B (256 KiB) stays in L2 while MB rows of
// C use it, and one NB-wide row of C (4 KiB) stays in L1 across the KB updates it receives.
// NB is long so that the inner loop's start-up cost is spread over many iterations.
constexpr size_t kBlockM = 64, kBlockK = 64, kBlockN = 1024;

// i-k-j inside tiles: each B tile is loaded from memory once per MB rows instead of once per
// row, so the inner loop reads from cache rather than from DRAM/L3.
void gemm_blocked(const float *a, const float *b, float *c, size_t m, size_t n, size_t k) {
  zero(c, m * n);
  for (size_t i0 = 0; i0 < m; i0 += kBlockM)
    for (size_t p0 = 0; p0 < k; p0 += kBlockK)
      for (size_t j0 = 0; j0 < n; j0 += kBlockN) {
        const size_t i1 = std::min(i0 + kBlockM, m), p1 = std::min(p0 + kBlockK, k);
        const size_t j1 = std::min(j0 + kBlockN, n);
        for (size_t i = i0; i < i1; ++i)
          for (size_t p = p0; p < p1; ++p) {
            const float aip = a[i * k + p];
            for (size_t j = j0; j < j1; ++j) c[i * n + j] += aip * b[p * n + j];
          }
      }
}

// ---------------------------------------------------------------- rung 4: unrolled, c0..c3

namespace {

// Four floats the compiler keeps in one SSE register (GCC/Clang vector extension). Spelled
// out because compilers do not keep 32 scalar accumulators in 16 registers: they spill them.
typedef float f4 __attribute__((vector_size(16)));

inline f4 load4(const float *p) {
  f4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store4(float *p, f4 v) { std::memcpy(p, &v, sizeof v); }

// A 4 x 8 tile of C accumulated over a whole K tile in registers: rows c0..c3 are the deck's
// multiple accumulators, and the k loop is unrolled across them. Each B load now feeds four
// multiply-adds instead of one, C is read and written once per K tile instead of once per k,
// and the eight accumulators are independent, so the adds pipeline instead of waiting on
// each other.
// noinline keeps each tile a small function the compiler allocates registers for on its own.
__attribute__((noinline)) void tile_4x8(const float *a, const float *b, float *c, size_t n,
                                        size_t k, size_t p0, size_t p1) {
  f4 c0l = load4(c), c0h = load4(c + 4), c1l = load4(c + n), c1h = load4(c + n + 4);
  f4 c2l = load4(c + 2 * n), c2h = load4(c + 2 * n + 4);
  f4 c3l = load4(c + 3 * n), c3h = load4(c + 3 * n + 4);
  for (size_t p = p0; p < p1; ++p) {
    const f4 bl = load4(b + p * n), bh = load4(b + p * n + 4);
    const float a0 = a[p], a1 = a[k + p], a2 = a[2 * k + p], a3 = a[3 * k + p];
    c0l += a0 * bl;
    c0h += a0 * bh;
    c1l += a1 * bl;
    c1h += a1 * bh;
    c2l += a2 * bl;
    c2h += a2 * bh;
    c3l += a3 * bl;
    c3h += a3 * bh;
  }
  store4(c, c0l);
  store4(c + 4, c0h);
  store4(c + n, c1l);
  store4(c + n + 4, c1h);
  store4(c + 2 * n, c2l);
  store4(c + 2 * n + 4, c2h);
  store4(c + 3 * n, c3l);
  store4(c + 3 * n + 4, c3h);
}

// Ragged edge tiles (fewer than 4 rows or 8 columns) take the plain i-k-j loop.
__attribute__((noinline)) void tile_edge(const float *a, const float *b, float *c, size_t n,
                                         size_t k, size_t rows, size_t cols, size_t p0,
                                         size_t p1) {
  for (size_t i = 0; i < rows; ++i)
    for (size_t p = p0; p < p1; ++p) {
      const float aip = a[i * k + p];
      for (size_t j = 0; j < cols; ++j) c[i * n + j] += aip * b[p * n + j];
    }
}

}  // namespace

// Same tiles as rung 3; inside a tile, 8-column strips of B (KB cache lines, in L1) are
// reused by every 4-row group of A before moving on.
void gemm_unrolled(const float *a, const float *b, float *c, size_t m, size_t n, size_t k) {
  zero(c, m * n);
  for (size_t i0 = 0; i0 < m; i0 += kBlockM)
    for (size_t p0 = 0; p0 < k; p0 += kBlockK)
      for (size_t j0 = 0; j0 < n; j0 += kBlockN) {
        const size_t i1 = std::min(i0 + kBlockM, m), p1 = std::min(p0 + kBlockK, k);
        const size_t j1 = std::min(j0 + kBlockN, n);
        for (size_t j = j0; j < j1; j += 8)
          for (size_t i = i0; i < i1; i += 4) {
            const size_t rows = std::min<size_t>(4, i1 - i), cols = std::min<size_t>(8, j1 - j);
            float *cij = c + i * n + j;
            if (rows == 4 && cols == 8)
              tile_4x8(a + i * k, b + j, cij, n, k, p0, p1);
            else
              tile_edge(a + i * k, b + j, cij, n, k, rows, cols, p0, p1);
          }
      }
}

namespace {

// ---------------------------------------------------------------- rungs 5-6: SIMD, packed

// Buffers aligned to a cache line so packed panels never split a vector load across lines.
struct AlignedFloats {
  explicit AlignedFloats(size_t count)
      : data(static_cast<float *>(std::aligned_alloc(64, ((count * 4 + 63) / 64) * 64 + 64))) {
    if (data == nullptr) throw std::bad_alloc();
  }
  ~AlignedFloats() { std::free(data); }
  AlignedFloats(const AlignedFloats &) = delete;
  AlignedFloats &operator=(const AlignedFloats &) = delete;
  float *data;
};

// A micro-kernel adds the MR x NR product of one packed A panel (kc steps of MR values) and
// one packed B panel (kc steps of NR values) into C (row stride ldc).
using MicroKernel = void (*)(size_t kc, const float *a, const float *b, float *c, size_t ldc);

// C = A B straight from unpacked B, on `threads` threads (see in_place below).
using RowsKernel = void (*)(const float *a, const float *b, float *c, size_t m, size_t n,
                            size_t k, int threads);

struct KernelShape {
  size_t mr, nr;     // register tile
  size_t mc, kc;     // cache blocks: A block mc x kc in L2, B panel kc x nr in L1
  MicroKernel kernel;
  RowsKernel in_place;
};

// AVX2: 6 rows x 16 columns = 12 ymm accumulators, 2 B vectors and 1 broadcast (15 of 16
// registers). Per k step: 2 loads and 6 broadcasts feed 12 FMAs, enough independent FMAs to
// keep both FMA ports busy through their 4-5 cycle latency.
__attribute__((target("avx2,fma"))) void kernel_avx2_6x16(size_t kc, const float *a,
                                                          const float *b, float *c, size_t ldc) {
  __m256 acc[6][2];
#pragma GCC unroll 6
  for (int r = 0; r < 6; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (size_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < 6; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
    }
    a += 6;
    b += 16;
  }
#pragma GCC unroll 6
  for (int r = 0; r < 6; ++r) {
    float *cr = c + r * ldc;
    _mm256_storeu_ps(cr, _mm256_add_ps(_mm256_loadu_ps(cr), acc[r][0]));
    _mm256_storeu_ps(cr + 8, _mm256_add_ps(_mm256_loadu_ps(cr + 8), acc[r][1]));
  }
}

// AVX-512: 12 rows x 32 columns = 24 zmm accumulators out of 32 registers; each B vector is
// reused 12 times and each broadcast twice.
__attribute__((target("avx512f,fma"))) void kernel_avx512_12x32(size_t kc, const float *a,
                                                                const float *b, float *c,
                                                                size_t ldc) {
  __m512 acc[12][2];
#pragma GCC unroll 12
  for (int r = 0; r < 12; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (size_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
    for (int r = 0; r < 12; ++r) {
      const __m512 ar = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
    }
    a += 12;
    b += 32;
  }
#pragma GCC unroll 12
  for (int r = 0; r < 12; ++r) {
    float *cr = c + r * ldc;
    _mm512_storeu_ps(cr, _mm512_add_ps(_mm512_loadu_ps(cr), acc[r][0]));
    _mm512_storeu_ps(cr + 16, _mm512_add_ps(_mm512_loadu_ps(cr + 16), acc[r][1]));
  }
}

// Small B, or a batch of a few inputs: when B fits in L2 it can be read in place as often as
// needed, and when A has fewer rows than MR the micro-kernel would spend most of its FMAs on
// padding; either way packing B costs more than it saves. Instead 4 rows of C at a time are
// built in registers from B read in place: each B vector loaded feeds R FMAs (a GEMV when
// R = 1). The last columns use masked loads and stores, which never touch memory past the row.
template <int R>
__attribute__((target("avx2,fma"))) void rows_avx2(const float *a, size_t lda, const float *b,
                                                   float *c, size_t n, size_t k) {
  const size_t full = n / 16 * 16;
  for (size_t j = 0; j < full; j += 16) {
    __m256 acc[R][2];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (size_t p = 0; p < k; ++p) {
      const __m256 b0 = _mm256_loadu_ps(b + p * n + j), b1 = _mm256_loadu_ps(b + p * n + j + 8);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m256 ar = _mm256_broadcast_ss(a + r * lda + p);
        acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      _mm256_storeu_ps(c + r * n + j, acc[r][0]);
      _mm256_storeu_ps(c + r * n + j + 8, acc[r][1]);
    }
  }
  for (size_t j = full; j < n; j += 8) {  // the last n % 16 columns, 8 lanes at a time
    const int live = static_cast<int>(std::min<size_t>(8, n - j));
    const __m256i mask =
        _mm256_cmpgt_epi32(_mm256_set1_epi32(live), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 acc[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    for (size_t p = 0; p < k; ++p) {
      const __m256 bv = _mm256_maskload_ps(b + p * n + j, mask);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r)
        acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(a + r * lda + p), bv, acc[r]);
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) _mm256_maskstore_ps(c + r * n + j, mask, acc[r]);
  }
}

template <int R>
__attribute__((target("avx512f,fma"))) void rows_avx512(const float *a, size_t lda,
                                                        const float *b, float *c, size_t n,
                                                        size_t k) {
  const size_t full = n / 64 * 64;
  for (size_t j = 0; j < full; j += 64) {
    __m512 acc[R][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v) acc[r][v] = _mm512_setzero_ps();
    for (size_t p = 0; p < k; ++p) {
      const float *bp = b + p * n + j;
      const __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
      const __m512 b2 = _mm512_loadu_ps(bp + 32), b3 = _mm512_loadu_ps(bp + 48);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m512 ar = _mm512_set1_ps(a[r * lda + p]);
        acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
        acc[r][2] = _mm512_fmadd_ps(ar, b2, acc[r][2]);
        acc[r][3] = _mm512_fmadd_ps(ar, b3, acc[r][3]);
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v) _mm512_storeu_ps(c + r * n + j + 16 * v, acc[r][v]);
  }
  for (size_t j = full; j < n; j += 16) {  // the last n % 64 columns, 16 lanes at a time
    const size_t live = std::min<size_t>(16, n - j);
    const __mmask16 mask = static_cast<__mmask16>((1u << live) - 1u);
    __m512 acc[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
    for (size_t p = 0; p < k; ++p) {
      const __m512 bv = _mm512_maskz_loadu_ps(mask, b + p * n + j);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r)
        acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[r * lda + p]), bv, acc[r]);
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) _mm512_mask_storeu_ps(c + r * n + j, mask, acc[r]);
  }
}

using RowsFn = void (*)(const float *, size_t, const float *, float *, size_t, size_t);

// Rows in groups of 4 (the last group takes the instance for its size), spread over threads.
template <RowsFn F1, RowsFn F2, RowsFn F3, RowsFn F4>
void in_place(const float *a, const float *b, float *c, size_t m, size_t n, size_t k,
              int threads) {
  const long groups = static_cast<long>((m + 3) / 4);
  [[maybe_unused]] const int team =
      static_cast<int>(std::min<long>(std::max(threads, 1), groups));
#ifdef HWNN_HAVE_OPENMP
#pragma omp parallel for num_threads(team) if (team > 1) schedule(dynamic, 16)
#endif
  for (long g = 0; g < groups; ++g) {
    const size_t i = static_cast<size_t>(g) * 4, r = std::min<size_t>(4, m - i);
    const RowsFn f = r == 4 ? F4 : r == 3 ? F3 : r == 2 ? F2 : F1;
    f(a + i * k, k, b, c + i * n, n, k);
  }
}

const RowsKernel in_place_avx2 =
    in_place<rows_avx2<1>, rows_avx2<2>, rows_avx2<3>, rows_avx2<4>>;
const RowsKernel in_place_avx512 =
    in_place<rows_avx512<1>, rows_avx512<2>, rows_avx512<3>, rows_avx512<4>>;

// Half of L2 (the other half holds A and C): B up to this size is read in place.
size_t in_place_limit_bytes() {
  static const size_t limit = [] {
    long l2 = 0;
#ifdef _SC_LEVEL2_CACHE_SIZE
    l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    return static_cast<size_t>(l2 > 0 ? l2 : 512 * 1024) / 2;
  }();
  return limit;
}

const KernelShape kAvx2{6, 16, 144, 256, kernel_avx2_6x16, in_place_avx2};
// AVX-512: kc = 384 keeps a 384 x 32 B panel (48 KiB) at the edge of L1 and touches C a third
// less often than kc = 256; measured 117-126 against 100 GFLOP/s at 1024^3 on Sapphire Rapids.
const KernelShape kAvx512{12, 32, 144, 384, kernel_avx512_12x32, in_place_avx512};

// Packing copies a block into the order the micro-kernel reads it (one contiguous stream per
// panel), zero-padded to whole panels so the kernel never needs an edge case inside its loop.
void pack_a(const float *a, size_t lda, size_t rows, size_t kc, size_t mr, float *out) {
  for (size_t r0 = 0; r0 < rows; r0 += mr, out += mr * kc) {
    const size_t live = std::min(mr, rows - r0);
    for (size_t r = 0; r < live; ++r) {  // read each row of A contiguously
      const float *src = a + (r0 + r) * lda;
      for (size_t p = 0; p < kc; ++p) out[p * mr + r] = src[p];
    }
    for (size_t r = live; r < mr; ++r)
      for (size_t p = 0; p < kc; ++p) out[p * mr + r] = 0.0f;
  }
}

void pack_b_panel(const float *b, size_t ldb, size_t cols, size_t kc, size_t nr,
                  float *out) {
  for (size_t p = 0; p < kc; ++p, out += nr) {
    std::memcpy(out, b + p * ldb, cols * sizeof(float));  // a full panel row is one copy
    std::fill(out + cols, out + nr, 0.0f);
  }
}

// One mc x nc block of C from packed A (mc x kc) and packed B (kc x nc): each B panel stays in
// L1 while the kernel sweeps the A panels; ragged tiles go through a scratch tile.
void macro_kernel(const KernelShape &s, const float *ap, const float *bp, float *c, size_t ldc,
                  size_t mc, size_t nc, size_t kc) {
  alignas(64) float scratch[12 * 32];
  for (size_t j = 0; j < nc; j += s.nr) {
    const float *bpanel = bp + (j / s.nr) * s.nr * kc;
    const size_t cols = std::min(s.nr, nc - j);
    for (size_t i = 0; i < mc; i += s.mr) {
      const float *apanel = ap + (i / s.mr) * s.mr * kc;
      const size_t rows = std::min(s.mr, mc - i);
      float *cij = c + i * ldc + j;
      if (rows == s.mr && cols == s.nr) {
        s.kernel(kc, apanel, bpanel, cij, ldc);
        continue;
      }
      std::fill(scratch, scratch + s.mr * s.nr, 0.0f);
      s.kernel(kc, apanel, bpanel, scratch, s.nr);
      for (size_t r = 0; r < rows; ++r)
        for (size_t q = 0; q < cols; ++q) cij[r * ldc + q] += scratch[r * s.nr + q];
    }
  }
}

size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

int thread_id() {
#ifdef HWNN_HAVE_OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// The Goto/BLIS loop nest. B is packed as K blocks of kc rows, each as NR-column panels, and
// A one mc x kc block at a time. One thread: K blocks outside, so each freshly packed block of
// B stays in L2 for every row block. Several threads: all of B is packed first, then threads
// claim whole row blocks of C, so they synchronise twice per product instead of twice per K
// block — which matters when they share a busy machine.
void gemm_packed(const KernelShape &s, const float *a, const float *b, float *c, size_t m,
                 size_t n, size_t k, int threads) {
  zero(c, m * n);
  if (m == 0 || n == 0 || k == 0) return;
  threads = std::max(threads, 1);
  // Small m: shrink the row block so every thread gets one.
  const size_t mc = std::min(s.mc, round_up((m + threads - 1) / threads, s.mr));
  const size_t np = round_up(n, s.nr);
  const long row_blocks = static_cast<long>((m + mc - 1) / mc);
  const long k_blocks = static_cast<long>((k + s.kc - 1) / s.kc);
  const long panels = static_cast<long>(np / s.nr);
  const int team = static_cast<int>(std::min<long>(threads, row_blocks));  // no idle threads
  // One thread reuses a single K block's buffer; a team needs all of B packed at once.
  AlignedFloats bpack(np * (team > 1 ? k : std::min(k, s.kc)));
  auto b_block = [&](size_t pc) { return bpack.data + (team > 1 ? pc * np : 0); };
  std::vector<std::unique_ptr<AlignedFloats>> apacks;
  for (int t = 0; t < team; ++t) apacks.push_back(std::make_unique<AlignedFloats>(mc * s.kc));

  // Panel q of K block kb: kc x NR floats at b_block(pc) + j * kc, where pc = kb KC, j = q NR.
  auto pack_b = [&](long kb, long q) {
    const size_t pc = static_cast<size_t>(kb) * s.kc, j = static_cast<size_t>(q) * s.nr;
    const size_t kc = std::min(s.kc, k - pc);
    pack_b_panel(b + pc * n + j, n, std::min(s.nr, n - j), kc, s.nr, b_block(pc) + j * kc);
  };
  // C[ic : ic + mc, :] += A[ic : ic + mc, pc : pc + kc] B[pc : pc + kc, :].
  auto row_block = [&](long blk, long kb, float *ap) {
    const size_t ic = static_cast<size_t>(blk) * mc, rows = std::min(mc, m - ic);
    const size_t pc = static_cast<size_t>(kb) * s.kc, kc = std::min(s.kc, k - pc);
    pack_a(a + ic * k + pc, k, rows, kc, s.mr, ap);
    macro_kernel(s, ap, b_block(pc), c + ic * n, n, rows, n, kc);
  };
  if (team == 1) {
    for (long kb = 0; kb < k_blocks; ++kb) {
      for (long q = 0; q < panels; ++q) pack_b(kb, q);
      for (long blk = 0; blk < row_blocks; ++blk) row_block(blk, kb, apacks[0]->data);
    }
    return;
  }
#ifdef HWNN_HAVE_OPENMP
#pragma omp parallel for collapse(2) num_threads(team) schedule(static)
#endif
  for (long kb = 0; kb < k_blocks; ++kb)
    for (long q = 0; q < panels; ++q) pack_b(kb, q);
  // Dynamic: on a shared machine one thread may be descheduled; the other takes its blocks.
#ifdef HWNN_HAVE_OPENMP
#pragma omp parallel for num_threads(team) schedule(dynamic, 1)
#endif
  for (long blk = 0; blk < row_blocks; ++blk)
    for (long kb = 0; kb < k_blocks; ++kb) row_block(blk, kb, apacks[thread_id()]->data);
}

const KernelShape &shape_for(const char *isa) {
  const std::string name = isa;
  const auto &f = cpu_features();
  if (name == "avx2") {
    if (!(f.avx2 && f.fma)) throw std::runtime_error("this CPU has no AVX2+FMA");
    return kAvx2;
  }
  if (name == "avx512") {
    if (!f.avx512f) throw std::runtime_error("this CPU has no AVX-512F");
    return kAvx512;
  }
  throw std::invalid_argument("unknown SIMD rung '" + name + "': use avx2 or avx512");
}

}  // namespace

bool simd_available(const char *isa) {
  const std::string name = isa;
  const auto &f = cpu_features();
  if (name == "avx2") return f.avx2 && f.fma;
  if (name == "avx512") return f.avx512f;
  return false;
}

const char *best_simd() {
  if (simd_available("avx512")) return "avx512";
  if (simd_available("avx2")) return "avx2";
  return "";
}

void gemm_simd(const char *isa, const float *a, const float *b, float *c, size_t m, size_t n,
               size_t k, int threads, BLayout layout) {
  const KernelShape &s = shape_for(isa);
  if (layout == BLayout::Auto)
    layout = m < s.mr || k * n * sizeof(float) <= in_place_limit_bytes() ? BLayout::InPlace
                                                                          : BLayout::Packed;
  if (layout == BLayout::InPlace) {
    zero(c, m * n);
    if (m != 0 && n != 0 && k != 0) s.in_place(a, b, c, m, n, k, threads);
    return;
  }
  gemm_packed(s, a, b, c, m, n, k, threads);
}

// ---------------------------------------------------------------- peak: an FMA loop

// Twelve independent chains: enough to cover FMA latency (4 cycles) times two FMA ports, so the
// loop runs at the core's FMA throughput and nothing else (no loads, no stores).
namespace {

volatile float g_sink;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

__attribute__((target("avx2,fma"))) double peak_avx2(size_t iterations) {
  const auto t0 = std::chrono::steady_clock::now();
  __m256 x[12];
#pragma GCC unroll 12
  for (int i = 0; i < 12; ++i) x[i] = _mm256_set1_ps(0.001f * i);
  const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-7f);
  for (size_t it = 0; it < iterations; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) x[i] = _mm256_fmadd_ps(x[i], mul, add);
  __m256 s = x[0];
#pragma GCC unroll 12
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, x[i]);
  g_sink = _mm256_cvtss_f32(s);
  return 2.0 * 8 * 12 * static_cast<double>(iterations) / seconds_since(t0) / 1e9;
}

__attribute__((target("avx512f,fma"))) double peak_avx512(size_t iterations) {
  const auto t0 = std::chrono::steady_clock::now();
  __m512 x[12];
#pragma GCC unroll 12
  for (int i = 0; i < 12; ++i) x[i] = _mm512_set1_ps(0.001f * i);
  const __m512 mul = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-7f);
  for (size_t it = 0; it < iterations; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) x[i] = _mm512_fmadd_ps(x[i], mul, add);
  __m512 s = x[0];
#pragma GCC unroll 12
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, x[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  g_sink = lanes[0] + lanes[15];
  return 2.0 * 16 * 12 * static_cast<double>(iterations) / seconds_since(t0) / 1e9;
}

}  // namespace

double fma_peak_gflops(const char *isa, size_t iterations) {
  const std::string name = isa;
  shape_for(isa);  // validates the name and the CPU
  return name == "avx512" ? peak_avx512(iterations) : peak_avx2(iterations);
}

}  // namespace hwnn::ladder
