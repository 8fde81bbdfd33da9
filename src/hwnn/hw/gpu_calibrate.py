"""Measuring a GPU through PyTorch: its roofs, and the deck's batching table for real.

``hwnn.hw.gpu`` reproduces the deck's GPU table (Vanhoucke, Senior & Mao 2011) by fitting
its published times; this module times the same speech network on the GPU in hand and
sets beside it the roofline of that GPU's measured roofs, so the batching model is checked
against a measurement rather than against the numbers it was fitted to.

- Peak: median over repeats of ``2 n^3 / t`` for an ``n x n`` product, per precision:
  fp32 with TF32 off (CUDA cores) and bf16 (tensor cores).
- Bandwidth: STREAM copy (McCalpin 1995), ``2 x bytes / t`` for a buffer far larger
  than the L2 cache.
- Layer overhead: what one more layer that does almost no work adds to a network (a
  64-wide Linear + sigmoid: its launches, run by PyTorch in eager mode), the slope between
  chains of 1 and 9 such layers, each chain timed with one synchronisation. The whole
  1-layer call, launch and synchronisation (``sync_s``), is reported, not modelled: the
  synchronisation is paid once per call.
- Batching: ``T(B) = ceil(n / B) x t(B)`` to process ``n`` frames (100 = 1 s of speech),
  ``t(B)`` the median time of one forward pass of ``B`` frames through the speech network
  (fully connected layers with sigmoids, as Vanhoucke et al.), synchronised after each
  pass: what a server that waits for each batch sees.

Every timing synchronises the device after the call, so launches are included. The
functions run on ``device="cpu"`` too (CI has no GPU); only the roofs' names say "GPU".
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from hwnn.errors import ConfigError
from hwnn.hw import gpu
from hwnn.hw.roofline import RooflineDevice

BANK_BYTES = 256 * 1024  # a Hopper SM's combined L1 / shared memory, as the h100 preset


DTYPES = ("fp32", "bf16")


def cuda_device() -> str:
    """``"cuda"`` when PyTorch sees a GPU, else a ConfigError that says what is missing."""
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(
            "no CUDA GPU is visible to PyTorch (torch.cuda.is_available() is False): run on "
            "a machine with an NVIDIA GPU and a CUDA build of torch, or pass device='cpu'"
        )
    return "cuda"


def check_device(device: str) -> str:
    """``device`` when torch can use it here ("cpu", "cuda" or "cuda:N"), else a ConfigError."""
    import torch

    kind, _, index = device.partition(":")
    if device == "cpu":
        return device
    if kind != "cuda" or (index and not index.isdigit()):
        raise ConfigError(f"device {device!r} is not known: use cpu, cuda or cuda:N")
    cuda_device()
    if index and int(index) >= torch.cuda.device_count():
        raise ConfigError(
            f"device {device!r}: torch sees {torch.cuda.device_count()} GPU(s), numbered from 0"
        )
    return device


def _check_repeats(repeats: int) -> None:
    if repeats < 1:
        raise ConfigError(f"repeats must be at least 1, got {repeats}")


def _check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise ConfigError(f"dtype {dtype!r} is not measured: choose one of {', '.join(DTYPES)}")


def _syncing(device: str) -> Callable[[], None]:
    import torch

    return torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)


def time_s(fn: Callable[[], object], device: str, repeats: int) -> float:
    """Median seconds of ``fn()`` followed by a device synchronisation, after one warm-up
    (cuBLAS chooses its kernels and the caching allocator fills on the first call)."""
    from hwnn.throughput import time_call

    _check_repeats(repeats)
    sync = _syncing(device)

    def call() -> None:
        fn()
        sync()

    return time_call(call, min_time_s=0.0, min_repeats=repeats)


@contextmanager
def _no_tf32():
    """fp32 products on the CUDA cores ("highest" precision: TF32 would run them on the
    tensor cores); the caller's precision setting comes back afterwards."""
    import torch

    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def peak_flops(device: str, dtype: str, n: int, repeats: int) -> float:
    """Median ``2 n^3 / t`` of an ``n x n`` product in ``dtype`` ("fp32" or "bf16")."""
    import torch

    _check_repeats(repeats)
    _check_dtype(dtype)
    dt = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    g = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, dtype=dt, generator=g)
    b = torch.randn(n, n, device=device, dtype=dt, generator=g)
    with _no_tf32():
        return 2.0 * n**3 / time_s(lambda: a @ b, device, repeats)


def copy_bandwidth(device: str, nbytes: int, repeats: int) -> float:
    """Median STREAM-copy rate in bytes/s (``nbytes`` read plus ``nbytes`` written)."""
    import torch

    src = torch.ones(nbytes // 4, device=device, dtype=torch.float32)
    dst = torch.empty_like(src)
    return 2.0 * src.numel() * 4 / time_s(lambda: dst.copy_(src), device, repeats)


def layer_overhead_s(device: str, repeats: int) -> tuple[float, float]:
    """(seconds one more tiny layer adds, seconds of a whole 1-layer call: its launch and
    the synchronisation after it). Timing noise can make the slope 0, never negative."""
    import torch

    x = torch.ones(1, 64, device=device)
    with torch.inference_mode():
        one, nine = (speech_net(device, "fp32", (64,) * (n + 1)) for n in (1, 9))
        t1 = time_s(lambda: one(x), device, repeats)
        t9 = time_s(lambda: nine(x), device, repeats)
    return max(t9 - t1, 0.0) / 8, t1


@dataclass(frozen=True)
class MeasuredGPU:
    """One device's roofs as measured; ``roofline()`` makes a model device of them."""

    name: str
    device: str
    peak_fp32_flops: float
    peak_bf16_flops: float
    bandwidth_bytes_per_s: float
    layer_overhead_s: float
    sync_s: float
    l2_bytes: int
    clock_hz: float

    def roofline(self) -> RooflineDevice:
        return RooflineDevice(
            name="local-gpu",
            kind="gpu" if self.device.startswith("cuda") else "cpu",
            peak_ops_per_s={"fp32": self.peak_fp32_flops, "fp16": self.peak_bf16_flops},
            dram_bandwidth_bytes_per_s=self.bandwidth_bytes_per_s,
            onchip_bytes=self.l2_bytes,
            onchip_bank_bytes=BANK_BYTES,
            clock_hz=self.clock_hz,
            layer_overhead_s=self.layer_overhead_s,
            source=f"measured on {self.name} through PyTorch (hwnn.hw.gpu_calibrate)",
        )


def measure(
    device: str = "cuda", gemm_n: int = 8192, copy_bytes: int = 2 << 30, repeats: int = 10
) -> MeasuredGPU:
    """The roofs of ``device``; defaults fit an H100-class GPU (a ~0.1 s product, a copy
    40x its L2)."""
    if gemm_n < 16 or copy_bytes < 1 << 16 or repeats < 1:
        raise ConfigError("measure needs gemm_n >= 16, copy_bytes >= 64 KiB and repeats >= 1")
    check_device(device)
    name, l2, clock = _identity(device)
    per_layer, sync = layer_overhead_s(device, max(repeats, 50))
    return MeasuredGPU(
        name=name,
        device=device,
        peak_fp32_flops=peak_flops(device, "fp32", gemm_n, repeats),
        peak_bf16_flops=peak_flops(device, "bf16", gemm_n, repeats),
        bandwidth_bytes_per_s=copy_bandwidth(device, copy_bytes, repeats),
        layer_overhead_s=per_layer,
        sync_s=sync,
        l2_bytes=l2,
        clock_hz=clock,
    )


def _identity(device: str) -> tuple[str, int, float]:
    """Name, L2 bytes and top SM clock (the H100's 1.98 GHz boost when NVML cannot say;
    the clock only labels cycles, it enters no time)."""
    import torch

    if not device.startswith("cuda"):
        from hwnn.system import cpu_model

        return cpu_model(), 1 << 20, 2.5e9
    props = torch.cuda.get_device_properties(device)
    clock = 1.98e9
    try:  # NVML may number GPUs otherwise than CUDA; the clock only labels cycles
        import pynvml

        pynvml.nvmlInit()
        try:
            handle = pynvml.nvmlDeviceGetHandleByIndex(torch.device(device).index or 0)
            clock = pynvml.nvmlDeviceGetMaxClockInfo(handle, pynvml.NVML_CLOCK_SM) * 1e6
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # noqa: BLE001 - NVML missing or refused: keep the datasheet clock
        pass
    return props.name, int(getattr(props, "L2_cache_size", 50 << 20)), clock


def calibration_path() -> Path:
    env = os.environ.get("HWNN_GPU_CALIBRATION")
    return Path(env) if env else Path.home() / ".cache" / "hwnn" / "gpu-calibration.json"


def save(m: MeasuredGPU, path: str | Path | None = None) -> Path:
    """Stores ``m`` (JSON) where ``load`` and the ``local-gpu`` preset find it."""
    p = Path(path) if path else calibration_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(asdict(m), indent=2) + "\n")
    return p


def load(path: str | Path | None = None) -> MeasuredGPU | None:
    """The saved measurement, or None when there is none; a corrupt file is an error."""
    p = Path(path) if path else calibration_path()
    if not p.is_file():
        return None
    try:
        m = MeasuredGPU(**json.loads(p.read_text()))
        _check_fields(m)
        return m
    except (ValueError, TypeError) as e:  # JSONDecodeError and UnicodeDecodeError too
        raise ConfigError(
            f"GPU calibration file {str(p)!r} is unreadable ({e}); delete it and run "
            "`hwnn info --calibrate` on the machine with the GPU again"
        ) from None


def _check_fields(m: MeasuredGPU) -> None:
    for f in fields(m):
        v = getattr(m, f.name)
        if f.type == "str" and not isinstance(v, str):
            raise TypeError(f"{f.name} must be text, got {v!r}")
        if f.type in ("float", "int"):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise TypeError(f"{f.name} must be a number, got {v!r}")
            if v < 0 or (v == 0 and f.name.startswith(("peak", "bandwidth", "clock"))):
                raise ValueError(f"{f.name} must be positive, got {v!r}")


def speech_net(device: str, dtype: str = "fp32", shape: Sequence[int] = gpu.SPEECH_SHAPE):
    """The deck's speech network as torch layers (sigmoid hidden units, Vanhoucke 2011)."""
    import torch
    from torch import nn

    if len(shape) < 2 or min(shape) < 1:
        raise ConfigError(f"a network shape needs 2 or more positive widths, got {tuple(shape)}")
    _check_dtype(dtype)
    with torch.random.fork_rng(devices=[]):  # seeded weights; the caller's stream untouched
        torch.manual_seed(0)
        layers: list[nn.Module] = []
        for i in range(len(shape) - 1):
            layers.append(nn.Linear(shape[i], shape[i + 1]))
            if i < len(shape) - 2:
                layers.append(nn.Sigmoid())
    dt = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    return nn.Sequential(*layers).to(device=device, dtype=dt).eval()


def speech_batching(
    device: str = "cuda",
    batches: Sequence[int] = (1, 2, 4, 8, 128),
    dtype: str = "fp32",
    frames: int = gpu.SPEECH_FRAMES_PER_S,
    repeats: int = 20,
    shape: Sequence[int] = gpu.SPEECH_SHAPE,
) -> dict[int, float]:
    """Seconds to process ``frames`` frames at each batch size: ``ceil(frames / B) x t(B)``."""
    import torch

    if not batches or min(batches) < 1 or frames < 1:
        raise ConfigError("speech_batching needs batch sizes >= 1 and frames >= 1")
    _check_repeats(repeats)
    _check_dtype(dtype)
    check_device(device)
    net = speech_net(device, dtype, shape)
    out = {}
    with torch.inference_mode(), _no_tf32():
        for b in batches:
            x = torch.randn(b, shape[0], device=device, dtype=next(net.parameters()).dtype)
            out[b] = math.ceil(frames / b) * time_s(lambda x=x: net(x), device, repeats)
    return out
