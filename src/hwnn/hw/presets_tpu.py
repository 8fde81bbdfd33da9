"""The TPU v1 (Jouppi et al., ISCA 2017) as a systolic-array preset.

| part | value (paper) | here |
|---|---|---|
| matrix unit | 256 x 256 8-bit MACs, weight stationary | rows = cols = 256, ``ws`` |
| clock | 700 MHz | ``freq_hz`` |
| unified buffer (activations) | 24 MiB | ifmap SRAM |
| accumulators | 4 MiB (4096 x 256 x 32 bit) | ofmap SRAM |
| weight FIFO | 4 tiles of 256 x 256 bytes = 256 KiB | filter SRAM |
| weight memory | 8 GiB DDR3, 34 GB/s | DRAM interface |

Peak: 2 ops x 65,536 MACs x 700 MHz = 91.75 TOPS ("92 TOPS"). Roofline ridge: 65,536 x
700e6 MAC/s / 34e9 B/s = 1,349 MACs per weight byte (the paper's "about 1350").
SRAM sizes are in bytes with 1-byte words (SCALE-Sim's convention), so the 32-bit
accumulators count as 4 MiB of 1-byte words.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwnn.hw.systolic import ArrayConfig, SystolicArray

MIB = 1024 * 1024


@dataclass(frozen=True)
class TpuPreset:
    name: str = "tpu-v1"
    rows: int = 256
    cols: int = 256
    freq_hz: float = 700e6
    unified_buffer_bytes: int = 24 * MIB
    accumulator_bytes: int = 4 * MIB
    weight_fifo_tiles: int = 4
    dram_bytes_per_s: float = 34e9

    @property
    def weight_fifo_bytes(self) -> int:
        return self.weight_fifo_tiles * self.rows * self.cols

    @property
    def peak_macs_per_s(self) -> float:
        return self.rows * self.cols * self.freq_hz

    @property
    def peak_tops(self) -> float:
        """Tera-ops per second, 1 MAC = 2 ops."""
        return 2 * self.peak_macs_per_s / 1e12

    @property
    def ridge_macs_per_weight_byte(self) -> float:
        """Operational intensity where the roofline turns (MACs per byte from DRAM)."""
        return self.peak_macs_per_s / self.dram_bytes_per_s

    @property
    def dram_bytes_per_cycle(self) -> float:
        return self.dram_bytes_per_s / self.freq_hz

    def array_config(self, bandwidth_mode: str = "CALC") -> ArrayConfig:
        return ArrayConfig(
            rows=self.rows, cols=self.cols, dataflow="ws",
            ifmap_sram_kb=self.unified_buffer_bytes // 1024,
            filter_sram_kb=self.weight_fifo_bytes // 1024,
            ofmap_sram_kb=self.accumulator_bytes // 1024,
            bandwidth_mode=bandwidth_mode, dram_bw_words=self.dram_bytes_per_cycle,
            word_bytes=1, freq_hz=self.freq_hz, run_name=self.name, name=self.name)


TPU_V1 = TpuPreset()
PRESETS = {"tpu-v1": TPU_V1}


def tpu_v1(bandwidth_mode: str = "CALC", convention: str = "hwnn",
           memory: bool = True) -> SystolicArray:
    """TPU v1's matrix unit as a Device (see the module table)."""
    return SystolicArray(TPU_V1.array_config(bandwidth_mode), convention, memory)


# ---- the study's TPU section -------------------------------------------------------------


@dataclass(frozen=True)
class TpuLayer:
    """One layer on TPU v1's matrix unit (hwnn convention: cycles counted, not indexed)."""

    layer: str
    macs: int
    cycles: int
    latency_s: float
    overall_util_pct: float
    mapping_efficiency_pct: float
    folds: int
    sram_bytes: int
    dram_bytes: int
    energy_compute_pj: float
    energy_sram_pj: float
    energy_dram_pj: float


def _bar_chart_svg(rows: list[TpuLayer]) -> str:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.layer for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=80)
    ax.bar(range(len(rows)), [r.cycles for r in rows], color="#60a5fa")
    ax.set_ylabel("cycles")
    ax.set_xticks(range(len(rows)), names, rotation=30, ha="right", fontsize=8)
    ax2 = ax.twinx()
    ax2.plot(range(len(rows)), [r.overall_util_pct for r in rows], "o-", color="#dc2626")
    ax2.set_ylabel("utilization %", color="#dc2626")
    ax.set_title("TPU v1 (256x256, ws): cycles and utilization per layer", fontsize=10)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _step_frame_svgs() -> list[str]:
    """One mid-computation frame of the same 3x3 product in each dataflow (the deck's
    pictures): ws as in the TPU, then output and input stationary for comparison."""
    import numpy as np

    from hwnn.hw.systolic_step import render_svg, run

    a = np.arange(1, 10).reshape(3, 3)
    w = np.array([[1, 0, 2], [0, 1, 1], [1, 1, 0]])
    svgs = []
    for dataflow in ("ws", "os", "is"):
        frames = run(dataflow, a, w, 3, 3).frames
        busy = [f for f in frames if f.outputs] or frames
        svgs.append(render_svg(busy[0]))
    return svgs


def tpu_section(workload, preset: TpuPreset = TPU_V1):
    """The study's section: ``workload`` on TPU v1, per layer, with two inline SVG charts."""
    from hwnn.hw.systolic import simulate, spec_from_layer
    from hwnn.results import Section

    cfg = preset.array_config()
    reps = simulate([spec_from_layer(x) for x in workload.layers], cfg, "hwnn")
    rows = []
    for r in reps:
        e = r.energy_pj
        rows.append(TpuLayer(
            layer=r.name, macs=r.macs, cycles=r.total_cycles, latency_s=r.latency_s,
            overall_util_pct=r.overall_util_pct, mapping_efficiency_pct=r.mapping_efficiency_pct,
            folds=r.folds,
            sram_bytes=int(r.sram_ifmap[2] + r.sram_filter[2] + r.sram_ofmap[2]),
            dram_bytes=int(r.dram_ifmap[2] + r.dram_filter[2] + r.dram_ofmap[2]),
            energy_compute_pj=e.get("compute", 0.0),
            energy_sram_pj=sum(v for k, v in e.items() if k.startswith("sram")),
            energy_dram_pj=e.get("dram", 0.0)))
    desc = (f"{workload.name} on TPU v1's matrix unit ({preset.rows}x{preset.cols} MACs, "
            f"{preset.freq_hz / 1e6:.0f} MHz, peak {preset.peak_tops:.1f} TOPS, ridge "
            f"{preset.ridge_macs_per_weight_byte:.0f} MACs per weight byte), weight "
            "stationary, SCALE-Sim's memory model (1-byte words). Small layers use a corner "
            "of the 256x256 array, hence the low utilization. The other charts are one cycle "
            "of a 3x3 array multiplying the same matrices with real numbers, in the TPU's "
            "weight-stationary dataflow and, for comparison, output and input stationary "
            "(`hwnn step` shows every cycle).")
    return Section("tpu", "TPU v1 systolic array", rows, desc,
                   [_bar_chart_svg(rows), *_step_frame_svgs()])
