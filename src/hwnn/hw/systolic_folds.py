"""How one GEMM folds over a systolic array, and the operand streams each fold asks for.

A conv layer lowers to GEMM by im2col (SCALE-Sim, Samajdar et al. 2018/2020):
M = output pixels, K = R x S x C (window), N = filters. Each dataflow keeps one operand
still and maps two GEMM dimensions onto the array (rows x cols), the third runs in time:

| dataflow | S_r (rows) | S_c (cols) | T (time) |
|---|---|---|---|
| os | M | N | K |
| ws | K | N | M |
| is | K | M | N |

The array of A_r x A_c PEs runs ceil(S_r/A_r) x ceil(S_c/A_c) folds one after another,
column folds outermost. Fold lengths in cycles (SCALE-Sim 3.0.0's demand matrices):

    os: T + A_r + A_c - 2            ws, is: 2 A_r + A_c + T - 2

``FoldPlan`` holds this arithmetic; ``Operands`` turns GEMM coordinates into SCALE-Sim
addresses (ifmap pixels in HWC order, filters in NRSC order, ofmap in MN order), with -1
for a window position that falls outside the input (SCALE-Sim's ceil output size).
``stream`` yields the valid (row, address) pairs of the folds' demand matrices in the
order SCALE-Sim walks them (row by row, columns left to right), a bounded chunk at a time,
so memory stays flat however large the layer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from hwnn.errors import ConfigError

DATAFLOWS = ("os", "ws", "is")
# Largest demand-matrix block materialised at once (elements); bounds memory per layer.
CHUNK_ELEMS = 1 << 20


@dataclass(frozen=True)
class ConvGeometry:
    """A layer in SCALE-Sim's terms (ifmap already padded), plus hwnn's batch.

    ``ofmap_h``/``ofmap_w`` are given explicitly: SCALE-Sim uses
    ceil((H - R + s) / s); hwnn's own layers use floor((H + 2p - R) / s) + 1.
    """

    ifmap_h: int
    ifmap_w: int
    filt_h: int
    filt_w: int
    channels: int
    num_filt: int
    stride_h: int
    stride_w: int
    ofmap_h: int
    ofmap_w: int
    batch: int = 1

    @property
    def m(self) -> int:
        return self.ofmap_h * self.ofmap_w * self.batch

    @property
    def k(self) -> int:
        return self.filt_h * self.filt_w * self.channels

    @property
    def n(self) -> int:
        return self.num_filt

    @property
    def ifmap_elems(self) -> int:
        return self.ifmap_h * self.ifmap_w * self.channels * self.batch


def scalesim_geometry(
    ifmap_h: int, ifmap_w: int, filt_h: int, filt_w: int, channels: int, num_filt: int,
    stride_h: int, stride_w: int,
) -> ConvGeometry:
    """SCALE-Sim's geometry: output size ceil((H - R + s) / s), no padding, batch 1."""
    oh = math.ceil((ifmap_h - filt_h + stride_h) / stride_h)
    ow = math.ceil((ifmap_w - filt_w + stride_w) / stride_w)
    return ConvGeometry(ifmap_h, ifmap_w, filt_h, filt_w, channels, num_filt,
                        stride_h, stride_w, oh, ow)


def gemm_geometry(m: int, k: int, n: int) -> ConvGeometry:
    """SCALE-Sim's ``-i gemm`` mapping: an M x K ifmap, a 1 x K filter, N filters."""
    return scalesim_geometry(m, k, 1, k, 1, n, 1, 1)


@dataclass(frozen=True)
class FoldPlan:
    """Spatio-temporal mapping of one GEMM on one array (see module docstring)."""

    dataflow: str
    rows: int
    cols: int
    m: int
    k: int
    n: int

    def __post_init__(self) -> None:
        if self.dataflow not in DATAFLOWS:
            raise ConfigError(f"dataflow {self.dataflow!r} unknown, use one of {DATAFLOWS}")
        if self.rows <= 0 or self.cols <= 0:
            raise ConfigError(f"array must be at least 1x1, got {self.rows}x{self.cols}")

    @property
    def sr_sc_t(self) -> tuple[int, int, int]:
        return {"os": (self.m, self.n, self.k), "ws": (self.k, self.n, self.m),
                "is": (self.k, self.m, self.n)}[self.dataflow]

    @property
    def row_folds(self) -> int:
        return -(-self.sr_sc_t[0] // self.rows)

    @property
    def col_folds(self) -> int:
        return -(-self.sr_sc_t[1] // self.cols)

    @property
    def folds(self) -> int:
        return self.row_folds * self.col_folds

    @property
    def fold_cycles(self) -> int:
        """Rows of one fold's demand matrix: the cycles one fold takes."""
        r, c, t = self.rows, self.cols, self.sr_sc_t[2]
        return t + r + c - 2 if self.dataflow == "os" else 2 * r + c + t - 2

    @property
    def total_rows(self) -> int:
        return self.folds * self.fold_cycles

    def used(self, fr: int, fc: int) -> tuple[int, int]:
        """PE rows and cols fold (fr, fc) occupies."""
        sr, sc, _ = self.sr_sc_t
        return min(self.rows, sr - fr * self.rows), min(self.cols, sc - fc * self.cols)

    def fold_order(self) -> Iterator[tuple[int, int, int]]:
        """(index, fr, fc) in SCALE-Sim's order: column folds outermost."""
        i = 0
        for fc in range(self.col_folds):
            for fr in range(self.row_folds):
                yield i, fr, fc
                i += 1

    def used_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows and cols used by every fold, in fold order (vectors of length folds)."""
        sr, sc, _ = self.sr_sc_t
        fr = np.arange(self.row_folds)
        fc = np.arange(self.col_folds)
        ru = np.minimum(self.rows, sr - fr * self.rows)
        cu = np.minimum(self.cols, sc - fc * self.cols)
        return np.tile(ru, self.col_folds), np.repeat(cu, self.row_folds)


class Operands:
    """SCALE-Sim addresses of the three operand matrices of one layer (offsets included)."""

    def __init__(self, geom: ConvGeometry, offsets: tuple[int, int, int]) -> None:
        self.g = geom
        self.if_off, self.f_off, self.o_off = offsets
        g = geom
        m = np.arange(g.m, dtype=np.int64)
        px = g.ofmap_h * g.ofmap_w
        b, pix = np.divmod(m, px)
        orow, ocol = np.divmod(pix, g.ofmap_w)
        self._irow = orow * g.stride_h
        self._icol = ocol * g.stride_w
        img = b * (g.ifmap_h * g.ifmap_w * g.channels)
        self._mbase = img + (self._irow * g.ifmap_w + self._icol) * g.channels + self.if_off
        k = np.arange(g.k, dtype=np.int64)
        crow, rest = np.divmod(k, g.filt_w * g.channels)
        ccol, ch = np.divmod(rest, g.channels)
        self._crow, self._ccol = crow, ccol
        self._kbase = (crow * g.ifmap_w + ccol) * g.channels + ch

    def ifmap(self, mi: np.ndarray, ki: np.ndarray) -> np.ndarray:
        """Address of im2col element (m, k), -1 where the window leaves the input."""
        g = self.g
        ok = (self._crow[ki] + self._irow[mi] < g.ifmap_h) & (
            self._ccol[ki] + self._icol[mi] < g.ifmap_w)
        return np.where(ok, self._mbase[mi] + self._kbase[ki], -1)

    def filt(self, ki: np.ndarray, ni: np.ndarray) -> np.ndarray:
        return ni * self.g.k + ki + self.f_off

    def ofmap(self, mi: np.ndarray, ni: np.ndarray) -> np.ndarray:
        return self.g.n * mi + ni + self.o_off


@dataclass(frozen=True)
class _Block:
    """One buffer's demand in one fold: an (u, c) base block, optionally skewed."""

    width: int
    skew: bool
    rows: int  # rows of the fold's demand matrix (fold_cycles)


def _fold_blocks(plan: FoldPlan) -> dict[str, _Block]:
    r, c = plan.rows, plan.cols
    L = plan.fold_cycles
    if plan.dataflow == "ws":
        return {"ifmap": _Block(r, True, L), "filter": _Block(c, False, L),
                "ofmap": _Block(c, True, L)}
    if plan.dataflow == "os":
        return {"ifmap": _Block(r, True, L), "filter": _Block(c, True, L),
                "ofmap": _Block(c, True, L)}
    return {"ifmap": _Block(c, False, L), "filter": _Block(r, True, L),
            "ofmap": _Block(c, True, L)}


def _base(plan: FoldPlan, ops: Operands, which: str, fr: np.ndarray, fc: np.ndarray,
          u: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Address at unskewed block position (u, col) of folds (fr, fc); -1 where empty."""
    r, c = plan.rows, plan.cols
    sr, sc, _ = plan.sr_sc_t
    ru, cu = np.minimum(r, sr - fr * r), np.minimum(c, sc - fc * c)
    df = plan.dataflow
    neg = np.int64(-1)
    if df == "ws":
        k0, n0, T = fr * r, fc * c, plan.m
        if which == "ifmap":  # R null rows (weights load), then M rows of inputs
            t = u - r
            ok = (t >= 0) & (t < T) & (col < ru)
            return np.where(ok, ops.ifmap(np.clip(t, 0, T - 1), k0 + np.minimum(col, ru - 1)),
                            neg)
        if which == "filter":  # the weight block, loaded bottom row first
            p = r - 1 - u
            ok = (p >= 0) & (p < ru) & (col < cu)
            return np.where(ok, ops.filt(k0 + np.clip(p, 0, ru - 1), n0 + np.minimum(col, cu - 1)),
                            neg)
        t = u - (2 * r - 1)
        ok = (t >= 0) & (t < T) & (col < cu)
        return np.where(ok, ops.ofmap(np.clip(t, 0, T - 1), n0 + np.minimum(col, cu - 1)), neg)
    if df == "os":
        m0, n0, T = fr * r, fc * c, plan.k
        if which == "ifmap":
            ok = (u >= 0) & (u < T) & (col < ru)
            return np.where(ok, ops.ifmap(m0 + np.minimum(col, ru - 1), np.clip(u, 0, T - 1)),
                            neg)
        if which == "filter":
            ok = (u >= 0) & (u < T) & (col < cu)
            return np.where(ok, ops.filt(np.clip(u, 0, T - 1), n0 + np.minimum(col, cu - 1)), neg)
        p = r - 1 - (u - (T - 1))  # outputs leave from the bottom edge: block flipped
        ok = (u >= T - 1) & (p >= 0) & (p < ru) & (col < cu)
        return np.where(ok, ops.ofmap(m0 + np.clip(p, 0, ru - 1), n0 + np.minimum(col, cu - 1)),
                        neg)
    k0, m0, T = fr * r, fc * c, plan.n
    if which == "ifmap":  # the stationary input block, loaded bottom row first
        p = r - 1 - u
        ok = (p >= 0) & (p < ru) & (col < cu)
        return np.where(ok, ops.ifmap(m0 + np.minimum(col, cu - 1), k0 + np.clip(p, 0, ru - 1)),
                        neg)
    if which == "filter":
        t = u - r
        ok = (t >= 0) & (t < T) & (col < ru)
        return np.where(ok, ops.filt(k0 + np.minimum(col, ru - 1), np.clip(t, 0, T - 1)), neg)
    t = u - (2 * r - 1)
    ok = (t >= 0) & (t < T) & (col < cu)
    return np.where(ok, ops.ofmap(m0 + np.minimum(col, cu - 1), np.clip(t, 0, T - 1)), neg)


def _active_rows(plan: FoldPlan, which: str) -> tuple[int, int]:
    """Demand-matrix rows [lo, hi) of a fold that can hold a request (others are null)."""
    r = plan.rows
    df, L = plan.dataflow, plan.fold_cycles
    blk = _fold_blocks(plan)[which]
    sk = blk.width - 1 if blk.skew else 0
    if df == "ws":
        lo, hi = {"ifmap": (r, r + plan.m), "filter": (0, r),
                  "ofmap": (2 * r - 1, 2 * r - 1 + plan.m)}[which]
    elif df == "os":
        lo, hi = {"ifmap": (0, plan.k), "filter": (0, plan.k),
                  "ofmap": (plan.k - 1, plan.k - 1 + r)}[which]
    else:
        lo, hi = {"ifmap": (0, r), "filter": (r, r + plan.n),
                  "ofmap": (2 * r - 1, 2 * r - 1 + plan.n)}[which]
    return lo, min(L, hi + sk)


def stream(plan: FoldPlan, ops: Operands, which: str,
           chunk_elems: int = CHUNK_ELEMS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Valid requests of one buffer over all folds: (global demand row, address) arrays.

    Row-major over each fold's demand matrix, folds in order: the order SCALE-Sim's memory
    loop visits them. Skewed blocks place base element (u, c) at fold row u + c (the
    systolic wavefront). Small folds are batched, large ones split by rows, so one chunk
    never holds more than about ``chunk_elems`` demand-matrix entries.
    """
    blk = _fold_blocks(plan)[which]
    lo, hi = _active_rows(plan, which)
    w, L = blk.width, plan.fold_cycles
    nrow = hi - lo
    per_fold = nrow * w
    if per_fold <= chunk_elems:
        fstep, rstep = max(1, chunk_elems // per_fold), nrow
    else:
        fstep, rstep = 1, max(1, chunk_elems // w)
    fr_all = np.tile(np.arange(plan.row_folds, dtype=np.int64), plan.col_folds)
    fc_all = np.repeat(np.arange(plan.col_folds, dtype=np.int64), plan.row_folds)
    cols = np.arange(w, dtype=np.int64)[None, None, :]
    for f0 in range(0, plan.folds, fstep):
        f1 = min(plan.folds, f0 + fstep)
        fr = fr_all[f0:f1, None, None]
        fc = fc_all[f0:f1, None, None]
        fbase = np.arange(f0, f1, dtype=np.int64)[:, None, None] * L
        for r0 in range(lo, hi, rstep):
            rows = np.arange(r0, min(hi, r0 + rstep), dtype=np.int64)[None, :, None]
            u = rows - cols if blk.skew else rows
            shape = (f1 - f0, rows.shape[1], w)
            addr = _base(plan, ops, which, fr, fc, np.broadcast_to(u, shape),
                         np.broadcast_to(cols, shape))
            flat = addr.ravel()
            keep = flat != -1
            if keep.any():
                yield np.broadcast_to(fbase + rows, shape).ravel()[keep], flat[keep]
