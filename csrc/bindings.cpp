// The hwnn._core extension. Argument checks that need a friendly message live on the
// Python side (hwnn.kernels); the bindings only enforce dtypes and shapes.
#include "bindings.hpp"

NB_MODULE(_core, m) {
  m.doc() = "hwnn native kernels (C++17). Every kernel has a *_reference twin.";
  hwnn::bind_cpu_features(m);
  hwnn::bind_bitpack(m);
  hwnn::bind_ladder(m);
  hwnn::bind_kernel_path(m);
  hwnn::bind_binary_gemm(m);
  hwnn::bind_ternary_gemm(m);
  hwnn::bind_int8_gemm(m);
  hwnn::bind_binary_conv2d(m);
  hwnn::bind_output_transform(m);
  hwnn::bind_plan_runner(m);
  hwnn::bind_im2col(m);
}
