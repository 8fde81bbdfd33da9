"""Benchmarking deployed engines: predictions per second and latency against batch size.

The deck's batching table, measured on this CPU: one fp32 model served by torch, and the
same network deployed by ``hwnn.deploy`` as an int8 plan and as a plan for a low-precision
method (binary by default: BNN or XNOR-Net run on the XNOR-popcount kernels). Every engine
runs with the same thread count (torch, OpenBLAS and the native kernels alike) and every
plan's predictions are checked against its fake-quantized torch model on the whole test set.

``run_bench`` trains, quantizes, deploys and measures (plain arguments in, a ``BenchResult``
out); ``section_from_models`` measures models the study already has; ``bench_section``
turns a result into the report's section. ``hwnn bench`` is the CLI over ``run_bench``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hwnn import system
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
    skipped_rivals: dict = field(default_factory=dict)  # rival -> why it did not run


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
    rivals=(),
) -> tuple[list[EngineInfo], list[ThroughputPoint]]:
    """fp32 torch, then a deployed plan for each quantized model (name -> model), then each
    rival engine (``rivals.Rival``; its agreement is with the fp32 torch model)."""
    import hwnn.deploy
    from hwnn.deploy import rivals as rival_engines
    from hwnn.throughput import measure_torch

    steps = 1 + len(quantized) + len(rivals)
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
    for i, rival in enumerate(rivals, start=1 + len(quantized)):
        if progress:
            progress(rival.engine, i, steps)
        engines.append(_engine_info(rival.engine, rival.method, rival, fp32_model, x_test, y_test))
        points += rival_engines.measure(rival, x_test, batches, threads, min_time_s)
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
    rivals: tuple[str, ...] = (),
) -> BenchResult:
    """Trains ``model`` on ``data``, quantizes it to int8 and to ``method``, deploys both and
    measures them against fp32 torch at each batch size, and against the ``rivals``
    (``hwnn.deploy.rivals.RIVALS``: ONNX Runtime and torch.ao engines) that can run here."""
    from hwnn import models, quant
    from hwnn.config import DataConfig, TrainConfig
    from hwnn.data import load
    from hwnn.deploy import SUPPORTED
    from hwnn.deploy import rivals as rival_engines
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
    if progress and rivals:
        progress("building rival engines", 0, 1)
    built, skipped = rival_engines.build(rivals, net, ds.x_train[:512], threads)
    engines, points = bench_models(
        net, quantized, ds.x_test, ds.y_test, batches, threads, min_time_s, progress, built
    )
    core = backend.native_module()
    return BenchResult(
        model=model,
        data=data,
        cpu=system.cpu_model(),
        threads=threads,
        kernel_paths=dict(core.kernel_paths()) if core is not None else {},
        engines=engines,
        points=points,
        speedup_at_batch_1=speedups(points, 1),
        skipped_rivals=skipped,
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
    missing = "".join(f" {n} not run: {why}." for n, why in result.skipped_rivals.items())
    return Section(
        "deploy_bench",
        "Deployed engines: predictions per second against batch size",
        result.points,
        f"{result.model} on {result.data}, {result.cpu}, {result.threads} thread(s); kernels "
        f"{result.kernel_paths.get('binary_gemm', 'reference')} (binary) and "
        f"{result.kernel_paths.get('int8_gemm', 'reference')} (int8). At batch 1 against fp32 "
        f"torch: {fast}. Same argmax as the fake-quantized torch model (rivals: as the fp32 "
        f"model): {agree}.{missing}",
        [chart(result.points)],
    )


def section_from_models(
    fp32_model, quantized: dict, x_test, y_test, batches=DEFAULT_BATCHES, threads: int = 1,
    model: str = "", data: str = "", progress=None, min_time_s: float = 0.2,
    rivals: tuple[str, ...] = (), calibration=None,
) -> Section:  # fmt: skip
    """``bench_section`` for the study: models it already trained and quantized. Methods
    the engine cannot deploy are skipped; int8 and the binary methods are what it serves.
    ``rivals`` (with ``calibration`` images) are timed beside them where they can run."""
    from hwnn.deploy import SUPPORTED
    from hwnn.deploy import rivals as rival_engines
    from hwnn.kernels import backend

    chosen = {m: q for m, q in quantized.items() if m in ("int8", "bnn", "xnor") and m in SUPPORTED}
    built, skipped = rival_engines.build(
        rivals, fp32_model, x_test if calibration is None else calibration, threads
    )
    engines, points = bench_models(
        fp32_model, chosen, x_test, y_test, batches, threads, min_time_s, progress, built
    )
    core = backend.native_module()
    result = BenchResult(
        model, data, system.cpu_model(), threads, dict(core.kernel_paths()) if core else {},
        engines, points, speedups(points, 1), skipped,
    )  # fmt: skip
    return bench_section(result)
