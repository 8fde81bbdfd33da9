"""The roofline model (Williams, Waterman & Patterson, CACM 2009) and a device built on it.

A processor with peak rate ``P`` (ops/s) and memory bandwidth ``B`` (bytes/s) attains

    attainable(I) = min(P, I x B)        for operational intensity I (ops per byte)

and the ridge point ``I* = P / B`` separates memory-bound (I < I*) from compute-bound
layers. For one layer, time is the slowest of its resources:

    t = max(ops / P_format, dram_bytes / B_dram, onchip_bytes / B_onchip) + t_overhead

``RooflineDevice`` applies this layer by layer. The peak depends on the operand formats
(``compute_class``: binary, int2, int4, int8, int16, int32, fp16, fp32); a format the
device has no units for runs on the next wider class it has (``FALLBACK``), e.g. int4 on
int8 units. Traffic: weights come from DRAM unless the whole model fits the on-chip
memory and the device keeps it resident; a layer's activations stay on-chip when input
and output fit, else they go through DRAM.

Energy, by part: the MACs and accesses priced by ``hwnn.hw.energy`` (Horowitz 45 nm by
default); an on-chip access is priced at the size of one bank (``onchip_bank_bytes``: a
core's L2, an SM's shared memory, a CMX slice), since that is the array it reads. A
device with a published busy power ``W`` draws ``W x t`` while it runs; the difference
between that and the priced parts is "other" (instruction fetch, control, clocking and
static power: what the op table does not price, which dominates on a CPU; Horowitz ISSCC
2014). When the priced parts exceed ``W x t`` (a newer node than 45 nm) they are scaled
down to it in proportion, so the total is the device's busy power times time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwnn.errors import ConfigError
from hwnn.formats import Binary, Codebook, Fixed, Float, Format, Int, Log2, Ternary
from hwnn.hw import energy
from hwnn.hw.device import Device, LayerEstimate
from hwnn.hw.workload import Layer, Workload

CLASSES = ("binary", "int2", "int4", "int8", "int16", "int32", "fp16", "fp32")
# The next wider unit a format can run on when a device lacks its own.
FALLBACK = {
    "binary": "int2", "int2": "int4", "int4": "int8", "int8": "int16", "int16": "int32",
    "int32": "fp32", "fp16": "fp32", "fp32": None,
}


def _int_class(bits: int) -> str:
    for width in (2, 4, 8, 16, 32):
        if bits <= width:
            return f"int{width}"
    raise ConfigError(f"no integer unit wider than 32 bits for {bits}-bit operands")


def _operand_class(fmt: Format, other: Format) -> str:
    if isinstance(fmt, Float):
        return "fp32" if fmt.bits == 32 else "fp16"
    if isinstance(fmt, Binary):
        return "binary"
    if isinstance(fmt, Ternary):
        return "int2"
    if isinstance(fmt, (Int, Fixed, Log2)):
        return _int_class(fmt.bits)
    if isinstance(fmt, Codebook):  # decoded to the other operand's format before the MAC
        if isinstance(other, (Float, Int, Fixed)):
            return _operand_class(other, other)
        return "int16"  # EIE's 16-bit shared weights (Han et al. 2016)
    raise ConfigError(f"format {fmt!r} unknown to the roofline model")


def compute_class(weight_format: Format, act_format: Format) -> str:
    """The arithmetic unit a MAC of these formats needs: the wider operand decides."""
    a = _operand_class(weight_format, act_format)
    b = _operand_class(act_format, weight_format)
    return max(a, b, key=CLASSES.index)


def supported_class(peaks: dict[str, float], wanted: str) -> str | None:
    c: str | None = wanted
    while c is not None and c not in peaks:
        c = FALLBACK[c]
    return c


@dataclass(frozen=True)
class Roofline:
    """``attainable(I) = min(peak, I x bandwidth)``; the ridge is ``peak / bandwidth``."""

    peak_ops_per_s: float
    bandwidth_bytes_per_s: float

    @property
    def ridge_ops_per_byte(self) -> float:
        return self.peak_ops_per_s / self.bandwidth_bytes_per_s

    def attainable_ops_per_s(self, intensity_ops_per_byte: float) -> float:
        return min(self.peak_ops_per_s, intensity_ops_per_byte * self.bandwidth_bytes_per_s)

    def time_s(self, ops: float, nbytes: float) -> float:
        return max(ops / self.peak_ops_per_s, nbytes / self.bandwidth_bytes_per_s)


def layer_bytes(layer: Layer) -> tuple[float, float, float]:
    """(weight, input, output) bytes of one layer at its formats' storage widths."""
    return (
        layer.weight_count * layer.weight_format.bits / 8,
        layer.input_count * layer.act_format.bits / 8,
        layer.output_count * layer.out_format.bits / 8,
    )


def cap_to_power(parts: dict[str, float], busy_energy_pj: float) -> dict[str, float]:
    """Total = busy power x time: "other" takes the remainder, or parts scale down to it."""
    priced = sum(parts.values())
    if busy_energy_pj <= 0:
        return dict(parts)
    if priced <= busy_energy_pj:
        return {**parts, "other": busy_energy_pj - priced}
    scale = busy_energy_pj / priced
    return {k: v * scale for k, v in parts.items()}


class RooflineDevice(Device):
    """A processor described by peak rates per format, memory sizes and bandwidths, power."""

    def __init__(
        self,
        name: str,
        kind: str,
        peak_ops_per_s: dict[str, float],
        dram_bandwidth_bytes_per_s: float,
        onchip_bytes: float,
        clock_hz: float,
        onchip_bandwidth_bytes_per_s: float | None = None,
        busy_power_w: float | None = None,
        idle_power_w: float | None = None,
        layer_overhead_s: float = 0.0,
        weights_resident: bool = True,
        onchip_name: str = "sram",
        onchip_bank_bytes: float | None = None,
        table: energy.EnergyTable | None = None,
        source: str = "",
    ) -> None:
        bad = [c for c in peak_ops_per_s if c not in CLASSES]
        if bad:
            raise ConfigError(f"device {name!r}: unknown compute classes {bad}, use {CLASSES}")
        numbers = {
            "dram bandwidth": dram_bandwidth_bytes_per_s, "on-chip bytes": onchip_bytes,
            "clock": clock_hz, **{f"peak {k}": v for k, v in peak_ops_per_s.items()},
        }
        for what, v in numbers.items():
            if not v > 0:
                raise ConfigError(f"device {name!r}: {what} must be positive, got {v}")
        self.name = name
        self.kind = kind
        self.peak_ops_per_s = dict(peak_ops_per_s)
        self.dram_bandwidth_bytes_per_s = dram_bandwidth_bytes_per_s
        self.onchip_bytes = onchip_bytes
        self.onchip_bandwidth_bytes_per_s = onchip_bandwidth_bytes_per_s
        self.clock_hz = clock_hz
        self.busy_power_w = busy_power_w
        self.idle_power_w = idle_power_w
        self.layer_overhead_s = layer_overhead_s
        self.weights_resident = weights_resident
        self.onchip_name = onchip_name
        # an access reads one bank (an L2, an SM's shared memory, a CMX slice), so the
        # SRAM energy follows the bank's size, not the whole on-chip capacity
        self.onchip_bank_bytes = onchip_bank_bytes or onchip_bytes
        self.table = table
        self.source = source

    # ---- the model -----------------------------------------------------------------------

    def roofline(self, cls: str = "fp32") -> Roofline:
        """The DRAM roofline for one compute class (after fallback)."""
        have = supported_class(self.peak_ops_per_s, cls)
        if have is None:
            raise ConfigError(
                f"{self.name} has no units for {cls} (has {sorted(self.peak_ops_per_s)})"
            )
        return Roofline(self.peak_ops_per_s[have], self.dram_bandwidth_bytes_per_s)

    def run(self, workload: Workload) -> list[LayerEstimate]:
        total_weights = sum(layer_bytes(layer)[0] for layer in workload.layers)
        resident = self.weights_resident and total_weights <= self.onchip_bytes
        return [self.estimate_layer(layer, resident) for layer in workload.layers]

    def estimate_layer(self, layer: Layer, weights_on_chip: bool = False) -> LayerEstimate:
        wanted = compute_class(layer.weight_format, layer.act_format)
        have = supported_class(self.peak_ops_per_s, wanted)
        if have is None:
            return LayerEstimate(
                layer.name, 0.0, 0.0, layer.macs, feasible=False,
                reason=f"{self.name} has no arithmetic for {wanted} "
                f"(units: {sorted(self.peak_ops_per_s)}); quantize to one of them",
            )
        w_b, in_b, out_b = layer_bytes(layer)
        acts_on_chip = in_b + out_b <= self.onchip_bytes
        dram = (0.0 if weights_on_chip else w_b) + (0.0 if acts_on_chip else in_b + out_b)
        onchip = (w_b if weights_on_chip else 0.0) + (in_b + out_b if acts_on_chip else 0.0)
        ops = 2.0 * layer.macs
        t_compute = ops / self.peak_ops_per_s[have]
        t_dram = dram / self.dram_bandwidth_bytes_per_s
        on_bw = self.onchip_bandwidth_bytes_per_s
        t_onchip = onchip / on_bw if on_bw else 0.0
        t = max(t_compute, t_dram, t_onchip) + self.layer_overhead_s
        parts = energy.breakdown_pj(
            layer.macs, layer.weight_format, layer.act_format,
            {self.onchip_name: (onchip, self.onchip_bank_bytes)} if onchip else None, dram,
            self.table,
        )
        if self.busy_power_w:
            parts = cap_to_power(parts, self.busy_power_w * t * 1e12)
        traffic = {self.onchip_name: onchip, "dram": dram}
        return LayerEstimate(
            layer=layer.name, cycles=t * self.clock_hz, latency_s=t, macs=layer.macs,
            energy_pj=parts, traffic_bytes=traffic,
            utilization=t_compute / t if t > 0 else 0.0,
            bound=_bound(t_compute, max(t_dram, t_onchip), self.layer_overhead_s),
            reason="" if have == wanted else f"{wanted} runs on {have} units",
        )

    def spec(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "peak_ops_per_s": dict(self.peak_ops_per_s),
            "dram_bandwidth_bytes_per_s": self.dram_bandwidth_bytes_per_s,
            "onchip_bytes": self.onchip_bytes,
            "onchip_bank_bytes": self.onchip_bank_bytes,
            "onchip_bandwidth_bytes_per_s": self.onchip_bandwidth_bytes_per_s,
            "clock_hz": self.clock_hz,
            "busy_power_w": self.busy_power_w,
            "idle_power_w": self.idle_power_w,
            "layer_overhead_s": self.layer_overhead_s,
            "ridge_ops_per_byte": {
                c: p / self.dram_bandwidth_bytes_per_s for c, p in self.peak_ops_per_s.items()
            },
            "source": self.source,
        }


def _bound(t_compute: float, t_memory: float, t_overhead: float) -> str:
    """What limits the layer: "overhead" when fixed per-layer costs outweigh the work."""
    if t_overhead > max(t_compute, t_memory):
        return "overhead"
    return "compute" if t_compute >= t_memory else "memory"


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def attained_ops_per_s(estimate: LayerEstimate) -> float:
    return 2.0 * estimate.macs / estimate.latency_s if estimate.latency_s > 0 else math.nan
