#include "cpu_features.hpp"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#ifdef HWNN_HAVE_OPENMP
#include <omp.h>
#endif

namespace hwnn {

#if defined(__x86_64__) && defined(__linux__)
// AMX needs the CPU's tiles (CPUID 7: AMX-TILE, AMX-INT8), the OS saving their state (XCR0
// bits 17-18) and, on Linux, this process's request for that state (arch_prctl
// ARCH_REQ_XCOMP_PERM for XTILEDATA); a VM may pass the CPU's bits but not the rest.
static bool amx_int8_usable() {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !((d >> 24) & 1) || !((d >> 25) & 1))
    return false;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1)) return false;  // OSXSAVE
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & (3u << 17)) != (3u << 17)) return false;
  constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
}
#else
static bool amx_int8_usable() { return false; }
#endif

static CpuFeatures detect() {
  CpuFeatures f;
  const char *force = std::getenv("HWNN_FORCE_SCALAR");
  if (force != nullptr && std::strcmp(force, "1") == 0) return f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.popcnt = __builtin_cpu_supports("popcnt");
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.bmi2 = __builtin_cpu_supports("bmi2");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vpopcntdq = __builtin_cpu_supports("avx512vpopcntdq");
  f.avx512vnni = __builtin_cpu_supports("avx512vnni");
  f.amx_int8 = amx_int8_usable();
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
