// Small helpers shared by the bindings: owning NumPy arrays returned to Python.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <initializer_list>
#include <new>

namespace hwnn {

namespace nb = nanobind;

// Read-only, C-contiguous CPU arrays as kernel inputs (the Python side checks friendlier).
template <typename T>
using CMatrix = nb::ndarray<const T, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
template <typename T>
using CVector = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
template <typename T>
using CTensor4 = nb::ndarray<const T, nb::ndim<4>, nb::c_contig, nb::device::cpu>;

// Big results are given transparent huge pages, as NumPy does for its own arrays of 4 MiB
// and up: a fresh 64 MiB result otherwise takes 16,384 page faults (glibc maps every
// allocation above 32 MiB anew), which cost a 4096^3 binary GEMM call a third of its time.
inline constexpr std::size_t kHugePage = std::size_t{2} << 20;

inline bool huge_result(std::size_t bytes) { return bytes >= 2 * kHugePage; }

inline void *allocate_result(std::size_t bytes) {
  if (!huge_result(bytes)) return ::operator new[](bytes == 0 ? 1 : bytes);
  const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void *p = std::aligned_alloc(kHugePage, rounded);
  if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  madvise(p, rounded, MADV_HUGEPAGE);  // a hint: without THP the pages are just small
#endif
  return p;
}

// A C-contiguous NumPy array that owns a fresh, uninitialised buffer; data() is writable.
// Not zeroed: every kernel writes every output, and zero-filling a 64 MiB result through
// page faults cost a third of a 4096^3 binary GEMM call.
template <typename T>
nb::ndarray<nb::numpy, T> new_array(std::initializer_list<std::size_t> shape) {
  std::size_t n = 1;
  for (std::size_t s : shape) n *= s;
  const std::size_t bytes = n * sizeof(T);
  T *data = static_cast<T *>(allocate_result(bytes));
  void (*release)(void *) noexcept = [](void *p) noexcept { std::free(p); };
  if (!huge_result(bytes)) release = [](void *p) noexcept { ::operator delete[](p); };
  nb::capsule owner(data, release);
  return nb::ndarray<nb::numpy, T>(data, shape, owner);
}

}  // namespace hwnn
