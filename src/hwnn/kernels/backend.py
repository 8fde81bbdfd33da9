"""Choosing between the native C++ core and its pure-NumPy twin.

``HWNN_KERNELS=native`` demands the compiled ``hwnn._core`` and fails loudly when it is
missing; ``HWNN_KERNELS=reference`` forces the NumPy twin; unset (or ``auto``) uses the
native core when it is built. This mirrors coverage.py's CTracer/PyTracer choice.
"""

from __future__ import annotations

import os
from types import ModuleType

from hwnn.errors import ConfigError, NativeUnavailableError

BUILD_HINT = (
    "build it with `make test` (or `.venv/bin/pip install -e .` from the repository root); "
    "it needs a C++17 compiler and CMake, or set HWNN_KERNELS=reference to use the NumPy twin"
)

_CHOICES = ("auto", "native", "reference")


_UNSET = object()
_core_module: object = _UNSET


def native_module() -> ModuleType | None:
    """The compiled extension, or None when it is not built (looked up once)."""
    global _core_module
    if _core_module is _UNSET:
        try:
            from hwnn import _core
        except ImportError:
            _core_module = None
        else:
            _core_module = _core
    return _core_module  # type: ignore[return-value]


# os.environ.get encodes the key and decodes the value on every call: ~1 us here, and ~8 us
# right after a large sgemm has evicted the interpreter's caches, which is a sixth of a cold
# batch-1 binary layer. CPython keeps the encoded environment in os.environ._data (updated
# by every os.environ write, so monkeypatched variables are seen): one dict lookup.
_ENV_DATA = getattr(os.environ, "_data", None)
if not isinstance(_ENV_DATA, dict) or not hasattr(os.environ, "encodekey"):
    _ENV_DATA = None  # another Python: the public (slower) lookup below
_ENV_KEY = os.environ.encodekey("HWNN_KERNELS") if _ENV_DATA is not None else None


def requested() -> str:
    if _ENV_DATA is not None:
        raw = _ENV_DATA.get(_ENV_KEY)
        if raw is None:  # the common case, kept cheap: it runs on every kernel call
            return "auto"
        raw = os.environ.decodevalue(raw)
    else:
        raw = os.environ.get("HWNN_KERNELS")
        if raw is None:
            return "auto"
    choice = raw.strip().lower() or "auto"
    if choice not in _CHOICES:
        raise ConfigError(
            f"HWNN_KERNELS={choice!r} is not a kernel choice: use one of {', '.join(_CHOICES)}"
        )
    return choice


def use_native() -> bool:
    """True when kernels should run natively; raises if native is demanded but absent."""
    choice = requested()
    if choice == "reference":
        return False
    core = native_module()
    if choice == "auto":
        return core is not None
    if core is None and choice == "native":
        raise NativeUnavailableError(
            f"HWNN_KERNELS=native but hwnn._core is not built: {BUILD_HINT}"
        )
    return core is not None


def describe() -> dict:
    """What ``hwnn info`` reports about the native core."""
    core = native_module()
    if core is None:
        return {"native": False, "kernels": "reference", "cpu_features": {}, "paths": {}}
    return {
        "native": True,
        "kernels": "native" if use_native() else "reference",
        "cpu_features": dict(core.cpu_features()),
        "paths": dict(core.kernel_paths()),
        "openmp": bool(core.openmp),
    }
