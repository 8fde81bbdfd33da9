"""Native kernels against NumPy's OpenBLAS sgemm on the same shapes, in the same run.

    .venv/bin/python benchmarks/bench_kernels.py            # the issue-4 target shapes
    .venv/bin/python benchmarks/bench_kernels.py --quick    # smaller shapes, a few seconds
    .venv/bin/python benchmarks/bench_kernels.py --json out.json
    .venv/bin/python benchmarks/bench_kernels.py --cpu-time   # process CPU time, not wall
    .venv/bin/python benchmarks/bench_kernels.py --isa avx2   # as on an AVX2-only core

``--isa avx2`` stands in for an AVX2-only core (issue 4's targets are for AMD Zen 1) on an
AVX-512 machine: OpenBLAS runs its Haswell kernels (OPENBLAS_CORETYPE=Haswell, set before
NumPy loads it) and hwnn its AVX2 paths. The cores' ports still differ from Zen 1's (Zen 1
splits 256-bit ops in two and has four integer ALUs), so this is a proxy, not a Zen 1 figure.

One thread for everything (OpenBLAS is pinned through OPENBLAS_NUM_THREADS before NumPy is
imported; the kernels through hwnn.kernels.set_threads), except the thread-scaling row.
Each figure is the median of interleaved repetitions: sgemm and the kernel alternate, so
load from other processes on a shared machine hits both sides of a ratio alike. Operands
are packed once outside the timing (weights are packed once at deployment); packing the
activations is timed on its own row.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads OpenBLAS


def _isa_from_argv(argv: list[str]) -> str:
    """--isa, read before argparse runs: OpenBLAS takes its core type when NumPy loads it."""
    for i, x in enumerate(argv):
        if x.startswith("--isa="):
            return x.split("=", 1)[1]
        if x == "--isa" and i + 1 < len(argv):
            return argv[i + 1]
    return "auto"


ISA = _isa_from_argv(sys.argv)
if ISA == "avx2":
    os.environ["OPENBLAS_CORETYPE"] = "Haswell"
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from hwnn import kernels  # noqa: E402
from hwnn.kernels import backend  # noqa: E402
from hwnn.system import cpu_model  # noqa: E402

TARGETS = {  # issue 4 (AMD AVX2 core) and the AVX-512 brief
    "binary 4096^3": 8.0,
    "binary 256x1024x4096": 8.0,
    "binary 1x1024x4096": 25.0,
    "int8 256x1024x4096": 2.0,
    "int8 4096^3": 2.0,
}


def cpu_mhz() -> float | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":", 1)[1])
    except (OSError, ValueError):
        pass
    return None


CLOCK = time.perf_counter  # --cpu-time: time.process_time (one thread: time on the CPU)


def interleaved(fns: list[Callable[[], object]], reps: int) -> list[float]:
    """Median seconds of each function, the functions taking turns."""
    for fn in fns:  # warm-up: page faults, caches, lazy init
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(reps):
        for i, fn in enumerate(fns):
            t0 = CLOCK()
            fn()
            times[i].append(CLOCK() - t0)
    return [statistics.median(t) for t in times]


def row(name: str, shape: tuple[int, int, int], t: float, t_sgemm: float, path: str) -> dict:
    m, n, k = shape
    mhz = cpu_mhz()
    macs = m * n * k
    out = {
        "kernel": name,
        "shape_mnk": f"{m}x{n}x{k}",
        "path": path,
        "median_s": t,
        "sgemm_median_s": t_sgemm,
        "speedup_vs_sgemm": t_sgemm / t,
        "gmacs_per_s": macs / t / 1e9,
        "sgemm_gflops_per_s": 2 * macs / t_sgemm / 1e9,
    }
    if mhz:
        out["macs_per_cycle_at_nominal_clock"] = macs / t / (mhz * 1e6)
    return out


def bench_binary(shape, reps, rng, path="auto") -> dict:
    m, n, k = shape
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((n, k), dtype=np.float32)
    pa, pb = kernels.pack_signs(a), kernels.pack_signs(b)
    t_sgemm, t_bin = interleaved(
        [lambda: a @ b.T, lambda: kernels.binary_matmul(pa, pb, path=path)], reps
    )
    taken = backend.native_module().kernel_paths()["binary_gemm"] if path == "auto" else path
    return row("binary", shape, t_bin, t_sgemm, taken)


def bench_binary_warm(shape, reps, rng, path="auto") -> dict:
    """Each side timed back to back (its operands stay in cache), not interleaved: at M = 1
    sgemm streams 16 MiB of float weights that evict the 0.5 MiB of packed ones."""
    m, n, k = shape
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((n, k), dtype=np.float32)
    pa, pb = kernels.pack_signs(a), kernels.pack_signs(b)
    (t_sgemm,) = interleaved([lambda: a @ b.T], reps)
    (t_bin,) = interleaved([lambda: kernels.binary_matmul(pa, pb, path=path)], reps)
    taken = backend.native_module().kernel_paths()["binary_gemm"] if path == "auto" else path
    r = row("binary", shape, t_bin, t_sgemm, taken)
    r["kernel"] = "binary (warm)"
    return r


def bench_int8(shape, reps, rng, path="auto") -> dict:
    m, n, k = shape
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((n, k), dtype=np.float32)
    qa = rng.integers(0, 128, size=(m, k), dtype=np.int8)  # post-ReLU activations
    qb = rng.integers(-127, 128, size=(n, k), dtype=np.int8)
    t_sgemm, t_q = interleaved(
        [lambda: a @ b.T, lambda: kernels.int8_matmul(qa, qb, path=path)], reps
    )
    taken = backend.native_module().kernel_paths()["int8_gemm"] if path == "auto" else path
    return row("int8", shape, t_q, t_sgemm, taken)


def bench_ternary(shape, reps, rng) -> dict:
    m, n, k = shape
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((n, k), dtype=np.float32)
    ta = kernels.pack_ternary(rng.integers(-1, 2, size=(m, k)))
    tb = kernels.pack_ternary(rng.integers(-1, 2, size=(n, k)))
    t_sgemm, t_t = interleaved([lambda: a @ b.T, lambda: kernels.ternary_matmul(ta, tb)], reps)
    return row(
        "ternary", shape, t_t, t_sgemm, backend.native_module().kernel_paths()["ternary_gemm"]
    )


def bench_pack(shape, reps, rng) -> dict:
    m, n, k = shape
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((n, k), dtype=np.float32)
    pa, pb = kernels.pack_signs(a), kernels.pack_signs(b)
    t_pack, t_bin = interleaved(
        [lambda: kernels.pack_signs(a), lambda: kernels.binary_matmul(pa, pb)], reps
    )
    return {
        "kernel": "pack_signs (activations)",
        "shape_mnk": f"{m}x{n}x{k}",
        "median_s": t_pack,
        "fraction_of_binary_gemm": t_pack / t_bin,
    }


def bench_threads(shape, reps, rng) -> dict:
    m, n, k = shape
    pa = kernels.pack_signs(rng.standard_normal((m, k), dtype=np.float32))
    pb = kernels.pack_signs(rng.standard_normal((n, k), dtype=np.float32))

    def with_threads(t):
        def run():
            kernels.set_threads(t)
            kernels.binary_matmul(pa, pb)
            kernels.set_threads(1)

        return run

    one, two = interleaved([with_threads(1), with_threads(2)], reps)
    return {
        "kernel": "binary threads",
        "shape_mnk": f"{m}x{n}x{k}",
        "one_thread_s": one,
        "two_threads_s": two,
        "speedup_two_vs_one": one / two,
        "cores": os.cpu_count(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller shapes")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--isa", choices=("auto", "avx2"), default="auto",
                    help="avx2: OpenBLAS's Haswell kernels against hwnn's AVX2 paths")
    ap.add_argument(
        "--cpu-time",
        action="store_true",
        help="time in process CPU time (a shared machine's other tenants do not count; the "
        "two-thread row then counts both threads' time)",
    )
    args = ap.parse_args()
    if args.cpu_time:
        global CLOCK
        CLOCK = time.process_time
    if not backend.use_native():
        raise SystemExit("hwnn._core is not built (or HWNN_KERNELS=reference): nothing to time")
    kernels.set_threads(1)
    core = backend.native_module()
    rng = np.random.default_rng(0)
    big = (1024, 1024, 4096) if args.quick else (4096, 4096, 4096)
    big_reps = args.reps if args.quick else max(3, args.reps // 2)
    p = "avx2" if args.isa == "avx2" else "auto"
    rows = [
        bench_binary(big, big_reps, rng, p),
        bench_binary((256, 1024, 4096), args.reps * 4, rng, p),
        bench_binary((1, 1024, 4096), args.reps * 40, rng, p),
        bench_binary_warm((1, 1024, 4096), args.reps * 40, rng, p),
        bench_int8((256, 1024, 4096), args.reps * 4, rng, p),
        bench_int8(big, big_reps, rng, p),
    ]
    if args.isa == "auto":
        rows.append(bench_ternary((256, 1024, 4096), args.reps * 4, rng))
        for q in core.supported_paths()["binary"]:  # the path ladder on one shape
            rows.append(bench_binary((256, 1024, 4096), args.reps * 2, rng, path=q))
        for q in core.supported_paths()["int8"]:
            if q != "scalar":
                rows.append(bench_int8((256, 1024, 4096), args.reps * 2, rng, path=q))
    rows.append(bench_pack((256, 1024, 4096), args.reps * 4, rng))
    rows.append(bench_threads((1024, 1024, 4096), args.reps * 2, rng))

    header = {
        "cpu": cpu_model(),
        "nominal_mhz": cpu_mhz(),
        "cpu_features": {k: v for k, v in core.cpu_features().items() if v},
        "auto_paths": dict(core.kernel_paths()),
        "numpy_blas": "OpenBLAS, OPENBLAS_NUM_THREADS=" + os.environ["OPENBLAS_NUM_THREADS"]
        + (", OPENBLAS_CORETYPE=Haswell" if args.isa == "avx2" else ""),
        "threads": 1,
        "clock": "process CPU time" if args.cpu_time else "wall",
    }
    print(f"CPU: {header['cpu']} ({header['nominal_mhz']} MHz nominal)")
    print(f"features: {', '.join(header['cpu_features'])}")
    print(f"auto paths: {header['auto_paths']}")
    print(f"BLAS: {header['numpy_blas']}; hwnn paths: {p}")
    print(
        f"{'kernel':<26}{'shape':<18}{'path':<8}{'median ms':>11}{'sgemm ms':>11}{'x sgemm':>9}"
        f"{'target':>8}{'GMAC/s':>10}{'MAC/cyc':>9}"
    )
    for r in rows:
        if "speedup_vs_sgemm" in r:
            key = f"{r['kernel']} {r['shape_mnk']}".replace("4096x4096x4096", "4096^3")
            auto = r["path"] == header["auto_paths"][f"{r['kernel'].split()[0]}_gemm"] or (
                args.isa == "avx2" and r["path"] == "avx2")
            target = TARGETS.get(key.replace(" (warm)", "")) if auto else None
            print(
                f"{r['kernel']:<26}{r['shape_mnk']:<18}{r['path']:<8}{r['median_s'] * 1e3:>11.3f}"
                f"{r['sgemm_median_s'] * 1e3:>11.3f}{r['speedup_vs_sgemm']:>9.1f}"
                f"{(f'>={target:g}' if target else ''):>8}{r['gmacs_per_s']:>10.1f}"
                f"{r.get('macs_per_cycle_at_nominal_clock', float('nan')):>9.1f}"
            )
        elif "speedup_two_vs_one" in r:
            print(
                f"{r['kernel']:<26}{r['shape_mnk']:<18}{'':<8}{r['one_thread_s'] * 1e3:>11.3f}"
                f"{r['two_threads_s'] * 1e3:>11.3f}  two threads {r['speedup_two_vs_one']:.2f}x one"
                f" ({r['cores']} cores on this machine)"
            )
        else:
            print(
                f"{r['kernel']:<26}{r['shape_mnk']:<18}{'':<8}{r['median_s'] * 1e3:>11.3f}"
                f"{'':>11}  {r['fraction_of_binary_gemm']:.1%} of the binary GEMM"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"header": header, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
