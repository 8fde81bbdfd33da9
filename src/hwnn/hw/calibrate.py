"""Measures this machine's CPU roofline: peak fp32 FLOP/s and memory bandwidth (NumPy).

- Peak: the median over repeats of ``2 n^3 / t`` for an ``n x n`` float32 matrix product
  (NumPy's BLAS, all its threads): the attainable compute roof, not a datasheet number.
- Bandwidth: the median of ``2 x bytes / t`` for copying a buffer much larger than the
  last-level cache (one read and one write stream, STREAM "copy"; McCalpin 1995).
- int8: NumPy has no fast int8 GEMM, so the int8 roof is taken as 2x fp32, the ratio the
  TPU paper measured on Haswell (2.6 TOPS int8 vs 1.3 TFLOPS fp32; Jouppi et al. 2017).
- Per-layer overhead: the median time of a tiny (1 x 64 by 64 x 64) product, the cost of
  dispatching one layer whatever its size.
- Power is not measured: ``busy_power_w`` is cores x 8 W, Haswell's busy power per core
  (145 W / 18 cores, Jouppi et al. 2017 Table 2), unless given.

``calibrate(save=True)`` stores the result (JSON) where ``hwnn.hw.devices`` finds it for
the ``local-cpu`` preset: ``$HWNN_CALIBRATION`` or ``~/.cache/hwnn/calibration.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from hwnn.errors import ConfigError
from hwnn.system import cpu_model

WATTS_PER_CORE = 145.0 / 18  # Haswell E5-2699 v3 busy power per core (Jouppi 2017, Table 2)
INT8_OVER_FP32 = 2.0  # Haswell measured ratio, Jouppi 2017 Table 2


def calibration_path() -> Path:
    env = os.environ.get("HWNN_CALIBRATION")
    return Path(env) if env else Path.home() / ".cache" / "hwnn" / "calibration.json"


def measure_peak_flops(n: int = 1024, repeats: int = 5) -> float:
    """Median fp32 GEMM rate in FLOP/s (2 n^3 per product)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm up the BLAS threads and caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2.0 * n**3 / statistics.median(times)


def measure_bandwidth(nbytes: int = 128 << 20, repeats: int = 5) -> float:
    """Median copy bandwidth in bytes/s (read + write of ``nbytes``)."""
    src = np.ones(nbytes // 8, dtype=np.float64)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # touch the pages once
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        times.append(time.perf_counter() - t0)
    return 2.0 * src.nbytes / statistics.median(times)


def measure_call_overhead_s(repeats: int = 200) -> float:
    """Median time of a 1 x 64 by 64 x 64 float32 product: the per-layer dispatch cost."""
    a = np.ones((1, 64), dtype=np.float32)
    b = np.ones((64, 64), dtype=np.float32)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _l2_cache_bytes() -> int:
    try:
        v = os.sysconf("SC_LEVEL2_CACHE_SIZE")
    except (ValueError, OSError):
        v = 0
    return int(v) if v and v > 0 else 256 * 1024


def _clock_hz() -> float:
    """The first core's current clock from /proc/cpuinfo (2.5 GHz when unknown)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":", 1)[1]) * 1e6
    except (OSError, ValueError):
        pass
    return 2.5e9


def _last_level_cache_bytes() -> int:
    for key in ("SC_LEVEL3_CACHE_SIZE", "SC_LEVEL2_CACHE_SIZE"):
        try:
            v = os.sysconf(key)
        except (ValueError, OSError):
            continue
        if v and v > 0:
            return int(v)
    return 8 << 20  # a typical desktop L3 when the OS does not say


def calibrate(
    save: bool | str | Path = False,
    gemm_n: int = 1024,
    copy_bytes: int = 128 << 20,
    repeats: int = 5,
    busy_power_w: float | None = None,
) -> dict:
    """Measures this machine; returns (and optionally saves) the numbers as a dict."""
    if gemm_n < 16 or copy_bytes < 1 << 16 or repeats < 1:
        raise ConfigError("calibrate needs gemm_n >= 16, copy_bytes >= 64 KiB and repeats >= 1")
    cores = os.cpu_count() or 1
    peak = measure_peak_flops(gemm_n, repeats)
    bw = measure_bandwidth(copy_bytes, repeats)
    result = {
        "cpu": cpu_model(),
        "cores": cores,
        "clock_hz": _clock_hz(),
        "peak_fp32_flops": peak,
        "peak_int8_ops": peak * INT8_OVER_FP32,
        "bandwidth_bytes_per_s": bw,
        "last_level_cache_bytes": _last_level_cache_bytes(),
        "l2_cache_bytes": _l2_cache_bytes(),
        "call_overhead_s": measure_call_overhead_s(),
        "busy_power_w": busy_power_w if busy_power_w else cores * WATTS_PER_CORE,
        "gemm_n": gemm_n,
        "copy_bytes": copy_bytes,
        "repeats": repeats,
        "method": "median of numpy float32 GEMM (2n^3/t) and numpy copy (2 bytes/t)",
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if save:
        path = calibration_path() if save is True else Path(save)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        result["saved_to"] = str(path)
    return result


REQUIRED = ("peak_fp32_flops", "bandwidth_bytes_per_s", "cores")


def load_calibration(path: str | Path | None = None) -> dict | None:
    """The saved calibration, or None when there is none; a corrupt file is an error."""
    p = Path(path) if path else calibration_path()
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(
            f"calibration file {str(p)!r} is not valid JSON ({e}); delete it and run "
            "`hwnn info --calibrate` again"
        ) from None
    missing = [k for k in REQUIRED if not isinstance(data, dict) or k not in data]
    if missing:
        raise ConfigError(
            f"calibration file {str(p)!r} lacks {missing}; run `hwnn info --calibrate` again"
        )
    return data
