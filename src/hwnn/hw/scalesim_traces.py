"""SCALE-Sim 3.0.0's per-layer trace CSVs, written in bounded chunks.

SCALE-Sim (``save_disk_space=False``) writes six files per layer into
``<run folder>/layer<i>/``:

* ``IFMAP_SRAM_TRACE.csv``, ``FILTER_SRAM_TRACE.csv``, ``OFMAP_SRAM_TRACE.csv``: one row
  per demand-matrix row (per cycle), ``cycle,addr,addr,...`` with one address column per
  PE edge (ifmap: A_r columns in ws/os, A_c in is; filter: A_c in ws/os, A_r in is;
  ofmap: A_c) and ``-1`` where that edge requests nothing. ``np.savetxt(fmt='%i')``:
  plain integers, ``,`` between fields, ``\\n`` after each row, no header. The cycle
  column is the request cycle + 1 (the read hit latency) for ifmap and filter, and the
  cycle the row's writes complete for ofmap (both include any ofmap stalls).
* ``IFMAP_DRAM_TRACE.csv``, ``FILTER_DRAM_TRACE.csv``: the prefetches of CALC mode's
  set-based estimator (``systolic_memory.ReadEstimator``). Each epoch's 50 sets of
  addresses are written when the epoch ends, each set in Python's ``list(set)`` order,
  ``bw`` addresses per row (10 for the first prefetch, then just enough to spread the
  epoch over the previous epoch's cycles), ``-1`` padding the last row. SCALE-Sim prints
  this float matrix with ``fmt='%s'``, so every number ends in ``.0``; rows narrower than
  the widest prefetch are padded with ``1.0`` (its ``np.ones``), not ``-1.0``.
* ``OFMAP_DRAM_TRACE.csv``: the write buffer's drains, one row per line of A_c outputs
  (in write order, ``-1.0`` after a partial line) at the cycle it is drained; ``%s``
  floats as above.

Everything is generated from the fold plan without building a demand matrix: SRAM rows a
chunk of about ``TRACE_CHUNK`` addresses at a time, DRAM rows an epoch (bounded by the SRAM
size) or a drain batch at a time. Numbers are formatted with vectorised digit arithmetic
(``_csv``), byte-identical to numpy's ``%i`` / ``%s`` for integers below 10^16.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from hwnn.errors import ConfigError, DataError
from hwnn.hw.systolic import ArrayConfig, LayerSpec
from hwnn.hw.systolic_folds import (
    FoldPlan,
    Operands,
    _addresses,
    _fold_blocks,
    fold_table,
    repeat_free,
    stream,
)
from hwnn.hw.systolic_memory import (
    PREFETCH_BW,
    SETS_ACTIVE,
    ReadEstimator,
    WriteBuffer,
)

SRAM_TRACES = {"ifmap": "IFMAP_SRAM_TRACE.csv", "filter": "FILTER_SRAM_TRACE.csv",
               "ofmap": "OFMAP_SRAM_TRACE.csv"}
DRAM_TRACES = {"ifmap": "IFMAP_DRAM_TRACE.csv", "filter": "FILTER_DRAM_TRACE.csv",
               "ofmap": "OFMAP_DRAM_TRACE.csv"}
TRACE_FILES = tuple(SRAM_TRACES.values()) + tuple(DRAM_TRACES.values())
# Addresses generated at once (a quarter of the model's chunk: every one costs about
# 100 bytes of temporaries between generation and text, and the text is the slow part)
TRACE_CHUNK = 1 << 16
FORMAT_ELEMS = 1 << 16  # numbers formatted at once
_FLOAT_EXACT = 10 ** 16  # numpy's '%s' switches to exponent notation from here on


# ---- text --------------------------------------------------------------------------------


def _word(b: bytes) -> np.uint32:
    return np.frombuffer(b, dtype=np.uint32)[0]


# 4-character groups as uint32 words: zero-padded ("0042") and blank-padded ("  42")
_PAD4 = np.frombuffer(b"".join(b"%04d" % i for i in range(10000)), dtype=np.uint32)
_LEAD4 = np.frombuffer(b"".join(b"%4d" % i for i in range(10000)), dtype=np.uint32)
_BLANK, _MINUS = _word(b"    "), _word(b"   -")


def _csv(mat: np.ndarray, floats: bool = False) -> bytes:
    """Integer rows as numpy's ``savetxt(delimiter=',')`` prints them.

    ``floats=False`` is ``fmt='%i'``; ``floats=True`` is ``fmt='%s'`` of a float matrix
    holding integers (``-1.0``). Each number fills a fixed-width, blank-padded field of
    4-byte words (sign, digit groups looked up 4 at a time, suffix and separator); squeezing
    out the blanks leaves the text, with no Python call per number.
    """
    rows, cols = mat.shape
    if mat.size == 0:
        return b""
    step = max(1, FORMAT_ELEMS // cols)
    if rows > step:  # about 90 bytes of temporaries per number: format a slice at a time
        return b"".join(_csv(mat[i:i + step], floats) for i in range(0, rows, step))
    v = np.ascontiguousarray(mat, dtype=np.int64).ravel()
    a = np.abs(v)
    top = int(a.max())
    if floats and top >= _FLOAT_EXACT:
        return "".join(",".join(repr(float(x)) for x in r) + "\n"
                       for r in mat.tolist()).encode()
    groups = (len(str(top)) + 3) // 4
    lead = np.zeros(v.size, dtype=np.int8)  # index of each number's leading group
    for j in range(1, groups):
        lead += a >= 10 ** (4 * j)
    grid = np.empty((v.size, groups + 2), dtype=np.uint32)
    grid[:, 0] = np.where(v < 0, _MINUS, _BLANK)
    q = a
    for j in range(groups):
        q, g = np.divmod(q, 10000)
        lower = np.where(lead == j, _LEAD4[g], _BLANK) if j else _LEAD4[g]
        grid[:, groups - j] = np.where(lead > j, _PAD4[g], lower)
    end = b".0" if floats else b""
    per_row = grid.reshape(rows, cols, groups + 2)
    per_row[:, :, -1] = _word((end + b",").ljust(4))
    per_row[:, -1, -1] = _word((end + b"\n").ljust(4))
    flat = grid.view(np.uint8).ravel()
    return flat[flat != 32].tobytes()


# ---- cycles ------------------------------------------------------------------------------


class _Clock:
    """Demand row -> cycle, with the ofmap stalls of SCALE-Sim's memory loop (usually none)."""

    def __init__(self, wb: WriteBuffer) -> None:
        self.rows = np.asarray(wb.stall_rows, dtype=np.int64)
        self.cum = np.concatenate([[0], np.asarray(wb.stall_cum, dtype=np.int64)])

    def issued(self, rows: np.ndarray) -> np.ndarray:
        """Cycle a row's requests are issued (stalls of earlier rows)."""
        return rows + self.cum[np.searchsorted(self.rows, rows, side="left")]

    def serviced(self, rows: np.ndarray) -> np.ndarray:
        """Cycle a row's writes complete (its own stalls too)."""
        return rows + self.cum[np.searchsorted(self.rows, rows, side="right")]


# ---- SRAM traces -------------------------------------------------------------------------


def dense_demand(plan: FoldPlan, ops: Operands, which: str, chunk_elems: int = TRACE_CHUNK
                 ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """SCALE-Sim's demand matrix of one buffer, ``(global rows, rows x width block)`` at a time.

    A skewed block puts base element (u, col) in fold row u + col; a position outside the
    fold's valid region (or a window position outside the input) holds -1.
    """
    blk = _fold_blocks(plan)[which]
    fr, fc, lo, n, w = fold_table(plan, which)
    width, L = blk.width, plan.fold_cycles
    col = np.arange(width, dtype=np.int64)
    step = max(1, chunk_elems // width)
    for g0 in range(0, plan.total_rows, step):
        g = np.arange(g0, min(g0 + step, plan.total_rows), dtype=np.int64)
        f, r = np.divmod(g, L)
        u = r[:, None] - col if blk.skew else np.broadcast_to(r[:, None], (g.size, width))
        ok = (u >= lo[f, None]) & (u < (lo + n)[f, None]) & (col < w[f, None])
        ri, ci = np.nonzero(ok)
        out = np.full((g.size, width), -1, dtype=np.int64)
        out[ri, ci] = _addresses(plan, ops, which, fr[f[ri]], fc[f[ri]], u[ri, ci], ci)
        yield g, out


def _write_sram(fh: BinaryIO, plan: FoldPlan, ops: Operands, which: str, clock: _Clock) -> None:
    for g, block in dense_demand(plan, ops, which):
        cyc = clock.serviced(g) if which == "ofmap" else clock.issued(g) + 1
        fh.write(_csv(np.column_stack([cyc, block])))


# ---- the ofmap DRAM trace (write buffer drains) ------------------------------------------


class _Fifo:
    """Addresses written but not yet drained (bounded by the ofmap SRAM size)."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def push(self, a: np.ndarray) -> None:
        self.parts.append(a)

    def take(self, k: int) -> np.ndarray:
        if not self.parts:
            return np.empty(0, dtype=np.int64)
        buf = np.concatenate(self.parts) if len(self.parts) > 1 else self.parts[0]
        self.parts = [buf[k:]] if buf.size > k else []
        return buf[:k]


class _TracedWriteBuffer(WriteBuffer):
    """hwnn's write buffer, also remembering each drain: (first line, end line, start cycle)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.drains: list[tuple[int, int, int]] = []

    def _drain(self, start: int) -> int:
        first = self.drain_start_line
        stop = super()._drain(start)
        if self.drain_start_line > first:
            self.drains.append((first, self.drain_start_line, start))
        return stop


def _row_counts(grow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted global rows -> (distinct rows, requests in each)."""
    edge = np.flatnonzero(np.diff(grow)) + 1
    starts = np.concatenate([[0], edge])
    return grow[starts], np.diff(np.concatenate([starts, [grow.size]]))


def _emit_drains(fh: BinaryIO, wb: _TracedWriteBuffer, fifo: _Fifo) -> None:
    """Writes the lines of every drain recorded so far: one row per line at its drain cycle."""
    if not wb.drains:
        return
    firsts, ends, starts = (np.asarray(x, dtype=np.int64) for x in zip(*wb.drains, strict=True))
    wb.drains.clear()
    nl = ends - firsts
    lines = np.arange(int(firsts[0]), int(ends[-1]), dtype=np.int64)
    cycles = np.repeat(starts - firsts, nl) + lines
    c = wb.line_width
    fill = np.full(lines.size, c, dtype=np.int64)
    for i in [k for k in wb.partial if k < ends[-1]]:
        fill[i - lines[0]] = wb.partial.pop(i)  # a line closed early by a drain
    words = fifo.take(int(fill.sum()))
    block = np.full((lines.size, c), -1, dtype=np.int64)
    owner = np.repeat(np.arange(lines.size), fill)
    pos = np.arange(words.size) - np.repeat(np.cumsum(fill) - fill, fill)
    block[owner, pos] = words
    fh.write(_csv(np.column_stack([cycles, block]), floats=True))


def _write_ofmap_dram(fh: BinaryIO, plan: FoldPlan, ops: Operands, cfg: ArrayConfig
                      ) -> WriteBuffer:
    """Runs the write buffer over the ofmap stream, writing drains as they happen."""
    wb = _TracedWriteBuffer(cfg.ofmap_sram_kb * 1024, plan.cols)
    fifo = _Fifo()
    for grow, addr in stream(plan, ops, "ofmap", TRACE_CHUNK):
        fifo.push(addr)
        wb.feed(*_row_counts(grow))
        _emit_drains(fh, wb, fifo)
    wb.finish(plan.total_rows - 1)
    _emit_drains(fh, wb, fifo)
    return wb


# ---- the ifmap / filter DRAM traces (prefetch estimator) ---------------------------------


def _estimate(plan: FoldPlan, ops: Operands, which: str, size_bytes: int) -> ReadEstimator:
    """Epoch-end rows, first row and last epoch's count, as ``calc_memory`` finds them.

    The closed forms are used where they hold; otherwise one pass of ``_Epochs`` (a chunk
    plus one epoch of memory) instead of ``calc_memory``'s faster repeat-block arithmetic,
    which holds a block of up to 2^19 requests at once.
    """
    rd = ReadEstimator(size_bytes, which)
    if ops.distinct(which) < rd.epoch_elems:
        rd.first_row = int(next(stream(plan, ops, which, TRACE_CHUNK, folds=(0, 1)))[0][0])
        rd.count = ops.distinct(which)
    elif repeat_free(plan, ops, which):
        for rows, counts in stream(plan, ops, which, TRACE_CHUNK, counts_only=True):
            rd.feed_unique(rows, counts)
    else:
        epochs = _Epochs(rd.epoch_elems)
        for rows, addrs in stream(plan, ops, which, TRACE_CHUNK):
            rd.first_row = int(rows[0]) if rd.first_row is None else rd.first_row
            for new, end in epochs.split(rows, addrs):
                if end is None:
                    rd.count += new.size
                else:
                    rd.epoch_end_rows.append(end)
                    rd.count = 0
    return rd


class _Prefetches:
    """SCALE-Sim's prefetch windows: where each epoch's trace rows go and how wide they are.

    Epoch 0 is fetched before the layer: ceil(E / 10) rows of 10, the last one in the cycle
    before the first request (the trace shows request cycle + the DRAM latency of 1). Every
    later epoch, and
    the last partial one, is spread over the cycles between the two previous epoch ends,
    just wide enough (ceil(words / rows)); a partial last set counts as a full one. With no
    epoch ended at all, the words are fetched in rows of 10 ending at cycle -1.
    """

    def __init__(self, n: int, first_cycle: int) -> None:
        self.n, self.E, self.first = n, SETS_ACTIVE * n, first_cycle
        self.last: tuple[int, int] | None = None  # request window of the latest prefetch

    def window(self, words: int, final: bool) -> tuple[int, int, int]:
        """(cycle of the first row, rows, words per row) of the next prefetch."""
        padded = -(-words // self.n) * self.n
        if self.last is None:
            end = -2 if final else self.first - 2
            rows = math.ceil(padded / PREFETCH_BW)
            return end - rows + 2, rows, PREFETCH_BW
        start, end = self.last
        rows = end - start + 1
        if rows <= 0:
            raise ConfigError(
                "two prefetch epochs end in the same cycle (one demand row brings more new "
                "addresses than half the SRAM holds); SCALE-Sim 3.0.0 divides by zero here: "
                "use a larger SRAM or a narrower array")
        return start + 1, rows, -(-padded // rows)

    def epoch_end(self, cycle: int) -> None:
        prev = self.first - 2 if self.last is None else self.last[1]
        self.last = (prev + 1, cycle)


def _bandwidths(rd: ReadEstimator, clock: _Clock) -> list[int]:
    """Words per row of every prefetch the trace will hold (to know the file's width)."""
    sched = _Prefetches(rd.n, int(clock.issued(np.array([rd.first_row]))[0]))
    bws = []
    for row in rd.epoch_end_rows:
        bws.append(sched.window(sched.E, False)[2])
        sched.epoch_end(int(clock.issued(np.array([row]))[0]))
    bws.append(sched.window(rd.count, True)[2])
    return bws


def _set_order(words: np.ndarray, n: int) -> None:
    """Puts each set of n words in ``list(set)`` order, in place, as SCALE-Sim lists it.

    A set's iteration order depends only on the hashes and the insertion order; integral
    floats hash like the equal int, so a set of Python ints built in the same order lists
    identically. One set at a time is held as Python objects.
    """
    for i in range(0, words.size, n):
        part = words[i:i + n]
        part[:] = np.fromiter(set(part.tolist()), dtype=np.int64, count=part.size)


def _write_prefetch(fh: BinaryIO, words: np.ndarray, n: int, window: tuple[int, int, int],
                    width: int) -> None:
    """One prefetch as trace rows: cycle, ``bw`` words (-1 padded), ``1.0`` up to ``width``."""
    c0, rows, bw = window
    if bw + 1 > width:
        raise RuntimeError("prefetch wider than estimated; the two estimator passes disagree")
    _set_order(words, n)
    step = max(1, TRACE_CHUNK // width)
    for r0 in range(0, rows, step):
        nr = min(step, rows - r0)
        out = np.ones((nr, width), dtype=np.int64)
        out[:, 0] = c0 + r0 + np.arange(nr)
        flat = np.full(nr * bw, -1, dtype=np.int64)
        part = words[r0 * bw:(r0 + nr) * bw]
        flat[:part.size] = part
        out[:, 1:1 + bw] = flat.reshape(nr, bw)
        fh.write(_csv(out, floats=True))


class _Epochs:
    """First requests of each address within an estimator epoch, in request order."""

    def __init__(self, epoch_elems: int) -> None:
        self.E = epoch_elems
        self.seen = np.empty(0, dtype=np.int64)

    def split(self, rows: np.ndarray, addrs: np.ndarray
              ) -> Iterator[tuple[np.ndarray, int | None]]:
        """Yields (new addresses, epoch-end row or None while the epoch goes on)."""
        span, pos = max(2 * self.E, 4096), 0
        while pos < addrs.size:
            x = addrs[pos:pos + span]
            fresh = np.arange(x.size)
            if self.seen.size:
                i = np.minimum(np.searchsorted(self.seen, x), self.seen.size - 1)
                fresh = np.flatnonzero(self.seen[i] != x)
            vals, first = np.unique(x[fresh], return_index=True)
            new = fresh[np.sort(first)]
            need = self.E - self.seen.size
            if new.size < need:
                self.seen = np.sort(np.concatenate([self.seen, vals]))
                pos += x.size
                yield x[new], None
            else:
                self.seen = np.empty(0, dtype=np.int64)
                yield x[new[:need]], int(rows[pos + new[need - 1]])
                pos += int(new[need - 1]) + 1


def _write_read_dram(fh: BinaryIO, plan: FoldPlan, ops: Operands, which: str,
                     size_bytes: int, clock: _Clock) -> None:
    """Replays the estimator over the request stream, writing each epoch when it ends."""
    rd = _estimate(plan, ops, which, size_bytes)
    if rd.first_row is None:
        raise ConfigError(f"layer has no valid {which} request; check its sizes")
    width = 1 + max(_bandwidths(rd, clock))
    sched = _Prefetches(rd.n, int(clock.issued(np.array([rd.first_row]))[0]))
    epochs = _Epochs(sched.E)
    held: list[np.ndarray] = []
    for rows, addrs in stream(plan, ops, which, TRACE_CHUNK):
        for new, end in epochs.split(rows, addrs):
            held.append(new)
            if end is None:
                continue
            words = np.concatenate(held)
            held = []
            win = sched.window(words.size, False)
            _write_prefetch(fh, words, rd.n, win, width)
            sched.epoch_end(int(clock.issued(np.array([end]))[0]))
    words = np.concatenate(held) if held else np.empty(0, dtype=np.int64)
    win = sched.window(words.size, True)
    _write_prefetch(fh, words, rd.n, win, width)


# ---- entry points ------------------------------------------------------------------------


def check_traceable(specs: list[LayerSpec], cfg: ArrayConfig) -> None:
    """ConfigError unless traces can be written for these layers (before any work is done)."""
    if cfg.bandwidth_mode != "CALC":
        raise ConfigError("traces are written for CALC bandwidth mode only (SCALE-Sim's USER "
                          "mode traces come from a different memory model); set "
                          "InterfaceBandwidth: CALC")
    for spec in specs:
        if spec.groups != 1:
            raise ConfigError(f"layer {spec.name!r} has {spec.groups} groups; traces cover "
                              "one GEMM per layer (SCALE-Sim's depthwise rows are separate "
                              "layers)")


def write_traces(spec: LayerSpec, cfg: ArrayConfig, outdir: str | Path, layer_id: int = 0
                 ) -> list[Path]:
    """SCALE-Sim's six trace CSVs of one layer in ``outdir/layer<layer_id>/``; their paths.

    Byte-identical to SCALE-Sim 3.0.0 in CALC mode (see the module docstring for the format).
    """
    check_traceable([spec], cfg)
    g = spec.geom
    plan = FoldPlan(cfg.dataflow, cfg.rows, cfg.cols, g.m, g.k, g.n)
    ops = Operands(g, cfg.offsets)
    folder = Path(outdir) / f"layer{layer_id}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create trace folder {folder}: {e.strerror}") from None
    try:
        _write_layer(folder, plan, ops, cfg)
    except OSError as e:
        raise DataError(f"cannot write traces in {folder}: {e.strerror}") from None
    return [folder / f for f in TRACE_FILES]


def _write_layer(folder: Path, plan: FoldPlan, ops: Operands, cfg: ArrayConfig) -> None:
    # the write buffer runs first: its stalls (if any) shift every later row's cycle
    with open(folder / DRAM_TRACES["ofmap"], "wb") as fh:
        clock = _Clock(_write_ofmap_dram(fh, plan, ops, cfg))
    for which, name in SRAM_TRACES.items():
        with open(folder / name, "wb") as fh:
            _write_sram(fh, plan, ops, which, clock)
    for which, kb in (("ifmap", cfg.ifmap_sram_kb), ("filter", cfg.filter_sram_kb)):
        with open(folder / DRAM_TRACES[which], "wb") as fh:
            _write_read_dram(fh, plan, ops, which, kb * 1024, clock)


def write_all_traces(specs: list[LayerSpec], cfg: ArrayConfig, outdir: str | Path
                     ) -> list[Path]:
    """Every layer's traces, ``outdir/layer0/`` ... as SCALE-Sim lays them out next to its
    reports (``<top path>/<run name>/layer<i>/``)."""
    paths: list[Path] = []
    for i, spec in enumerate(specs):
        paths += write_traces(spec, cfg, outdir, i)
    return paths
