"""The study's precision table: the deck's "Summary of Reduced Precision", measured.

``precision_section`` applies every method of the registry to the study's fp32 model and
returns two ``Section``s:

- ``precision``: one ``PrecisionRow`` per method with the deck's columns (category, method,
  weight bits, activation bits, accuracy loss vs fp32 in percentage points), the deck's own
  ImageNet loss beside it, plus model size and compression ratio, and two inline SVG charts
  (accuracy against weight bits; accuracy against model size);
- ``precision_layers``: per method and layer, the weight and activation formats, the number
  of distinct weight values and the bytes.

Fine-tuning uses each method's recipe (``registry.py``) with the study's batch size and seed;
on the digits MLP the whole table takes seconds. ``models_out`` (a dict) receives the
quantized models by method name so later study steps can lower or deploy them.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from hwnn.config import TrainConfig
from hwnn.data import Dataset
from hwnn.quant.registry import methods as all_methods
from hwnn.quant.summary import PrecisionResult, measure
from hwnn.results import Section

# progress(description, completed, total), as hwnn.study reports it
StudyProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PrecisionRow:
    category: str
    method: str
    title: str
    weight_bits: str  # the deck's notation: "2*" = first and last layers stay fp32
    activation_bits: int
    fp32_accuracy: float
    accuracy: float
    accuracy_loss_pct: float  # percentage points lost against fp32 (negative: gained)
    deck_accuracy_loss_pct: float | None  # the seed table's ImageNet figure
    model_bytes: int
    fp32_model_bytes: int
    compression_ratio: float
    quantize_time_s: float


@dataclass(frozen=True)
class LayerRow:
    method: str
    layer: str
    kind: str
    weight_format: str
    act_format: str
    distinct_weights: int
    weights: int
    bytes: int


def row(r: PrecisionResult) -> PrecisionRow:
    return PrecisionRow(
        category=r.category,
        method=r.method,
        title=r.title,
        weight_bits=r.precision,
        activation_bits=r.activation_bits,
        fp32_accuracy=r.fp32_accuracy,
        accuracy=r.accuracy,
        accuracy_loss_pct=r.accuracy_loss_pct,
        deck_accuracy_loss_pct=r.deck_accuracy_loss_pct,
        model_bytes=r.model_bytes,
        fp32_model_bytes=r.fp32_model_bytes,
        compression_ratio=r.compression_ratio,
        quantize_time_s=r.quantize_time_s,
    )


def run_methods(
    data: Dataset,
    fp32_model: nn.Module,
    fp32_accuracy: float,
    train_config: TrainConfig | None = None,
    names: list[str] | None = None,
    progress: StudyProgress | None = None,
    max_epochs: int | None = None,
    **options,
) -> tuple[list[PrecisionResult], dict[str, nn.Module]]:
    """Every method (or ``names``) applied to ``fp32_model``; results and models."""
    config = train_config or TrainConfig()
    chosen = [m for m in all_methods() if names is None or m.name in names]
    results, models = [], {}
    for i, m in enumerate(chosen):
        if progress is not None:
            progress("precision table", i, len(chosen))
        options.setdefault("batch_size", config.batch_size)
        options.setdefault("seed", config.seed)
        if max_epochs is not None:
            options["epochs"] = min(m.finetune_epochs, max_epochs)
        result, model = measure(fp32_model, m, data, fp32_accuracy, **options)
        results.append(result)
        models[m.name] = model
    if progress is not None:
        progress("precision table", len(chosen), len(chosen))
    return results, models


def precision_section(
    data: Dataset,
    model_name: str,
    train_config: TrainConfig | None,
    fp32_model: nn.Module,
    fp32_accuracy: float,
    progress: StudyProgress | None = None,
    models_out: dict[str, nn.Module] | None = None,
    names: list[str] | None = None,
    epochs: int | None = None,
) -> list[Section]:
    """The ``precision`` and ``precision_layers`` sections for the study report.

    ``names`` picks methods (default: all); ``epochs`` caps every method's fine-tuning
    epochs (default: each paper's recipe), e.g. to keep LeNet-5 on MNIST short.
    """
    start = time.perf_counter()
    results, models = run_methods(
        data, fp32_model, fp32_accuracy, train_config, names, progress, max_epochs=epochs
    )
    if models_out is not None:
        models_out.update(models)
    elapsed = time.perf_counter() - start
    rows = [row(r) for r in results]
    layers = [
        LayerRow(r.method, x.name, x.kind, x.weight_format, x.act_format, x.distinct_weights,
                 x.weights, x.bytes)
        for r in results
        for x in r.layers
    ]
    description = (
        f"Every method of the deck's reduced-precision table (Sze et al. 2017) applied to the "
        f"fp32 {model_name} on {data.name} ({fp32_accuracy:.2%} test accuracy), with each "
        f"paper's fine-tuning recipe; {elapsed:.1f} s in all. Accuracy loss is in percentage "
        "points against fp32 on the test split; the deck's column is its ImageNet figure. "
        "An asterisk: first and last layers stay fp32 (on a two-layer model every layer is "
        "first or last, so none is kept)."
    )
    return [
        Section(
            "precision",
            "Reduced precision",
            rows,
            description,
            [accuracy_chart(results, fp32_accuracy), size_chart(results, fp32_accuracy)],
        ),
        Section(
            "precision_layers",
            "Reduced precision, per layer",
            layers,
            "Formats of each layer's weights and input activations, and how many distinct "
            "weight values the layer really holds.",
        ),
    ]


# (marker, colour) per category of the deck's table
_STYLE = {
    "Dynamic Fixed Point": ("s", "tab:blue"),
    "Reduce Weight": ("o", "tab:green"),
    "Reduce Weight and Activation": ("D", "tab:red"),
    "Non-Linear": ("^", "tab:purple"),
    "Baseline": ("P", "tab:grey"),
}


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.find("<svg") :]


def _scatter(
    results: list[PrecisionResult], fp32_accuracy: float, x_of, xlabel: str, title: str,
    ticks: list[int] | None = None,
):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    seen = set()
    for r in results:
        label = r.category if r.category not in seen else None
        seen.add(r.category)
        x = x_of(r)
        marker, colour = _STYLE.get(r.category, ("o", "black"))
        ax.scatter(x, 100 * r.accuracy, marker=marker, color=colour, label=label)
        ax.annotate(r.method, (x, 100 * r.accuracy), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    ax.axhline(100 * fp32_accuracy, color="grey", linestyle="--", linewidth=1, label="fp32")
    ax.set_xscale("log", base=2)
    if ticks:
        ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    return _svg(fig)


def accuracy_chart(results: list[PrecisionResult], fp32_accuracy: float) -> str:
    """Accuracy against the widest quantized weight format's bits (log2 axis)."""
    return _scatter(results, fp32_accuracy, lambda r: r.weight_bits, "weight bits",
                    "Accuracy against weight bits", ticks=[1, 2, 4, 8, 16, 32])


def size_chart(results: list[PrecisionResult], fp32_accuracy: float) -> str:
    """Accuracy against stored model size in bytes (log2 axis)."""
    return _scatter(results, fp32_accuracy, lambda r: r.model_bytes, "model size (bytes)",
                    "Accuracy against model size")
