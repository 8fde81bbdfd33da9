"""Fusing runs of integer fully connected steps into one native call (``PlanRunner``).

A binarized MLP at batch 1 does a few microseconds of arithmetic; as separate NumPy steps
each layer would add microseconds of Python dispatch. Runs that start from a flattened float
input and consist only of quantize, int8 / binary GEMM, threshold, dequantize, batch norm,
ReLU and hardtanh steps become one ``NativeSegment``, which gives bit-identical logits (each
native op repeats its NumPy step's arithmetic in the same order).
"""

from __future__ import annotations

import numpy as np

from hwnn.deploy import steps as S
from hwnn.kernels import backend

_FUSABLE = (
    S.QuantizeFixed, S.QuantizeInt8, S.IntLinear, S.SignLinear, S.Threshold, S.Dequantize,
    S.BatchNorm, S.ReLU, S.Hardtanh,
)  # fmt: skip
_GEMMS = (S.IntLinear, S.SignLinear)


class NativeSegment:
    """Flatten, then ``steps`` in C++; pickles as its steps (the runner is rebuilt)."""

    def __init__(self, steps: list) -> None:
        self.steps = steps
        self.runner = _build(steps)

    def run(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x.reshape(x.shape[0], -1), dtype=np.float32)
        return self.runner.run(x)

    def __getstate__(self) -> dict:
        return {"steps": self.steps}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["steps"])


def _build(steps: list):
    r = backend.native_module().PlanRunner()
    for s in steps:
        if isinstance(s, S.QuantizeFixed):
            r.quantize_fixed(s.bits, s.frac)
        elif isinstance(s, S.QuantizeInt8):
            r.quantize_int8(float(s.scale), bool(s.signed))
        elif isinstance(s, S.IntLinear):
            r.int_linear(s.weight)
        elif isinstance(s, S.SignLinear):
            r.sign_linear(s.weight, s.k)
        elif isinstance(s, S.Threshold):
            r.threshold(s.threshold, s.flip)
        elif isinstance(s, S.Dequantize):
            r.dequantize(_f32(s.scale), None if s.bias is None else _f32(s.bias))
        elif isinstance(s, S.BatchNorm):
            r.batch_norm(_f32(s.a), _f32(s.b))
        elif isinstance(s, S.ReLU):
            r.relu()
        elif isinstance(s, S.Hardtanh):
            r.hardtanh(s.low, s.high)
    return r


def _f32(v: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(v, dtype=np.float32)


def _kinds(steps: list) -> list[str]:
    """What each step receives: "float", "codes", "acc" or "signs" (the plan input is float)."""
    kinds, kind = [], "float"
    for s in steps:
        kinds.append(kind)
        if isinstance(s, (S.QuantizeFixed, S.QuantizeInt8)):
            kind = "codes"
        elif isinstance(s, (S.IntLinear, S.IntConv, S.SignLinear, S.SignConv)):
            kind = "acc"
        elif isinstance(s, (S.Threshold, S.SignPack)):
            kind = "signs"
        elif isinstance(s, (S.Dequantize, S.FloatLinear, S.FloatConv, S.XnorLinear, S.XnorConv)):
            kind = "float"
    return kinds


def _produces_float(s) -> bool:
    return isinstance(s, (S.Dequantize, S.BatchNorm, S.ReLU, S.Hardtanh))


def fuse(steps: list) -> list:
    """``steps`` with each fusable run after a float Flatten replaced by a NativeSegment."""
    if not backend.use_native() or not hasattr(backend.native_module(), "PlanRunner"):
        return steps
    kinds = _kinds(steps)
    out: list = []
    i = 0
    while i < len(steps):
        s = steps[i]
        if isinstance(s, S.Flatten) and kinds[i] == "float":
            j = i + 1
            while j < len(steps) and isinstance(steps[j], _FUSABLE):
                j += 1
            while j > i + 1 and not _produces_float(steps[j - 1]):
                j -= 1  # the segment must hand back floats
            run = steps[i + 1 : j]
            if any(isinstance(x, _GEMMS) for x in run):
                out.append(NativeSegment(run))
                i = j
                continue
        out.append(s)
        i += 1
    return out
