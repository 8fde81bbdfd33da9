// Small helpers shared by the bindings: owning NumPy arrays returned to Python.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstddef>
#include <initializer_list>

namespace hwnn {

namespace nb = nanobind;

// Read-only, C-contiguous CPU arrays as kernel inputs (the Python side checks friendlier).
template <typename T>
using CMatrix = nb::ndarray<const T, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
template <typename T>
using CVector = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
template <typename T>
using CTensor4 = nb::ndarray<const T, nb::ndim<4>, nb::c_contig, nb::device::cpu>;

// A C-contiguous NumPy array that owns a fresh, uninitialised buffer; data() is writable.
// Not zeroed: every kernel writes every output, and zero-filling a 64 MiB result through
// page faults cost a third of a 4096^3 binary GEMM call.
template <typename T>
nb::ndarray<nb::numpy, T> new_array(std::initializer_list<std::size_t> shape) {
  std::size_t n = 1;
  for (std::size_t s : shape) n *= s;
  T *data = new T[n == 0 ? 1 : n];
  nb::capsule owner(data, [](void *p) noexcept { delete[] static_cast<T *>(p); });
  return nb::ndarray<nb::numpy, T>(data, shape, owner);
}

}  // namespace hwnn
