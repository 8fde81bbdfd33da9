"""What machine this is: CPU model and features, native core, threads, GPU visibility.

A foundation module: the hardware models may use ``cpu_model`` and ``threads``; only
``collect`` reaches up to the kernels and torch, and imports them when called.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

from hwnn import __version__


@dataclass(frozen=True)
class SystemInfo:
    hwnn_version: str
    python: str
    platform: str
    cpu_model: str
    cpu_count: int
    threads: int
    native: bool
    kernels: str
    cpu_features: dict = field(default_factory=dict)
    kernel_paths: dict = field(default_factory=dict)
    openmp: bool = False
    torch_version: str = ""
    cuda_available: bool = False
    cuda_devices: list[str] = field(default_factory=list)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def threads() -> int:
    """HWNN_THREADS if set, else 1: one thread keeps figures comparable on shared machines."""
    value = os.environ.get("HWNN_THREADS", "1")
    try:
        return max(1, int(value))
    except ValueError:
        return 1


def collect() -> SystemInfo:
    import torch

    from hwnn.kernels import backend

    native = backend.describe()
    cuda = torch.cuda.is_available()
    return SystemInfo(
        hwnn_version=__version__,
        python=platform.python_version(),
        platform=platform.platform(),
        cpu_model=cpu_model(),
        cpu_count=os.cpu_count() or 1,
        threads=threads(),
        native=native["native"],
        kernels=native["kernels"],
        cpu_features=native["cpu_features"],
        kernel_paths=native["paths"],
        openmp=native.get("openmp", False),
        torch_version=torch.__version__,
        cuda_available=cuda,
        cuda_devices=[torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        if cuda
        else [],
    )
