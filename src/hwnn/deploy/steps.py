"""The steps of an inference plan: NumPy arrays in, NumPy arrays out, no torch.

Three kinds of value flow between steps:

- float tensors, laid out as torch lays them out ([N, F] or NCHW), so float steps match
  the torch layers one for one;
- ``Acc``: the exact int32 output of an integer GEMM (binary, int8, fixed point), rows are
  samples (fully connected) or output pixels (convolution, NHWC), one column per channel;
- ``Signs``: sign bits packed for the next binary layer (DESIGN.md bit order), either one
  row per sample or NHWC words packed along channels.

Each step is a small object with ``run(value) -> value``; the compiler (``compiler.py``)
chooses and chains them. Integer outputs that feed a binary layer never become floats: the
scales, bias and batch norm fold into one integer threshold per channel (``Threshold``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwnn.kernels import backend, output_transform
from hwnn.kernels.binary_conv2d import PackedConv, binary_conv2d_packed, pack_channels
from hwnn.kernels.bitpack import pack_signs
from hwnn.kernels.int8_gemm import int8_matmul


@dataclass
class Acc:
    """Exact integer GEMM output: c int32 [rows, channels]; ``spatial`` = (N, Ho, Wo) or None."""

    c: np.ndarray
    spatial: tuple[int, int, int] | None = None


@dataclass
class Signs:
    """Packed signs: ``words`` [N, W] with ``k`` true bits per row, or NHWC words
    [N, H, W, ceil(C / 64)] with ``k`` = C channels when ``nhwc``."""

    words: np.ndarray
    k: int
    nhwc: bool = False
    layout: tuple[int, int, int] | None = None  # (C, H, W) of rows flattened from NHWC


def _binary_gemm(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    core = backend.native_module()
    if core is not None and backend.use_native():
        return core.binary_gemm(a, b, k, "auto")
    x = np.bitwise_xor(a[:, None, :], b[None, :, :])
    return (k - 2 * np.bitwise_count(x).sum(axis=2, dtype=np.int64)).astype(np.int32)


def im2col(
    x: np.ndarray, kh: int, kw: int, stride: int, pad: int, cols: int | None = None
) -> np.ndarray:
    """NCHW x -> [N * Ho * Wo, C * kh * kw] patches (zero padding), torch's weight order;
    with ``cols``, each row is zero-extended to that many entries. Native for float32 and
    one-byte codes (the NumPy version's 6-D transposing copy took 13 ms for LeNet-5's first
    layer at batch 256)."""
    n, c, _, _ = x.shape
    cols = c * kh * kw if cols is None else cols
    core = backend.native_module()
    if core is not None and backend.use_native() and x.dtype in _IM2COL_NATIVE:
        x = np.ascontiguousarray(x)
        if x.dtype == np.float32:
            return core.im2col_f32(x, kh, kw, stride, pad, cols)
        return core.im2col_u8(x.view(np.uint8), kh, kw, stride, pad, cols).view(x.dtype)
    return im2col_reference(x, kh, kw, stride, pad, cols)


_IM2COL_NATIVE = (np.dtype(np.float32), np.dtype(np.int8), np.dtype(np.uint8))


def im2col_reference(
    x: np.ndarray, kh: int, kw: int, stride: int, pad: int, cols: int | None = None
) -> np.ndarray:
    """NumPy twin of ``im2col``."""
    n, c, _, _ = x.shape
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]  # [N, C, Ho, Wo, kh, kw]
    ho, wo = win.shape[2], win.shape[3]
    rows = np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * ho * wo, c * kh * kw)
    if cols is None or cols == rows.shape[1]:
        return rows
    out = np.zeros((rows.shape[0], cols), dtype=rows.dtype)
    out[:, : rows.shape[1]] = rows
    return out


def _conv_out(x_hw: tuple[int, int], kh: int, kw: int, stride: int, pad: int) -> tuple[int, int]:
    h, w = x_hw
    return (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1


# ---------------------------------------------------------------- float steps (BLAS)


@dataclass
class FloatLinear:
    """y = x W^T + b on NumPy's BLAS (the production float path is never hand-written)."""

    weight_t: np.ndarray  # [K, O], transposed once at compile time
    bias: np.ndarray | None

    def run(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.weight_t
        return y + self.bias if self.bias is not None else y


@dataclass
class FloatConv:
    """Convolution as im2col and one BLAS GEMM."""

    weight: np.ndarray  # [O, C * kh * kw]
    bias: np.ndarray | None
    kh: int
    kw: int
    stride: int
    pad: int

    def run(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        ho, wo = _conv_out(x.shape[2:], self.kh, self.kw, self.stride, self.pad)
        y = im2col(x, self.kh, self.kw, self.stride, self.pad) @ self.weight.T
        if self.bias is not None:
            y += self.bias
        return np.ascontiguousarray(y.reshape(n, ho, wo, -1).transpose(0, 3, 1, 2))


@dataclass
class BatchNorm:
    """Inference batch norm as torch computes it: x * a + b, a = gamma / sqrt(var + eps),
    b = beta - mean * a, per channel (dim 1)."""

    a: np.ndarray
    b: np.ndarray

    def run(self, x: np.ndarray) -> np.ndarray:
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return x * self.a.reshape(shape) + self.b.reshape(shape)


@dataclass
class ReLU:
    def run(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, np.float32(0))


@dataclass
class Hardtanh:
    low: float = -1.0
    high: float = 1.0

    def run(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, np.float32(self.low), np.float32(self.high))


@dataclass
class MaxPool:
    """k x k max pooling, stride k, floor mode; on packed signs max(+-1) is an AND of the
    sign bits (a set bit is -1, so the max is -1 only when every input is)."""

    k: int

    def run(self, x):
        # One elementwise op per window offset on strided views: NumPy reductions over the
        # small window axes of a 6-D reshape ran ~20x slower (33 ms for LeNet-5's first pool
        # at batch 256).
        if isinstance(x, Signs):
            words = _window_reduce(x.words, self.k, 1, np.bitwise_and)
            return Signs(words, x.k, nhwc=True)
        return _window_reduce(x, self.k, 2, np.maximum)


def _window_reduce(x: np.ndarray, k: int, axis: int, op) -> np.ndarray:
    """op over each k x k window (stride k, floor mode) of axes (axis, axis + 1)."""
    ho, wo = x.shape[axis] // k, x.shape[axis + 1] // k
    lead = (slice(None),) * axis

    def view(i: int, j: int) -> np.ndarray:
        return x[lead + (slice(i, ho * k, k), slice(j, wo * k, k))]

    out = np.array(view(0, 0))  # a contiguous copy, then updated in place
    for i in range(k):
        for j in range(k):
            if i or j:
                op(out, view(i, j), out=out)
    return out


@dataclass
class Flatten:
    """[N, ...] -> [N, F]; NHWC signs become rows of H * W * ceil(C / 64) words whose padding
    bits are zero (the next layer's weights were packed in the same order)."""

    def run(self, x):
        if isinstance(x, Signs) and x.nhwc:
            n, h, w, _ = x.words.shape
            return Signs(x.words.reshape(n, -1), h * w * x.k, layout=(x.k, h, w))
        return x.reshape(x.shape[0], -1)


# ---------------------------------------------------------------- integer steps


@dataclass
class QuantizeFixed:
    """Dynamic fixed point codes: clamp(round(x / 2^-frac), -2^(bits-1), 2^(bits-1) - 1)."""

    bits: int
    frac: int

    def run(self, x: np.ndarray) -> np.ndarray:
        lo, hi = -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1
        q = np.clip(np.round(x / np.float32(2.0**-self.frac)), lo, hi)
        return q.astype(np.int8)


@dataclass
class QuantizeInt8:
    """Per-tensor int8 codes clamp(round(x / s)): int8 [-128, 127] or uint8 [0, 255]."""

    scale: np.float32
    signed: bool

    def run(self, x: np.ndarray) -> np.ndarray:
        lo, hi, dt = (-128, 127, np.int8) if self.signed else (0, 255, np.uint8)
        return np.clip(np.round(x / self.scale), lo, hi).astype(dt)


@dataclass
class IntLinear:
    """int8 / uint8 codes [N, K] times int8 weight codes [O, K]: exact int32."""

    weight: np.ndarray

    def run(self, codes: np.ndarray) -> Acc:
        return Acc(int8_matmul(np.ascontiguousarray(codes), self.weight))


@dataclass
class IntConv:
    weight: np.ndarray  # int8 [O, C * kh * kw]
    kh: int
    kw: int
    stride: int
    pad: int

    def run(self, codes: np.ndarray) -> Acc:
        n = codes.shape[0]
        ho, wo = _conv_out(codes.shape[2:], self.kh, self.kw, self.stride, self.pad)
        w = self._weight4()
        cols = im2col(codes, self.kh, self.kw, self.stride, self.pad, w.shape[1])
        return Acc(int8_matmul(cols, w), (n, ho, wo))

    def _weight4(self) -> np.ndarray:
        """The weights zero-extended to whole 4-byte groups, made once: patches of that
        width are read in place by the VPDPBUSD GEMM (otherwise it copies them to pad)."""
        w4 = self.__dict__.get("_w4")
        if w4 is None:
            o, k = self.weight.shape
            w4 = np.zeros((o, -(-k // 4) * 4), dtype=np.int8)
            w4[:, :k] = self.weight
            self.__dict__["_w4"] = w4
        return w4


class SignLinear:
    """Binary fully connected layer: K - 2 popcount(x XOR w) per (sample, output).

    Rows flattened from NHWC signs (after a binary convolution) arrive in (H, W, C) order
    with zero bits padding each pixel's channels to whole words, while torch flattened NCHW:
    the weights are packed once per input layout in that same order."""

    def __init__(self, signs: np.ndarray) -> None:
        self.signs = np.ascontiguousarray(signs, dtype=np.float32)  # +-1 [O, K], NCHW order
        self.k = int(signs.shape[1])
        self.weight = pack_signs(self.signs).words
        self._packed = {None: self.weight}

    def _weights(self, layout: tuple[int, int, int] | None) -> np.ndarray:
        if layout not in self._packed:
            o = self.signs.shape[0]
            img = np.ascontiguousarray(self.signs.reshape(o, *layout))
            self._packed[layout] = pack_channels(img).words.reshape(o, -1)
        return self._packed[layout]

    def run(self, x: Signs) -> Acc:
        return Acc(_binary_gemm(x.words, self._weights(x.layout), self.k))


@dataclass
class SignConv:
    """Binary convolution on channel-packed NHWC signs, padding-corrected."""

    weight: PackedConv
    stride: int
    pad: int

    def run(self, x: Signs) -> Acc:
        out = binary_conv2d_packed(PackedConv(x.words, x.k), self.weight, self.stride, self.pad)
        n, ho, wo, o = out.shape
        return Acc(out.reshape(n * ho * wo, o), (n, ho, wo))


@dataclass
class SignPack:
    """Float activations to packed signs (rows, or NHWC along channels for a convolution)."""

    nhwc: bool

    def run(self, x: np.ndarray) -> Signs:
        if self.nhwc:
            p = pack_channels(np.ascontiguousarray(x, dtype=np.float32))
            return Signs(p.words, p.channels, nhwc=True)
        p = pack_signs(np.ascontiguousarray(x, dtype=np.float32))
        return Signs(p.words, p.k)


@dataclass
class Dequantize:
    """Acc -> float: y = c * scale[j] + bias[j] (then NCHW for a convolution)."""

    scale: np.ndarray
    bias: np.ndarray | None

    def run(self, acc: Acc) -> np.ndarray:
        y = output_transform.scale_bias(acc.c, None, self.scale, self.bias)
        if acc.spatial is None:
            return y
        n, ho, wo = acc.spatial
        return np.ascontiguousarray(y.reshape(n, ho, wo, -1).transpose(0, 3, 1, 2))


@dataclass
class Threshold:
    """Acc -> the next binary layer's packed signs through per-channel integer thresholds
    (scales, bias and batch norm folded; see hwnn.kernels.output_transform)."""

    threshold: np.ndarray
    flip: np.ndarray

    def run(self, acc: Acc) -> Signs:
        words = output_transform.sign_threshold(acc.c, self.threshold, self.flip)
        o = self.threshold.shape[0]
        if acc.spatial is None:
            return Signs(words, o)
        n, ho, wo = acc.spatial
        return Signs(words.reshape(n, ho, wo, -1), o, nhwc=True)


# ---------------------------------------------------------------- XNOR-Net


@dataclass
class XnorLinear:
    """XNOR-Net fully connected: (sign(x) (*) sign(W)) * K * alpha + b, K = mean |x| per
    sample (Rastegari et al. 2016, sec. 3.2)."""

    weight: np.ndarray  # uint64 [O, words(K)]
    k: int
    alpha: np.ndarray
    bias: np.ndarray | None

    def run(self, x: np.ndarray) -> np.ndarray:
        scale = np.abs(x).mean(axis=1, dtype=np.float32)
        c = _binary_gemm(
            pack_signs(np.ascontiguousarray(x, dtype=np.float32)).words, self.weight, self.k
        )
        return output_transform.scale_bias(c, scale, self.alpha, self.bias)


@dataclass
class XnorConv:
    """XNOR-Net convolution: K = (mean_c |x|) box-filtered with the layer's kernel size,
    stride and zero padding, one factor per output pixel."""

    weight: PackedConv
    alpha: np.ndarray
    bias: np.ndarray | None
    kh: int
    kw: int
    stride: int
    pad: int

    def run(self, x: np.ndarray) -> np.ndarray:
        a = np.abs(x).mean(axis=1, keepdims=True, dtype=np.float32)
        box = im2col(a, self.kh, self.kw, self.stride, self.pad).mean(axis=1, dtype=np.float32)
        p = pack_channels(np.ascontiguousarray(x, dtype=np.float32))
        c = binary_conv2d_packed(p, self.weight, self.stride, self.pad)
        n, ho, wo, o = c.shape
        y = output_transform.scale_bias(c.reshape(-1, o), box, self.alpha, self.bias)
        return np.ascontiguousarray(y.reshape(n, ho, wo, o).transpose(0, 3, 1, 2))
