"""What follows the popcount: scales and bias, or batch norm folded into a sign threshold.

* ``scale_bias(c, row_scale, col_scale, bias)``: y = c * row_scale[i] * col_scale[j] + bias[j]
  (XNOR-Net: row_scale is the input's mean magnitude K, col_scale the weight scale alpha;
  Rastegari et al. 2016. int8: the activation and weight quantizer scales).
* ``fold_threshold(slope, offset)`` and ``sign_threshold(c, threshold, flip)``: a BNN layer
  computes sign(slope_j * c + offset_j), slope_j = gamma_j alpha_j / sigma_j and
  offset_j = beta_j + gamma_j (b_j - mu_j) / sigma_j after batch norm. Because c is an
  integer, the sign is -1 exactly when c < ceil(-offset_j / slope_j) (slope > 0) or
  c > floor(-offset_j / slope_j) (slope < 0, ``flip``): one integer compare per output, packed
  straight into the next layer's sign words (Umuroglu et al. 2017, "FINN").
"""

from __future__ import annotations

import numpy as np

from hwnn.kernels import backend, checks

_I32 = np.iinfo(np.int32)


def _vector(v: object, name: str, length: int) -> np.ndarray | None:
    if v is None:
        return None
    arr = np.ascontiguousarray(np.asarray(v, dtype=np.float32).reshape(-1))
    if arr.shape[0] != length:
        raise ValueError(f"{name} has {arr.shape[0]} entries, expected {length}")
    return arr


def scale_bias(
    c: np.ndarray,
    row_scale: np.ndarray | None = None,
    col_scale: np.ndarray | None = None,
    bias: np.ndarray | None = None,
) -> np.ndarray:
    """float32 [M, N] = c * row_scale[:, None] * col_scale[None, :] + bias[None, :]."""
    c = checks.matrix(c, "c", np.int32)
    m, n = c.shape
    rs = _vector(row_scale, "row_scale", m)
    cs = _vector(col_scale, "col_scale", n)
    b = _vector(bias, "bias", n)
    if backend.use_native():
        return backend.native_module().scale_bias(c, rs, cs, b)
    y = c.astype(np.float32)
    if rs is not None:
        y = y * rs[:, None]
    if cs is not None:
        y = y * cs[None, :]
    if b is not None:
        y = y + b[None, :]
    return y.astype(np.float32)


def fold_threshold(slope: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer thresholds and flips with sign(slope * c + offset) < 0  <=>  bit set.

    Computed in float64 from the float32 parameters; a channel with slope 0 is constant.
    """
    s = np.asarray(slope, dtype=np.float64).reshape(-1)
    o = np.asarray(offset, dtype=np.float64).reshape(-1)
    if s.shape != o.shape:
        raise ValueError(f"slope and offset differ in length: {s.shape} and {o.shape}")
    t = np.zeros(s.shape, dtype=np.float64)
    flip = (s < 0).astype(np.uint8)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        cut = -o / s
    pos, neg, zero = s > 0, s < 0, s == 0
    t[pos] = np.ceil(cut[pos])  # slope > 0: negative when c < cut, i.e. c < ceil(cut)
    t[neg] = np.floor(cut[neg])  # slope < 0: negative when c > cut, i.e. c > floor(cut)
    # Constant channels: "always -1" is c < INT32_MAX; "never" is c < INT32_MIN.
    t[zero & (o < 0)] = _I32.max
    t[zero & (o >= 0)] = _I32.min
    # Clip in float first: a tiny slope puts the cut far outside int32 (and int64).
    return np.clip(t, _I32.min, _I32.max).astype(np.int32), flip


def sign_threshold_reference(c: np.ndarray, threshold: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """NumPy twin of ``sign_threshold``."""
    from hwnn.kernels.bitpack import pack_signs_reference

    c, t, f = _threshold_args(c, threshold, flip)
    negative = np.where(f[None, :] != 0, c > t[None, :], c < t[None, :])
    return pack_signs_reference(np.where(negative, -1.0, 1.0).astype(np.float32)).words


def sign_threshold(c: np.ndarray, threshold: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """Packs the next layer's signs, uint64 [M, ceil(N / 64)]: bit j set when
    ``flip[j] ? c[:, j] > threshold[j] : c[:, j] < threshold[j]``."""
    if not backend.use_native():
        return sign_threshold_reference(c, threshold, flip)
    c, t, f = _threshold_args(c, threshold, flip)
    return backend.native_module().sign_threshold(c, t, f)


def _threshold_args(c: object, threshold: object, flip: object) -> tuple[np.ndarray, ...]:
    c = checks.matrix(c, "c", np.int32)
    t = np.ascontiguousarray(np.asarray(threshold, dtype=np.int32).reshape(-1))
    f = np.ascontiguousarray(np.asarray(flip, dtype=np.uint8).reshape(-1))
    if t.shape[0] != c.shape[1] or f.shape[0] != c.shape[1]:
        raise ValueError(
            f"threshold and flip need one entry per column of c ({c.shape[1]}), "
            f"got {t.shape[0]} and {f.shape[0]}"
        )
    return c, t, f
