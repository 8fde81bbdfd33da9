"""Result dataclasses: what every report, store and ``--json`` output reads.

Units live in field names (``train_time_s``, ``predictions_per_s``). ``to_jsonable``
turns any nesting of these into plain JSON values.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "hwnn.results/1"


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    train_samples: int
    test_samples: int
    input_shape: list[int]
    classes: int
    split: str


@dataclass(frozen=True)
class ModelInfo:
    name: str
    parameters: int
    layers: list[str]
    fp32_bytes: int


@dataclass(frozen=True)
class TrainResult:
    """One training run: the deck's "training time" metric and the learning curve."""

    accuracy: float
    train_accuracy: float
    train_time_s: float
    epochs: int
    loss_per_epoch: list[float]
    accuracy_per_epoch: list[float]
    optimizer: str
    seed: int
    device: str = "cpu"  # where it trained: "cpu" or "cuda (GPU name)"


@dataclass(frozen=True)
class ThroughputPoint:
    """Predictions per second at one batch size (median of repeated timed runs)."""

    batch: int
    predictions_per_s: float
    latency_per_batch_s: float
    latency_per_sample_s: float
    threads: int
    engine: str = "torch-fp32"


@dataclass
class Section:
    """One part of the study: ``data`` is a result dataclass or a list of them.

    ``key`` is its name in results.json; the HTML report renders ``data`` as a table and
    embeds ``charts`` (self-contained SVG strings).
    """

    key: str
    title: str
    data: Any
    description: str = ""
    charts: list[str] = field(default_factory=list)


@dataclass
class StudyResult:
    hwnn_version: str
    created: str
    config: dict
    sections: list[Section]

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def to_json(self) -> dict:
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "hwnn_version": self.hwnn_version,
            "created": self.created,
            "config": to_jsonable(self.config),
        }
        for s in self.sections:
            out[s.key] = to_jsonable(s.data)
        return out


def to_jsonable(value: Any) -> Any:
    """Dataclasses, paths, tuples and NumPy scalars to plain JSON; NaN/inf become None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # NumPy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
