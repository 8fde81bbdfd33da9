// Which instruction-set path a kernel takes, chosen at run time from cpu_features().
//
// "auto" picks the fastest path the CPU supports; naming a path explicitly lets tests and
// benchmarks run every path this CPU can, and fails with a clear message when it cannot.
#pragma once

#include <string>

namespace hwnn {

enum class Path { Auto, Scalar, Popcnt, Avx2, Avx512 };

// Parses "auto" | "scalar" | "popcnt" | "avx2" | "avx512"; throws std::invalid_argument.
Path parse_path(const std::string &name);
const char *path_name(Path p);

// Whether this CPU (after HWNN_FORCE_SCALAR) can run path p for a kernel family.
// Families differ: the binary kernels' AVX-512 path needs VPOPCNTDQ, int8's needs VNNI.
enum class Family { Binary, Ternary, Int8 };
bool path_supported(Family f, Path p);

// Resolves Auto to the best supported path; throws std::invalid_argument when an explicit
// path is not supported here (naming the missing feature).
Path resolve_path(Family f, Path p);

// Threads the kernels use: HWNN_THREADS at start-up (default 1), changed by set_threads.
int kernel_threads();
void set_kernel_threads(int n);

}  // namespace hwnn
