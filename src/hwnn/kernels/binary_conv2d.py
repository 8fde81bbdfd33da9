"""Binary 2-D convolution: the float convolution of +-1 tensors, by XNOR and popcount.

``binary_conv2d(x, w, stride, padding)`` equals ``conv2d(sign(x), sign(w))`` with zero
padding exactly (sign(0) = +1). Signs are packed along channels (NHWC words), the input is
unrolled into word columns (im2col) and multiplied by the binary GEMM. A zero-padded pixel is
0, neither +1 nor -1: padding with 0 bits would count it as +1 and add
dot(+1, w_tap) = C - 2 popcount(w_tap) for every tap outside the image; the kernel subtracts
exactly that on border pixels (the padding correction of daBNN, Zhang et al. 2019).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwnn.kernels import backend, checks


@dataclass(frozen=True)
class PackedConv:
    """Sign words [N, H, W, ceil(C / 64)] packed along channels; ``channels`` is the true C."""

    words: np.ndarray
    channels: int


def _float4(x: object, name: str) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a NumPy array, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{name} must be 4-D [N, C, H, W], got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} must be floating point, got {x.dtype}")
    if not x.flags.c_contiguous:
        raise ValueError(f"{name} is not C-contiguous: pass np.ascontiguousarray({name})")
    if x.shape[1] == 0:
        raise ValueError(f"{name} has no channels")
    return x.astype(np.float32, copy=False)


def pack_channels_reference(x: np.ndarray) -> PackedConv:
    """NumPy twin of the native channel packer: NCHW floats to NHWC sign words."""
    from hwnn.kernels.bitpack import pack_signs_reference

    x = _float4(x, "x")
    n, c, h, w = x.shape
    rows = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(-1, c)
    words = pack_signs_reference(rows).words.reshape(n, h, w, -1)
    return PackedConv(words, c)


def pack_channels(x: np.ndarray) -> PackedConv:
    """Packs the signs of NCHW x along channels into [N, H, W, ceil(C / 64)] words."""
    if not backend.use_native():
        return pack_channels_reference(x)
    x = _float4(x, "x")
    return PackedConv(backend.native_module().pack_channels(x), int(x.shape[1]))


def _check(x: PackedConv, w: PackedConv, stride: int, padding: int) -> tuple[np.ndarray, ...]:
    for name, p in (("x", x), ("w", w)):
        if not isinstance(p, PackedConv):
            raise ValueError(f"{name} must be a PackedConv (from pack_channels)")
    if x.channels != w.channels:
        raise ValueError(
            f"input has {x.channels} channels but the weights expect {w.channels}: they must match"
        )
    cw = checks.words_for(x.channels)
    xw = checks.tensor(x.words, "x.words", np.uint64, ndim=4, cols=cw)
    ww = checks.tensor(w.words, "w.words", np.uint64, ndim=4, cols=cw)
    if not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}")
    if not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
    if xw.shape[1] + 2 * padding < ww.shape[1] or xw.shape[2] + 2 * padding < ww.shape[2]:
        raise ValueError(
            f"kernel {ww.shape[1]}x{ww.shape[2]} is larger than the padded input "
            f"{xw.shape[1] + 2 * padding}x{xw.shape[2] + 2 * padding}: "
            "pad more or use a smaller kernel"
        )
    return xw, ww


def binary_conv2d_packed(
    x: PackedConv, w: PackedConv, stride: int = 1, padding: int = 0, *, path: str = "auto"
) -> np.ndarray:
    """Packed operands in, int32 NHWC [N, Ho, Wo, O] out (what the deployment engine uses)."""
    xw, ww = _check(x, w, stride, padding)
    core = backend.native_module()
    if core is None or not backend.use_native():
        return _reference_nhwc(xw, ww, x.channels, stride, padding)
    return core.binary_conv2d(xw, ww, x.channels, stride, padding, path)


def _reference_nhwc(
    xw: np.ndarray, ww: np.ndarray, c: int, stride: int, padding: int
) -> np.ndarray:
    """NumPy twin: unpack to +-1 (0 outside the image), then an integer convolution."""

    def unpack(words: np.ndarray) -> np.ndarray:
        bits = np.unpackbits(words.view(np.uint8), axis=-1, bitorder="little")[..., :c]
        return 1 - 2 * bits.astype(np.int32)

    xs = np.pad(unpack(xw), ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    ws = unpack(ww)  # [O, kh, kw, C]
    o, kh, kw, _ = ws.shape
    n, hp, wp, _ = xs.shape
    ho, wo = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    out = np.zeros((n, ho, wo, o), dtype=np.int64)
    for ky in range(kh):
        for kx in range(kw):
            patch = xs[:, ky : ky + stride * ho : stride, kx : kx + stride * wo : stride, :]
            out += patch.astype(np.int64) @ ws[:, ky, kx, :].T.astype(np.int64)
    return out.astype(np.int32)


def binary_conv2d(
    x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0, *, path: str = "auto"
) -> np.ndarray:
    """conv2d(sign(x), sign(w)) with zero padding, exactly, as int32 [N, O, Ho, Wo].

    x: float [N, C, H, W]; w: float [O, C, kh, kw]; sign(0) = +1.
    """
    xp = pack_channels(x)
    # [O, C, kh, kw] packs like a batch of O images of kh x kw: [O, kh, kw, ceil(C / 64)].
    wp = pack_channels(_float4(w, "w"))
    out = binary_conv2d_packed(xp, wp, stride, padding, path=path)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))
