"""The study's hardware part: every precision of the trained model on every device.

For each precision (a Workload whose layers carry their weight and activation formats)
and each device: latency, throughput, energy per inference and inferences per joule,
plus two charts:

- a roofline chart: each device's roof (its peak for the formats that matter, and its
  DRAM slope) with the layers placed at their operational intensity (ops per byte of
  weights + inputs + outputs, the compulsory traffic) and attained rate;
- an energy breakdown: energy per inference by part (compute, each on-chip memory,
  DRAM, and "other" = what the op table does not price) for each precision and device,
  the deck's "Cost of Operations" made concrete.

A third section lists the price of one MAC at each precision's formats (energy and area
from the table) and the bytes of its weights.

``device="asic"`` in the list is the custom array built for each precision: a 64 x 64
MAC array of the workload's widest formats (``asic_for``).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

from hwnn.formats import Format
from hwnn.hw import energy
from hwnn.hw.asic import ASIC
from hwnn.hw.device import Device, WorkloadEstimate
from hwnn.hw.roofline import CLASSES, compute_class, layer_bytes
from hwnn.hw.workload import Workload
from hwnn.results import Section

DEFAULT_DEVICES = ("haswell", "h100", "tpu-v1", "zc706", "myriadx", "asic")


@dataclass(frozen=True)
class HardwareRow:
    """One precision on one device, per inference (``batch`` inferences per run)."""

    precision: str
    device: str
    kind: str
    batch: int
    feasible: bool
    latency_s: float
    throughput_per_s: float
    energy_per_inference_pj: float
    inferences_per_j: float
    utilization: float
    bound: str
    energy_by_part_pj: dict[str, float] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class MacCostRow:
    precision: str
    formats: str
    mac_energy_pj: float
    mac_area_um2: float
    weight_bytes: float
    macs: int
    compute_energy_pj: float  # MACs x MAC energy: the floor any device pays
    asic_area_mm2: float  # the 64 x 64 array of these formats plus its SRAMs


def _widest(formats: list[Format]) -> Format:
    return max(formats, key=lambda f: (CLASSES.index(compute_class(f, f)), f.bits))


def asic_for(workload: Workload, rows: int = 64, cols: int = 64) -> ASIC:
    """A custom array for this workload: MACs of its widest weight and activation formats."""
    w = _widest([layer.weight_format for layer in workload.layers])
    a = _widest([layer.act_format for layer in workload.layers])
    return ASIC(f"asic-{w.name}x{a.name}", rows, cols, w, a, 512 * 1024, 256 * 1024)


def _device(name: str, workload: Workload, table: energy.EnergyTable | None = None) -> Device:
    from hwnn.hw import devices

    dev = asic_for(workload) if name == "asic" else devices.get(name)
    if table is not None and hasattr(dev, "table"):
        dev.table = table  # every hwnn device prices its parts with ``self.table``
    return dev


def _row(precision: str, device: Device, est: WorkloadEstimate) -> HardwareRow:
    macs = sum(e.macs for e in est.layers) or 1
    util = sum(e.utilization * e.macs for e in est.layers) / macs
    bounds = {e.bound for e in est.layers if e.bound}
    parts = {k: v / est.batch for k, v in est.energy_by_part_pj().items()}
    return HardwareRow(
        precision=precision, device=est.device, kind=device.kind, batch=est.batch,
        feasible=est.feasible, latency_s=est.latency_s if est.feasible else math.nan,
        throughput_per_s=est.throughput_per_s,
        energy_per_inference_pj=est.energy_per_inference_pj,
        inferences_per_j=est.inferences_per_j, utilization=util if est.feasible else math.nan,
        bound=bounds.pop() if len(bounds) == 1 else "mixed" if bounds else "",
        energy_by_part_pj=parts if est.feasible else {},
        reason="; ".join(est.reasons),
    )


def estimate_all(
    workloads: dict[str, Workload], device_names: tuple[str, ...] | list[str] = DEFAULT_DEVICES,
    batch: int = 1, table: energy.EnergyTable | None = None,
) -> tuple[list[HardwareRow], dict[tuple[str, str], tuple[Device, WorkloadEstimate, Workload]]]:
    rows, runs = [], {}
    for precision, w in workloads.items():
        for name in device_names:
            dev = _device(name, w, table)
            est = dev.estimate(w, batch)
            rows.append(_row(precision, dev, est))
            runs[(precision, name)] = (dev, est, w)
    return rows, runs


def mac_costs(
    workloads: dict[str, Workload], table: energy.EnergyTable | None = None
) -> list[MacCostRow]:
    out = []
    for precision, w in workloads.items():
        e = sum(
            layer.macs * energy.mac_energy_pj(layer.weight_format, layer.act_format, table)
            for layer in w.layers
        )
        fmts = sorted({f"{x.weight_format.name}x{x.act_format.name}" for x in w.layers})
        main = max(w.layers, key=lambda x: x.macs)
        out.append(MacCostRow(
            precision=precision, formats=", ".join(fmts),
            mac_energy_pj=energy.mac_energy_pj(main.weight_format, main.act_format, table),
            mac_area_um2=energy.mac_area_um2(main.weight_format, main.act_format, table),
            weight_bytes=sum(layer_bytes(x)[0] for x in w.layers), macs=w.macs,
            compute_energy_pj=e,
            asic_area_mm2=sum(_device("asic", w, table).area_um2().values()) / 1e6,
        ))
    return out


@dataclass(frozen=True)
class BatchingRow:
    """One row of the deck's speech table next to the batching model's prediction."""

    device: str
    batch: int
    deck_ms: float
    model_ms: float
    error_pct: float


def batching_rows() -> list[BatchingRow]:
    """The deck's table (1 s of speech = 100 frames) on the fitted 2011 CPU and GPU."""
    from hwnn.hw import cpu, gpu

    rows = []
    for dev, table in ((cpu.deck_cpu_2011(), gpu.DECK_CPU_MS),
                       (gpu.deck_gpu_2011(), gpu.DECK_GPU_MS)):
        for p in gpu.batching_table(dev, gpu.speech_dnn, gpu.SPEECH_FRAMES_PER_S, list(table)):
            ms = p.total_latency_s * 1e3
            rows.append(BatchingRow(dev.kind.upper(), p.batch, table[p.batch], ms,
                                    100 * (ms / table[p.batch] - 1)))
    return rows


def batching_chart(rows: list[BatchingRow]) -> str:
    from hwnn.hw import gpu

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    dev = gpu.deck_gpu_2011()
    batches = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128]
    model = gpu.batching_table(dev, gpu.speech_dnn, gpu.SPEECH_FRAMES_PER_S, batches)
    ax.plot(batches, [p.total_latency_s * 1e3 for p in model], color="tab:blue",
            label="GPU model: ceil(n/B) x max(t_w, B t_c)")
    g = [r for r in rows if r.device == "GPU"]
    ax.scatter([r.batch for r in g], [r.deck_ms for r in g], color="black", zorder=3,
               label="deck (Vanhoucke 2011)")
    for r in rows:
        if r.device == "CPU":
            ax.scatter([r.batch], [r.deck_ms], color="tab:red", marker="s", zorder=3,
                       label="deck CPU, batch 1")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size (frames per call)")
    ax.set_ylabel("ms to process 1 s of speech")
    ax.set_title("Batching: weights fetched once per batch", fontsize=9)
    ax.legend(fontsize=7)
    return _svg(fig)


def hardware_section(
    workloads: dict[str, Workload],
    devices: tuple[str, ...] | list[str] = DEFAULT_DEVICES,
    batch: int = 1,
    table: energy.EnergyTable | str | None = None,
) -> list[Section]:
    """Sections "hardware" (rows + roofline and energy charts), "mac_costs" and
    "batching" (the deck's CPU/GPU speech table against the batching model).

    ``workloads`` maps a precision method's name to its Workload (lowered at ``batch``);
    ``table`` (an EnergyTable or a JSON path) replaces Horowitz's 45 nm table.
    """
    t = energy.table_or_default(table) if table is not None else None
    rows, runs = estimate_all(workloads, devices, batch, t)
    batching = batching_rows()
    charts = []
    if rows:
        charts = [roofline_chart(runs), energy_chart(rows)]
    return [
        Section(
            "hardware", "Hardware: every precision on every device", rows,
            "Latency, throughput and energy per inference from each device model "
            "(hwnn.hw): rooflines for CPU, GPU and VPU, the TPU v1 mapped roofline, a "
            "FINN-style FPGA pipeline, and a custom MAC array ('asic') of each precision's "
            "formats. Energy: operations and memory accesses priced by Horowitz's 45 nm "
            "table, brought to the device's busy power where it has one ('other' is what "
            "the table does not price: control, instruction overhead, static power).",
            charts,
        ),
        Section(
            "mac_costs", "Cost of one MAC at each precision", mac_costs(workloads, t),
            "Energy and area of one multiply-accumulate of each precision's formats "
            "(Horowitz ISSCC 2014, 45 nm; binary = XNOR + popcount, log2 = shift + add, "
            "codebook = lookup + multiply), the compute energy floor of one inference, and "
            "the area of a 64 x 64 array of those MACs with its SRAMs.",
        ),
        Section(
            "batching", "Batching on a GPU: the deck's speech table", batching,
            "T(B) = ceil(n / B) x max(t_weights, B x t_compute): each batch fetches every "
            "weight once from DRAM, so small batches are memory-bound and time falls as 1/B "
            "until compute dominates. t_weights and t_compute are fitted to the deck's GPU "
            "rows (Vanhoucke et al. 2011); the 2011 devices are that fit applied to the "
            "speech network layer by layer.",
            [batching_chart(batching)],
        ),
    ]


# ---- charts ------------------------------------------------------------------------------

PART_COLORS = {"compute": "tab:blue", "dram": "tab:red", "other": "tab:gray"}
ONCHIP_COLORS = ["tab:green", "tab:olive", "tab:cyan", "tab:purple", "tab:pink", "tab:brown"]


def _svg(fig) -> str:
    import matplotlib
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    # text as <text> elements, not glyph paths: smaller SVGs, rendered faster
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.find("<svg"):]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _roof(device: Device, workload: Workload) -> tuple[float, float] | None:
    """(peak ops/s, DRAM bytes/s) the device offers this workload's widest formats."""
    spec = device.spec()
    bw = spec.get("dram_bandwidth_bytes_per_s")
    peaks = spec.get("peak_ops_per_s")
    if not bw or not peaks:
        return None
    if isinstance(peaks, (int, float)):
        return float(peaks), float(bw)
    from hwnn.hw.roofline import supported_class

    cls = max((compute_class(x.weight_format, x.act_format) for x in workload.layers),
              key=CLASSES.index)
    have = supported_class(peaks, cls) or max(peaks, key=peaks.get)
    return float(peaks[have]), float(bw)


def roofline_chart(runs: dict) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    precisions = sorted({p for p, _ in runs}, key=list(dict.fromkeys(p for p, _ in runs)).index)
    markers = dict(zip(precisions, "osD^v<>phX*", strict=False))
    names = list(dict.fromkeys(d for _, d in runs))
    colors = {d: f"C{i % 10}" for i, d in enumerate(names)}
    xs = []
    points: dict[str, tuple[list, list, list]] = {p: ([], [], []) for p in precisions}
    for (precision, name), (_dev, est, w) in runs.items():
        for layer, e in zip(w.layers, est.layers, strict=True):
            if not e.feasible or e.latency_s <= 0:
                continue
            px, py, pc = points[precision]
            px.append(2 * layer.macs / max(sum(layer_bytes(layer)), 1e-9))
            py.append(2 * layer.macs / e.latency_s)
            pc.append(colors[name])
            xs.append(px[-1])
    for precision, (px, py, pc) in points.items():  # one artist per precision: fast, small
        if px:
            ax.scatter(px, py, marker=markers.get(precision, "o"), c=pc, s=22, alpha=0.8)
    lo, hi = (min(xs) / 4, max(xs) * 4) if xs else (0.1, 1e4)
    drawn = set()
    for (_, name), (dev, _, w) in runs.items():
        roof = _roof(dev, w)
        if roof is None or name in drawn:
            continue
        drawn.add(name)
        peak, bw = roof
        grid = [lo * (hi / lo) ** (i / 100) for i in range(101)]
        ax.plot(grid, [min(peak, g * bw) for g in grid], color=colors[name], lw=1.2,
                label="asic (per precision)" if name == "asic" else dev.name)
    for precision in precisions:
        ax.scatter([], [], marker=markers[precision], color="black", label=precision)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (ops per byte of weights + inputs + outputs)")
    ax.set_ylabel("attained ops/s (1 MAC = 2 ops)")
    ax.set_title("Roofline: DRAM roofs (lines), layers (markers; above a roof = on-chip)",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _svg(fig)


def energy_chart(rows: list[HardwareRow]) -> str:
    plt = _plt()
    names = list(dict.fromkeys(r.device if r.kind != "asic" else "asic" for r in rows))
    precisions = list(dict.fromkeys(r.precision for r in rows))
    onchip = sorted({k for r in rows for k in r.energy_by_part_pj} - set(PART_COLORS))
    colors = {**PART_COLORS, **{k: ONCHIP_COLORS[i % len(ONCHIP_COLORS)]
                               for i, k in enumerate(onchip)}}
    order = ["compute", *onchip, "dram", "other"]
    cols = min(3, len(names))
    nrows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.6 * cols, 2.8 * nrows), squeeze=False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        sub = {r.precision: r for r in rows
               if (r.device if r.kind != "asic" else "asic") == name}
        runs = [sub.get(p) for p in precisions]
        bottom = [0.0] * len(precisions)
        for part in order:  # one bar call per part: stacked, few artists
            v = [r.energy_by_part_pj.get(part, 0.0) / 1e6 if r and r.feasible else 0.0
                 for r in runs]  # microjoules
            if any(v):
                ax.bar(range(len(v)), v, bottom=bottom, color=colors[part], width=0.7)
                bottom = [b + x for b, x in zip(bottom, v, strict=True)]
        for i, r in enumerate(runs):
            if r is None or not r.feasible:
                ax.text(i, 0, "n/a", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(precisions)), precisions, rotation=45, fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.set_ylabel("uJ per inference", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[p]) for p in order if p in colors]
    fig.legend(handles, [p for p in order if p in colors], loc="upper center",
               ncol=min(6, len(handles)), fontsize=7, bbox_to_anchor=(0.5, 1.04))
    fig.tight_layout()
    return _svg(fig)
