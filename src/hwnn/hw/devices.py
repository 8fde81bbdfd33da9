"""The preset registry: every modelled device by name, behind one interface.

``presets()`` builds them all (``local-cpu`` and ``local-gpu`` only when this machine's CPU
or GPU has been calibrated, ``tpu-v1-systolic`` only when the systolic simulator is there);
``get(name)`` builds one and fails with the list of names when it does not know it
(``local-cpu`` and ``local-gpu`` are measured on first use and saved; ``local-gpu`` needs a
CUDA GPU visible to torch).
"""

from __future__ import annotations

from collections.abc import Callable

from hwnn.errors import ConfigError
from hwnn.hw import asic, calibrate, cpu, fpga, gpu, gpu_calibrate, tpu, vpu
from hwnn.hw.device import Device

_FACTORIES: dict[str, Callable[[], Device]] = {
    "haswell": cpu.haswell,
    "deck-cpu-2011": cpu.deck_cpu_2011,
    "k80": gpu.k80,
    "h100": gpu.h100,
    "h200": gpu.h200,
    "deck-gpu-2011": gpu.deck_gpu_2011,
    "tpu-v1": tpu.tpu_v1,
    "zc706": fpga.zc706,
    "myriad2": vpu.myriad2,
    "myriadx": vpu.myriadx,
    "asic-fp32": lambda: asic.asic("fp32"),
    "asic-int8": lambda: asic.asic("int8"),
    "asic-binary": lambda: asic.asic("binary"),
    "tpu-v1-systolic": lambda: tpu.tpu_v1("systolic"),
}


def names() -> list[str]:
    return sorted([*_FACTORIES, "local-cpu", "local-gpu"])


def local_cpu(measure_if_missing: bool = True) -> Device | None:
    cal = calibrate.load_calibration()
    if cal is None:
        if not measure_if_missing:
            return None
        cal = calibrate.calibrate(save=True)
    return cpu.from_calibration(cal)


def local_gpu(measure_if_missing: bool = True) -> Device | None:
    m = gpu_calibrate.load()
    if m is None:
        if not measure_if_missing:
            return None
        m = gpu_calibrate.measure(gpu_calibrate.cuda_device())
        gpu_calibrate.save(m)
    return m.roofline()


def presets() -> dict[str, Device]:
    """Every preset that can be built without measuring anything."""
    out = {name: make() for name, make in _FACTORIES.items()}
    local = local_cpu(measure_if_missing=False)
    if local is not None:
        out["local-cpu"] = local
    measured_gpu = local_gpu(measure_if_missing=False)
    if measured_gpu is not None:
        out["local-gpu"] = measured_gpu
    return dict(sorted(out.items()))


def get(name: str) -> Device:
    key = name.strip().lower()
    if key in _FACTORIES:
        return _FACTORIES[key]()
    if key in ("local-cpu", "local-gpu"):
        dev = local_cpu() if key == "local-cpu" else local_gpu()
        assert dev is not None
        return dev
    raise ConfigError(f"unknown device {name!r}; choose one of: {', '.join(names())}")
