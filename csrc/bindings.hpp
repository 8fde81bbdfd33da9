// Each concept binds its own functions in bind_<concept>.cpp; bindings.cpp calls them all.
#pragma once

#include <nanobind/nanobind.h>

namespace hwnn {
void bind_cpu_features(nanobind::module_ &m);
void bind_bitpack(nanobind::module_ &m);
void bind_kernel_path(nanobind::module_ &m);
void bind_binary_gemm(nanobind::module_ &m);
void bind_ternary_gemm(nanobind::module_ &m);
void bind_int8_gemm(nanobind::module_ &m);
void bind_binary_conv2d(nanobind::module_ &m);
void bind_output_transform(nanobind::module_ &m);
void bind_plan_runner(nanobind::module_ &m);
void bind_im2col(nanobind::module_ &m);
void bind_ladder(nanobind::module_ &m);
}  // namespace hwnn
