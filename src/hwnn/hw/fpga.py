"""FPGAs as FINN builds them: one matrix-vector unit per layer, layers in a pipeline.

The deck's three kinds of FPGA parallelism map onto this model:

- node parallelism: a layer's unit has ``P`` processing elements (output neurons at once)
  of ``S`` SIMD lanes each (inputs at once). Fewer lanes than neurons x inputs is
  *virtual parallelism* (folding): a layer with N outputs and K inputs per output takes
  ``ceil(N / P) x ceil(K / S)`` cycles per input vector (M vectors per frame for a conv);
- layer parallelism: every layer has its own unit and the layers run as a pipeline
  (Umuroglu et al., "FINN", FPGA 2017), so throughput = clock / slowest layer's cycles
  and latency = sum of the layers' cycles;
- training parallelism: when the fully unfolded network uses a fraction of the part,
  ``floor(1 / fraction)`` copies process different inputs side by side.

Resources per layer follow FINN-R's estimates (Blott et al., ACM TRETS 2018, as coded in
FINN's ``MatrixVectorActivation.lut_estimation``/``bram_estimation``), with W and A the
weight and activation bits:

    LUT = 300 + 1.1 x P x (mult + (W + A)(2S - 1) + acc + thresholds) [+ LUTRAM weights]
    mult = S x (2 ceil((W + A) / 6) - 1) x (W + A)   for W + A <= 8 (LUT fabric), else 0
    DSP  = P x S x ceil((W + A) / 48)                 for W + A > 8
    acc  = W + A + ceil(log2 K);  thresholds (A <= 4 bits out): (2^A - 1) acc (1 + ceil(N/P/64))
    BRAM18 from the weight memory's depth ceil(N/P) ceil(K/S) and width P x S x W
    (weights of depth <= 128 live in LUTRAM instead: + P x S x W x ceil(depth / 64) LUTs)

Float layers use floating-point operator cores: about 5 DSP48E1 and 500 LUTs per fp32
lane, 2 DSPs and 250 LUTs per fp16 lane (order of Xilinx PG060's 7-series tables).

``fold`` picks, for the whole network, the smallest initiation interval whose cheapest
foldings fit the part (LUT, DSP, BRAM), by bisection. A network that cannot fit even
fully folded (P = S = 1), e.g. weights beyond the BRAM, is infeasible with the reason.

Preset ``zc706``: Xilinx XC7Z045 (DS190: 218,600 LUTs, 900 DSP48E1, 545 BRAM36 = 1090
BRAM18), clocked at 200 MHz and drawing under 25 W for the whole system, as in FINN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hwnn.errors import ConfigError
from hwnn.formats import Binary, Codebook, Float, Format
from hwnn.hw import energy
from hwnn.hw.device import Device, LayerEstimate, WorkloadEstimate
from hwnn.hw.roofline import cap_to_power, layer_bytes
from hwnn.hw.workload import Layer, Workload

BRAM18_BYTES = 18 * 1024 // 8


@dataclass(frozen=True)
class FPGAPart:
    name: str
    luts: int
    dsps: int
    bram18: int
    clock_hz: float
    busy_power_w: float
    dram_bandwidth_bytes_per_s: float
    source: str


ZC706 = FPGAPart(
    name="zc706",
    luts=218_600,
    dsps=900,
    bram18=1090,
    clock_hz=200e6,
    busy_power_w=25.0,
    dram_bandwidth_bytes_per_s=4.2e9,  # PS DDR3-1066, 32 bit (ZC706 user guide UG954)
    source="Xilinx DS190 (XC7Z045); 200 MHz and < 25 W system power as in FINN "
    "(Umuroglu et al., FPGA 2017)",
)


@dataclass(frozen=True)
class LayerMapping:
    """One layer's unit: P x S lanes, its cycles per frame and its resources."""

    layer: str
    pe: int
    simd: int
    cycles: int
    luts: float
    dsps: float
    bram18: float
    style: str  # "lut", "dsp" or "float"


def _bits(fmt: Format) -> int:
    return 1 if isinstance(fmt, Binary) else fmt.bits


def _candidates(n: int) -> np.ndarray:
    """Parallelism values giving distinct ceil(n / p): the only ones worth trying."""
    vals = {math.ceil(n / math.ceil(n / p)) for p in range(1, n + 1)} if n <= 4096 else set()
    if not vals:  # large n: sample the distinct folds
        folds = np.unique(np.ceil(n / np.unique(np.geomspace(1, n, 512).astype(int))))
        vals = {math.ceil(n / f) for f in folds}
    return np.array(sorted(vals), dtype=np.int64)


def _resources(layer: Layer, pe: np.ndarray, simd: np.ndarray):
    """FINN-R LUT/DSP/BRAM18 estimates for arrays of (P, S); returns (luts, dsps, brams, style)."""
    m, k, n = layer.gemm_dims()
    g = layer.groups
    wf, af = layer.weight_format, layer.act_format
    w_mem, a = _bits(wf), _bits(af)
    # shared weights are stored as indices but multiplied as decoded centroids
    w = a if isinstance(wf, Codebook) else w_mem
    depth = np.ceil(n / pe) * np.ceil(k / simd)
    width = pe * simd * w_mem
    acc = w + a + math.ceil(math.log2(max(k, 2)))
    if isinstance(wf, Float) or isinstance(af, Float):
        wide = max(f.bits for f in (wf, af) if isinstance(f, Float))
        dsp_lane, lut_lane = (5, 500) if wide == 32 else (2, 250)
        luts = 300 + pe * simd * lut_lane + pe * acc
        dsps = pe * simd * dsp_lane
        style = "float"
    else:
        lut_fabric = w + a <= 8
        mult = simd * (2 * math.ceil((w + a) / 6) - 1) * (w + a) if lut_fabric else 0
        adder = (w + a) * (2 * simd - 1)
        thr = (2**a - 1) * acc * (1 + np.ceil(np.ceil(n / pe) / 64)) if a <= 4 else 0
        luts = 300 + 1.1 * pe * (mult + adder + acc + thr)
        dsps = np.zeros_like(pe, dtype=float) if lut_fabric else pe * simd * math.ceil((w + a) / 48)
        style = "lut" if lut_fabric else "dsp"
    lutram = depth <= 128
    luts = luts + np.where(lutram, width * np.ceil(depth / 64), 0)
    brams = np.where(lutram, 0, _bram18(depth, width))
    return luts * g, dsps * g, brams * g, style


def _bram18(depth: np.ndarray, width: np.ndarray) -> np.ndarray:
    """FINN's BRAM18 count for a depth x width memory (UG473 aspect ratios)."""
    return np.select(
        [width == 1, width == 2, width <= 4, width <= 9, (width <= 18) | (depth > 512)],
        [np.ceil(depth / 16384), np.ceil(depth / 8192),
         np.ceil(depth / 4096) * np.ceil(width / 4), np.ceil(depth / 2048) * np.ceil(width / 9),
         np.ceil(depth / 1024) * np.ceil(width / 18)],
        np.ceil(depth / 512) * np.ceil(width / 36),
    )


class _LayerOptions:
    """Every (P, S) of one layer with its cycles and resources, sorted by cycles."""

    def __init__(self, layer: Layer) -> None:
        m, k, n = layer.gemm_dims()
        p, s = np.meshgrid(_candidates(n), _candidates(k))
        self.pe, self.simd = p.ravel(), s.ravel()
        self.cycles = (np.ceil(n / self.pe) * np.ceil(k / self.simd) * m).astype(np.int64)
        self.luts, self.dsps, self.brams, self.style = _resources(layer, self.pe, self.simd)
        self.layer = layer

    def cheapest(self, interval: int, part: FPGAPart) -> int | None:
        ok = np.flatnonzero(self.cycles <= interval)
        if ok.size == 0:
            return None
        cost = self.luts[ok] / part.luts + self.dsps[ok] / part.dsps + self.brams[ok] / part.bram18
        return int(ok[np.argmin(cost)])

    def mapping(self, i: int) -> LayerMapping:
        return LayerMapping(
            self.layer.name, int(self.pe[i]), int(self.simd[i]), int(self.cycles[i]),
            float(self.luts[i]), float(self.dsps[i]), float(self.brams[i]), self.style,
        )


@dataclass(frozen=True)
class Folding:
    layers: list[LayerMapping]
    feasible: bool
    reason: str
    luts: float
    dsps: float
    bram18: float
    replicas: int = 1

    @property
    def interval_cycles(self) -> int:
        return max(m.cycles for m in self.layers) if self.layers else 0


def _totals(maps: list[LayerMapping]) -> tuple[float, float, float]:
    return (sum(m.luts for m in maps), sum(m.dsps for m in maps), sum(m.bram18 for m in maps))


def _fits(totals: tuple[float, float, float], part: FPGAPart, cap: float) -> bool:
    luts, dsps, brams = totals
    return luts <= cap * part.luts and dsps <= cap * part.dsps and brams <= cap * part.bram18


def fold(workload: Workload, part: FPGAPart, max_utilization: float = 0.9) -> Folding:
    """The fastest pipeline that fits ``part`` (every resource at most ``max_utilization``)."""
    if not workload.layers:
        raise ConfigError("an FPGA mapping needs at least one layer")
    options = [_LayerOptions(layer) for layer in workload.layers]
    intervals = np.unique(np.concatenate([o.cycles for o in options]))
    floor = max(int(o.cycles.min()) for o in options)
    intervals = intervals[intervals >= floor]

    def attempt(t: int) -> list[LayerMapping] | None:
        picks = [o.cheapest(int(t), part) for o in options]
        if any(p is None for p in picks):
            return None
        return [o.mapping(p) for o, p in zip(options, picks, strict=True)]

    slowest = attempt(int(intervals[-1]))
    assert slowest is not None
    if not _fits(_totals(slowest), part, max_utilization):
        luts, dsps, brams = _totals(slowest)
        return Folding(
            slowest, False,
            f"does not fit {part.name} even fully folded (P = S = 1): needs {luts:.0f} LUTs "
            f"of {part.luts}, {dsps:.0f} DSPs of {part.dsps}, {brams:.0f} BRAM18 of "
            f"{part.bram18} (cap {max_utilization:.0%}); use fewer or narrower weights",
            luts, dsps, brams,
        )
    lo, hi = 0, len(intervals) - 1  # intervals[hi] fits; find the smallest that does
    best = slowest
    while lo < hi:
        mid = (lo + hi) // 2
        maps = attempt(int(intervals[mid]))
        if maps is not None and _fits(_totals(maps), part, max_utilization):
            hi, best = mid, maps
        else:
            lo = mid + 1
    luts, dsps, brams = _totals(best)
    fully_parallel = all(m.cycles == o.cycles.min() for m, o in zip(best, options, strict=True))
    replicas = 1
    if fully_parallel:
        share = max(luts / part.luts, dsps / part.dsps if dsps else 0, brams / part.bram18)
        replicas = max(1, int(max_utilization / share)) if share > 0 else 1
    return Folding(best, True, "", luts, dsps, brams, replicas)


class FPGA(Device):
    """A FINN-style dataflow accelerator on ``part``; see the module docstring."""

    kind = "fpga"
    pipelined = True

    def __init__(
        self,
        part: FPGAPart = ZC706,
        max_utilization: float = 0.9,
        table: energy.EnergyTable | None = None,
        name: str | None = None,
    ) -> None:
        if not 0 < max_utilization <= 1:
            raise ConfigError(f"max_utilization must be in (0, 1], got {max_utilization}")
        self.part = part
        self.name = name or part.name
        self.max_utilization = max_utilization
        self.table = table

    def fold(self, workload: Workload) -> Folding:
        return fold(workload, self.part, self.max_utilization)

    def estimate(self, workload: Workload, batch: int = 1) -> WorkloadEstimate:
        f = self.fold(workload)
        return WorkloadEstimate(self.name, workload.name, self._layers(workload, f), batch,
                                pipelined=True, copies=f.replicas)

    def run(self, workload: Workload) -> list[LayerEstimate]:
        return self._layers(workload, self.fold(workload))

    def _layers(self, workload: Workload, f: Folding) -> list[LayerEstimate]:
        p = self.part
        lanes = [m.pe * m.simd for m in f.layers]
        interval_s = f.interval_cycles / p.clock_hz / f.replicas
        out = []
        for i, (layer, m) in enumerate(zip(workload.layers, f.layers, strict=True)):
            w_b, in_b, out_b = layer_bytes(layer)
            # frames stream in from and out to DRAM; weights stay on chip
            dram = (in_b if i == 0 else 0.0) + (out_b if i == len(f.layers) - 1 else 0.0)
            parts = energy.breakdown_pj(
                layer.macs, layer.weight_format, layer.act_format,
                {"bram": (w_b, BRAM18_BYTES)}, dram, self.table,
            )
            share = lanes[i] / sum(lanes)
            parts = cap_to_power(parts, p.busy_power_w * interval_s * share * 1e12)
            t = m.cycles / p.clock_hz
            out.append(LayerEstimate(
                layer=layer.name, cycles=float(m.cycles), latency_s=t,
                macs=layer.macs, energy_pj=parts,
                traffic_bytes={"bram": w_b, "dram": dram},
                utilization=layer.macs / (m.cycles * m.pe * m.simd),
                feasible=f.feasible, reason=f.reason or
                f"P={m.pe} S={m.simd} ({m.style}), {m.luts:.0f} LUT, {m.dsps:.0f} DSP, "
                f"{m.bram18:.0f} BRAM18" + (f", x{f.replicas} copies" if f.replicas > 1 else ""),
                bound="compute",
            ))
        return out

    def spec(self) -> dict:
        p = self.part
        return {
            "name": self.name, "kind": self.kind, "luts": p.luts, "dsps": p.dsps,
            "bram18": p.bram18, "clock_hz": p.clock_hz, "busy_power_w": p.busy_power_w,
            "dram_bandwidth_bytes_per_s": p.dram_bandwidth_bytes_per_s,
            "max_utilization": self.max_utilization, "source": p.source,
        }


def zc706() -> FPGA:
    return FPGA(ZC706)


def finn_sfc(batch: int = 1) -> Workload:
    """FINN's SFC: a binarized MLP for MNIST, 784 - 256 - 256 - 256 - 10 (FINN, Table 1)."""
    dims = (784, 256, 256, 256, 10)
    return Workload("finn-sfc", tuple(
        Layer(f"fc{i}", "gemm", m=batch, k=dims[i], n=dims[i + 1], weight_format=Binary(),
              act_format=Binary(), out_format=Binary())
        for i in range(len(dims) - 1)
    ))


FINN_SFC_MAX_FPS = 12.3e6  # FINN (Umuroglu et al. 2017), SFC-max on ZC706
