// Standalone timing of the binary GEMM alone (process CPU time, so time spent descheduled on
// a shared machine does not count), checked against the reference when small enough.
//   g++ -std=c++17 -O3 -fopenmp -DHWNN_HAVE_OPENMP=1 -Icsrc
//     benchmarks/native/bench_binary_gemm.cpp
//     csrc/{binary_gemm,kernel_path,bitpack,cpu_features}.cpp -o /tmp/bench_binary_gemm
//   /tmp/bench_binary_gemm 4096 4096 4096 avx512 3     # M N K path repetitions
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>
#include <time.h>
static double cpu_now(){ timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t); return t.tv_sec+t.tv_nsec*1e-9; }
#include "binary_gemm.hpp"
#include "bitpack.hpp"
using namespace hwnn;
int main(int argc, char** argv) {
  size_t m = atoi(argv[1]), n = atoi(argv[2]), k = atoi(argv[3]);
  const char* path = argv[4];
  size_t w = words_for(k);
  std::mt19937_64 rng(1);
  std::vector<uint64_t> a(m*w), b(n*w);
  for (auto &x : a) x = rng();
  for (auto &x : b) x = rng();
  if (k % 64) { uint64_t mask = (1ull << (k%64)) - 1; for (size_t i=0;i<m;i++) a[i*w+w-1]&=mask; for (size_t i=0;i<n;i++) b[i*w+w-1]&=mask; }
  std::vector<int32_t> c(m*n), r(m*n);
  if (m*n*k <= 1ull<<28) { binary_gemm_reference(a.data(), m, b.data(), n, k, r.data()); }
  double best = 1e9;
  int reps = argc > 5 ? atoi(argv[5]) : 5;
  for (int it = 0; it < reps; ++it) {
    double t0 = cpu_now();
    binary_gemm(a.data(), m, b.data(), n, k, c.data(), parse_path(path));
    double t = cpu_now() - t0;
    if (t < best) best = t;
  }
  bool ok = true; if (m*n*k <= 1ull<<28) for (size_t i=0;i<m*n;i++) if (c[i]!=r[i]) { ok=false; break; }
  printf("%s m=%zu n=%zu k=%zu  %.6f s  %.1f Gbitmac/s  ok=%d\n", path, m, n, k, best, m*n*k/best/1e9, ok);
}
