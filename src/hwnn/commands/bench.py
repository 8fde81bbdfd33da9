"""``hwnn bench``: predictions per second and latency against batch size, deployed.

The deck's batching table, measured on this CPU: one fp32 model served by torch, and the
same network deployed by ``hwnn.deploy`` as an int8 plan and as a plan for ``--method``
(binary by default: BNN or XNOR-Net run on the XNOR-popcount kernels). Every engine runs
with the same thread count (torch, OpenBLAS and the native kernels alike) and every plan's
predictions are checked against its fake-quantized torch model on the whole test set.

``run_bench`` holds the logic (plain arguments in, a ``BenchResult`` out); ``register`` adds
the thin typer command; ``bench_section`` turns a result into the study report's section.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import typer

from hwnn.commands import ladder
from hwnn.commands.common import emit_json, guarded, out, progress, table
from hwnn.errors import ConfigError
from hwnn.results import Section, ThroughputPoint

DEFAULT_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


@dataclass(frozen=True)
class EngineInfo:
    """One served model: its accuracy, and whether the plan predicts like torch."""

    engine: str
    method: str
    accuracy: float
    agrees_with_torch: float  # fraction of test samples with the same argmax (1.0 expected)
    weight_bytes: int


@dataclass(frozen=True)
class BenchResult:
    model: str
    data: str
    cpu: str
    threads: int
    kernel_paths: dict
    engines: list[EngineInfo]
    points: list[ThroughputPoint]
    speedup_at_batch_1: dict = field(default_factory=dict)  # engine -> x fp32 torch


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def measure_plan(
    plan, x: np.ndarray, batches, threads: int = 1, min_time_s: float = 0.2, engine: str = ""
) -> list[ThroughputPoint]:
    """Throughput of a deployed plan at each batch size (median of repeated runs)."""
    from threadpoolctl import threadpool_limits

    from hwnn.kernels import get_threads, set_threads
    from hwnn.throughput import _batch_of, time_call

    before = get_threads()
    set_threads(threads)
    points = []
    try:
        with threadpool_limits(limits=threads):  # the plan's float layers run on OpenBLAS
            for b in batches:
                xb = _batch_of(x, b)
                latency = time_call(lambda xb=xb: plan.run(xb), min_time_s=min_time_s)
                points.append(
                    ThroughputPoint(b, b / latency, latency, latency / b, threads, engine)
                )
    finally:
        set_threads(before)
    return points


def _engine_info(engine: str, method: str, plan, model, x, y) -> EngineInfo:
    import torch

    with torch.no_grad():
        ref = model(torch.from_numpy(x)).argmax(1).numpy()
    got = plan.predict(x)
    return EngineInfo(
        engine, method, float((got == y).mean()), float((got == ref).mean()), plan.weight_bytes
    )


def bench_models(
    fp32_model,
    quantized: dict,
    x_test: np.ndarray,
    y_test: np.ndarray,
    batches=DEFAULT_BATCHES,
    threads: int = 1,
    min_time_s: float = 0.2,
    progress=None,
) -> tuple[list[EngineInfo], list[ThroughputPoint]]:
    """fp32 torch, then a deployed plan for each quantized model (name -> model)."""
    import hwnn.deploy
    from hwnn.throughput import measure_torch

    steps = 1 + len(quantized)
    if progress:
        progress("fp32 torch", 0, steps)
    points = measure_torch(fp32_model, x_test, tuple(batches), threads, min_time_s)
    fp32_plan = hwnn.deploy(fp32_model)
    engines = [_engine_info("torch-fp32", "fp32", fp32_plan, fp32_model, x_test, y_test)]
    for i, (method, model) in enumerate(quantized.items(), start=1):
        if progress:
            progress(f"{method} engine", i, steps)
        plan = hwnn.deploy(model)
        name = f"engine-{method}"
        engines.append(_engine_info(name, method, plan, model, x_test, y_test))
        points += measure_plan(plan, x_test, batches, threads, min_time_s, name)
    if progress:
        progress("done", steps, steps)
    return engines, points


def run_bench(
    model: str = "mlp",
    method: str = "bnn",
    data: str = "digits",
    data_dir: Path | None = None,
    seed: int = 0,
    epochs: int = 10,
    hidden: tuple[int, ...] = (128,),
    batches: tuple[int, ...] = DEFAULT_BATCHES,
    threads: int = 1,
    min_time_s: float = 0.2,
    finetune_epochs: int | None = None,
    progress=None,
) -> BenchResult:
    """Trains ``model`` on ``data``, quantizes it to int8 and to ``method``, deploys both and
    measures them against fp32 torch at each batch size."""
    from hwnn import models, quant
    from hwnn.config import DataConfig, TrainConfig
    from hwnn.data import load
    from hwnn.deploy import SUPPORTED
    from hwnn.kernels import backend
    from hwnn.train import fit

    if method not in SUPPORTED or method == "fp32":
        raise ConfigError(
            f"--method {method!r} cannot be deployed: use one of "
            f"{', '.join(m for m in SUPPORTED if m != 'fp32')}"
        )
    if not batches or min(batches) < 1:
        raise ConfigError(f"batch sizes must be positive integers, got {batches}")
    if threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    ds = load(DataConfig(name=data, data_dir=data_dir, seed=seed))
    if progress:
        progress("training fp32", 0, 1)
    net = models.build(model, ds.input_shape, ds.classes, seed, hidden)
    fit(net, ds, TrainConfig(model=model, epochs=epochs, hidden=hidden, seed=seed))
    net.eval()
    quantized = {}
    for name in dict.fromkeys(("int8", method)):
        if progress:
            progress(f"quantizing {name}", 0, 1)
        quantized[name] = quant.quantize(net, name, ds, epochs=finetune_epochs, seed=seed)
    engines, points = bench_models(
        net, quantized, ds.x_test, ds.y_test, batches, threads, min_time_s, progress
    )
    core = backend.native_module()
    return BenchResult(
        model=model,
        data=data,
        cpu=_cpu_model(),
        threads=threads,
        kernel_paths=dict(core.kernel_paths()) if core is not None else {},
        engines=engines,
        points=points,
        speedup_at_batch_1=speedups(points, 1),
    )


def speedups(points: list[ThroughputPoint], batch: int) -> dict:
    """Each engine's predictions per second over fp32 torch's at one batch size."""
    at = {p.engine: p.predictions_per_s for p in points if p.batch == batch}
    base = at.get("torch-fp32")
    return {e: v / base for e, v in at.items() if base and e != "torch-fp32"}


def chart(points: list[ThroughputPoint]) -> str:
    """Predictions per second against batch size, one line per engine (inline SVG)."""
    import matplotlib.pyplot as plt

    from hwnn.report.charts import to_svg

    fig, ax = plt.subplots(figsize=(6, 3.4))
    for engine in dict.fromkeys(p.engine for p in points):
        pts = [p for p in points if p.engine == engine]
        ax.plot(
            [p.batch for p in pts], [p.predictions_per_s for p in pts], marker="o", label=engine
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("predictions per second")
    ax.set_title(f"Deployed engines on the CPU, {points[0].threads} thread(s)" if points else "")
    ax.legend(fontsize=8)
    return to_svg(fig)


def bench_section(result: BenchResult) -> Section:
    """The study report's section: every (engine, batch) point, the chart, and a summary."""
    agree = ", ".join(f"{e.engine} {e.agrees_with_torch:.1%}" for e in result.engines)
    fast = ", ".join(f"{e} {v:.1f}x" for e, v in result.speedup_at_batch_1.items())
    return Section(
        "deploy_bench",
        "Deployed engines: predictions per second against batch size",
        result.points,
        f"{result.model} on {result.data}, {result.cpu}, {result.threads} thread(s); kernels "
        f"{result.kernel_paths.get('binary_gemm', 'reference')} (binary) and "
        f"{result.kernel_paths.get('int8_gemm', 'reference')} (int8). At batch 1 against fp32 "
        f"torch: {fast}. Same argmax as the fake-quantized torch model: {agree}.",
        [chart(result.points)],
    )


def section_from_models(
    fp32_model, quantized: dict, x_test, y_test, batches=DEFAULT_BATCHES, threads: int = 1,
    model: str = "", data: str = "", progress=None, min_time_s: float = 0.2,
) -> Section:  # fmt: skip
    """``bench_section`` for the study: models it already trained and quantized. Methods
    the engine cannot deploy are skipped; int8 and the binary methods are what it serves."""
    from hwnn.deploy import SUPPORTED
    from hwnn.kernels import backend

    chosen = {m: q for m, q in quantized.items() if m in ("int8", "bnn", "xnor") and m in SUPPORTED}
    engines, points = bench_models(
        fp32_model, chosen, x_test, y_test, batches, threads, min_time_s, progress
    )
    core = backend.native_module()
    result = BenchResult(
        model, data, _cpu_model(), threads, dict(core.kernel_paths()) if core else {},
        engines, points, speedups(points, 1),
    )  # fmt: skip
    return bench_section(result)


def _parse_ints(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"{option} must be integers such as 1,2,4; got {text!r}") from None
    if not values:
        raise ConfigError(f"{option} needs at least one value")
    return values


def register(app: typer.Typer) -> None:
    """Adds the ``bench`` group: ``hwnn bench [options]`` and ``hwnn bench ladder``."""
    group = typer.Typer(help="Measured speed: deployed engines, and the CPU optimization ladder.")

    @group.callback(invoke_without_command=True)
    @guarded
    def bench_command(
        ctx: typer.Context,
        model: str = typer.Option("mlp", "--model", help="mlp or lenet5."),
        method: str = typer.Option(
            "bnn", "--method", help="The low-precision engine next to int8: bnn, xnor, bwn, ..."
        ),
        data: str = typer.Option("digits", "--data", help="digits, mnist or synthetic."),
        data_dir: Path = typer.Option(None, "--data-dir", help="Folder with MNIST IDX files."),
        seed: int = typer.Option(0, "--seed"),
        epochs: int = typer.Option(10, "--epochs", help="fp32 training epochs."),
        hidden: str = typer.Option("128", "--hidden", help="MLP hidden sizes, e.g. 256,256."),
        batches: str = typer.Option(
            ",".join(map(str, DEFAULT_BATCHES)), "--batches", help="Batch sizes to time."
        ),
        threads: int = typer.Option(1, "--threads", help="Threads for every engine."),
        finetune_epochs: int = typer.Option(
            None, "--finetune-epochs", help="Override the method's fine-tuning epochs."
        ),
        json: bool = typer.Option(False, "--json", help="Print the machine-readable result."),
    ) -> None:
        """Predictions per second and latency against batch size: fp32 torch, int8 and binary."""
        if ctx.invoked_subcommand is not None:
            return
        with progress(enabled=not json) as bar:
            task = bar.add_task("bench", total=None)

            def report(what: str, i: int, n: int) -> None:
                bar.update(task, description=what, completed=i, total=n)

            result = run_bench(
                model, method, data, data_dir, seed, epochs, _parse_ints(hidden, "--hidden"),
                _parse_ints(batches, "--batches"), threads, finetune_epochs=finetune_epochs,
                progress=report,
            )  # fmt: skip
        if json:
            emit_json(result)
            return
        _print(result)

    ladder.register(group)
    app.add_typer(group, name="bench")


def _print(r: BenchResult) -> None:
    out.print(f"{r.cpu}, {r.threads} thread(s), kernels: {r.kernel_paths}")
    out.print(
        table(
            f"{r.model} on {r.data}: engines",
            [
                {
                    "engine": e.engine,
                    "accuracy": e.accuracy,
                    "same argmax as torch": e.agrees_with_torch,
                    "weight bytes": e.weight_bytes,
                    "x fp32 at batch 1": r.speedup_at_batch_1.get(e.engine),
                }
                for e in r.engines
            ],
        )
    )
    rows = [
        {
            "engine": p.engine,
            "batch": p.batch,
            "predictions/s": p.predictions_per_s,
            "latency/sample (us)": p.latency_per_sample_s * 1e6,
            "latency/batch (us)": p.latency_per_batch_s * 1e6,
        }
        for p in r.points
    ]
    out.print(table("Predictions per second against batch size", rows))
