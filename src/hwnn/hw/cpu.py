"""CPUs as rooflines: the TPU paper's Haswell, the deck's 2011 CPU, and this machine.

A CPU is a ``RooflineDevice`` (peak ops/s per format, DRAM bandwidth, last-level cache
as its on-chip memory) with its busy power. Without batching each weight byte fetched
from DRAM is used once per input, so a large network is memory-bound on a CPU (the
deck's "without batching, CPU is not a good hardware platform").

Presets:

- ``haswell``: Intel Xeon E5-2699 v3, one die, as measured in Jouppi et al., "In-Datacenter
  Performance Analysis of a Tensor Processing Unit", ISCA 2017, Table 2: 18 cores at
  2.3 GHz, 1.3 TFLOPS fp32 and 2.6 TOPS int8, 51 GB/s, 51 MiB on chip, 145 W busy,
  41 W idle.
- ``deck-cpu-2011``: the CPU of the deck's batching table (Vanhoucke, Senior & Mao,
  "Improving the speed of neural networks on CPUs", NIPS workshop 2011): its bandwidth is
  fitted so the speech network (``hwnn.hw.gpu.speech_dnn``) takes 1360 ms per second of
  speech at batch 1; its peak is an assumed 4-core, 2.66 GHz SSE Xeon (4 cores x 8 flops
  per cycle = 85 GFLOPS), which leaves batch 1 memory-bound as the paper describes.
- ``local-cpu``: this machine, from ``hwnn.hw.calibrate`` (measured GEMM and copy rates,
  and the measured cost of one tiny NumPy matrix product as the per-layer overhead).

The Haswell and 2011 presets add an assumed 1 us per layer for dispatch (``CPU_CALL_S``).

On-chip accesses are priced at the size of one core's L2 (256 KiB on Haswell), the bank
a core's working set lives in.
"""

from __future__ import annotations

from hwnn.hw.roofline import RooflineDevice

JOUPPI = "Jouppi et al., ISCA 2017, Table 2 (per die)"
# Dispatch cost of one layer (a BLAS call): assumed 1 us, the order this project's dev
# machine measures for a tiny NumPy GEMM (1.9 us, hwnn.hw.calibrate); it dominates tiny
# networks and keeps the presets comparable with ``local-cpu``.
CPU_CALL_S = 1e-6


def haswell() -> RooflineDevice:
    return RooflineDevice(
        name="haswell",
        kind="cpu",
        peak_ops_per_s={"fp32": 1.3e12, "int8": 2.6e12},
        dram_bandwidth_bytes_per_s=51e9,
        onchip_bytes=51 * 2**20,
        clock_hz=2.3e9,
        busy_power_w=145.0,
        idle_power_w=41.0,
        layer_overhead_s=CPU_CALL_S,
        onchip_name="cache",
        onchip_bank_bytes=256 * 1024,  # Haswell's per-core L2
        source=JOUPPI,
    )


def deck_cpu_2011() -> RooflineDevice:
    from hwnn.hw.gpu import DECK_CPU_MS, SPEECH_FRAMES_PER_S, speech_dnn

    w = speech_dnn(1)
    weight_bytes = sum(layer.weight_count * 4 for layer in w.layers)
    # the fitted memory time is what remains of a frame after each layer's dispatch
    per_frame_s = DECK_CPU_MS[1] / 1000 / SPEECH_FRAMES_PER_S - len(w.layers) * CPU_CALL_S
    return RooflineDevice(
        name="deck-cpu-2011",
        kind="cpu",
        peak_ops_per_s={"fp32": 4 * 2.66e9 * 8, "int8": 2 * 4 * 2.66e9 * 8},
        dram_bandwidth_bytes_per_s=weight_bytes / per_frame_s,
        onchip_bytes=8 * 2**20,
        clock_hz=2.66e9,
        busy_power_w=95.0,  # assumed: a 2011 4-core Xeon's TDP class
        layer_overhead_s=CPU_CALL_S,
        onchip_name="cache",
        onchip_bank_bytes=256 * 1024,
        source="bandwidth fitted to the deck's CPU row (1360 ms, batch 1; Vanhoucke 2011); "
        "peak and power assumed (4-core 2.66 GHz SSE Xeon, 95 W)",
    )


def from_calibration(cal: dict, name: str = "local-cpu") -> RooflineDevice:
    """A CPU device from ``hwnn.hw.calibrate.calibrate()``'s numbers."""
    peak = float(cal["peak_fp32_flops"])
    return RooflineDevice(
        name=name,
        kind="cpu",
        peak_ops_per_s={"fp32": peak, "int8": float(cal.get("peak_int8_ops", 2 * peak))},
        dram_bandwidth_bytes_per_s=float(cal["bandwidth_bytes_per_s"]),
        onchip_bytes=float(cal.get("last_level_cache_bytes", 8 << 20)),
        clock_hz=float(cal.get("clock_hz", 2.5e9)),
        busy_power_w=float(cal.get("busy_power_w", 8.0 * int(cal["cores"]))),
        layer_overhead_s=float(cal.get("call_overhead_s", 0.0)),
        onchip_name="cache",
        onchip_bank_bytes=float(cal.get("l2_cache_bytes", 256 * 1024)),
        source=f"measured on this machine ({cal.get('cpu', '?')}, {cal.get('measured_at', '?')})",
    )
