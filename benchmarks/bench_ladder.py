"""The optimization ladder at 1024^3: each rung's GFLOP/s beside OpenBLAS, measured in one run.

    .venv/bin/python benchmarks/bench_ladder.py [--size 1024] [--repeats 7] [--threads 2]

Prints the CPU model, the FMA-loop peak, every rung's median GFLOP/s at size^3 with its
fraction of peak, speedup over naive and ratio to NumPy's OpenBLAS sgemm (pinned to the same
thread count), then checks the issue's targets:

* each rung faster than the one before it;
* the top single-thread rung at least 80% of single-thread OpenBLAS sgemm.

The naive rung is timed on a block of rows of C (the note says how many). Timings on a shared
machine are noisy: every figure is a median, and the script exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

# Without threadpoolctl, OpenBLAS can only be pinned before NumPy loads it.
if importlib.util.find_spec("threadpoolctl") is None:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

from hwnn import ladder  # noqa: E402  (after the environment above)
from hwnn.system import cpu_model  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2, help="threads for the threads rung")
    args = parser.parse_args()

    peak = ladder.measure_peak_gflops()
    print(f"cpu: {cpu_model()}")
    print(f"simd: {ladder.best_simd() or 'none'}; FMA-loop peak {peak:.1f} GFLOP/s per core")
    print(f"blas: {ladder.openblas_info()}")
    print(f"load average (1 min): {ladder.load_average()} on {os.cpu_count()} cores")
    threads = (1, args.threads) if args.threads > 1 else (1,)
    rows = ladder.run_ladder(
        sizes=(args.size,), shapes=[], threads=threads, repeats=args.repeats, batches=(),
        binary=True, peak_gflops=peak,
    )
    print(f"\n{args.size}^3, median of {args.repeats}")
    print(f"{'rung':18s} {'thr':>3s} {'GFLOP/s':>9s} {'of peak':>8s} {'x naive':>8s} "
          f"{'/ OpenBLAS':>10s}  note")
    for r in rows:
        frac = "" if r.fraction_of_peak is None else f"{r.fraction_of_peak:8.1%}"
        print(f"{r.rung:18s} {r.threads:3d} {r.gflops:9.2f} {frac:>8s} "
              f"{r.speedup_over_naive:8.1f} {r.ratio_to_openblas:10.2f}  {r.note}")
    print(f"load average (1 min) after the run: {ladder.load_average()}")
    return _check_targets(rows)


def _check_targets(rows: list[ladder.LadderRow]) -> int:
    ladder_rows = [r for r in rows if r.rung in ladder.RUNGS]
    failed = 0
    for below, above in zip(ladder_rows, ladder_rows[1:], strict=False):
        ok = above.gflops > below.gflops
        failed += not ok
        print(f"target {above.rung} > {below.rung}: {above.gflops / below.gflops:.2f}x "
              f"{'ok' if ok else 'MISSED'}")
    single = [r for r in ladder_rows if r.threads == 1]
    top = single[-1]
    ok = top.ratio_to_openblas >= 0.8
    failed += not ok
    print(f"target top single-thread rung ({top.rung}) >= 80% of OpenBLAS: "
          f"{top.ratio_to_openblas:.0%} {'ok' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
