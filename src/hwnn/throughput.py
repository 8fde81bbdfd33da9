"""Predictions per second and latency against batch size, for a torch model on the CPU.

Each batch size is timed over repeated forward passes after a warm-up; the median run
gives latency per batch, latency per sample = latency / batch and predictions per second =
batch / latency. One thread unless told otherwise, so figures are comparable on a shared
machine.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from hwnn.results import ThroughputPoint


def _batch_of(x: np.ndarray, batch: int) -> np.ndarray:
    reps = -(-batch // len(x))
    return np.ascontiguousarray(np.concatenate([x] * reps)[:batch]) if reps > 1 else x[:batch]


def time_call(fn: Callable[[], object], min_time_s: float = 0.2, min_repeats: int = 5) -> float:
    """Median seconds per call, repeating until both ``min_repeats`` and ``min_time_s`` are met."""
    fn()  # warm-up: first-call allocation and dispatch costs are not steady state
    times: list[float] = []
    spent = 0.0
    while len(times) < min_repeats or spent < min_time_s:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        spent += dt
        if len(times) >= 10_000:
            break
    return statistics.median(times)


def measure_torch(
    model: nn.Module,
    x: np.ndarray,
    batches: tuple[int, ...] = (1, 256),
    threads: int = 1,
    min_time_s: float = 0.2,
) -> list[ThroughputPoint]:
    """Throughput of ``model`` (fp32, eval mode) at each batch size."""
    model.eval()
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    points = []
    try:
        with torch.inference_mode():
            for b in batches:
                xb = torch.from_numpy(_batch_of(x, b))
                latency = time_call(lambda xb=xb: model(xb), min_time_s=min_time_s)
                points.append(
                    ThroughputPoint(
                        batch=b,
                        predictions_per_s=b / latency,
                        latency_per_batch_s=latency,
                        latency_per_sample_s=latency / b,
                        threads=threads,
                    )
                )
    finally:
        torch.set_num_threads(old_threads)
    return points
