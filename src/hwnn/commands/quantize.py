"""``hwnn quantize``: train (or load) an fp32 model, apply one method, report what it keeps.

The logic is ``run_quantize`` (plain arguments in, a ``PrecisionResult`` out); ``register``
adds the thin typer command that prints it as a table or ``--json``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from hwnn.commands.common import emit_json, guarded, out, parse_ints, progress, table
from hwnn.config import DataConfig, TrainConfig
from hwnn.errors import ConfigError
from hwnn.quant.summary import PrecisionResult
from hwnn.train import Progress


def run_quantize(
    method: str,
    model: str | None = None,
    data: str = "digits",
    data_dir: Path | None = None,
    seed: int = 0,
    checkpoint: Path | None = None,
    epochs: int = 30,
    hidden: tuple[int, ...] = (128,),
    finetune_epochs: int | None = None,
    first_last_fp32: bool | None = None,
    progress: Progress | None = None,
) -> PrecisionResult:
    """Quantizes a freshly trained (or checkpointed) model and measures it on ``data``."""
    from hwnn import checkpoint as ckpt
    from hwnn import models
    from hwnn.data import load
    from hwnn.quant import get, measure
    from hwnn.train import evaluate, fit

    m = get(method)  # fail on an unknown method before any training
    ds = load(DataConfig(name=data, data_dir=data_dir, seed=seed))
    if checkpoint is not None:
        net, spec = ckpt.load(checkpoint)
        if model is not None and model != spec["name"]:
            raise ConfigError(
                f"--model {model} does not match the checkpoint's model {spec['name']}: "
                "leave --model out or pass a matching checkpoint"
            )
        if tuple(spec["input_shape"]) != tuple(ds.input_shape) or spec["classes"] != ds.classes:
            raise ConfigError(
                f"checkpoint {checkpoint} expects inputs {tuple(spec['input_shape'])} and "
                f"{spec['classes']} classes, but {data} has {tuple(ds.input_shape)} and "
                f"{ds.classes}: pass the --data it was trained on"
            )
    else:
        name = model or "mlp"
        config = TrainConfig(model=name, epochs=epochs, hidden=hidden, seed=seed)
        net = models.build(name, ds.input_shape, ds.classes, seed, hidden)
        fit(net, ds, config, progress=progress)
    fp32_acc = evaluate(net, ds.x_test, ds.y_test)
    result, _ = measure(
        net, m, ds, fp32_acc, progress=progress, seed=seed,
        epochs=finetune_epochs, first_last_fp32=first_last_fp32,
    )
    return result


def method_rows() -> list[dict]:
    """The registry as rows: name, category, bits (the deck's notation), rule, gradient."""
    from hwnn.quant import methods

    return [
        {"method": m.name, "category": m.category, "weight_bits": m.weight_label,
         "activation_bits": m.activation_bits, "rule": m.rule, "gradient": m.gradient,
         "paper": m.paper}
        for m in methods()
    ]


def summary_json(result: PrecisionResult) -> dict:
    """The fields ``hwnn quantize --json`` prints (the whole result, layers included)."""
    from hwnn.results import to_jsonable

    return to_jsonable(result)


def register(app: typer.Typer) -> None:
    @app.command("quantize")
    @guarded
    def quantize_command(
        method: str = typer.Option(None, "--method", help="A method name (see --list)."),
        list_methods: bool = typer.Option(
            False, "--list", help="List the methods with their bits and rules, then exit."
        ),
        model: str = typer.Option(None, "--model", help="mlp or lenet5 (default mlp)."),
        data: str = typer.Option("digits", "--data", help="digits, mnist or synthetic."),
        data_dir: Path = typer.Option(None, "--data-dir", help="Folder with MNIST IDX files."),
        seed: int = typer.Option(0, "--seed", help="Fixes splits, initialisation, shuffles."),
        checkpoint: Path = typer.Option(
            None, "--checkpoint", help="Quantize this fp32 checkpoint instead of training."
        ),
        epochs: int = typer.Option(30, "--epochs", help="fp32 training epochs."),
        hidden: str = typer.Option("128", "--hidden", help="MLP hidden sizes, e.g. 64,32."),
        finetune_epochs: int = typer.Option(
            None, "--finetune-epochs", help="Override the method's fine-tuning epochs."
        ),
        first_last_fp32: bool = typer.Option(
            None, "--first-last-fp32/--no-first-last-fp32",
            help="Keep first and last layers fp32 (default: the deck's asterisk).",
        ),
        json: bool = typer.Option(False, "--json", help="Print the machine-readable result."),
    ) -> None:
        """Apply one reduced-precision method and compare it with fp32."""
        if list_methods:
            rows = method_rows()
            if json:
                emit_json(rows)
            else:
                out.print(table("Reduced-precision methods", rows))
            return
        if method is None:
            raise ConfigError("--method is required: pass a method name, or --list to see them")
        sizes = parse_ints(hidden, "--hidden")
        with progress(enabled=not json) as bar:
            task = bar.add_task(f"{method}: training", total=None)
            result = run_quantize(
                method, model, data, data_dir, seed, checkpoint, epochs, sizes,
                finetune_epochs, first_last_fp32,
                progress=lambda e, n, _loss: bar.update(task, completed=e, total=n),
            )
        if json:
            emit_json(summary_json(result))
            return
        _print(result)


def _print(r: PrecisionResult) -> None:
    out.print(
        table(
            f"{r.title}: {r.precision}-bit weights, {r.activation_bits}-bit activations",
            [
                {
                    "fp32 accuracy": r.fp32_accuracy,
                    "accuracy": r.accuracy,
                    "loss (points)": r.accuracy_loss_pct,
                    "model bytes": r.model_bytes,
                    "fp32 bytes": r.fp32_model_bytes,
                    "compression": r.compression_ratio,
                }
            ],
        )
    )
    rows = [
        {
            "layer": x.name,
            "weights": x.weight_format,
            "activations": x.act_format,
            "distinct weights": x.distinct_weights,
            "bytes": x.bytes,
        }
        for x in r.layers
    ]
    out.print(table("Per layer", rows))
