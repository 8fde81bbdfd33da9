"""The TPU's systolic array: SCALE-Sim 3.0.0's numbers, computed analytically and fast.

A layer lowers to a GEMM (M output pixels x K = R S C window x N filters) and folds over
an A_r x A_c array in one of three dataflows (os / ws / is; see ``systolic_folds``). The
compute side is closed-form:

    folds  = ceil(S_r / A_r) x ceil(S_c / A_c)
    cycles = folds x fold_cycles,   fold_cycles = T + A_r + A_c - 2 (os)
                                                = 2 A_r + A_c + T - 2 (ws, is)
    mapping efficiency = mean over folds of (rows used x cols used) / (A_r A_c)
    compute utilization = mean over folds of rows used x cols used x T /
                          (A_r A_c x (fold_cycles [+ A_c - 1 for ws, is]))

and the memory side (SRAM/DRAM traffic and windows, stalls) runs SCALE-Sim's CALC-mode
buffers event by event (``systolic_memory``). With ``convention="scalesim"`` every column
equals SCALE-Sim 3.0.0's, quirks included; ``convention="hwnn"`` gives the physically
sound value instead (docs/systolic.md lists each quirk).

Reference: A. Samajdar et al., "A Systematic Methodology for Characterizing Scalability of
DNN Accelerators using SCALE-Sim", ISPASS 2020; N. Jouppi et al., "In-Datacenter
Performance Analysis of a Tensor Processing Unit", ISCA 2017.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from hwnn.errors import ConfigError
from hwnn.formats import FP32, Format
from hwnn.hw.device import Device, LayerEstimate
from hwnn.hw.systolic_folds import (
    DATAFLOWS,
    ConvGeometry,
    FoldPlan,
    Operands,
    gemm_geometry,
    scalesim_geometry,
)
from hwnn.hw.systolic_memory import calc_memory
from hwnn.hw.workload import Layer, Workload

CONVENTIONS = ("scalesim", "hwnn")


@dataclass(frozen=True)
class ArrayConfig:
    """One systolic accelerator: array shape, dataflow, SRAMs and DRAM interface.

    SRAM sizes in KiB (SCALE-Sim's ``*SramSzkB``), offsets are the base addresses of the
    ifmap / filter / ofmap operands. ``bandwidth_mode`` is ``"CALC"`` (SCALE-Sim's
    estimator: never stalls on reads) or ``"USER"`` (``dram_bw_words`` words per cycle).
    """

    rows: int = 32
    cols: int = 32
    dataflow: str = "os"
    ifmap_sram_kb: int = 64
    filter_sram_kb: int = 64
    ofmap_sram_kb: int = 64
    ifmap_offset: int = 0
    filter_offset: int = 10_000_000
    ofmap_offset: int = 20_000_000
    bandwidth_mode: str = "CALC"
    dram_bw_words: float = 10.0
    word_bytes: int = 1
    freq_hz: float = 1e9
    run_name: str = "hwnn_run"
    name: str = "systolic"

    def __post_init__(self) -> None:
        if self.dataflow not in DATAFLOWS:
            raise ConfigError(f"dataflow {self.dataflow!r} unknown, use one of {DATAFLOWS}")
        if self.rows <= 0 or self.cols <= 0:
            raise ConfigError(f"array must be at least 1x1, got {self.rows}x{self.cols}")
        if min(self.ifmap_sram_kb, self.filter_sram_kb, self.ofmap_sram_kb) <= 0:
            raise ConfigError("SRAM sizes must be positive (KiB)")
        if self.bandwidth_mode not in ("CALC", "USER"):
            raise ConfigError(f"bandwidth mode {self.bandwidth_mode!r}: use CALC or USER")
        if self.dram_bw_words <= 0 or self.freq_hz <= 0 or self.word_bytes <= 0:
            raise ConfigError("DRAM bandwidth, frequency and word size must be positive")

    @property
    def pes(self) -> int:
        return self.rows * self.cols

    @property
    def offsets(self) -> tuple[int, int, int]:
        return self.ifmap_offset, self.filter_offset, self.ofmap_offset

    @property
    def sram_kb(self) -> tuple[int, int, int]:
        return self.ifmap_sram_kb, self.filter_sram_kb, self.ofmap_sram_kb

    def with_(self, **changes) -> ArrayConfig:
        return replace(self, **changes)


@dataclass(frozen=True)
class LayerSpec:
    """A layer as the array sees it: geometry, independent groups, operand formats."""

    name: str
    geom: ConvGeometry
    groups: int = 1  # depthwise: one GEMM per channel, run one after another
    weight_format: Format = FP32
    act_format: Format = FP32

    @property
    def macs(self) -> int:
        return self.geom.m * self.geom.k * self.geom.n * self.groups


def spec_from_layer(layer: Layer) -> LayerSpec:
    """hwnn's Layer (padding, batch, true depthwise, floor output size) as a LayerSpec."""
    fm = {"weight_format": layer.weight_format, "act_format": layer.act_format}
    if layer.kind == "gemm":
        return LayerSpec(layer.name, gemm_geometry(layer.m, layer.k, layer.n), **fm)
    depthwise = layer.kind == "depthwise"
    geom = ConvGeometry(
        ifmap_h=layer.in_h + 2 * layer.pad_h, ifmap_w=layer.in_w + 2 * layer.pad_w,
        filt_h=layer.kernel_h, filt_w=layer.kernel_w,
        channels=1 if depthwise else layer.in_c, num_filt=1 if depthwise else layer.out_c,
        stride_h=layer.stride_h, stride_w=layer.stride_w,
        ofmap_h=layer.out_h, ofmap_w=layer.out_w, batch=layer.batch)
    return LayerSpec(layer.name, geom, layer.groups, **fm)


@dataclass(frozen=True)
class FoldGroup:
    """Folds of one shape: where a layer's cycles go.

    Each of the ``count`` folds runs ``cycles`` cycles: ``stream_cycles`` (= T) moving
    operands through a ``rows_used x cols_used`` corner of the array, the rest filling and
    draining the pipeline (and, for ws/is, loading the stationary operand).
    """

    rows_used: int
    cols_used: int
    count: int
    cycles: int
    stream_cycles: int
    fill_drain_cycles: int
    mapping_efficiency_pct: float
    compute_util_pct: float


@dataclass(frozen=True)
class ComputeStats:
    """The compute side of one GEMM on one array (no memory model)."""

    folds: int
    row_folds: int
    col_folds: int
    fold_cycles: int
    demand_rows: int  # rows of SCALE-Sim's demand matrices = cycles with no stalls
    mapping_efficiency: float  # fraction, SCALE-Sim's mean over folds
    compute_util: float  # fraction
    sram_reads: dict[str, int]
    fold_groups: list[FoldGroup]


def compute_stats(plan: FoldPlan, convention: str = "scalesim") -> ComputeStats:
    """Closed-form fold statistics, summed in SCALE-Sim's order so floats match bit for bit."""
    if convention not in CONVENTIONS:
        raise ConfigError(f"convention {convention!r} unknown, use one of {CONVENTIONS}")
    r, c = plan.rows, plan.cols
    sr, sc, t = plan.sr_sc_t
    ru, cu = plan.used_grid()
    rc = r * c
    used = ru * cu
    extra = c - 1 if plan.dataflow in ("ws", "is") and convention == "scalesim" else 0
    denom = plan.fold_cycles + extra
    map_eff = used / rc
    comp = (used * t) / (rc * denom)
    # Python's sum() of a list is a left-to-right accumulation; np.add.accumulate is too.
    n = plan.folds
    avg_map = float(np.add.accumulate(map_eff)[-1]) / n
    avg_comp = float(np.add.accumulate(comp)[-1]) / n
    m, k, nn = plan.m, plan.k, plan.n
    df = plan.dataflow
    if df == "ws":
        reads = {"ifmap": plan.col_folds * m * k, "filter": k * nn,
                 "ofmap": plan.row_folds * m * nn}
    elif df == "os":
        quirk = n * (r + c) if convention == "scalesim" else 0
        reads = {"ifmap": plan.col_folds * k * m, "filter": plan.row_folds * k * nn,
                 "ofmap": m * nn + quirk}
    else:
        reads = {"ifmap": k * m, "filter": plan.col_folds * nn * k,
                 "ofmap": plan.row_folds * nn * m}
    groups = []
    shapes, counts = np.unique(np.stack([ru, cu], axis=1), axis=0, return_counts=True)
    for (a, b), cnt in zip(shapes.tolist(), counts.tolist(), strict=True):
        groups.append(FoldGroup(
            rows_used=a, cols_used=b, count=cnt, cycles=plan.fold_cycles, stream_cycles=t,
            fill_drain_cycles=plan.fold_cycles - t,
            mapping_efficiency_pct=100.0 * a * b / rc,
            compute_util_pct=100.0 * a * b * t / (rc * denom)))
    return ComputeStats(n, plan.row_folds, plan.col_folds, plan.fold_cycles, plan.total_rows,
                        avg_map, avg_comp, reads, groups)


@dataclass(frozen=True)
class LayerReport:
    """One row of each of SCALE-Sim's three reports, plus hwnn's additions.

    Cycle and bandwidth columns follow ``convention`` (SCALE-Sim's or hwnn's). Bandwidths
    are in words per cycle, accesses in words.
    """

    layer_id: int
    name: str
    convention: str
    # COMPUTE_REPORT
    total_cycles_incl_prefetch: int
    total_cycles: int
    stall_cycles: int
    overall_util_pct: float
    mapping_efficiency_pct: float
    compute_util_pct: float
    # BANDWIDTH_REPORT
    ifmap_sram_bw: float
    filter_sram_bw: float
    ofmap_sram_bw: float
    ifmap_dram_bw: float
    filter_dram_bw: float
    ofmap_dram_bw: float
    # DETAILED_ACCESS_REPORT: (start cycle, stop cycle, accesses) per buffer and level
    sram_ifmap: tuple[float, float, int]
    sram_filter: tuple[float, float, int]
    sram_ofmap: tuple[float, float, int]
    dram_ifmap: tuple[float, float, int]
    dram_filter: tuple[float, float, int]
    dram_ofmap: tuple[float, float, int]
    # hwnn additions
    macs: int = 0
    groups: int = 1
    folds: int = 0
    fold_groups: list[FoldGroup] = field(default_factory=list)
    energy_pj: dict[str, float] = field(default_factory=dict)
    latency_s: float = 0.0

    def compute_row(self) -> list:
        return [self.total_cycles_incl_prefetch, self.total_cycles, self.stall_cycles,
                self.overall_util_pct, self.mapping_efficiency_pct, self.compute_util_pct]

    def bandwidth_row(self) -> list:
        return [self.ifmap_sram_bw, self.filter_sram_bw, self.ofmap_sram_bw,
                self.ifmap_dram_bw, self.filter_dram_bw, self.ofmap_dram_bw]

    def detail_row(self) -> list:
        out: list = []
        for t in (self.sram_ifmap, self.sram_filter, self.sram_ofmap,
                  self.dram_ifmap, self.dram_filter, self.dram_ofmap):
            out += list(t)
        return out


def simulate_layer(spec: LayerSpec, cfg: ArrayConfig, layer_id: int = 0,
                   convention: str = "scalesim") -> LayerReport:
    """All three SCALE-Sim reports for one layer (CALC or USER bandwidth mode)."""
    g = spec.geom
    plan = FoldPlan(cfg.dataflow, cfg.rows, cfg.cols, g.m, g.k, g.n)
    stats = compute_stats(plan, convention)
    ops = Operands(g, cfg.offsets)
    if cfg.bandwidth_mode == "USER":
        from hwnn.hw.systolic_user import user_memory

        mem = user_memory(plan, ops, cfg)
    else:
        mem = calc_memory(plan, ops, cfg.sram_kb)
    G = spec.groups
    total = mem.total_cycles
    span = total if convention == "scalesim" else total + 1
    cycles = span * G
    if cycles == 0:
        raise ConfigError(
            f"layer {spec.name!r} takes a single cycle, which SCALE-Sim's convention reports "
            "as 0 total cycles (SCALE-Sim 3.0.0 divides by it and crashes); use "
            "convention 'hwnn'")
    stall = mem.stall_cycles * G
    reads = {k: v * G for k, v in stats.sram_reads.items()}
    dram = {k: v * G for k, v in mem.dram_accesses.items()}
    macs = spec.macs
    overall = (macs * 100) / (cycles * cfg.pes)
    ds, dd = mem.sram_start_stop, mem.dram_start_stop

    def win(level: dict, name: str, count: int) -> tuple[float, float, int]:
        return (level[name][0], level[name][1], count)

    def dram_bw(name: str) -> float:
        s, e = dd[name]
        return dram[name] / ((e - s + 1) * G)

    incl = int(dd["ofmap"][1] - min(dd["ifmap"][0], dd["filter"][0]))
    if convention == "hwnn":
        incl += 1
    rep = LayerReport(
        layer_id=layer_id, name=spec.name, convention=convention,
        total_cycles_incl_prefetch=incl * G, total_cycles=cycles, stall_cycles=stall,
        overall_util_pct=overall, mapping_efficiency_pct=stats.mapping_efficiency * 100,
        compute_util_pct=stats.compute_util * 100,
        ifmap_sram_bw=reads["ifmap"] / cycles, filter_sram_bw=reads["filter"] / cycles,
        ofmap_sram_bw=reads["ofmap"] / cycles,
        ifmap_dram_bw=dram_bw("ifmap"), filter_dram_bw=dram_bw("filter"),
        ofmap_dram_bw=dram_bw("ofmap"),
        sram_ifmap=win(ds, "ifmap", reads["ifmap"]), sram_filter=win(ds, "filter", reads["filter"]),
        sram_ofmap=win(ds, "ofmap", reads["ofmap"]),
        dram_ifmap=win(dd, "ifmap", dram["ifmap"]), dram_filter=win(dd, "filter", dram["filter"]),
        dram_ofmap=win(dd, "ofmap", dram["ofmap"]),
        macs=macs, groups=G, folds=stats.folds * G, fold_groups=stats.fold_groups,
        latency_s=cycles / cfg.freq_hz,
    )
    return replace(rep, energy_pj=layer_energy_pj(rep, spec, cfg))


def layer_energy_pj(rep: LayerReport, spec: LayerSpec, cfg: ArrayConfig) -> dict[str, float]:
    """Energy by part (compute, each SRAM, DRAM) from hwnn.hw.energy's default table.

    Words are priced at their operand format's width: ifmap and ofmap words at the
    activation format, filter words at the weight format.
    """
    from hwnn.hw.energy import breakdown_pj

    ab = spec.act_format.bits / 8
    wb = spec.weight_format.bits / 8
    kb = 1024
    sram = {
        "sram_ifmap": (rep.sram_ifmap[2] * ab, cfg.ifmap_sram_kb * kb),
        "sram_filter": (rep.sram_filter[2] * wb, cfg.filter_sram_kb * kb),
        "sram_ofmap": (rep.sram_ofmap[2] * ab, cfg.ofmap_sram_kb * kb),
    }
    dram_bytes = (rep.dram_ifmap[2] + rep.dram_ofmap[2]) * ab + rep.dram_filter[2] * wb
    return breakdown_pj(spec.macs, spec.weight_format, spec.act_format, sram, dram_bytes)


def simulate(specs: list[LayerSpec], cfg: ArrayConfig, convention: str = "scalesim",
             on_layer=None) -> list[LayerReport]:
    """Every layer in order; ``on_layer(i, report)`` is called after each (progress bars)."""
    out = []
    for i, s in enumerate(specs):
        rep = simulate_layer(s, cfg, i, convention)
        out.append(rep)
        if on_layer is not None:
            on_layer(i, rep)
    return out


@dataclass(frozen=True)
class CyclesOnly:
    """The fast path: cycles and utilization without the memory model (no stalls)."""

    name: str
    macs: int
    cycles: int
    overall_util_pct: float
    mapping_efficiency_pct: float
    compute_util_pct: float
    folds: int


def cycles_only(spec: LayerSpec, cfg: ArrayConfig, convention: str = "scalesim") -> CyclesOnly:
    """Closed form only: SCALE-Sim's total cycles whenever the ofmap SRAM never stalls."""
    g = spec.geom
    plan = FoldPlan(cfg.dataflow, cfg.rows, cfg.cols, g.m, g.k, g.n)
    st = compute_stats(plan, convention)
    span = st.demand_rows - 1 if convention == "scalesim" else st.demand_rows
    cycles = span * spec.groups
    if cycles == 0:
        raise ConfigError(f"layer {spec.name!r} takes a single cycle: SCALE-Sim's convention "
                          "reports 0; use convention 'hwnn'")
    return CyclesOnly(spec.name, spec.macs, cycles, spec.macs * 100 / (cycles * cfg.pes),
                      st.mapping_efficiency * 100, st.compute_util * 100, st.folds * spec.groups)


class SystolicArray(Device):
    """A systolic-array accelerator as an hwnn Device (``run(workload)``)."""

    def __init__(self, cfg: ArrayConfig, convention: str = "hwnn", memory: bool = True) -> None:
        self.cfg = cfg
        self.convention = convention
        self.memory = memory
        self.name = cfg.name

    def reports(self, workload: Workload) -> list[LayerReport]:
        return simulate([spec_from_layer(x) for x in workload.layers], self.cfg, self.convention)

    def run(self, workload: Workload) -> list[LayerEstimate]:
        if not self.memory:
            out = []
            for layer in workload.layers:
                c = cycles_only(spec_from_layer(layer), self.cfg, self.convention)
                out.append(LayerEstimate(layer.name, float(c.cycles), c.cycles / self.cfg.freq_hz,
                                         c.macs, utilization=c.overall_util_pct / 100,
                                         bound="compute"))
            return out
        return [estimate_from_report(r, self.cfg) for r in self.reports(workload)]


def estimate_from_report(r: LayerReport, cfg: ArrayConfig) -> LayerEstimate:
    wb = cfg.word_bytes
    sram = (r.sram_ifmap[2] + r.sram_filter[2] + r.sram_ofmap[2]) * wb
    dram = (r.dram_ifmap[2] + r.dram_filter[2] + r.dram_ofmap[2]) * wb
    return LayerEstimate(
        layer=r.name, cycles=float(r.total_cycles), latency_s=r.latency_s, macs=r.macs,
        energy_pj=dict(r.energy_pj), traffic_bytes={"sram": float(sram), "dram": float(dram)},
        utilization=r.overall_util_pct / 100, bound="memory" if r.stall_cycles else "compute")


def scalesim_layer(name: str, ifmap_h: int, ifmap_w: int, filt_h: int, filt_w: int,
                   channels: int, num_filt: int, stride_h: int, stride_w: int | None = None
                   ) -> LayerSpec:
    """A LayerSpec from one row of a SCALE-Sim conv topology."""
    g = scalesim_geometry(ifmap_h, ifmap_w, filt_h, filt_w, channels, num_filt, stride_h,
                          stride_h if stride_w is None else stride_w)
    return LayerSpec(name, g)


def tpu_v1(bandwidth_mode: str = "CALC", convention: str = "hwnn",
           memory: bool = True) -> SystolicArray:
    """TPU v1's matrix unit as a Device (``hwnn.hw.presets_tpu`` holds the numbers)."""
    from hwnn.hw.presets_tpu import tpu_v1 as make

    return make(bandwidth_mode, convention, memory)
