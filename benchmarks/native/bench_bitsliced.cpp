// An experiment, not a kernel of hwnn: can a bit-sliced (Harley-Seal) binary GEMM beat the
// XOR + VPOPCNTQ + add kernel on AVX-512? That kernel spends 3 vector ops per 512 bit-MACs
// on the two 512-bit ports, which caps it at ~341 bit-MACs per cycle (~11x OpenBLAS sgemm).
//
// Here a 512-bit vector holds column k of A for 512 rows; B's bit b_jk is applied by
// loading either A's column or its complement (chosen by address), so the XOR is free, and
// the 512 per-row counts of column j accumulate in bit-sliced counters by carry-save adders
// (VPTERNLOGQ: a CSA is 2 ops, ~2.06 ops per input vector with the upper levels). Bound:
// ~496 bit-MACs per cycle, ~15.5x sgemm -- so 15x would need 97% of the ALU peak.
// This measures the inner loop alone (A's column block kept in L1, counters' upper levels
// cheapest possible), i.e. an upper bound of the approach, beside hwnn's kernel on the same
// number of bit-MACs, and checks its counts against a scalar count.
//   g++ -std=c++17 -O3 -march=native -Icsrc benchmarks/native/bench_bitsliced.cpp
//     csrc/{binary_gemm,kernel_path,bitpack,cpu_features}.cpp -o /tmp/bench_bitsliced
//   /tmp/bench_bitsliced
#include "simd_reduce.hpp"
//
#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>
#include <time.h>

#include "binary_gemm.hpp"

using u64 = std::uint64_t;
static double cpu_now() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
#define T __attribute__((target("avx512f")))

// VPTERNLOGQ immediates: bit (x << 2 | y << 1 | z) of imm is f(x, y, z).
constexpr int imm_of(int (*f)(int, int, int)) {
  int r = 0;
  for (int i = 0; i < 8; ++i) r |= (f((i >> 2) & 1, (i >> 1) & 1, i & 1) & 1) << i;
  return r;
}
constexpr int kXor3 = 0x96;
// The carry of s + x1 + x2 from the new sum s' = s ^ x1 ^ x2: x1 where x1 == x2, else ~s'.
constexpr int kCarryAfter = imm_of([](int x2, int s_new, int x1) { return x1 == x2 ? x1 : 1 - s_new; });

// state += u + v (one bit per lane); the carry replaces u. Two ops, no register copies.
T static inline void csa(__m512i &state, __m512i &u, __m512i v) {
  state = _mm512_ternarylogic_epi64(state, u, v, kXor3);
  u = _mm512_ternarylogic_epi64(u, state, v, kCarryAfter);
}
T static inline __m512i csa_mem(__m512i &state, const char *p1, const char *p2) {
  const __m512i x2 = _mm512_load_si512(p2);
  state = _mm512_ternarylogic_epi64(state, x2, _mm512_load_si512(p1), kXor3);
  return _mm512_ternarylogic_epi64(x2, state, _mm512_load_si512(p1), kCarryAfter);
}

constexpr int kChunk = 256;  // columns of A per L1-resident block: 256 x 128 B
struct Low { __m512i o, t, f, e; };  // weights 1, 2, 4, 8

// 16 inputs (columns k0..k0+15) into one counter; returns the carry of weight 16.
T static inline __m512i block16(Low &s, const char *a, const unsigned char *off) {
  auto x = [&](int q) { return a + q * 128 + off[q]; };
  __m512i tA = csa_mem(s.o, x(0), x(1)), tB = csa_mem(s.o, x(2), x(3));
  csa(s.t, tA, tB);
  __m512i fA = tA;
  tA = csa_mem(s.o, x(4), x(5)), tB = csa_mem(s.o, x(6), x(7));
  csa(s.t, tA, tB);
  __m512i fB = tA;
  csa(s.f, fA, fB);
  __m512i eA = fA;
  tA = csa_mem(s.o, x(8), x(9)), tB = csa_mem(s.o, x(10), x(11));
  csa(s.t, tA, tB);
  fA = tA;
  tA = csa_mem(s.o, x(12), x(13)), tB = csa_mem(s.o, x(14), x(15));
  csa(s.t, tA, tB);
  fB = tA;
  csa(s.f, fA, fB);
  __m512i eB = fA;
  csa(s.e, eA, eB);
  return eA;
}

// Four columns j of B at once over K inputs; `upper` gets the weight-16 carries XORed in
// (their own carry-save levels would add ~0.06 ops per input: left out of the bound).
T static void four_columns(const char *a, const unsigned char *off, std::size_t k, Low *low,
                          __m512i *upper) {
  for (int c = 0; c < 4; ++c) low[c].o = low[c].t = low[c].f = low[c].e = upper[c] = _mm512_setzero_si512();
  for (std::size_t q = 0; q < k; q += 16) {
    const char *aq = a + (q % kChunk) * 128;
    for (int c = 0; c < 4; ++c)
      upper[c] = _mm512_xor_si512(upper[c], block16(low[c], aq, off + c * k + q));
  }
}

int main() {
  const std::size_t k = 4096, n = 1024, rows = 512;
  std::mt19937_64 rng(1);
  // A's block: column q of 512 rows, then its complement (128 B per column).
  alignas(64) static u64 a[kChunk * 16];
  for (int q = 0; q < kChunk; ++q)
    for (int w = 0; w < 8; ++w) a[q * 16 + w] = rng(), a[q * 16 + 8 + w] = ~a[q * 16 + w];
  std::vector<unsigned char> off(n * k);  // 64 where b_jk = 1: load the complement
  for (auto &x : off) x = (rng() & 1) * 64;
  Low low[4];
  __m512i upper[4];
  // Check: the low four counter bits equal the count mod 16 of differing bits per row.
  four_columns(reinterpret_cast<const char *>(a), off.data(), k, low, upper);
  int bad = 0;
  for (int c = 0; c < 4; ++c)
    for (std::size_t i = 0; i < rows; ++i) {
      int count = 0;
      for (std::size_t q = 0; q < k; ++q)
        count += ((a[(q % kChunk) * 16 + i / 64] >> (i % 64)) & 1) ^ (off[c * k + q] ? 1 : 0);
      auto bit = [&](const __m512i &v) { return static_cast<int>((reinterpret_cast<const u64 *>(&v)[i / 64] >> (i % 64)) & 1); };
      const int low4 = bit(low[c].o) | bit(low[c].t) << 1 | bit(low[c].f) << 2 | bit(low[c].e) << 3;
      bad += low4 != count % 16;
    }
  // hwnn's kernel on the same bit-MACs: 512 x 1024 x 4096.
  std::vector<u64> pa(rows * k / 64), pb(n * k / 64);
  for (auto &x : pa) x = rng();
  for (auto &x : pb) x = rng();
  std::vector<std::int32_t> c(rows * n);
  double best_bs = 1e9, best_hw = 1e9;
  for (int r = 0; r < 7; ++r) {
    double t0 = cpu_now();
    for (std::size_t j = 0; j < n; j += 4)
      four_columns(reinterpret_cast<const char *>(a), off.data() + j * k, k, low, upper);
    best_bs = std::min(best_bs, cpu_now() - t0);
    t0 = cpu_now();
    hwnn::binary_gemm(pa.data(), rows, pb.data(), n, k, c.data(), hwnn::Path::Auto);
    best_hw = std::min(best_hw, cpu_now() - t0);
  }
  const double macs = double(rows) * n * k;
  std::printf("counts %s; bit-sliced inner loop %.0f Gbit-MAC/s, hwnn kernel %.0f Gbit-MAC/s: %.2fx\n",
              bad ? "WRONG" : "exact", macs / best_bs / 1e9, macs / best_hw / 1e9, best_hw / best_bs);
  return bad != 0;
}
