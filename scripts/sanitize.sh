#!/usr/bin/env bash
# Builds the native kernels and their standalone C++ tests (tests/native/) under
# AddressSanitizer and UndefinedBehaviorSanitizer, then runs them: once with every CPU path,
# once with HWNN_FORCE_SCALAR=1, and once with two OpenMP threads. No Python is involved, so
# there is no LD_PRELOAD dance with the interpreter. Usage: scripts/sanitize.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/sanitize}"
mkdir -p "$out"
CXX="${CXX:-g++}"
# The kernel sources only: the bind_*.cpp files need nanobind and Python headers.
sources=(cpu_features kernel_path bitpack binary_gemm ternary_gemm int8_gemm binary_conv2d
  output_transform plan_runner im2col)
objs=()
pids=()
for s in "${sources[@]}"; do
  "$CXX" -std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
    -fno-sanitize-recover=all -ffp-contract=off -fopenmp -DHWNN_HAVE_OPENMP=1 -Wall -Wextra -Icsrc \
    -c "csrc/$s.cpp" -o "$out/$s.o" &
  pids+=($!)
  objs+=("$out/$s.o")
done
# a bare `wait` returns 0 whatever the compilers said: wait for each and stop on a failure
for pid in "${pids[@]}"; do wait "$pid"; done
"$CXX" -std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
  -fno-sanitize-recover=all -ffp-contract=off -fopenmp -DHWNN_HAVE_OPENMP=1 -Wall -Wextra -Icsrc \
  tests/native/test_kernels.cpp "${objs[@]}" -o "$out/test_kernels"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1"
HWNN_THREADS=1 "$out/test_kernels"
HWNN_THREADS=1 HWNN_FORCE_SCALAR=1 "$out/test_kernels"
HWNN_THREADS=2 "$out/test_kernels"
