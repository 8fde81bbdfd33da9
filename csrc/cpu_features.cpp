#include "cpu_features.hpp"

#include <cstdlib>
#include <cstring>

#ifdef HWNN_HAVE_OPENMP
#include <omp.h>
#endif

namespace hwnn {

static CpuFeatures detect() {
  CpuFeatures f;
  const char *force = std::getenv("HWNN_FORCE_SCALAR");
  if (force != nullptr && std::strcmp(force, "1") == 0) return f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.popcnt = __builtin_cpu_supports("popcnt");
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vpopcntdq = __builtin_cpu_supports("avx512vpopcntdq");
  f.avx512vnni = __builtin_cpu_supports("avx512vnni");
#endif
  return f;
}

const CpuFeatures &cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

int max_threads() {
#ifdef HWNN_HAVE_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace hwnn
