"""The foundation's figures: fp32 accuracy, training time and predictions per second.

Runs the default study (digits MLP, seed 0) and prints accuracy, training time, CPU
predictions per second at batch 1 and 256 (one thread, medians) and the study's wall time.

    .venv/bin/python benchmarks/bench_study.py [--out /tmp/bench-study]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hwnn import system
from hwnn.config import StudyConfig
from hwnn.study import run_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench-study"))
    args = parser.parse_args()
    print(f"CPU: {system.cpu_model()}")
    start = time.perf_counter()
    result = run_study(StudyConfig(out=args.out))
    wall = time.perf_counter() - start
    fp32 = result.section("fp32").data
    print(f"fp32 accuracy: {fp32.accuracy:.4f}  training time: {fp32.train_time_s:.2f} s")
    for p in result.section("throughput").data:
        print(
            f"batch {p.batch:4d}: {p.predictions_per_s:12.0f} predictions/s "
            f"({p.latency_per_sample_s * 1e6:.2f} us per sample, {p.threads} thread)"
        )
    print(f"study wall time: {wall:.1f} s")


if __name__ == "__main__":
    main()
