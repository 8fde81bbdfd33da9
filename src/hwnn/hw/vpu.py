"""Vision processing units: vector cores (Movidius SHAVE) around a shared on-chip memory.

A VPU is a roofline device whose compute roof is its vector cores:

    peak(format) = cores x lanes(format) x 2 ops (multiply-add) x clock

with ``lanes`` = 128-bit vector width / operand bits (SHAVE v2/v3 VAU: 4 fp32, 8 fp16 or
int16, 16 int8 lanes), plus, on Myriad X, the Neural Compute Engine's fixed-function DNN rate.
Weights and activations live in the CMX scratchpad when they fit, else in LPDDR. The
deck: such a chip "runs at about .9 Watts (5V at around 180mA)", against ~80 W for a CPU
and ~160 W for a GPU; energy per inference is that power times the time.

Presets (numbers from Movidius/Intel product briefs; the LPDDR bandwidths are assumed
from the memory type, the briefs do not state them):

- ``myriad2``: 12 SHAVEs at 600 MHz (115 GFLOPS fp16, "over 100 GFLOPS in about 1 W" for
  the Neural Compute Stick), 2 MB CMX, LPDDR3 ~6.4 GB/s (assumed), 0.9 W (the deck).
- ``myriadx``: 16 SHAVEs at 700 MHz plus the Neural Compute Engine, "over 1 TOPS" of DNN
  compute (fp16 and int8), 2.5 MB CMX, LPDDR4 ~12.8 GB/s (assumed), 1.5 W (assumed,
  Neural Compute Stick 2 class).
"""

from __future__ import annotations

from hwnn.hw.roofline import RooflineDevice

VECTOR_BITS = 128  # SHAVE vector arithmetic unit width


def shave_peaks(cores: int, clock_hz: float) -> dict[str, float]:
    """``cores x (128 / bits) lanes x 2 ops x clock`` for fp32, fp16, int16 and int8."""
    return {
        cls: cores * (VECTOR_BITS // bits) * 2 * clock_hz
        for cls, bits in (("fp32", 32), ("fp16", 16), ("int16", 16), ("int8", 8))
    }


def myriad2() -> RooflineDevice:
    return RooflineDevice(
        name="myriad2",
        kind="vpu",
        peak_ops_per_s=shave_peaks(12, 600e6),
        dram_bandwidth_bytes_per_s=6.4e9,
        onchip_bytes=2 * 2**20,
        onchip_bandwidth_bytes_per_s=400e9,  # CMX: 400 GB/s sustained (Movidius brief)
        clock_hz=600e6,
        busy_power_w=0.9,
        onchip_name="cmx",
        onchip_bank_bytes=128 * 1024,  # CMX is built of 128 KiB slices
        source="Movidius Myriad 2 brief (12 SHAVE v2, 600 MHz, 2 MB CMX); 0.9 W from the deck; "
        "LPDDR3 bandwidth assumed",
    )


def myriadx() -> RooflineDevice:
    peaks = shave_peaks(16, 700e6)
    nce = 1e12  # Neural Compute Engine, "over 1 TOPS" of DNN compute (Intel brief)
    peaks["fp16"] = max(peaks["fp16"], nce)
    peaks["int8"] = max(peaks["int8"], nce)
    return RooflineDevice(
        name="myriadx",
        kind="vpu",
        peak_ops_per_s=peaks,
        dram_bandwidth_bytes_per_s=12.8e9,
        onchip_bytes=2.5 * 2**20,
        onchip_bandwidth_bytes_per_s=450e9,  # CMX: 450 GB/s (Intel brief)
        clock_hz=700e6,
        busy_power_w=1.5,
        onchip_name="cmx",
        onchip_bank_bytes=128 * 1024,
        source="Intel Movidius Myriad X brief (16 SHAVE, 700 MHz, NCE > 1 TOPS, 2.5 MB CMX); "
        "LPDDR4 bandwidth and 1.5 W assumed",
    )
