"""GPUs: a roofline plus batching, which explains the deck's speech table.

Serving ``n`` requests in batches of ``B``, each batch fetches every weight once from DRAM
(``t_weights``) and does ``B`` requests' worth of arithmetic (``B x t_compute``), so

    T(B) = ceil(n / B) x max(t_weights, B x t_compute)

Small batches are memory-bound (time falls as 1/B: "linear improvements from batching");
past ``B* = t_weights / t_compute`` compute dominates. The deck's table (Vanhoucke, Senior
& Mao, NIPS workshop 2011; processing 1 s of speech = 100 frames at 10 ms):

| | batch | ms |
|---|---|---|
| CPU | 1 | 1360 |
| GPU | 1, 2, 4, 8, 128 | 490, 250, 125, 66, 20 |

``fit_batching`` recovers ``t_weights`` and ``t_compute`` from such a table (the fit is
within 5% on every row); ``deck-gpu-2011`` is the GPU those numbers imply for the speech
network, whose per-layer roofline then reproduces the table.

Presets (one die each):

- ``k80``: NVIDIA K80 die as in Jouppi et al., ISCA 2017, Table 2: 2.8 TFLOPS fp32
  (no int8 or fp16 units), 160 GB/s, 8 MiB on chip, 560 MHz, 98 W busy, 25 W idle.
- ``h100``: NVIDIA H100 SXM5 datasheet (dense, no sparsity): 67 TFLOPS fp32 (CUDA cores),
  989 TFLOPS fp16/bf16 and 1979 TOPS int8 (tensor cores), 3.35 TB/s HBM3, 50 MB L2,
  1.98 GHz boost, 700 W.
- ``h200``: the same die with 141 GB of HBM3e at 4.8 TB/s (NVIDIA H200 datasheet, SXM).
- On-chip accesses are priced at one SM's shared memory (64 KiB Kepler, 256 KiB Hopper).
- Both pay ``layer_overhead_s`` = 5 us per layer, the order of a CUDA kernel launch plus
  synchronisation, which dominates tiny layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hwnn.errors import ConfigError
from hwnn.formats import FP32, Format
from hwnn.hw.device import Device
from hwnn.hw.roofline import RooflineDevice
from hwnn.hw.workload import Layer, Workload

SPEECH_FRAMES_PER_S = 100  # 10 ms frame shift
DECK_GPU_MS = {1: 490.0, 2: 250.0, 4: 125.0, 8: 66.0, 128: 20.0}
DECK_CPU_MS = {1: 1360.0}
# Vanhoucke et al. 2011: 11 stacked frames of 40 filterbank features, 4 hidden layers of
# 2000 units; the ~8000-state output layer is our reconstruction (HMM states of a large
# vocabulary system). Only the fitted bandwidth/peak depend on it, not the fit quality.
SPEECH_SHAPE = (440, 2000, 2000, 2000, 2000, 8000)
KERNEL_LAUNCH_S = 5e-6


def speech_dnn(batch: int = 1, fmt: Format = FP32) -> Workload:
    """The deck's speech network at ``batch`` frames per call, all operands in ``fmt``."""
    if batch < 1:
        raise ConfigError(f"batch must be at least 1, got {batch}")
    dims = SPEECH_SHAPE
    layers = tuple(
        Layer(f"fc{i}", "gemm", m=batch, k=dims[i], n=dims[i + 1], weight_format=fmt,
              act_format=fmt, out_format=fmt)
        for i in range(len(dims) - 1)
    )
    suffix = "" if fmt == FP32 else f"-{fmt.name}"
    return Workload(f"speech-dnn-b{batch}{suffix}", layers)


@dataclass(frozen=True)
class BatchingFit:
    t_weights_s: float
    t_compute_s: float
    max_rel_error: float

    def predict_s(self, n: int, batch: int) -> float:
        return math.ceil(n / batch) * max(self.t_weights_s, batch * self.t_compute_s)


def batching_model_s(n: int, batch: int, t_weights_s: float, t_compute_s: float) -> float:
    """``T(B) = ceil(n / B) x max(t_weights, B x t_compute)``."""
    return math.ceil(n / batch) * max(t_weights_s, batch * t_compute_s)


def fit_batching(table_s: dict[int, float], n: int) -> BatchingFit:
    """``t_weights`` and ``t_compute`` minimising the worst relative error over the table.

    Each row gives a candidate (memory-bound: T / ceil(n/B); compute-bound:
    T / (ceil(n/B) B)); a log grid around the best candidate pair refines it.
    """
    if not table_s or any(b < 1 or t <= 0 for b, t in table_s.items()):
        raise ConfigError("a batching table needs batch sizes >= 1 and positive times")
    b = np.array(sorted(table_s), dtype=float)
    t = np.array([table_s[int(x)] for x in b])
    calls = np.ceil(n / b)
    cand_w = t / calls
    cand_c = t / (calls * b)

    def worst(tw: np.ndarray, tc: np.ndarray) -> np.ndarray:
        pred = calls[None, :] * np.maximum(tw[:, None], b[None, :] * tc[:, None])
        return np.max(np.abs(pred - t[None, :]) / t[None, :], axis=1)

    tw, tc = np.meshgrid(cand_w, cand_c)
    tw, tc = tw.ravel(), tc.ravel()
    i = int(np.argmin(worst(tw, tc)))
    grid = np.exp(np.linspace(-0.3, 0.3, 121))
    gw, gc = np.meshgrid(tw[i] * grid, tc[i] * grid)
    gw, gc = gw.ravel(), gc.ravel()
    err = worst(gw, gc)
    j = int(np.argmin(err))
    return BatchingFit(float(gw[j]), float(gc[j]), float(err[j]))


@dataclass(frozen=True)
class BatchPoint:
    batch: int
    total_latency_s: float
    latency_per_batch_s: float
    throughput_per_s: float


def batching_table(
    device: Device, make_workload, n: int, batches: list[int] | tuple[int, ...]
) -> list[BatchPoint]:
    """``T(B)`` for ``n`` requests on ``device``, the workload at each batch size given by
    ``make_workload(B)``; per-batch time comes from the device's per-layer model."""
    out = []
    for bsz in batches:
        per_batch = device.estimate(make_workload(bsz), bsz).latency_s
        total = math.ceil(n / bsz) * per_batch
        out.append(BatchPoint(bsz, total, per_batch, n / total))
    return out


def deck_gpu_2011() -> RooflineDevice:
    """The GPU the deck's table implies for the speech network (fitted)."""
    fit = fit_batching({k: v / 1000 for k, v in DECK_GPU_MS.items()}, SPEECH_FRAMES_PER_S)
    w = speech_dnn(1)
    weight_bytes = sum(layer.weight_count * 4 for layer in w.layers)
    flops_per_frame = 2.0 * w.macs
    return RooflineDevice(
        name="deck-gpu-2011",
        kind="gpu",
        peak_ops_per_s={"fp32": flops_per_frame / fit.t_compute_s},
        dram_bandwidth_bytes_per_s=weight_bytes / fit.t_weights_s,
        onchip_bytes=16 * 2**20,
        onchip_bank_bytes=64 * 1024,
        clock_hz=1.5e9,
        busy_power_w=244.0,  # assumed: GTX 580-class board power
        weights_resident=False,
        source=f"fitted to the deck's GPU batching table (Vanhoucke 2011): t_weights="
        f"{fit.t_weights_s * 1e3:.3f} ms, t_compute={fit.t_compute_s * 1e3:.4f} ms per frame; "
        "power assumed (GTX 580-class, 244 W)",
    )


def k80() -> RooflineDevice:
    return RooflineDevice(
        name="k80",
        kind="gpu",
        peak_ops_per_s={"fp32": 2.8e12},
        dram_bandwidth_bytes_per_s=160e9,
        onchip_bytes=8 * 2**20,
        onchip_bank_bytes=64 * 1024,  # Kepler SMX shared memory / L1
        clock_hz=560e6,
        busy_power_w=98.0,
        idle_power_w=25.0,
        layer_overhead_s=KERNEL_LAUNCH_S,
        source="Jouppi et al., ISCA 2017, Table 2 (per die)",
    )


def _hopper(name: str, dram_bytes_per_s: float, source: str) -> RooflineDevice:
    """The GH100 die at its SXM clocks and dense rates; the H100 and H200 differ in memory."""
    return RooflineDevice(
        name=name,
        kind="gpu",
        peak_ops_per_s={"fp32": 67e12, "fp16": 989e12, "int8": 1979e12},
        dram_bandwidth_bytes_per_s=dram_bytes_per_s,
        onchip_bytes=50e6,
        onchip_bank_bytes=256 * 1024,  # Hopper SM's combined L1 / shared memory
        clock_hz=1.98e9,
        busy_power_w=700.0,
        layer_overhead_s=KERNEL_LAUNCH_S,
        source=source,
    )


def h100() -> RooflineDevice:
    return _hopper("h100", 3.35e12, "NVIDIA H100 Tensor Core GPU datasheet, SXM5, dense rates")


def h200() -> RooflineDevice:
    """HBM3e: 141 GB at 4.8 TB/s."""
    return _hopper("h200", 4.8e12, "NVIDIA H200 Tensor Core GPU datasheet, SXM, dense rates")
