"""Data sets: embedded digits (default), MNIST from IDX files, and synthetic data.

Every sample is float32 in [0, 1] shaped (C, H, W); labels are int64. Splits and any
random choice follow ``seed``.

- ``digits``: scikit-learn's embedded 8x8 handwritten digits (1,797 images, no download),
  pixel values 0..16 scaled by 1/16; a stratified 80/20 train/test split.
- ``mnist``: IDX files from any folder. With the four standard files it uses the standard
  60,000/10,000 split. With only the test pair (``t10k-*``, as in shared/data/mnist-t10k) it
  makes a stratified 8,000/2,000 split of those 10,000 images, so that every class keeps its
  share in both parts.
- ``synthetic``: class-dependent Gaussian blobs of any shape, for speed work; learnable, so
  accuracy numbers on it still mean something.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from hwnn.config import DataConfig
from hwnn.errors import DataError
from hwnn.idx import read_idx
from hwnn.results import DatasetInfo

T10K_TRAIN = 8000  # the documented split of the 10k test set when only it is present


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int
    split: str

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def info(self) -> DatasetInfo:
        return DatasetInfo(
            name=self.name,
            train_samples=len(self.y_train),
            test_samples=len(self.y_test),
            input_shape=list(self.input_shape),
            classes=self.classes,
            split=self.split,
        )


def load(config: DataConfig | str = "digits", **kwargs) -> Dataset:
    """Loads a data set by config or by name (``load("mnist", data_dir=...)``)."""
    if isinstance(config, str):
        config = DataConfig(name=config, **kwargs)
    if config.name == "digits":
        return digits(config.seed)
    if config.name == "mnist":
        return mnist(config.data_dir, config.seed)
    return synthetic(config.samples, config.shape, config.classes, config.seed)


def _split(x: np.ndarray, y: np.ndarray, train_size: int | float, seed: int):
    return train_test_split(x, y, train_size=train_size, stratify=y, random_state=seed)


def digits(seed: int = 0) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = _split(x, y, 0.8, seed)
    return Dataset("digits", x_tr, y_tr, x_te, y_te, 10, f"stratified 80/20, seed {seed}")


def _find(folder: Path, stem: str) -> Path | None:
    for name in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        if (folder / name).is_file():
            return folder / name
    return None


def _read_pair(folder: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    images_path = _find(folder, f"{prefix}-images-idx3-ubyte")
    labels_path = _find(folder, f"{prefix}-labels-idx1-ubyte")
    if images_path is None or labels_path is None:
        raise DataError(
            f"{folder}: missing {prefix}-images-idx3-ubyte[.gz] or {prefix}-labels-idx1-ubyte[.gz]"
        )
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise DataError(f"{images_path}: images need 3 dimensions (N, H, W), found {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: labels need 1 dimension, found {labels.shape}")
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} "
            "labels: the two files do not belong together"
        )
    if labels.max() > 9 or labels.min() < 0:
        raise DataError(
            f"{labels_path}: labels must be digits 0..9, found {labels.min()}..{labels.max()}"
        )
    x = (images.astype(np.float32) / 255.0)[:, None, :, :]
    return x, labels.astype(np.int64)


def mnist(data_dir: str | Path | None, seed: int = 0) -> Dataset:
    if data_dir is None:
        raise DataError("mnist needs a data directory holding its IDX files (--data-dir)")
    folder = Path(data_dir)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a directory; pass the folder holding the MNIST IDX files")
    x_te, y_te = _read_pair(folder, "t10k")
    if _find(folder, "train-images-idx3-ubyte") is not None:
        x_tr, y_tr = _read_pair(folder, "train")
        return Dataset("mnist", x_tr, y_tr, x_te, y_te, 10, "standard 60k/10k")
    if len(y_te) < 20:
        raise DataError(f"{folder}: only {len(y_te)} test images, too few to split")
    train = T10K_TRAIN if len(y_te) == 10000 else 0.8
    x_tr, x_te, y_tr, y_te = _split(x_te, y_te, train, seed)
    return Dataset(
        "mnist",
        x_tr,
        y_tr,
        x_te,
        y_te,
        10,
        f"t10k only: stratified {len(y_tr)}/{len(y_te)}, seed {seed}",
    )


def synthetic(
    samples: int = 2000, shape: tuple[int, ...] = (1, 8, 8), classes: int = 10, seed: int = 0
) -> Dataset:
    """Gaussian blobs: class c has a random mean image; noise keeps it from being trivial."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(0.0, 1.0, size=(classes, *shape)).astype(np.float32)
    y = rng.integers(0, classes, size=samples).astype(np.int64)
    x = means[y] + rng.normal(0.0, 0.25, size=(samples, *shape)).astype(np.float32)
    x = np.clip(x, 0.0, 1.0).astype(np.float32)
    n_train = max(1, int(round(samples * 0.8)))
    return Dataset(
        "synthetic",
        x[:n_train],
        y[:n_train],
        x[n_train:],
        y[n_train:],
        classes,
        f"random 80/20, seed {seed}",
    )
