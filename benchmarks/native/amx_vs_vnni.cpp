// The panel int8 GEMM on AMX tiles against the AVX-512 VNNI tiles: equality on awkward
// sizes with tight panels, then (with any argument) timings. Useful only where the CPU and
// OS expose AMX (it prints whether they do); elsewhere both sides are the VNNI tiles.
//
//   g++ -std=gnu++17 -O3 -ffp-contract=off -fopenmp -Icsrc benchmarks/native/amx_vs_vnni.cpp \
//       csrc/int8_gemm.cpp csrc/cpu_features.cpp csrc/kernel_path.cpp -o /tmp/amx_vs_vnni
//   /tmp/amx_vs_vnni && /tmp/amx_vs_vnni time
#include "cpu_features.hpp"
#include "int8_gemm.hpp"
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>
using namespace hwnn;
static std::mt19937 rng(7);
static int failures = 0;
static void one(size_t m, size_t n, size_t groups, bool with_corr, size_t lda_extra) {
  const size_t lda = groups * 4 + lda_extra, panels = (n + 15) / 16, pb = groups * 64;
  std::vector<uint8_t> a(m * lda);
  for (auto &v : a) v = uint8_t(rng());
  std::vector<int8_t> p(panels * pb);  // tight: no slack past the last panel
  for (size_t q = 0; q < panels; ++q)
    for (size_t g = 0; g < groups; ++g)
      for (size_t j = 0; j < 16; ++j)
        for (size_t t = 0; t < 4; ++t)
          p[q * pb + g * 64 + j * 4 + t] = (q * 16 + j < n) ? int8_t(rng()) : 0;
  std::vector<int32_t> corr(panels * 16);
  for (auto &v : corr) v = int32_t(rng() % 1000);
  std::vector<int32_t> x(m * n), y(m * n);
  u8_gemm_panels(a.data(), m, lda, p.data(), pb, n, groups, with_corr ? corr.data() : nullptr, x.data(), true);
  u8_gemm_panels(a.data(), m, lda, p.data(), pb, n, groups, with_corr ? corr.data() : nullptr, y.data(), false);
  if (x != y) { ++failures; std::printf("FAIL m=%zu n=%zu groups=%zu corr=%d\n", m, n, groups, int(with_corr)); }
}
int main(int argc, char **argv) {
  std::printf("amx_int8 usable: %d\n", int(cpu_features().amx_int8));
  if (argc > 1) {  // timing
    struct S { size_t m, n, k; };
    for (S s : {S{64, 256, 784}, S{256, 256, 784}, S{64, 256, 256}, S{256, 1024, 4096}, S{4096, 4096, 4096}}) {
      const size_t groups = s.k / 4, panels = (s.n + 15) / 16, pb = groups * 64 + 64;
      std::vector<uint8_t> a(s.m * s.k); for (auto &v : a) v = uint8_t(rng() % 128);
      std::vector<int8_t> p(panels * pb); for (auto &v : p) v = int8_t(rng());
      std::vector<int32_t> c(s.m * s.n);
      for (int amx = 1; amx >= 0; --amx) {
        int reps = int(4e9 / double(s.m * s.n * s.k)) + 2;
        u8_gemm_panels(a.data(), s.m, s.k, p.data(), pb, s.n, groups, nullptr, c.data(), amx);
        double best = 1e9;
        for (int t = 0; t < 3; ++t) {
          auto t0 = std::chrono::steady_clock::now();
          for (int r = 0; r < reps; ++r) u8_gemm_panels(a.data(), s.m, s.k, p.data(), pb, s.n, groups, nullptr, c.data(), amx);
          best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps);
        }
        std::printf("%s %zux%zux%zu: %.1f us, %.0f GMAC/s\n", amx ? "amx " : "vnni", s.m, s.n, s.k, best * 1e6, s.m * s.n * s.k / best / 1e9);
      }
    }
    return 0;
  }
  for (size_t m : {2, 3, 15, 16, 17, 33, 64})
    for (size_t n : {1, 15, 16, 17, 31, 32, 33, 48, 70})
      for (size_t groups : {1, 3, 15, 16, 17, 31, 32, 49})
        for (int c = 0; c < 2; ++c) one(m, n, groups, c, c ? 12 : 0);
  one(100, 256, 196, true, 0);
  one(256, 256, 64, false, 0);
  std::printf(failures ? "AMX CHECK FAILED (%d)\n" : "amx check passed\n", failures);
  return failures != 0;
}
