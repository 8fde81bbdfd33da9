// Standalone timing of the int8 GEMM alone (process CPU time, so time spent descheduled on a
// shared machine does not count), checked against the reference when small enough.
//   g++ -std=c++17 -O3 -fopenmp -DHWNN_HAVE_OPENMP=1 -Icsrc
//     benchmarks/native/bench_int8_gemm.cpp
//     csrc/{int8_gemm,kernel_path,cpu_features}.cpp -o /tmp/bench_int8_gemm
//   /tmp/bench_int8_gemm 4096 4096 4096 avx512 3 u7   # M N K path repetitions mode
// mode: u7 (activations in [0, 127], as bench_kernels.py), s8 (full int8), u8 (uint8).
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "int8_gemm.hpp"
#include "kernel_path.hpp"

static double cpu_now() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

using namespace hwnn;

int main(int argc, char **argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s M N K path [reps] [u7|s8|u8]\n", argv[0]);
    return 2;
  }
  const std::size_t m = std::atoi(argv[1]), n = std::atoi(argv[2]), k = std::atoi(argv[3]);
  const char *path = argv[4];
  const int reps = argc > 5 ? std::atoi(argv[5]) : 5;
  const char *mode = argc > 6 ? argv[6] : "u7";
  std::mt19937 rng(1);
  std::vector<std::int8_t> a(m * k), b(n * k);
  const bool u7 = std::strcmp(mode, "u7") == 0, u8 = std::strcmp(mode, "u8") == 0;
  for (auto &x : a) x = static_cast<std::int8_t>(u7 ? rng() % 128 : rng() % 256);
  for (auto &x : b) x = static_cast<std::int8_t>(rng() % 256);
  std::vector<std::int32_t> c(m * n), r(m * n);
  const bool check = m * n * k <= (std::size_t{1} << 28);
  const auto *ua = reinterpret_cast<const std::uint8_t *>(a.data());
  if (check) {
    if (u8) u8s8_gemm_reference(ua, m, b.data(), n, k, r.data());
    else int8_gemm_reference(a.data(), m, b.data(), n, k, r.data());
  }
  double best = 1e9;
  for (int it = 0; it < reps; ++it) {
    const double t0 = cpu_now();
    if (u8) u8s8_gemm(ua, m, b.data(), n, k, c.data(), parse_path(path));
    else int8_gemm(a.data(), m, b.data(), n, k, c.data(), parse_path(path));
    const double t = cpu_now() - t0;
    if (t < best) best = t;
  }
  const bool ok = !check || c == r;
  std::printf("%s %s m=%zu n=%zu k=%zu  %.6f s  %.1f GMAC/s  ok=%d\n", path, mode, m, n, k, best,
              m * n * k / best / 1e9, ok ? 1 : 0);
  return ok ? 0 : 1;
}
