#include "kernel_path.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "cpu_features.hpp"

namespace hwnn {

Path parse_path(const std::string &name) {
  if (name == "auto") return Path::Auto;
  if (name == "scalar") return Path::Scalar;
  if (name == "popcnt") return Path::Popcnt;
  if (name == "avx2") return Path::Avx2;
  if (name == "avx512") return Path::Avx512;
  throw std::invalid_argument("unknown kernel path '" + name +
                              "': use auto, scalar, popcnt, avx2 or avx512");
}

const char *path_name(Path p) {
  switch (p) {
    case Path::Auto: return "auto";
    case Path::Scalar: return "scalar";
    case Path::Popcnt: return "popcnt";
    case Path::Avx2: return "avx2";
    case Path::Avx512: return "avx512";
  }
  return "?";
}

bool path_supported(Family fam, Path p) {
  const CpuFeatures &f = cpu_features();
  switch (p) {
    case Path::Auto:
    case Path::Scalar: return true;
    case Path::Popcnt: return f.popcnt && fam != Family::Int8;
    // Ternary has no AVX2 path: without a vector popcount its two planes gain nothing over
    // scalar POPCNT, so "auto" takes popcnt there.
    case Path::Avx2: return f.avx2 && (fam == Family::Int8 || (fam == Family::Binary && f.popcnt));
    case Path::Avx512:
      if (!f.avx512f || !f.avx512bw) return false;
      return fam == Family::Int8 ? f.avx512vnni : f.avx512vpopcntdq;
  }
  return false;
}

Path resolve_path(Family fam, Path p) {
  if (p == Path::Auto) {
    for (Path q : {Path::Avx512, Path::Avx2, Path::Popcnt})
      if (path_supported(fam, q)) return q;
    return Path::Scalar;
  }
  if (!path_supported(fam, p))
    throw std::invalid_argument(std::string("kernel path '") + path_name(p) +
                                "' is not available on this CPU (or for this kernel, or "
                                "HWNN_FORCE_SCALAR=1 is set): use path='auto'");
  return p;
}

static int threads_from_env() {
  const char *s = std::getenv("HWNN_THREADS");
  if (s == nullptr || *s == '\0') return 1;
  const int n = std::atoi(s);
  return n >= 1 ? n : 1;
}

static std::atomic<int> &threads_setting() {
  static std::atomic<int> n{threads_from_env()};
  return n;
}

int kernel_threads() { return threads_setting().load(); }

void set_kernel_threads(int n) {
  if (n < 1) throw std::invalid_argument("thread count must be at least 1");
  threads_setting().store(n);
}

}  // namespace hwnn
