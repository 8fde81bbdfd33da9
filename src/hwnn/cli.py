"""The ``hwnn`` command line: a thin layer over the Python API (typer + rich).

Results go to stdout (a rich table, or JSON with ``--json``); progress and errors go to
stderr. Bad input ends with one message naming the problem and exit status 2.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import typer

from hwnn import __version__
from hwnn.commands.common import emit_json, err, guarded, out, parse_ints, progress, table
from hwnn.config import DataConfig, StudyConfig, TrainConfig

app = typer.Typer(
    name="hwnn",
    help="What happens to my network on this hardware, at this precision?",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Command groups that live beside their capability; each module has register(app).
COMMAND_MODULES: list[str] = [
    "hwnn.commands.quantize",
    "hwnn.commands.hardware",
    "hwnn.commands.simulate",
    "hwnn.commands.step",
    "hwnn.commands.bench",  # with `bench ladder` from hwnn.commands.ladder
]

DataOpt = typer.Option(
    "digits", "--data", help="digits (embedded), mnist (IDX files) or synthetic."
)
DataDirOpt = typer.Option(None, "--data-dir", help="Folder with the MNIST IDX files (gzip or raw).")
ModelOpt = typer.Option("mlp", "--model", help="mlp or lenet5.")
SeedOpt = typer.Option(0, "--seed", help="Fixes every split, initialisation and shuffle.")
JsonOpt = typer.Option(False, "--json", help="Print the machine-readable result only.")


DeviceOpt = typer.Option(
    "cpu",
    "--device",
    help="Train the fp32 model on cpu, cuda (a CUDA GPU) or auto (cuda when there is one); "
    "quantization fine-tuning and every measurement stay on the CPU.",
)


def _configs(data, data_dir, model, seed, epochs, hidden, optimizer="adam", lr=1e-3,
             batch_size=64, device="cpu"):  # fmt: skip
    data_cfg = DataConfig(name=data, data_dir=data_dir, seed=seed)
    train_cfg = TrainConfig(
        model=model,
        optimizer=optimizer,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        hidden=parse_ints(hidden, "--hidden"),
        seed=seed,
        device=device,
    )
    return data_cfg, train_cfg


@app.command()
@guarded
def study(
    data: str = DataOpt,
    data_dir: Path = DataDirOpt,
    model: str = ModelOpt,
    epochs: int = typer.Option(30, help="fp32 training epochs."),
    hidden: str = typer.Option("128", help="MLP hidden layer sizes, comma-separated."),
    batches: str = typer.Option("1,256", help="Batch sizes for predictions per second."),
    skip: str = typer.Option("", help="Optional steps to leave out, comma-separated."),
    seed: int = SeedOpt,
    device: str = DeviceOpt,
    out_dir: Path = typer.Option(
        Path("hwnn-report"), "--out", help="Where report.html and results.json go."
    ),
    json: bool = JsonOpt,
) -> None:
    """Train, measure and report: writes OUT/report.html and OUT/results.json."""
    from hwnn.study import run_study

    data_cfg, train_cfg = _configs(data, data_dir, model, seed, epochs, hidden, device=device)
    config = StudyConfig(
        data=data_cfg,
        train=train_cfg,
        out=out_dir,
        batches=parse_ints(batches, "--batches"),
        seed=seed,
        skip=tuple(s.strip() for s in skip.split(",") if s.strip()),
    )
    with progress(enabled=not json) as bar:
        tasks: dict[str, int] = {}

        def report(description: str, done: int, total: int) -> None:
            if description not in tasks:
                tasks[description] = bar.add_task(description, total=total)
            bar.update(tasks[description], completed=done, total=total)

        result = run_study(config, progress=report)
    if json:
        emit_json(result.to_json())
        return
    fp32 = result.section("fp32").data
    out.print(
        f"fp32 {model} on {data}: accuracy {fp32.accuracy:.2%}, "
        f"trained in {fp32.train_time_s:.2f} s"
    )
    _print_summary(result)
    if any(s.key == "errors" for s in result.sections):
        for e in result.section("errors").data:
            err.print(f"[yellow]step {e.step} failed:[/] {e.error}")
    out.print(f"report: {out_dir / 'report.html'}\nresults: {out_dir / 'results.json'}")


# What the terminal shows of a study: (section, title, columns, row filter); the report has all.
_SUMMARY = [
    ("throughput", "Predictions per second (fp32 torch, CPU)",
     ["batch", "predictions_per_s", "latency_per_sample_s"], None),
    ("precision", "Reduced precision (loss in points vs fp32)",
     ["method", "weight_bits", "activation_bits", "accuracy", "accuracy_loss_pct",
      "compression_ratio"], None),
    ("deploy_bench", "Deployed engines (predictions per second)",
     ["engine", "batch", "predictions_per_s", "latency_per_sample_s"],
     lambda r: r["batch"] in (1, 256)),
]  # fmt: skip


def _print_summary(result) -> None:
    from hwnn.results import to_jsonable

    present = {s.key: s for s in result.sections}
    for key, title, columns, keep in _SUMMARY:
        if key in present:
            rows = [r for r in to_jsonable(present[key].data) if keep is None or keep(r)]
            out.print(table(title, rows, columns))


@app.command()
@guarded
def train(
    data: str = DataOpt,
    data_dir: Path = DataDirOpt,
    model: str = ModelOpt,
    epochs: int = typer.Option(30, help="Training epochs."),
    hidden: str = typer.Option("128", help="MLP hidden layer sizes, comma-separated."),
    optimizer: str = typer.Option("adam", help="adam or sgd."),
    lr: float = typer.Option(1e-3, help="Learning rate."),
    batch_size: int = typer.Option(64, help="Mini-batch size."),
    seed: int = SeedOpt,
    device: str = DeviceOpt,
    save: Path = typer.Option(None, help="Save the trained model to this checkpoint file."),
    json: bool = JsonOpt,
) -> None:
    """Train a model in fp32 and report accuracy, loss per epoch and training time."""
    from hwnn import checkpoint, models
    from hwnn import data as datasets
    from hwnn.train import fit

    data_cfg, train_cfg = _configs(
        data, data_dir, model, seed, epochs, hidden, optimizer, lr, batch_size, device
    )
    ds = datasets.load(data_cfg)
    net = models.build(model, ds.input_shape, ds.classes, seed, train_cfg.hidden)
    with progress(enabled=not json) as bar:
        task = bar.add_task(f"training {model}", total=epochs)
        result = fit(net, ds, train_cfg, progress=lambda e, n, _l: bar.update(task, completed=e))
    if save is not None:
        spec = {
            "name": model,
            "input_shape": list(ds.input_shape),
            "classes": ds.classes,
            "seed": seed,
            "hidden": list(train_cfg.hidden),
        }
        checkpoint.save(save, net, spec)
    if json:
        emit_json({"dataset": ds.info(), "model": model, "checkpoint": save, **_asdict(result)})
        return
    out.print(
        f"{model} on {data}: test accuracy {result.accuracy:.2%}, "
        f"training time {result.train_time_s:.2f} s over {epochs} epochs on {result.device}"
        + (f"; saved to {save}" if save else "")
    )


def _asdict(result) -> dict:
    from dataclasses import asdict

    return asdict(result)


@app.command()
@guarded
def info(
    json: bool = JsonOpt,
    calibrate: bool = typer.Option(
        False,
        help="Also measure this CPU's peak FLOP/s and memory bandwidth (and the GPU's, with "
        "its per-layer launch cost, when torch sees one).",
    ),
) -> None:
    """Version, native core, CPU features, threads and GPU visibility."""
    from hwnn import system

    sysinfo = system.collect()
    calibration = None
    if calibrate:
        calibration = _calibrate()
    if json:
        payload = {"version": __version__, **_asdict(sysinfo)}
        if calibration is not None:
            payload["calibration"] = calibration
        emit_json(payload)
        return
    feats = [k for k, v in sysinfo.cpu_features.items() if v]
    rows = [
        {"what": "hwnn", "value": __version__},
        {"what": "native core", "value": "built" if sysinfo.native else "not built (NumPy twin)"},
        {"what": "kernels in use", "value": sysinfo.kernels},
        {"what": "CPU", "value": sysinfo.cpu_model},
        {"what": "CPU features used", "value": ", ".join(feats) or "none (scalar)"},
        {
            "what": "kernel paths",
            "value": ", ".join(f"{k}: {v}" for k, v in sysinfo.kernel_paths.items()),
        },
        {"what": "threads (HWNN_THREADS)", "value": sysinfo.threads},
        {"what": "CUDA GPU", "value": ", ".join(sysinfo.cuda_devices) or "none visible"},
    ]
    if calibration is not None:
        rows += [{"what": k, "value": v} for k, v in calibration.items()]
    out.print(table("hwnn info", rows))


def _calibrate() -> dict:
    from dataclasses import asdict

    from hwnn.hw import gpu_calibrate
    from hwnn.hw.calibrate import calibrate

    # saved, so the `local-cpu` and `local-gpu` presets use these numbers without measuring
    result = calibrate(save=True)
    import torch

    if torch.cuda.is_available():
        try:
            m = gpu_calibrate.measure("cuda")
        except (RuntimeError, MemoryError) as e:  # out of GPU memory, a driver error
            # the CPU's numbers are saved already; say why the GPU has none
            result["gpu"] = {"error": f"{type(e).__name__}: {e}"}
            return result
        result["gpu"] = {**asdict(m), "saved_to": str(gpu_calibrate.save(m))}
    return result


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main() -> None:
    app()
