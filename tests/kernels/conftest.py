"""Shared fixtures for the kernel tests: the awkward-size grid and path lists."""

import pytest

from hwnn.kernels import backend

# Sizes around register-tile and word boundaries (issue 4).
SIZES = [1, 2, 3, 7, 8, 33]
AWKWARD_K = [1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000]

core = backend.native_module()
native = pytest.mark.skipif(core is None, reason="hwnn._core is not built")


def paths(family: str) -> list[str]:
    """Every explicit path this CPU can run for a kernel family (all exist in the build)."""
    if core is None:
        return []
    return list(core.supported_paths()[family])


@pytest.fixture(autouse=True)
def _native_kernels(monkeypatch):
    monkeypatch.setenv("HWNN_KERNELS", "auto")
