#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "bindings.hpp"
#include "bitpack.hpp"
#include "kernel_path.hpp"
#include "output_transform.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace hwnn {

static nb::dict paths() {
  nb::dict d;
  d["pack_signs"] = pack_signs_path();
  d["binary_dot"] = binary_dot_path();
  d["binary_gemm"] = path_name(resolve_path(Family::Binary, Path::Auto));
  d["ternary_gemm"] = path_name(resolve_path(Family::Ternary, Path::Auto));
  d["int8_gemm"] = path_name(resolve_path(Family::Int8, Path::Auto));
  d["binary_conv2d"] = d["binary_gemm"];
  d["sign_threshold"] = output_transform_path();
  return d;
}

static nb::dict supported() {
  nb::dict d;
  const char *names[] = {"binary", "ternary", "int8"};
  const Family fams[] = {Family::Binary, Family::Ternary, Family::Int8};
  for (int i = 0; i < 3; ++i) {
    nb::list l;
    for (Path p : {Path::Scalar, Path::Popcnt, Path::Avx2, Path::Avx512})
      if (path_supported(fams[i], p)) l.append(path_name(p));
    d[names[i]] = l;
  }
  return d;
}

void bind_kernel_path(nb::module_ &m) {
  m.def("kernel_paths", &paths, "The path each kernel takes with path='auto' on this CPU.");
  m.def("supported_paths", &supported, "Explicit paths each kernel family can take here.");
  m.def("kernel_threads", &kernel_threads, "Threads the kernels use (HWNN_THREADS, default 1).");
  m.def("set_kernel_threads", &set_kernel_threads, "n"_a);
}

}  // namespace hwnn
