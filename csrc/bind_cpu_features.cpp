#include <nanobind/nanobind.h>

#include "bindings.hpp"
#include "cpu_features.hpp"

namespace nb = nanobind;

namespace hwnn {

static nb::dict features() {
  const auto &f = cpu_features();
  nb::dict d;
  d["popcnt"] = f.popcnt;
  d["avx2"] = f.avx2;
  d["fma"] = f.fma;
  d["bmi2"] = f.bmi2;
  d["avx512f"] = f.avx512f;
  d["avx512bw"] = f.avx512bw;
  d["avx512vpopcntdq"] = f.avx512vpopcntdq;
  d["avx512vnni"] = f.avx512vnni;
  d["amx_int8"] = f.amx_int8;
  return d;
}

void bind_cpu_features(nb::module_ &m) {
  m.def("cpu_features", &features, "CPU features the kernels may use (after HWNN_FORCE_SCALAR).");
  m.def("max_threads", &max_threads, "OpenMP thread count (1 without OpenMP).");
#ifdef HWNN_HAVE_OPENMP
  m.attr("openmp") = true;
#else
  m.attr("openmp") = false;
#endif
}

}  // namespace hwnn
