"""Kernel thread count: ``HWNN_THREADS`` at import (default 1), or ``set_threads(n)``."""

from __future__ import annotations

from hwnn.kernels import backend


def set_threads(n: int) -> None:
    """Use n OpenMP threads in the native kernels (n >= 1)."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"thread count must be a positive integer, got {n!r}")
    core = backend.native_module()
    if core is not None:
        core.set_kernel_threads(n)


def get_threads() -> int:
    core = backend.native_module()
    return 1 if core is None else int(core.kernel_threads())
