"""SCALE-Sim 3.0.0's CALC-mode memory system, reproduced event by event (not cycle by cycle).

SCALE-Sim walks every cycle of the demand matrices in Python. Its CALC ("estimate
bandwidth") memories are simple enough to jump from event to event instead:

* **Read buffers (ifmap, filter)** never stall. The estimator groups distinct addresses in
  sets of n = floor(SRAM bytes / 100); 50 sets form the active half. An address is new when
  it is not among the addresses seen since the last half turned over; when the
  E = 50 n-th new address arrives (an *epoch* ends), the half is prefetched from DRAM and
  forgotten. DRAM reads = every new address; the DRAM trace starts ceil(E / 10) cycles
  before the first request (10 words/cycle) and stops one cycle after the last epoch end
  (or at -1 if no epoch ever ended). ``ReadEstimator`` finds epoch ends with vectorised
  first-occurrence scans over the request stream.
* **Write buffer (ofmap)** keeps outputs in lines of A_c words. When more than the drain
  half is used and no drain is running, it closes the current (maybe partial) line and
  drains ceil(D / A_c) lines, one per cycle; a drain counts a partial line as full unless
  it is the last one drained (a SCALE-Sim quirk that can over-count DRAM writes). A write
  that finds the buffer full while a drain runs stalls the array until the drain ends.
  ``WriteBuffer`` jumps between these events.

Reference: SCALE-Sim 3.0.0 ``memory/read_buffer_estimate_bw.py``, ``memory/write_buffer.py``
and ``memory/double_buffered_scratchpad_mem.py`` (Samajdar et al., ISPASS 2020).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hwnn.errors import ConfigError
from hwnn.hw.systolic_folds import CHUNK_ELEMS, FoldPlan, Operands, repeat_free, stream

PREFETCH_BW = 10  # words/cycle SCALE-Sim assumes for read prefetches in CALC mode
SETS_ACTIVE = 50  # int(active_buf_frac * 100) with active_buf_frac = 0.5
STAMP_MIN_EPOCH = 1 << 18  # epochs of this many addresses and more use _Stamps


class _Stamps:
    """Which addresses of an operand's range the current epoch has seen, one int64 per
    address: generation << 32 | (2^32 - 1 - position of its first request in the chunk).
    A new epoch is one increment of ``generation``, and one ``np.maximum.at`` both marks a
    chunk's new addresses and keeps each one's earliest position (no sorting)."""

    _LOW = (1 << 32) - 1

    def __init__(self, base: int, size: int) -> None:
        self.base = base
        self.key = np.zeros(size, dtype=np.int64)
        self.generation = 1  # every key (0) is older: nothing seen yet

    def new_values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rel = x - self.base
        gen = np.int64(self.generation) << 32
        cand = np.flatnonzero(self.key[rel] < gen)  # not requested in this generation
        v = rel[cand]
        np.maximum.at(self.key, v, gen | (self._LOW - cand))
        first = self.key[v] == (gen | (self._LOW - cand))
        return v[first] + self.base, cand[first]


class ReadEstimator:
    """The set-based prefetch estimator of one read SRAM (ifmap or filter).

    The addresses of the current epoch are either one sorted array (at most E of them) or,
    for large epochs when the operand's address range ``span = (base, size)`` is known and
    at most 4 E long, a stamp per address (``_Stamps``; 1.8x faster on GPT-2 is). Memory
    is bounded by the SRAM size either way, not by the layer's cycles.
    """

    def __init__(self, size_bytes: int, name: str,
                 span: tuple[int, int] | None = None) -> None:
        self.n = size_bytes // 100
        if self.n <= 0:
            raise ConfigError(
                f"{name} SRAM of {size_bytes} bytes is under 100 bytes: SCALE-Sim's estimator "
                "needs at least 1 word per set; use a larger SRAM")
        self.epoch_elems = SETS_ACTIVE * self.n
        big = self.epoch_elems >= STAMP_MIN_EPOCH  # small epochs sort faster than they stamp
        fits = span is not None and 0 < span[1] <= 4 * self.epoch_elems
        self._span = span if big and fits else None
        self._stamps: _Stamps | None = None  # made on first use: closed forms never need it
        self._new_epoch()  # forget the current epoch's addresses
        self.count = 0
        self.elems = 0  # requests fed so far
        self.epoch_start = 0  # index of the request that opened the current epoch
        self.epoch_end_rows: list[int] = []
        self.first_row: int | None = None
        self.last_row: int | None = None

    def _new_values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values of x not seen in the current epoch, the position of each one's first
        occurrence in x). Sorted path: one stable sort of x serves both, a value's first
        entry in sorted order being its earliest position, and looking up sorted values in
        the sorted epoch walks memory in order."""
        if self._span is not None:
            if self._stamps is None:
                self._stamps = _Stamps(*self._span)
            return self._stamps.new_values(x)
        order = np.argsort(x, kind="stable")
        xs = x[order]
        first = np.ones(xs.size, dtype=bool)
        first[1:] = xs[1:] != xs[:-1]
        if self.seen.size:
            i = np.minimum(np.searchsorted(self.seen, xs), self.seen.size - 1)
            first &= self.seen[i] != xs
        return xs[first], order[first]

    def _remember(self, vals: np.ndarray) -> None:
        """Adds new addresses (the stamps already hold them). Sorted path: a stable sort
        of two sorted runs is one linear merge (timsort); re-sorting up to E addresses per
        chunk had dominated."""
        if self._stamps is None:
            self.seen = np.sort(np.concatenate([self.seen, vals]), kind="stable")

    def _new_epoch(self) -> None:
        self.seen = np.empty(0, dtype=np.int64)
        if self._stamps is not None:
            self._stamps.generation += 1

    def feed(self, rows: np.ndarray, addrs: np.ndarray) -> None:
        if rows.size == 0:
            return
        if self.first_row is None:
            self.first_row = int(rows[0])
        self.last_row = int(rows[-1])
        E = self.epoch_elems
        span = max(2 * E, 4096)
        pos, n = 0, addrs.size
        while pos < n:
            end = min(n, pos + span)
            vals, at = self._new_values(addrs[pos:end])
            need = E - self.count
            if vals.size < need:
                self._remember(vals)
                self.count += vals.size
                pos = end
            else:
                cut = int(np.partition(at, need - 1)[need - 1])  # the need-th new address
                self.epoch_end_rows.append(int(rows[pos + cut]))
                self._new_epoch()
                self.count = 0
                self.epoch_start = self.elems + pos + cut + 1
                pos += cut + 1
        self.elems += n

    def forget(self) -> None:
        """The next requests share no address with the current epoch's (a fresh tile)."""
        self._new_epoch()

    def feed_repeat(self, rows: np.ndarray, prev: np.ndarray) -> None:
        """A block whose request j last occurred at global request index ``prev[j]``.

        A request is new exactly when its previous occurrence lies before the current
        epoch's first request; no address sets are needed.
        """
        if rows.size == 0:
            return
        self.last_row = int(rows[-1])
        E = self.epoch_elems
        pos, n = 0, rows.size
        while pos < n:
            new = np.flatnonzero(prev[pos:] < self.epoch_start)
            need = E - self.count
            if new.size < need:
                self.count += new.size
                break
            cut = pos + int(new[need - 1])
            self.epoch_end_rows.append(int(rows[cut]))
            self.count = 0
            self.epoch_start = self.elems + cut + 1
            pos = cut + 1
        self.elems += n
        self._new_epoch()  # the set view is stale after a repeat

    def feed_repeat_unique(self, rows: np.ndarray, counts: np.ndarray, period: int) -> None:
        """Requests that repeat, in order, the ``period`` requests before them, no address
        twice in a period: request i last occurred at i - period, so it is new exactly
        when i < epoch_start + period, a prefix of what is left, and after an epoch ends
        everything is new. Rows and counts only: no addresses, no block held in memory
        (``feed_repeat`` with ``prev = i - period``)."""
        if rows.size == 0:
            return
        self.last_row = int(rows[-1])
        cum = np.cumsum(counts)
        a, b = self.elems, self.elems + int(cum[-1])  # global request indices [a, b)
        E = self.epoch_elems
        while a < b:
            fresh = max(0, min(b, self.epoch_start + period) - a)
            need = E - self.count
            if fresh < need:
                self.count += fresh
                break
            end = a + need - 1  # the request that fills the epoch
            self.epoch_end_rows.append(int(rows[np.searchsorted(cum, end - self.elems,
                                                                side="right")]))
            self.count = 0
            self.epoch_start = end + 1
            a = end + 1
        self.elems = b
        self._new_epoch()  # the set view is stale after a repeat

    def feed_unique(self, rows: np.ndarray, counts: np.ndarray) -> None:
        """A stream known to hold no repeated address: every request is new, so an epoch
        ends at every E-th request (rows with ``counts`` requests each)."""
        if rows.size == 0:
            return
        if self.first_row is None:
            self.first_row = int(rows[0])
        self.last_row = int(rows[-1])
        cum = np.cumsum(counts)
        total = int(cum[-1])
        E = self.epoch_elems
        ends = np.arange(E - self.count - 1, total, E)
        if ends.size:
            idx = np.searchsorted(cum, ends, side="right")
            self.epoch_end_rows.extend(int(x) for x in rows[idx])
            self.count = total - int(ends[-1]) - 1
            self.epoch_start = self.elems + int(ends[-1]) + 1
        else:
            self.count += total
        self.elems += total

    @property
    def dram_reads(self) -> int:
        return len(self.epoch_end_rows) * self.epoch_elems + self.count

    def dram_window(self, cycle_of) -> tuple[float, float]:
        """(start, stop) cycles of the DRAM trace, as SCALE-Sim reports them."""
        if self.epoch_end_rows:
            first = cycle_of(self.first_row)
            start = first - math.ceil(self.epoch_elems / PREFETCH_BW)
            return float(start), float(cycle_of(self.epoch_end_rows[-1]) + 1)
        sets = -(-self.count // self.n)
        cycles = math.ceil(sets * self.n / PREFETCH_BW)
        return float(-cycles), -1.0


@dataclass
class WriteBuffer:
    """The double-buffered ofmap SRAM, driven by the stream of write requests."""

    size_elems: int
    line_width: int
    free: int = 0
    line_fill: int = 0
    lines: int = 0
    partial: dict[int, int] = field(default_factory=dict)
    drain_start_line: int = 0
    drain_end: int = 0
    stall: int = 0  # stall cycles of rows before the current one
    row: int = -1  # current row
    row_off: int = 0  # stall cycles added inside the current row
    stall_rows: list[int] = field(default_factory=list)
    stall_cum: list[int] = field(default_factory=list)
    dram_writes: int = 0
    dram_first: float | None = None
    dram_last: float | None = None
    first_row: int | None = None
    last_row: int | None = None

    def __post_init__(self) -> None:
        active = math.ceil(self.size_elems * 0.5)
        self.drain_size = self.size_elems - active
        if self.drain_size <= 0:
            raise ConfigError(
                f"ofmap SRAM of {self.size_elems} words has no drain half; use at least 2 words")
        self.free = self.size_elems
        self.lines_per_drain = -(-self.drain_size // self.line_width)

    # --- helpers -----------------------------------------------------------------------
    def _store(self, k: int) -> None:
        self.free -= k
        self.line_fill += k
        self.lines += self.line_fill // self.line_width
        self.line_fill %= self.line_width

    def _enter_row(self, r: int) -> None:
        if r != self.row:
            self._close_row()
            self.row = r

    def _close_row(self) -> None:
        if self.row_off:
            self.stall += self.row_off
            self.stall_rows.append(self.row)
            self.stall_cum.append(self.stall)
            self.row_off = 0

    def _drain(self, start: int) -> int:
        end = min(self.drain_start_line + self.lines_per_drain, self.lines)
        nl = end - self.drain_start_line
        if nl <= 0:  # SCALE-Sim would index an empty array here; nothing to drain
            return self.drain_end
        last_fill = self.partial.get(end - 1, self.line_width)
        data = nl * self.line_width - (self.line_width - last_fill)
        self.dram_writes += data
        self.free += data
        stop = start + nl - 1
        self.dram_first = start if self.dram_first is None else min(self.dram_first, start)
        self.dram_last = stop if self.dram_last is None else max(self.dram_last, stop)
        self.drain_start_line = end
        return stop

    def _flush(self) -> None:
        if self.line_fill:
            self.partial[self.lines] = self.line_fill
            self.lines += 1
            self.line_fill = 0

    # --- driving -----------------------------------------------------------------------
    def feed(self, rows: np.ndarray, counts: np.ndarray) -> None:
        """Write requests: ``counts[i]`` of them at global demand row ``rows[i]`` (sorted)."""
        if rows.size == 0:
            return
        if self.first_row is None:
            self.first_row = int(rows[0])
        self.last_row = int(rows[-1])
        cum = np.cumsum(counts)
        excl = cum - counts
        n = int(cum[-1])

        def row_of(e: int) -> int:
            return int(rows[np.searchsorted(cum, e, side="right")])

        pos = 0
        trig_free = self.size_elems - self.drain_size
        while pos < n:
            sx = self.stall + self.row_off
            i = int(np.searchsorted(rows, self.drain_end - sx, side="left"))
            jc = max(0, (int(excl[i]) if i < rows.size else n) - pos)
            js = max(0, self.free - 1)
            jt = max(0, self.free - trig_free)
            if js < jc and js < n - pos:  # buffer full while a drain runs: stall
                self._store(js + 1)
                r = row_of(pos + js)
                self._enter_row(r)
                cyc = r + self.stall + self.row_off
                self.row_off += self.drain_end - cyc
                pos += js + 1
                continue
            j = max(jt, jc)
            if j >= n - pos:
                self._store(n - pos)
                self._enter_row(int(rows[-1]))
                return
            self._store(j + 1)
            r = row_of(pos + j)
            self._enter_row(r)
            self._flush()
            self.drain_end = self._drain(r + self.stall + self.row_off)
            pos += j + 1

    def finish(self, last_row: int) -> int:
        """Ends the layer at demand row ``last_row``; drains the rest; returns its cycle."""
        self._enter_row(last_row)
        cycle = last_row + self.stall + self.row_off
        self._close_row()
        self._flush()
        c = cycle
        while self.drain_start_line < self.lines:
            self.drain_end = self._drain(c)
            c = self.drain_end + 1
        return cycle

    def cycle_of(self, row: int) -> int:
        """Cycle at which demand row ``row`` is issued (stalls of earlier rows included)."""
        i = int(np.searchsorted(np.asarray(self.stall_rows), row, side="left"))
        return row + (self.stall_cum[i - 1] if i else 0)

    def serviced_cycle(self, row: int) -> int:
        """Cycle at which row ``row``'s writes complete (its own stalls included)."""
        i = int(np.searchsorted(np.asarray(self.stall_rows), row, side="right"))
        return row + (self.stall_cum[i - 1] if i else 0)


@dataclass(frozen=True)
class MemoryReport:
    """Everything SCALE-Sim's memory system contributes to the three reports."""

    total_cycles: int  # 0-based index of the last cycle (SCALE-Sim's convention)
    stall_cycles: int
    sram_start_stop: dict[str, tuple[float, float]]
    dram_start_stop: dict[str, tuple[float, float]]
    dram_accesses: dict[str, int]


REPEAT_CAP = 1 << 19  # largest repeating block (requests) held in memory at once


def _occurrences(addrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each request of a block: index of the previous request of the same address in
    the block (-1 if none) and index of the last request of that address in the block."""
    n = addrs.size
    order = np.argsort(addrs, kind="stable")
    a = addrs[order]
    same = np.empty(n, dtype=bool)
    same[0] = False
    same[1:] = a[1:] == a[:-1]
    prev_sorted = np.where(same, np.concatenate([[-1], order[:-1]]), -1)
    starts = np.flatnonzero(~same)
    ends = np.concatenate([starts[1:] - 1, [n - 1]])
    last_sorted = order[ends][np.cumsum(~same) - 1]
    prev_in = np.empty(n, dtype=np.int64)
    last_in = np.empty(n, dtype=np.int64)
    prev_in[order] = prev_sorted
    last_in[order] = last_sorted
    return prev_in, last_in


def _feed_repeating(plan: FoldPlan, ops: Operands, which: str, rd: ReadEstimator) -> bool:
    """Streams built of exact repeats, handled with previous-occurrence arithmetic.

    * A tile that depends only on the row fold (ws/os ifmap, is filter) makes every
      column fold group repeat the first group's requests in the same order.
    * The os filter tile depends only on the column fold: each fold repeats the one
      before it, and a new column fold brings disjoint addresses.

    Returns False (nothing fed) when the stream has neither shape or a block is too big.
    """
    df, L = plan.dataflow, plan.fold_cycles
    by_group = (which == "ifmap" and df in ("ws", "os")) or (which == "filter" and df == "is")
    by_fold = which == "filter" and df == "os"
    if by_group and plan.col_folds > 1:
        span = plan.row_folds  # folds per block
        blocks = [(g * span, (g + 1) * span) for g in range(plan.col_folds)]
        repeat = [g > 0 for g in range(plan.col_folds)]
    elif by_fold and plan.row_folds > 1:
        span = 1
        blocks = [(f, f + 1) for f in range(plan.folds)]
        repeat = [fr > 0 for _, fr, _ in plan.fold_order()]
    else:
        return False
    # the first block is the largest base block (later ones use as many or fewer PEs)
    first = sum(int(c.sum()) for _, c in stream(plan, ops, which, folds=blocks[0],
                                                counts_only=True))
    # filter tiles never repeat an address inside a block; ifmap tiles only when the
    # convolution windows do not overlap
    unique = which == "filter" or ops.im2col_unique
    if first > REPEAT_CAP:
        if not (unique and by_group):
            return False
        _feed_unique_groups(plan, ops, which, rd, blocks, first)
        return True
    base = None
    for (f0, f1), rep in zip(blocks, repeat, strict=True):
        if not rep:
            chunks = list(stream(plan, ops, which, folds=(f0, f1)))
            rows = np.concatenate([c[0] for c in chunks])
            addrs = np.concatenate([c[1] for c in chunks])
            if by_fold:
                rd.forget()  # a new column fold: addresses never seen before
            if unique:  # no address twice in a block, none seen before: all new
                rd.feed_unique(rows, np.ones(rows.size, dtype=np.int64))
                prev_in = np.full(rows.size, -1, dtype=np.int64)
                last_in = np.arange(rows.size, dtype=np.int64)
            else:
                rd.feed(rows, addrs)
                prev_in, last_in = _occurrences(addrs)
            base = (rows - f0 * L, prev_in, last_in)
            continue
        rows_rel, prev_in, last_in = base
        P = rows_rel.size
        s = rd.elems
        prev = np.where(prev_in >= 0, s + prev_in, s - P + last_in)
        rd.feed_repeat(rows_rel + f0 * L, prev)
    return True


def _feed_unique_groups(plan: FoldPlan, ops: Operands, which: str, rd: ReadEstimator,
                        blocks: list[tuple[int, int]], period: int) -> None:
    """Column fold groups that each repeat the first, no address twice in a group: the
    first group is all new, every later one a repeat of the one before, all from counts."""
    for g, (f0, f1) in enumerate(blocks):
        for rows, counts in stream(plan, ops, which, folds=(f0, f1), counts_only=True):
            if g == 0:
                rd.feed_unique(rows, counts)
            else:
                rd.feed_repeat_unique(rows, counts, period)


def _last_row(plan: FoldPlan, ops: Operands, which: str) -> int:
    """Demand row of the last valid request (a trailing fold may hold only -1 addresses)."""
    for f in range(plan.folds - 1, -1, -1):
        chunks = list(stream(plan, ops, which, folds=(f, f + 1)))
        if chunks:
            return int(chunks[-1][0][-1])
    raise ConfigError(f"layer has no valid {which} request; check its sizes")


def calc_memory(plan: FoldPlan, ops: Operands, sram_kb: tuple[int, int, int]) -> MemoryReport:
    """Runs the three CALC-mode buffers over every fold of one layer."""
    wb = WriteBuffer(sram_kb[2] * 1024, plan.cols)
    for rows, counts in stream(plan, ops, "ofmap", counts_only=True):
        wb.feed(rows, counts)
    last = wb.finish(plan.total_rows - 1)
    readers = {
        "ifmap": ReadEstimator(sram_kb[0] * 1024, "ifmap", ops.span("ifmap")),
        "filter": ReadEstimator(sram_kb[1] * 1024, "filter", ops.span("filter")),
    }
    for name, rd in readers.items():
        if ops.distinct(name) < rd.epoch_elems:
            # no epoch can end: only the first and last requests and the total matter
            rd.first_row = int(next(stream(plan, ops, name, folds=(0, 1)))[0][0])
            rd.last_row = _last_row(plan, ops, name)
            rd.count = ops.distinct(name)
        elif repeat_free(plan, ops, name):
            for rows, counts in stream(plan, ops, name, counts_only=True):
                rd.feed_unique(rows, counts)
        elif not _feed_repeating(plan, ops, name, rd):
            # chunks of at least an epoch, so that each merge into the epoch's sorted
            # addresses (up to E of them) serves as many requests: memory stays bounded by
            # the SRAM size (E is half its words)
            for rows, addrs in stream(plan, ops, name, max(CHUNK_ELEMS, rd.epoch_elems)):
                rd.feed(rows, addrs)
    sram = {}
    dram = {}
    for name, rd in readers.items():
        if rd.first_row is None:
            raise ConfigError(f"layer has no valid {name} request; check its sizes")
        sram[name] = (float(wb.cycle_of(rd.first_row) + 1), float(wb.cycle_of(rd.last_row) + 1))
        dram[name] = rd.dram_window(wb.cycle_of)
    sram["ofmap"] = (float(wb.serviced_cycle(wb.first_row)),
                     float(wb.serviced_cycle(wb.last_row)))
    dram["ofmap"] = (float(wb.dram_first), float(wb.dram_last))
    return MemoryReport(
        total_cycles=int(last), stall_cycles=int(wb.stall),
        sram_start_stop=sram, dram_start_stop=dram,
        dram_accesses={"ifmap": readers["ifmap"].dram_reads,
                       "filter": readers["filter"].dram_reads, "ofmap": wb.dram_writes},
    )
