"""``hwnn bench``: the CLI over ``hwnn.deploy.bench``, with ``hwnn bench ladder`` beside it."""

from __future__ import annotations

from pathlib import Path

import typer

from hwnn.commands import ladder
from hwnn.commands.common import emit_json, guarded, out, parse_ints, progress, table
from hwnn.deploy.bench import DEFAULT_BATCHES, BenchResult, run_bench
from hwnn.deploy.rivals import parse as rival_names


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
        rivals: str = typer.Option(
            "none", "--rivals",
            help="Other tools' engines to time beside hwnn's: all, none, or a list of "
            "ort-fp32, ort-int8, ort-int8-dynamic (need hwnn[rivals]), torch-ao-int8, "
            "torch-cuda-fp32 (needs a CUDA GPU).",
        ),  # fmt: skip
        json: bool = typer.Option(False, "--json", help="Print the machine-readable result."),
    ) -> None:
        """Predictions per second and latency against batch size: fp32 torch, int8 and binary."""
        if ctx.invoked_subcommand is not None:
            return
        chosen = rival_names(rivals)
        with progress(enabled=not json) as bar:
            task = bar.add_task("bench", total=None)

            def report(what: str, i: int, n: int) -> None:
                bar.update(task, description=what, completed=i, total=n)

            result = run_bench(
                model, method, data, data_dir, seed, epochs, parse_ints(hidden, "--hidden"),
                parse_ints(batches, "--batches"), threads, finetune_epochs=finetune_epochs,
                progress=report, rivals=chosen,
            )  # fmt: skip
        if json:
            emit_json(result)
            return
        _print(result)

    ladder.register(group)
    app.add_typer(group, name="bench")


def _print(r: BenchResult) -> None:
    out.print(f"{r.cpu}, {r.threads} thread(s), kernels: {r.kernel_paths}")
    for name, why in r.skipped_rivals.items():
        out.print(f"[yellow]{name} not run: {why}[/yellow]")
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
