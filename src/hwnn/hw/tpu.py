"""Google's TPU v1 (Jouppi et al., "In-Datacenter Performance Analysis of a Tensor
Processing Unit", ISCA 2017) behind the Device interface.

The chip: a 256 x 256 systolic array of 8-bit MACs at 700 MHz (peak 2 x 65,536 x 700e6 =
91.75 TOPS), a 24 MiB unified buffer for activations, 4 MiB of 32-bit accumulators, a
weight FIFO fed from 8 GiB of DDR3 at 34 GB/s, 40 W busy and 28 W idle (paper, Table 2).
8-bit x 16-bit MACs run at half speed and 16 x 16 at quarter speed (paper, Section 2);
there is no floating point.

Default model, a *mapped roofline*: each layer's time is the larger of

    compute: ceil(K / 256) x ceil(N / 256) x M x slowdown + 256 + 256 cycles
             (every weight tile streams all M input rows; one fill and drain per layer)
    memory:  weight bytes / 34 GB/s (weights stream from DRAM; activations stay in the
             unified buffer when they fit, else they go through DRAM too)

which, for layers that fill the array, is the paper's roofline: attainable ops/s =
min(92 TOPS, 2 x I x 34 GB/s) at I MACs per weight byte, ridge 91.75e12 / 2 / 34e9 = 1349
MACs per weight byte (the paper's "about 1350").

Energy: MACs, unified-buffer reads (each input row once per column tile of 256 outputs)
and writes, accumulator read-modify-writes (32-bit, once per row tile of K; priced per
16 KiB bank, one bank per column), weight FIFO and DRAM bytes priced by
``hwnn.hw.energy``, then brought to 40 W x time (``roofline.cap_to_power``).

``backend="systolic"`` hands each layer to the cycle-accurate systolic-array simulator in
``hwnn.hw.systolic`` (see ``systolic_backend``; preset
``tpu-v1-systolic``). SCALE-Sim's weight-stationary folds load each weight tile without
overlapping the previous fold (2 x 256 + 256 + M - 2 cycles per fold), whereas TPU v1
double-buffers weights, so the simulator's cycle counts run above the mapped roofline's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hwnn.errors import ConfigError
from hwnn.formats import INT8, Format, Int
from hwnn.hw import energy
from hwnn.hw.device import Device, LayerEstimate
from hwnn.hw.roofline import Roofline, cap_to_power, ceil_div, compute_class, layer_bytes
from hwnn.hw.workload import Layer, Workload

PAPER = "Jouppi et al., ISCA 2017"


@dataclass(frozen=True)
class TPUConfig:
    rows: int = 256
    cols: int = 256
    clock_hz: float = 700e6
    unified_buffer_bytes: int = 24 * 2**20
    accumulator_bytes: int = 4 * 2**20
    weight_fifo_bytes: int = 4 * 256 * 256  # four 64 KiB weight tiles
    dram_bandwidth_bytes_per_s: float = 34e9
    busy_power_w: float = 40.0
    idle_power_w: float = 28.0

    @property
    def peak_macs_per_s(self) -> float:
        return self.rows * self.cols * self.clock_hz

    @property
    def peak_ops_per_s(self) -> float:
        return 2 * self.peak_macs_per_s

    @property
    def ridge_macs_per_weight_byte(self) -> float:
        return self.peak_macs_per_s / self.dram_bandwidth_bytes_per_s


def _slowdown(weight: Format, act: Format) -> int | None:
    """1 for 8 x 8 bits, 2 for 8 x 16, 4 for 16 x 16; None when the TPU cannot run it."""
    cls = compute_class(weight, act)
    if cls in ("binary", "int2", "int4", "int8"):
        return 1
    if cls == "int16":
        wide = sum(compute_class(f, f) == "int16" for f in (weight, act))
        return 2 if wide == 1 else 4
    return None


def systolic_backend():
    """The systolic-array simulator configured as TPU v1 (``hwnn.hw.presets_tpu``), as a
    callable ``(Workload) -> list[LayerEstimate]``.

    It runs in SCALE-Sim's CALC bandwidth mode (prefetch keeps up). On TPU v1 the
    activations live in the 24 MiB unified buffer, written by the host over PCIe, and only
    weights stream from the 34 GB/s DRAM; the USER mode would charge every operand to that
    DRAM, which is SCALE-Sim's machine, not the TPU. The weight bandwidth limit is what the
    roofline backend models.
    """
    from hwnn.hw.presets_tpu import tpu_v1

    return tpu_v1(bandwidth_mode="CALC").run


class TPU(Device):
    kind = "tpu"

    def __init__(
        self,
        name: str = "tpu-v1",
        config: TPUConfig | None = None,
        backend: str = "roofline",
        table: energy.EnergyTable | None = None,
    ) -> None:
        if backend not in ("roofline", "systolic"):
            raise ConfigError(f"TPU backend {backend!r} unknown, use 'roofline' or 'systolic'")
        self.name = name
        self.config = config or TPUConfig()
        self.backend = backend
        self.table = table

    def roofline(self) -> Roofline:
        return Roofline(self.config.peak_ops_per_s, self.config.dram_bandwidth_bytes_per_s)

    def run(self, workload: Workload) -> list[LayerEstimate]:
        if self.backend == "systolic":
            sim = systolic_backend()
            # the simulator prices ops and accesses; bring them to 40 W x time like the
            # roofline backend, so both sit on the same scale as the other devices
            watts = self.config.busy_power_w
            return [
                replace(e, energy_pj=cap_to_power(e.energy_pj, watts * e.latency_s * 1e12))
                if e.feasible else e
                for e in sim(workload)
            ]
        return [self.estimate_layer(layer) for layer in workload.layers]

    def estimate_layer(self, layer: Layer) -> LayerEstimate:
        c = self.config
        slow = _slowdown(layer.weight_format, layer.act_format)
        if slow is None:
            return LayerEstimate(
                layer.name, 0.0, 0.0, layer.macs, feasible=False,
                reason=f"TPU v1 has only 8-bit integer MACs (16-bit at half or quarter speed); "
                f"{layer.weight_format.name} x {layer.act_format.name} needs float: "
                "quantize to int8",
            )
        m, k, n = layer.gemm_dims()
        g = layer.groups
        k_tiles, n_tiles = ceil_div(k, c.rows), ceil_div(n, c.cols)
        compute_cycles = g * k_tiles * n_tiles * m * slow + c.rows + c.cols
        w_b, in_b, out_b = layer_bytes(layer)
        acts_fit = in_b + out_b <= c.unified_buffer_bytes
        dram = w_b + (0.0 if acts_fit else in_b + out_b)
        dram_cycles = dram / c.dram_bandwidth_bytes_per_s * c.clock_hz
        cycles = max(compute_cycles, dram_cycles)
        t = cycles / c.clock_hz
        ub = in_b * n_tiles + out_b
        acc = g * m * n * 4 * (2 * k_tiles - 1)  # first K tile writes, the rest read + write
        parts = energy.breakdown_pj(
            layer.macs, layer.weight_format, layer.act_format,
            {
                "unified_buffer": (ub, c.unified_buffer_bytes),
                # one accumulator bank per array column: an access reads one bank
                "accumulators": (acc, c.accumulator_bytes / c.cols),
                "weight_fifo": (w_b, c.weight_fifo_bytes),
            },
            dram, self.table,
        )
        parts = cap_to_power(parts, c.busy_power_w * t * 1e12)
        return LayerEstimate(
            layer=layer.name, cycles=cycles, latency_s=t, macs=layer.macs, energy_pj=parts,
            traffic_bytes={"unified_buffer": ub, "accumulators": acc, "weight_fifo": w_b,
                           "dram": dram},
            utilization=layer.macs / (cycles * c.rows * c.cols),
            bound="compute" if compute_cycles >= dram_cycles else "memory",
        )

    def spec(self) -> dict:
        c = self.config
        return {
            "name": self.name, "kind": self.kind, "backend": self.backend,
            "array": f"{c.rows}x{c.cols} int8 MACs", "clock_hz": c.clock_hz,
            "peak_ops_per_s": {"int8": c.peak_ops_per_s, "int16": c.peak_ops_per_s / 4},
            "unified_buffer_bytes": c.unified_buffer_bytes,
            "accumulator_bytes": c.accumulator_bytes,
            "dram_bandwidth_bytes_per_s": c.dram_bandwidth_bytes_per_s,
            "busy_power_w": c.busy_power_w, "idle_power_w": c.idle_power_w,
            "ridge_macs_per_weight_byte": c.ridge_macs_per_weight_byte,
            "source": f"{PAPER}, Table 2 and Section 2",
        }


def tpu_v1(backend: str = "roofline") -> TPU:
    return TPU("tpu-v1" if backend == "roofline" else "tpu-v1-systolic", backend=backend)


@dataclass(frozen=True)
class PaperApp:
    """One of the TPU paper's six production apps (Table 1) and its measured rate."""

    name: str
    batch: int
    weights: int  # how many weights (millions in the paper)
    macs_per_weight_byte: int  # operational intensity on the paper's roofline (Table 1)
    measured_tops: float  # on the TPU (paper, Table 3 / Figure 5)


PAPER_APPS = (
    PaperApp("MLP0", 200, 20_000_000, 200, 12.3),
    PaperApp("MLP1", 168, 5_000_000, 168, 9.7),
    PaperApp("LSTM0", 64, 52_000_000, 64, 3.7),
    PaperApp("LSTM1", 96, 34_000_000, 96, 2.8),
    PaperApp("CNN0", 8, 8_000_000, 2888, 86.0),
    PaperApp("CNN1", 32, 100_000_000, 1750, 14.1),
)


def paper_roofline_tops(app: PaperApp, config: TPUConfig | None = None) -> float:
    """The paper's roofline prediction: min(peak, 2 x I x bandwidth), in TOPS."""
    c = config or TPUConfig()
    return Roofline(c.peak_ops_per_s, c.dram_bandwidth_bytes_per_s).attainable_ops_per_s(
        2 * app.macs_per_weight_byte
    ) / 1e12


def paper_app_workload(app: PaperApp, side: int = 2048) -> Workload:
    """A stand-in with the app's weight count and intensity: int8 GEMMs of ``side`` x
    ``side`` weights (whole 256-tiles) whose M equals the app's MACs per weight byte
    (each weight byte used M times). The real layer shapes are not published."""
    count = max(1, round(app.weights / side**2))
    layers = tuple(
        Layer(f"{app.name}.{i}", "gemm", m=app.macs_per_weight_byte, k=side, n=side,
              weight_format=INT8, act_format=INT8, out_format=Int(8))
        for i in range(count)
    )
    return Workload(app.name, layers)


__all__ = [
    "PAPER_APPS", "PaperApp", "TPU", "TPUConfig", "paper_app_workload",
    "paper_roofline_tops", "systolic_backend", "tpu_v1",
]
