"""Frozen settings for training and the study.

Constructors only store and check settings (scikit-learn's rule); every random choice
follows ``seed``. An impossible setting raises ``ConfigError`` naming the field and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hwnn.errors import ConfigError

DATASETS = ("digits", "mnist", "synthetic")
MODELS = ("mlp", "lenet5")
OPTIMIZERS = ("adam", "sgd")
DEVICES = ("cpu", "cuda", "auto")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not known: choose one of {', '.join(choices)}")


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ConfigError(f"{name} must be positive, got {value}")


@dataclass(frozen=True)
class DataConfig:
    """Which data set, where its files are, and how it is split."""

    name: str = "digits"
    data_dir: Path | None = None
    seed: int = 0
    # synthetic only: number of samples, sample shape (C, H, W) and classes
    samples: int = 2000
    shape: tuple[int, ...] = (1, 8, 8)
    classes: int = 10

    def __post_init__(self) -> None:
        _check_choice("dataset", self.name, DATASETS)
        if self.name == "mnist" and self.data_dir is None:
            raise ConfigError(
                "the mnist dataset needs --data-dir: a folder with the IDX files "
                "(t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz], "
                "and optionally the train-* pair)"
            )
        _check_positive("samples", self.samples)
        _check_positive("classes", self.classes)
        if not self.shape or any(s <= 0 for s in self.shape):
            raise ConfigError(f"shape must be positive sizes such as (1, 8, 8), got {self.shape}")


@dataclass(frozen=True)
class TrainConfig:
    """How to train: model, optimizer, schedule. ``hidden`` sizes the MLP's hidden layers."""

    model: str = "mlp"
    optimizer: str = "adam"
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    hidden: tuple[int, ...] = (128,)
    seed: int = 0
    device: str = "cpu"  # "cpu", "cuda" or "auto" (cuda when torch sees a GPU)

    def __post_init__(self) -> None:
        _check_choice("model", self.model, MODELS)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("device", self.device, DEVICES)
        _check_positive("epochs", self.epochs)
        _check_positive("batch_size", self.batch_size)
        _check_positive("lr", self.lr)
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if any(h <= 0 for h in self.hidden):
            raise ConfigError(f"hidden layer sizes must be positive, got {self.hidden}")


@dataclass(frozen=True)
class StudyConfig:
    """Everything ``hwnn study`` needs; ``out`` receives report.html and results.json."""

    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    out: Path = Path("hwnn-report")
    batches: tuple[int, ...] = (1, 256)
    seed: int = 0
    # names of optional study steps to leave out (see hwnn.study.STEPS)
    skip: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.batches or any(b <= 0 for b in self.batches):
            raise ConfigError(f"throughput batch sizes must be positive, got {self.batches}")
