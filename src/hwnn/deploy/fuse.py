"""Fusing runs of integer steps into one native call (``PlanRunner``).

A binarized MLP at batch 1 does a few microseconds of arithmetic; as separate NumPy steps
each layer would add microseconds of Python dispatch, and a CNN's NumPy steps make extra
passes over every image. Runs of quantize, int8 convolution, max pooling, flatten, int8 /
binary GEMM, threshold, dequantize, batch norm, ReLU and hardtanh steps that start from
float input become one ``NativeSegment``, which gives bit-identical logits (each native op
repeats its NumPy step's arithmetic in the same order). Before the first Flatten the data
are images: there the runner takes quantize, int8 and binary convolutions, thresholds to
NHWC signs, dequantize, ReLU, hardtanh, max pooling (of floats or signs) and the Flatten
itself. XNOR-Net's scaled layers stay NumPy steps.
"""

from __future__ import annotations

import numpy as np

from hwnn.deploy import steps as S
from hwnn.kernels import backend

_FLAT = (
    S.QuantizeFixed, S.QuantizeInt8, S.IntLinear, S.SignLinear, S.Threshold, S.Dequantize,
    S.BatchNorm, S.ReLU, S.Hardtanh,
)  # fmt: skip
_IMAGES = (
    S.QuantizeFixed, S.QuantizeInt8, S.IntConv, S.SignConv, S.Threshold, S.Dequantize, S.ReLU,
    S.Hardtanh,
)  # fmt: skip
_GEMMS = (S.IntLinear, S.SignLinear, S.IntConv, S.SignConv)


class NativeSegment:
    """``steps`` in C++; pickles as its steps (the runner is rebuilt). A segment without image
    steps flattens its input first (as segments made before image steps were fused did)."""

    def __init__(self, steps: list) -> None:
        self.steps = steps
        self.runner = _build(steps)
        # decided once: run() is on the batch-1 latency path
        self._images = any(isinstance(s, (S.IntConv, S.SignConv, S.MaxPool)) for s in steps)

    def run(self, x: np.ndarray) -> np.ndarray:
        # The runner flattens rows itself; nanobind converts an array of another float dtype
        # or order, not a list or a byte-swapped array.
        if type(x) is not np.ndarray or not x.dtype.isnative:
            x = np.asarray(x, dtype=np.float32)
        return self.runner.run(x, self._images)

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
        elif isinstance(s, S.IntConv):
            r.int_conv(s.weight, s.weight.shape[1] // (s.kh * s.kw), s.kh, s.kw, s.stride, s.pad)
        elif isinstance(s, S.SignConv):
            r.sign_conv(s.weight.words, s.weight.channels, s.stride, s.pad)
        elif isinstance(s, S.MaxPool):
            r.max_pool(s.k)
        elif isinstance(s, S.Flatten):
            r.flatten()
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


def _fusable(s, kind: str, images: bool) -> bool:
    if isinstance(s, (S.MaxPool, S.Flatten)):
        return images and kind in ("float", "signs")
    return isinstance(s, _IMAGES if images else _FLAT)


def _hands_back_float(s, kind: str) -> bool:
    if isinstance(s, (S.MaxPool, S.Flatten)):
        return kind == "float"
    return isinstance(s, (S.Dequantize, S.BatchNorm, S.ReLU, S.Hardtanh))


def fuse(steps: list) -> list:
    """``steps`` with each fusable run that starts from float input replaced by a
    NativeSegment (runs without a GEMM or convolution are left as they are)."""
    if not backend.use_native() or not hasattr(backend.native_module(), "PlanRunner"):
        return steps
    kinds = _kinds(steps)
    first_flatten = next((i for i, t in enumerate(steps) if isinstance(t, S.Flatten)), len(steps))
    images = [i <= first_flatten for i in range(len(steps))]  # before or at the first Flatten
    out: list = []
    i = 0
    while i < len(steps):
        if kinds[i] == "float" and _fusable(steps[i], kinds[i], images[i]):
            j = i
            while j < len(steps) and _fusable(steps[j], kinds[j], images[j]):
                j += 1
            while j > i and not _hands_back_float(steps[j - 1], kinds[j - 1]):
                j -= 1  # the segment must hand back floats
            run = steps[i:j]
            if any(isinstance(x, _GEMMS) for x in run):
                out.append(NativeSegment(run))
                i = j
                continue
        out.append(steps[i])
        i += 1
    return out
