"""``hwnn simulate``: a systolic array (SCALE-Sim's reports, computed fast) for a topology
CSV + ``.cfg`` pair or for one of hwnn's own models on a preset device. An ONNX model
(``.onnx``) stands in for either: as ``--topology`` beside a ``.cfg``, or as ``--model``.

The logic is ``run_simulate`` (plain arguments in, a ``SimulateResult`` out); ``register``
adds the thin typer command that prints it as a table or ``--json``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import typer

from hwnn.commands.common import emit_json, guarded, out, parse_ints, progress, table
from hwnn.errors import ConfigError


@dataclass(frozen=True)
class SimLayer:
    """One layer's headline numbers (all columns are in the report files / ``reports``)."""

    name: str
    macs: int
    total_cycles: int
    stall_cycles: int
    overall_util_pct: float
    mapping_efficiency_pct: float
    compute_util_pct: float
    sram_words: int
    dram_words: int
    latency_s: float
    energy_pj: float
    energy_pj_by_part: dict[str, float] = field(default_factory=dict)
    fold_groups: list = field(default_factory=list)  # where the cycles go (FoldGroup)


@dataclass(frozen=True)
class SimulateResult:
    source: str
    device: str
    array: str
    dataflow: str
    convention: str
    bandwidth_mode: str
    layers: list[SimLayer]
    total_cycles: int
    total_macs: int
    latency_s: float
    energy_pj: float
    report_files: list[str] = field(default_factory=list)
    trace_files: list[str] = field(default_factory=list)


def _summarise(rep) -> SimLayer:
    sram = rep.sram_ifmap[2] + rep.sram_filter[2] + rep.sram_ofmap[2]
    dram = rep.dram_ifmap[2] + rep.dram_filter[2] + rep.dram_ofmap[2]
    return SimLayer(rep.name, rep.macs, rep.total_cycles, rep.stall_cycles, rep.overall_util_pct,
                    rep.mapping_efficiency_pct, rep.compute_util_pct, int(sram), int(dram),
                    rep.latency_s, float(sum(rep.energy_pj.values())), dict(rep.energy_pj),
                    list(rep.fold_groups))


def run_simulate(
    topology: Path | None = None,
    config: Path | None = None,
    outdir: Path | None = None,
    gemm: bool = False,
    model: str | None = None,
    device: str = "tpu-v1",
    input_shape: str = "1,28,28",
    classes: int = 10,
    batch: int = 1,
    convention: str | None = None,
    on_layer: Callable[[int, int], None] | None = None,
    traces: bool = False,
    formats: str = "fp32",
) -> SimulateResult:
    """Either ``topology`` + ``config`` (SCALE-Sim files) or ``model`` on ``device``.

    ``convention`` defaults to ``scalesim`` for SCALE-Sim files (identical reports) and to
    ``hwnn`` for models. ``on_layer(done, total)`` reports progress. ``traces`` also writes
    SCALE-Sim's per-layer trace CSVs into ``outdir/layer<i>/`` (CALC mode only). A
    ``topology`` or ``model`` path ending in ``.onnx`` is read by ``hwnn.hw.onnx_workload``
    with ``formats`` ("int8", or weights and activations as "binary,int8") and ``batch``.
    """
    from hwnn.hw.onnx_workload import is_onnx
    from hwnn.hw.presets_tpu import PRESETS
    from hwnn.hw.scalesim_io import read_config, read_topology, write_reports
    from hwnn.hw.systolic import simulate

    if (topology is None) == (model is None):
        raise ConfigError("give either --topology (with --config) or --model (with --device)")
    source_path = topology if topology is not None else model
    if formats.strip().lower() != "fp32" and not is_onnx(source_path):
        raise ConfigError("--formats applies to ONNX models (.onnx); SCALE-Sim topologies and "
                          "hwnn's own models carry their formats")
    if traces and outdir is None:
        raise ConfigError("--traces needs --outdir: the trace CSVs go into OUTDIR/layer<i>/")
    if topology is not None:
        if config is None:
            raise ConfigError("--topology needs --config: a SCALE-Sim .cfg file")
        cfg = read_config(config)
        specs = (_onnx_specs(topology, formats, batch) if is_onnx(topology)
                 else read_topology(topology, gemm))
        conv = convention or "scalesim"
        source, dev = str(topology), str(config)
    else:
        if device not in PRESETS:
            raise ConfigError(f"device {device!r} unknown; choose one of {sorted(PRESETS)}")
        specs = (_onnx_specs(model, formats, batch) if is_onnx(model)
                 else _model_specs(model, input_shape, classes, batch))
        cfg = PRESETS[device].array_config()
        conv = convention or "hwnn"
        source, dev = f"{model} (batch {batch})", device
    if cfg.bandwidth_mode == "USER":
        from hwnn.hw import systolic_user  # noqa: F401  (fails clearly if absent)
    if traces:
        from hwnn.hw.scalesim_traces import check_traceable

        check_traceable(specs, cfg)  # before the reports: fail fast on USER mode, groups

    def step(i: int, _rep) -> None:
        if on_layer is not None:
            on_layer(i + 1, len(specs))

    reports = simulate(specs, cfg, conv, on_layer=step)
    files, trace_files = [], []
    if outdir is not None:
        files = [str(p) for p in write_reports(reports, outdir)]
    if traces:
        from hwnn.hw.scalesim_traces import write_all_traces

        trace_files = [str(p) for p in write_all_traces(specs, cfg, outdir)]
    layers = [_summarise(r) for r in reports]
    return SimulateResult(
        source=source, device=dev, array=f"{cfg.rows}x{cfg.cols}", dataflow=cfg.dataflow,
        convention=conv, bandwidth_mode=cfg.bandwidth_mode, layers=layers,
        total_cycles=sum(x.total_cycles for x in layers),
        total_macs=sum(x.macs for x in layers), latency_s=sum(x.latency_s for x in layers),
        energy_pj=sum(x.energy_pj for x in layers), report_files=files,
        trace_files=trace_files)


def _onnx_specs(path, formats: str, batch: int) -> list:
    from hwnn.formats import parse
    from hwnn.hw.onnx_workload import read_onnx
    from hwnn.hw.systolic import spec_from_layer

    names = [t for t in formats.split(",") if t.strip()]
    if len(names) not in (1, 2):
        raise ConfigError(f"--formats {formats!r}: give one format (int8) or weights,activations "
                          "(binary,int8)")
    try:
        weight, act = parse(names[0]), parse(names[-1])
    except ValueError as e:
        raise ConfigError(f"--formats: {e}") from None
    wl = read_onnx(path, weight, act, batch=batch)
    return [spec_from_layer(x) for x in wl.layers]


def _model_specs(model: str, input_shape: str, classes: int, batch: int) -> list:
    from hwnn import models
    from hwnn.hw.systolic import spec_from_layer
    from hwnn.lower import lower

    shape = parse_ints(input_shape, "--input-shape")
    if not shape:
        raise ConfigError("--input-shape needs C,H,W (or one size for an MLP), e.g. 1,28,28")
    net = models.build(model, shape, classes)
    return [spec_from_layer(x) for x in lower(net, shape, batch, name=model).layers]


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    @guarded
    def simulate_command(
        topology: Path = typer.Option(None, "--topology", "-t",
                                      help="SCALE-Sim topology CSV, or an ONNX model (.onnx)."),
        config: Path = typer.Option(None, "--config", "-c", help="SCALE-Sim .cfg file."),
        outdir: Path = typer.Option(None, "--outdir", "-o",
                                    help="Write COMPUTE/BANDWIDTH/DETAILED_ACCESS reports here."),
        gemm: bool = typer.Option(False, "--gemm", help="Topology rows are name, M, N, K."),
        model: str = typer.Option(None, "--model",
                                  help="An hwnn model (mlp, lenet5) or an ONNX file (.onnx)."),
        device: str = typer.Option("tpu-v1", "--device", help="Preset for --model: tpu-v1."),
        input_shape: str = typer.Option("1,28,28", "--input-shape", help="C,H,W of one input."),
        batch: int = typer.Option(1, "--batch", help="Inputs per run (multiplies M)."),
        formats: str = typer.Option(
            "fp32", "--formats",
            help="ONNX models: operand formats, one (int8) or weights,activations (binary,int8)."),
        convention: str = typer.Option(
            None, "--convention",
            help="scalesim (identical reports, quirks included) or hwnn (physical values)."),
        as_json: bool = typer.Option(False, "--json", help="Print the machine-readable result."),
        traces: bool = typer.Option(
            False, "--traces",
            help="Also write SCALE-Sim's SRAM/DRAM trace CSVs to OUTDIR/layer<i>/ (CALC mode)."),
    ) -> None:
        with progress(not as_json) as bar:
            task = bar.add_task("simulating layers", total=None)

            def on_layer(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            res = run_simulate(topology, config, outdir, gemm, model, device, input_shape,
                               batch=batch, convention=convention, on_layer=on_layer,
                               traces=traces, formats=formats)
        if as_json:
            emit_json(res)
            return
        rows = [{"layer": x.name, "MACs": x.macs, "cycles": x.total_cycles,
                 "util %": x.overall_util_pct, "mapping eff %": x.mapping_efficiency_pct,
                 "SRAM words": x.sram_words, "DRAM words": x.dram_words,
                 "energy uJ": x.energy_pj / 1e6} for x in res.layers]
        title = (f"{res.source} on {res.device} ({res.array} {res.dataflow}, "
                 f"{res.convention} convention): {res.total_cycles} cycles, "
                 f"{res.latency_s * 1e3:.4g} ms")
        out.print(table(title, rows))
        for f in res.report_files:
            out.print(f"wrote {f}")
        if res.trace_files:
            out.print(f"wrote {len(res.trace_files)} trace files under {outdir}/layer*/")
