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
CHUNK_ELEMS = 1 << 18


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
        # every window inside the input (always for hwnn layers; SCALE-Sim's ceil can overrun)
        self.all_inside = ((g.ofmap_h - 1) * g.stride_h + g.filt_h <= g.ifmap_h
                           and (g.ofmap_w - 1) * g.stride_w + g.filt_w <= g.ifmap_w)

    def ifmap(self, mi: np.ndarray, ki: np.ndarray) -> np.ndarray:
        """Address of im2col element (m, k), -1 where the window leaves the input."""
        g = self.g
        if self.all_inside:
            return self._mbase[mi] + self._kbase[ki]
        ok = (self._crow[ki] + self._irow[mi] < g.ifmap_h) & (
            self._ccol[ki] + self._icol[mi] < g.ifmap_w)
        return np.where(ok, self._mbase[mi] + self._kbase[ki], -1)

    @property
    def im2col_unique(self) -> bool:
        """True when no two im2col positions share an input pixel and none falls outside."""
        g = self.g
        return self.all_inside and (g.stride_h >= g.filt_h or g.ofmap_h == 1) and (
            g.stride_w >= g.filt_w or g.ofmap_w == 1)

    def distinct(self, which: str) -> int:
        """Distinct valid addresses the layer ever requests from an operand."""
        g = self.g
        if which == "filter":
            return g.k * g.n
        if which == "ofmap":
            return g.m * g.n

        def covered(size: int, out: int, filt: int, stride: int) -> int:
            if stride <= filt:  # windows touch or overlap: one contiguous span
                return min(size, (out - 1) * stride + filt)
            hit = np.zeros(size, dtype=bool)
            starts = np.arange(out) * stride
            for d in range(filt):
                pos = starts + d
                hit[pos[pos < size]] = True
            return int(hit.sum())

        return (covered(g.ifmap_h, g.ofmap_h, g.filt_h, g.stride_h)
                * covered(g.ifmap_w, g.ofmap_w, g.filt_w, g.stride_w) * g.channels * g.batch)

    def span(self, which: str) -> tuple[int, int]:
        """(first address, length) of the range an operand's addresses lie in."""
        g = self.g
        if which == "ifmap":
            return self.if_off, g.batch * g.ifmap_h * g.ifmap_w * g.channels
        if which == "filter":
            return self.f_off, g.k * g.n
        return self.o_off, g.m * g.n

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


def _region(plan: FoldPlan, which: str, ru: np.ndarray, cu: np.ndarray
            ) -> tuple:
    """Where a buffer's requests sit in the unskewed block: u in [lo, lo + n), col < width.

    ``ru``/``cu`` are the PE rows / cols each fold uses (arrays over folds). Flipped blocks
    (stationary operands loaded bottom row first, os outputs leaving from the bottom) start
    at ``A_r - used``.
    """
    r, df = plan.rows, plan.dataflow
    table = {
        "ws": {"ifmap": (r, plan.m, ru), "filter": (r - ru, ru, cu),
               "ofmap": (2 * r - 1, plan.m, cu)},
        "os": {"ifmap": (0, plan.k, ru), "filter": (0, plan.k, cu),
               "ofmap": (plan.k - 1 + r - ru, ru, cu)},
        "is": {"ifmap": (r - ru, ru, cu), "filter": (r, plan.n, ru),
               "ofmap": (2 * r - 1, plan.n, cu)},
    }
    lo, n, width = table[df][which]
    return lo, n, width


def _addresses(plan: FoldPlan, ops: Operands, which: str, fr: np.ndarray, fc: np.ndarray,
               u: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Addresses of valid block positions (u, col) of folds (fr, fc), all 1-D arrays."""
    r, c = plan.rows, plan.cols
    df = plan.dataflow
    flip = r - 1 - u  # row index inside a flipped (bottom-first) block
    if df == "ws":
        if which == "ifmap":
            return ops.ifmap(u - r, fr * r + col)
        if which == "filter":
            return ops.filt(fr * r + flip, fc * c + col)
        return ops.ofmap(u - (2 * r - 1), fc * c + col)
    if df == "os":
        if which == "ifmap":
            return ops.ifmap(fr * r + col, u)
        if which == "filter":
            return ops.filt(u, fc * c + col)
        return ops.ofmap(fr * r + (r - 1 - (u - (plan.k - 1))), fc * c + col)
    if which == "ifmap":
        return ops.ifmap(fc * c + col, fr * r + flip)
    if which == "filter":
        return ops.filt(fr * r + col, u - r)
    return ops.ofmap(fc * c + col, u - (2 * r - 1))


def repeat_free(plan: FoldPlan, ops: Operands, which: str) -> bool:
    """True when the buffer's stream never requests the same address twice."""
    df = plan.dataflow
    if which == "filter":
        return {"ws": True, "os": plan.row_folds == 1, "is": plan.col_folds == 1}[df]
    if which == "ifmap":
        return ops.im2col_unique and (df == "is" or plan.col_folds == 1)
    return True


def _ragged(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated aranges [s, s + n) for each (s, n), and which pair each came from."""
    total = int(counts.sum())
    owner = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    return starts[owner] + (np.arange(total, dtype=np.int64) - first[owner]), owner


def fold_table(plan: FoldPlan, which: str) -> tuple[np.ndarray, ...]:
    """Per fold, in run order: row fold, column fold, and the valid block region of one
    buffer's demand matrix (first base row lo, rows n, width w)."""
    sr, sc, _ = plan.sr_sc_t
    fr = np.tile(np.arange(plan.row_folds, dtype=np.int64), plan.col_folds)
    fc = np.repeat(np.arange(plan.col_folds, dtype=np.int64), plan.row_folds)
    ru = np.minimum(plan.rows, sr - fr * plan.rows)
    cu = np.minimum(plan.cols, sc - fc * plan.cols)
    lo, n, w = (np.broadcast_to(np.asarray(x, dtype=np.int64), fr.shape)
                for x in _region(plan, which, ru, cu))
    return fr, fc, lo, n, w


def stream(plan: FoldPlan, ops: Operands, which: str, chunk_elems: int = CHUNK_ELEMS,
           folds: tuple[int, int] | None = None, counts_only: bool = False,
           ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Valid requests of one buffer over all folds: (global demand row, address) arrays.

    ``folds=(f0, f1)`` restricts the walk to those folds; ``counts_only`` yields
    (global demand row, requests in that row) instead, counting window positions outside
    the input too (exact for every operand but SCALE-Sim's overrunning ifmaps).

    Row-major over each fold's demand matrix, folds in order: the order SCALE-Sim's memory
    loop visits them. Skewed blocks place base element (u, c) at fold row u + c (the
    systolic wavefront), so fold row r holds cols max(0, r - u_hi) .. min(width, r - u_lo).
    Only valid requests are generated; a chunk holds at most about ``chunk_elems``.
    """
    blk = _fold_blocks(plan)[which]
    L = plan.fold_cycles
    fr_all, fc_all, lo_all, n_all, w_all = fold_table(plan, which)
    nrows_all = n_all + w_all - 1 if blk.skew else n_all
    per_fold = n_all * w_all
    fold_cum = np.cumsum(per_fold)
    f0, f_end = folds if folds is not None else (0, plan.folds)
    while f0 < f_end:
        # as many whole folds as fit in a chunk (at least one)
        base = fold_cum[f0 - 1] if f0 else 0
        f1 = max(f0 + 1, int(np.searchsorted(fold_cum, base + chunk_elems, side="right")))
        f1 = min(f1, f_end)
        chunk = np.arange(f0, f1, dtype=np.int64)
        r_rel, fo = _ragged(np.zeros(chunk.size, dtype=np.int64), nrows_all[chunk])
        fold = chunk[fo]
        lo, hi, w = lo_all[fold], lo_all[fold] + n_all[fold] - 1, w_all[fold]
        if blk.skew:
            r = lo + r_rel
            cstart = np.maximum(0, r - hi)
            cnt = np.minimum(w - 1, r - lo) - cstart + 1
        else:
            r = lo + r_rel
            cstart = np.zeros_like(r)
            cnt = w
        cnt = np.broadcast_to(cnt, r.shape)
        if counts_only:
            nz = cnt > 0
            yield (fold * L + r)[nz], cnt[nz]
            f0 = f1
            continue
        row_cum = np.cumsum(cnt)
        p0 = 0
        while p0 < r.size:  # split a huge fold by rows
            pb = row_cum[p0 - 1] if p0 else 0
            p1 = max(p0 + 1, int(np.searchsorted(row_cum, pb + chunk_elems, side="right")))
            p1 = min(p1, r.size)
            col, ro = _ragged(cstart[p0:p1], cnt[p0:p1])
            rr = r[p0:p1][ro]
            ff = fold[p0:p1][ro]
            u = rr - col if blk.skew else rr
            addr = _addresses(plan, ops, which, fr_all[ff], fc_all[ff], u, col)
            grow = ff * L + rr
            keep = addr != -1
            if not keep.all():
                grow, addr = grow[keep], addr[keep]
            if addr.size:
                yield grow, addr
            p0 = p1
        f0 = f1
