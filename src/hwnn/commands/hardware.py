"""``hwnn devices`` and ``hwnn estimate``: the hardware models from the command line.

- ``hwnn devices [--json]`` lists every preset with its numbers and sources.
- ``hwnn estimate --model mlp|lenet5|PATH --method NAME --device NAME --batch B [--json]``
  trains the model (or loads a checkpoint), applies the precision method, lowers it to a
  Workload and prints each layer's and the total latency, throughput, energy per
  inference and inferences per joule on the device. A PATH ending in ``.onnx`` is read as
  shapes only (``hwnn.hw.onnx_workload``) at fp32, fp16, bf16 or int8.

The logic lives in ``list_devices`` and ``estimate`` (plain arguments in, dataclasses out);
the typer commands only parse options and print.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import typer

from hwnn.commands.common import emit_json, err, guarded, out, progress, table
from hwnn.errors import ConfigError
from hwnn.hw.workload import Workload

MODELS = ("mlp", "lenet5")
ONNX_METHODS = ("fp32", "fp16", "bf16", "int8")  # formats alone: no weights to quantize


@dataclass(frozen=True)
class LayerRow:
    layer: str
    kind: str
    m: int
    k: int
    n: int
    macs: int
    weight_format: str
    act_format: str
    cycles: float
    latency_s: float
    energy_pj: float
    energy_by_part_pj: dict[str, float]
    traffic_bytes: dict[str, float]
    utilization: float
    bound: str
    feasible: bool
    reason: str


@dataclass(frozen=True)
class EstimateResult:
    """One model at one precision on one device; energy and rates per inference."""

    model: str
    method: str
    device: str
    batch: int
    macs_per_inference: int
    feasible: bool
    latency_s: float
    throughput_per_s: float
    energy_per_inference_pj: float
    inferences_per_j: float
    energy_by_part_pj: dict[str, float]
    layers: list[LayerRow]
    lowering: str
    device_spec: dict = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)


def list_devices() -> list[dict]:
    """Every preset's spec (name, kind, rates, memories, power, source)."""
    from hwnn.hw import devices

    return [dev.spec() for dev in devices.presets().values()]


# ---- model -> workload ----------------------------------------------------------------


def _lower(model, input_shape, batch: int, name: str) -> tuple[Workload, str]:
    from hwnn.lower import lower

    return lower(model, input_shape, batch=batch, name=name), "hwnn.lower.lower"


def _trained_model(model: str, data_name: str, data_dir, epochs: int, seed: int, show: bool):
    from hwnn import checkpoint, data, models, train
    from hwnn.config import DataConfig, TrainConfig

    if model in MODELS:
        ds = data.load(DataConfig(name=data_name, data_dir=data_dir, seed=seed))
        net = models.build(model, ds.input_shape, ds.classes, seed=seed)
        with progress(show) as bar:
            task = bar.add_task(f"training {model} on {ds.name}", total=epochs)
            train.fit(net, ds, TrainConfig(model=model, epochs=epochs, seed=seed),
                      progress=lambda *_a, **_k: bar.advance(task))
        return net, tuple(ds.input_shape), ds
    path = Path(model)
    if not path.exists():
        raise ConfigError(f"--model {model!r}: use {' or '.join(MODELS)} or a checkpoint path")
    net, spec = checkpoint.load(path)
    return net, tuple(spec["input_shape"]), None


def _check_method(method: str) -> None:
    if method == "fp32":
        return
    try:
        from hwnn import quant
    except ImportError:
        raise ConfigError(f"--method {method}: hwnn.quant is not available; use fp32") from None
    if method not in quant.names():
        raise ConfigError(f"--method {method!r} unknown; use fp32 or one of {quant.names()}")


def _quantized(net, method: str, ds, data_name, data_dir, seed, finetune_epochs, shape):
    if method == "fp32":
        return net
    from hwnn import quant

    if ds is None:
        from hwnn import data
        from hwnn.config import DataConfig

        ds = data.load(DataConfig(name=data_name, data_dir=data_dir, seed=seed))
        if tuple(ds.input_shape) != shape:
            raise ConfigError(
                f"the checkpoint expects inputs {shape} but --data {data_name} gives "
                f"{tuple(ds.input_shape)}; pass the data set it was trained on"
            )
    return quant.quantize(net, method, data=ds, epochs=finetune_epochs, seed=seed)


def _onnx_workload(path: str, method: str, batch: int) -> Workload:
    """An ONNX graph has shapes but no trained weights to quantize, so only the methods
    that are formats alone apply to it."""
    from hwnn.formats import parse
    from hwnn.hw.onnx_workload import read_onnx

    method = method.lower()
    if method not in ONNX_METHODS:
        raise ConfigError(f"--method {method!r} needs a trained model; an ONNX file takes "
                          f"{', '.join(ONNX_METHODS)} (use --model mlp|lenet5 for the others)")
    fmt = parse(method)
    return read_onnx(path, fmt, fmt, batch=batch)


def workload_for(
    model: str = "mlp",
    method: str = "fp32",
    batch: int = 1,
    data: str = "digits",
    data_dir: str | Path | None = None,
    epochs: int = 3,
    finetune_epochs: int = 0,
    seed: int = 0,
    show_progress: bool = False,
) -> tuple[Workload, str]:
    """The (trained, quantized) model as a Workload at ``batch``; and which lowering ran.

    The hardware numbers depend only on shapes and formats, so fine-tuning after
    quantization is off by default (``finetune_epochs=0``: post-training quantization).
    """
    if batch < 1:
        raise ConfigError(f"--batch must be at least 1, got {batch}")
    from hwnn.hw.onnx_workload import is_onnx

    if is_onnx(model):
        return _onnx_workload(model, method, batch), "hwnn.hw.onnx_workload.read_onnx"
    _check_method(method)
    net, shape, ds = _trained_model(model, data, data_dir, epochs, seed, show_progress)
    net = _quantized(net, method, ds, data, data_dir, seed, finetune_epochs, shape)
    name = f"{Path(model).stem if model not in MODELS else model}-{method}"
    return _lower(net, shape, batch, name)


def estimate(
    model: str = "mlp",
    method: str = "fp32",
    device: str = "haswell",
    batch: int = 1,
    data: str = "digits",
    data_dir: str | Path | None = None,
    epochs: int = 3,
    finetune_epochs: int = 0,
    seed: int = 0,
    show_progress: bool = False,
    energy_table: str | Path | None = None,
) -> EstimateResult:
    """Per-layer and total latency, throughput and energy of ``model`` at ``method``;
    ``energy_table`` (a JSON file) replaces Horowitz's 45 nm table."""
    from hwnn.hw import devices
    from hwnn.hw.energy import EnergyTable
    from hwnn.hw.hardware_section import asic_for

    table = EnergyTable.load(energy_table) if energy_table else None

    # "asic": a custom array of the model's own formats, built once the formats are known
    dev = None if device == "asic" else devices.get(device)  # fail fast, before training
    workload, lowering = workload_for(
        model, method, batch, data, data_dir, epochs, finetune_epochs, seed, show_progress
    )
    dev = dev or asic_for(workload)
    if table is not None:
        dev.table = table
    return estimate_workload(workload, dev, batch, model, method, lowering)


def estimate_workload(workload: Workload, dev, batch: int = 1, model: str = "",
                      method: str = "", lowering: str = "") -> EstimateResult:
    est = dev.estimate(workload, batch)
    rows = []
    for layer, e in zip(workload.layers, est.layers, strict=True):
        m, k, n = layer.gemm_dims()
        rows.append(LayerRow(
            layer=layer.name, kind=layer.kind, m=m, k=k, n=n, macs=layer.macs,
            weight_format=layer.weight_format.name, act_format=layer.act_format.name,
            cycles=e.cycles, latency_s=e.latency_s, energy_pj=e.total_energy_pj,
            energy_by_part_pj=dict(e.energy_pj), traffic_bytes=dict(e.traffic_bytes),
            utilization=e.utilization, bound=e.bound, feasible=e.feasible, reason=e.reason,
        ))
    parts = {k: v / batch for k, v in est.energy_by_part_pj().items()} if est.feasible else {}
    return EstimateResult(
        model=model or workload.name, method=method, device=dev.name, batch=batch,
        macs_per_inference=workload.macs // batch, feasible=est.feasible,
        latency_s=est.latency_s if est.feasible else math.nan,
        throughput_per_s=est.throughput_per_s,
        energy_per_inference_pj=est.energy_per_inference_pj,
        inferences_per_j=est.inferences_per_j, energy_by_part_pj=parts, layers=rows,
        lowering=lowering, device_spec=dev.spec(), reasons=est.reasons,
    )


# ---- typer commands -----------------------------------------------------------------------


def _devices_command(
    json: bool = typer.Option(False, "--json", help="Print the machine-readable list only."),
) -> None:
    """List the modelled devices (presets) and their specs."""
    specs = list_devices()
    if json:
        emit_json(specs)
        return
    rows = []
    for s in specs:
        peaks = s.get("peak_ops_per_s")
        peak = max(peaks.values()) if isinstance(peaks, dict) else peaks
        rows.append({
            "name": s["name"], "kind": s["kind"],
            "peak ops/s": peak, "DRAM bytes/s": s.get("dram_bandwidth_bytes_per_s"),
            "busy W": s.get("busy_power_w"),
        })
    out.print(table("Devices (hwnn devices --json for every number and its source)", rows))


def _estimate_command(
    model: str = typer.Option("mlp", "--model", help="mlp, lenet5, a checkpoint or an .onnx file."),
    method: str = typer.Option("fp32", "--method", help="fp32 or a precision method name."),
    device: str = typer.Option(
        "haswell", "--device", help="A preset from `hwnn devices`, or asic (the model's formats)."
    ),
    batch: int = typer.Option(1, "--batch", help="Inferences per run."),
    data: str = typer.Option("digits", "--data", help="digits, mnist or synthetic."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Folder with the MNIST IDX files."),
    epochs: int = typer.Option(3, "--epochs", help="fp32 training epochs (mlp, lenet5)."),
    finetune_epochs: int = typer.Option(0, "--finetune-epochs",
                                        help="Fine-tuning after quantization (0: none)."),
    seed: int = typer.Option(0, "--seed"),
    energy_table: Path = typer.Option(None, "--energy-table",
                                      help="JSON energy/area table (default: Horowitz 45 nm)."),
    json: bool = typer.Option(False, "--json", help="Print the machine-readable result only."),
) -> None:
    """Latency, throughput and energy of a model at a precision on a device."""
    r = estimate(model, method, device, batch, data, data_dir, epochs, finetune_epochs, seed,
                 show_progress=not json, energy_table=energy_table)
    if json:
        emit_json(r)
        return
    layer_rows = [{
        "layer": x.layer, "M x K x N": f"{x.m}x{x.k}x{x.n}", "formats":
        f"{x.weight_format} x {x.act_format}", "latency s": x.latency_s, "energy pJ": x.energy_pj,
        "util": x.utilization, "bound": x.bound,
    } for x in r.layers]
    out.print(table(f"{r.model} at {r.method} on {r.device}, batch {r.batch}", layer_rows))
    for x in r.layers:
        if x.reason and x.feasible:
            out.print(f"  {x.layer}: {x.reason}", highlight=False)
    total = {"latency s": r.latency_s, "inferences/s": r.throughput_per_s,
             "energy per inference pJ": r.energy_per_inference_pj,
             "inferences per J": r.inferences_per_j}
    out.print(table("Total", [total]))
    if not r.feasible:
        err.print("[yellow]does not map:[/] " + "; ".join(r.reasons))


def register(app: typer.Typer) -> None:
    """Adds ``devices`` and ``estimate`` to the hwnn app."""
    app.command("devices")(guarded(_devices_command))
    app.command("estimate")(guarded(_estimate_command))
