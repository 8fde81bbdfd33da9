"""A custom accelerator: a rows x cols array of MACs of one format, plus SRAM buffers.

The deck's "Cost of Operations" turned into a chip. Everything comes from the energy and
area table (``hwnn.hw.energy``, Horowitz 45 nm by default):

    area   = rows x cols x MAC area(format) + SRAM area(weight buffer + activation buffer)
    energy = MACs x MAC energy(array format)
           + weight-buffer and activation-buffer bytes x SRAM energy (sqrt-of-size rule)
           + DRAM bytes x DRAM energy

The MAC units are what they are: a layer runs at the *array's* format's energy, and a
layer whose operands are wider than the array's (e.g. fp32 on an int8 array) cannot map
(infeasible, with the reason). Time is the weight-stationary mapping of the TPU model,
``ceil(K / rows) x ceil(N / cols) x M + rows + cols`` cycles, or the DRAM time when
weights do not fit the weight buffer and must stream in for every layer.
"""

from __future__ import annotations

from hwnn.errors import ConfigError
from hwnn.formats import FP32, INT8, Binary, Float, Format
from hwnn.hw import energy
from hwnn.hw.device import Device, LayerEstimate
from hwnn.hw.roofline import CLASSES, ceil_div, compute_class
from hwnn.hw.workload import Layer, Workload


class ASIC(Device):
    kind = "asic"

    def __init__(
        self,
        name: str,
        rows: int,
        cols: int,
        weight_format: Format,
        act_format: Format,
        weight_buffer_bytes: int,
        act_buffer_bytes: int,
        clock_hz: float = 1e9,
        dram_bandwidth_bytes_per_s: float = 25.6e9,
        table: energy.EnergyTable | None = None,
    ) -> None:
        if min(rows, cols, weight_buffer_bytes, act_buffer_bytes) <= 0 or clock_hz <= 0:
            raise ConfigError(f"ASIC {name!r}: array sizes, buffers and clock must be positive")
        self.name = name
        self.rows, self.cols = rows, cols
        self.weight_format, self.act_format = weight_format, act_format
        self.weight_buffer_bytes = weight_buffer_bytes
        self.act_buffer_bytes = act_buffer_bytes
        self.clock_hz = clock_hz
        self.dram_bandwidth_bytes_per_s = dram_bandwidth_bytes_per_s
        self.table = table
        self._cls = compute_class(weight_format, act_format)

    # ---- area and peak ---------------------------------------------------------------

    @property
    def mac_area_um2(self) -> float:
        return energy.mac_area_um2(self.weight_format, self.act_format, self.table)

    def area_um2(self) -> dict[str, float]:
        return {
            "macs": self.rows * self.cols * self.mac_area_um2,
            "weight_buffer": energy.sram_area_um2(self.weight_buffer_bytes, self.table),
            "act_buffer": energy.sram_area_um2(self.act_buffer_bytes, self.table),
        }

    @property
    def peak_ops_per_s(self) -> float:
        return 2.0 * self.rows * self.cols * self.clock_hz

    def _fits(self, layer: Layer) -> bool:
        wanted = compute_class(layer.weight_format, layer.act_format)
        if isinstance(self.weight_format, Float) or isinstance(self.act_format, Float):
            return True  # a float array runs every format (after conversion)
        return CLASSES.index(wanted) <= CLASSES.index(self._cls) and wanted not in ("fp16", "fp32")

    # ---- the model -------------------------------------------------------------------

    def run(self, workload: Workload) -> list[LayerEstimate]:
        total_w = sum(self._weight_bytes(layer) for layer in workload.layers)
        resident = total_w <= self.weight_buffer_bytes
        return [self.estimate_layer(layer, resident) for layer in workload.layers]

    def _weight_bytes(self, layer: Layer) -> float:
        """Weights are stored at the array's weight width."""
        return layer.weight_count * self.weight_format.bits / 8

    def estimate_layer(self, layer: Layer, weights_resident: bool) -> LayerEstimate:
        if not self._fits(layer):
            return LayerEstimate(
                layer.name, 0.0, 0.0, layer.macs, feasible=False,
                reason=f"{self.name} has {self.weight_format.name} x {self.act_format.name} "
                f"MACs; {layer.weight_format.name} x {layer.act_format.name} does not fit: "
                "quantize the layer to the array's formats",
            )
        m, k, n = layer.gemm_dims()
        g = layer.groups
        k_t, n_t = ceil_div(k, self.rows), ceil_div(n, self.cols)
        compute = g * k_t * n_t * m + self.rows + self.cols
        w_b = self._weight_bytes(layer)
        in_b = layer.input_count * self.act_format.bits / 8
        out_b = layer.output_count * self.act_format.bits / 8
        acts_fit = in_b + out_b <= self.act_buffer_bytes
        dram = (0.0 if weights_resident else w_b) + (0.0 if acts_fit else in_b + out_b)
        mem_cycles = dram / self.dram_bandwidth_bytes_per_s * self.clock_hz
        cycles = max(compute, mem_cycles)
        t = cycles / self.clock_hz
        act_traffic = in_b * n_t + out_b  # inputs re-read once per column tile
        parts = energy.breakdown_pj(
            layer.macs, self.weight_format, self.act_format,
            {"weight_buffer": (w_b, self.weight_buffer_bytes),
             "act_buffer": (act_traffic, self.act_buffer_bytes)},
            dram, self.table,
        )
        return LayerEstimate(
            layer=layer.name, cycles=cycles, latency_s=t, macs=layer.macs, energy_pj=parts,
            traffic_bytes={"weight_buffer": w_b, "act_buffer": act_traffic, "dram": dram},
            utilization=layer.macs / (cycles * self.rows * self.cols),
            bound="compute" if compute >= mem_cycles else "memory",
        )

    def spec(self) -> dict:
        area = self.area_um2()
        return {
            "name": self.name, "kind": self.kind,
            "array": f"{self.rows}x{self.cols} {self.weight_format.name} x "
            f"{self.act_format.name} MACs",
            "clock_hz": self.clock_hz, "peak_ops_per_s": self.peak_ops_per_s,
            "weight_buffer_bytes": self.weight_buffer_bytes,
            "act_buffer_bytes": self.act_buffer_bytes,
            "dram_bandwidth_bytes_per_s": self.dram_bandwidth_bytes_per_s,
            "mac_energy_pj": energy.mac_energy_pj(self.weight_format, self.act_format, self.table),
            "area_um2": area, "area_mm2": sum(area.values()) / 1e6,
            "source": "built from the energy/area table (Horowitz 45 nm by default)",
        }


def asic(kind: str = "int8") -> ASIC:
    """Presets: a 64 x 64 array at 1 GHz, 512 KiB weights + 256 KiB activations, 45 nm."""
    formats = {"fp32": (FP32, FP32), "int8": (INT8, INT8), "binary": (Binary(), Binary())}
    if kind not in formats:
        raise ConfigError(f"ASIC preset {kind!r} unknown, use {sorted(formats)}")
    w, a = formats[kind]
    return ASIC(f"asic-{kind}", 64, 64, w, a, 512 * 1024, 256 * 1024)
