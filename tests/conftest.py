"""Shared fixtures: the real MNIST test files beside the repository, when present."""

from pathlib import Path

import pytest

# CI clones the repository with shared/ beside it, as on a developer's machine.
MNIST_T10K = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist-t10k"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not any(MNIST_T10K.glob("t10k-images*")):
        pytest.skip(f"the real MNIST test files are not at {MNIST_T10K}")
    return MNIST_T10K
