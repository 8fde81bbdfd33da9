"""Charts as inline SVG strings, so the HTML report is one self-contained file."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from hwnn.results import ThroughputPoint, TrainResult  # noqa: E402


def to_svg(fig: Figure) -> str:
    """Renders and closes ``fig``; returns the ``<svg>`` element without the XML prolog."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.find("<svg") :]


def learning_curve(result: TrainResult) -> str:
    fig, ax1 = plt.subplots(figsize=(6, 3.2))
    epochs = range(1, len(result.loss_per_epoch) + 1)
    ax1.plot(epochs, result.loss_per_epoch, color="tab:blue", label="training loss")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training loss", color="tab:blue")
    ax2 = ax1.twinx()
    ax2.plot(epochs, [100 * a for a in result.accuracy_per_epoch], color="tab:orange")
    ax2.set_ylabel("test accuracy (%)", color="tab:orange")
    ax1.set_title("fp32 training")
    return to_svg(fig)


def throughput_chart(points: list[ThroughputPoint]) -> str:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    labels = [str(p.batch) for p in points]
    ax.bar(labels, [p.predictions_per_s for p in points], color="tab:green")
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("predictions per second")
    ax.set_title(f"fp32 torch on the CPU, {points[0].threads} thread(s)" if points else "")
    return to_svg(fig)
