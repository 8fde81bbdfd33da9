// Run-time CPU feature detection: kernels pick their fast path from these flags.
#pragma once

namespace hwnn {

struct CpuFeatures {
  bool popcnt = false;
  bool avx2 = false;
  bool fma = false;
  bool bmi2 = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vpopcntdq = false;
  bool avx512vnni = false;
  bool amx_int8 = false;  // AMX tiles with int8 products, and this process may use them
};

// Detected once; HWNN_FORCE_SCALAR=1 in the environment masks every feature so the
// scalar paths can be tested and benchmarked on any machine.
const CpuFeatures &cpu_features();

int max_threads();

}  // namespace hwnn
