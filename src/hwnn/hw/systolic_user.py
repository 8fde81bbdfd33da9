"""USER bandwidth mode: double-buffered SRAMs behind one DRAM channel of finite bandwidth.

hwnn's own model (not a replay of SCALE-Sim's USER mode). Per fold the array needs one
ifmap tile and one filter tile and produces one ofmap tile:

| dataflow | ifmap tile | filter tile | outputs final after |
|---|---|---|---|
| ws | K slice x all M | K slice x N slice | the last K fold of a column fold |
| os | M slice x all K | all K x N slice | every fold |
| is | K slice x M slice | K slice x all N | the last K fold of a column fold |

Rules (each the simplest physical one):

* An operand whose distinct words fit in half its SRAM is fetched once and stays: each
  tile, at its first use, loads exactly its addresses not yet on chip, so the operand's
  DRAM reads total its distinct words and each fold waits only for what it adds
  (a convolution's im2col tiles overlap; their addresses are counted against a mask of
  the input). Otherwise a tile is fetched whenever it differs from the previous fold's
  tile, its words its im2col entries capped at the operand's distinct words (an upper
  bound for overlapping convolution windows).
* Double buffering: the tile for fold i+1 loads while fold i computes (into the other
  half); outputs of fold i drain to DRAM after fold i ends, overlapped with fold i+1.
* One DRAM channel moves ``dram_bw_words`` words per cycle, requests served in order
  (next fold's loads are requested before the previous fold's write-back).
* A fold starts when the previous fold has ended and its tiles are loaded: any wait is a
  stall. The layer ends when the last outputs reach DRAM.

How this differs from SCALE-Sim 3.0.0's USER mode: SCALE-Sim replays every demand row
through read buffers with request queues and adds, per row, the largest of the ifmap,
filter and ofmap stall to the running total while each buffer keeps its own clock, so a
stall seen by two buffers on consecutive rows can be charged twice; its totals therefore
exceed a single-channel timeline's. hwnn charges each waiting cycle once.
"""

from __future__ import annotations

import math

import numpy as np

from hwnn.hw.systolic_folds import FoldPlan, Operands
from hwnn.hw.systolic_memory import MemoryReport


def _tile_keys(plan: FoldPlan, fr: int, fc: int) -> dict[str, tuple]:
    df = plan.dataflow
    if df == "ws":
        return {"ifmap": (fr,), "filter": (fr, fc)}
    if df == "os":
        return {"ifmap": (fr,), "filter": (fc,)}
    return {"ifmap": (fr, fc), "filter": (fr,)}


def _tile_words(plan: FoldPlan, ops: Operands, which: str, fr: int, fc: int) -> int:
    ru, cu = plan.used(fr, fc)
    df = plan.dataflow
    if which == "ifmap":
        words = {"ws": plan.m * ru, "os": ru * plan.k, "is": ru * cu}[df]
    else:
        words = {"ws": ru * cu, "os": plan.k * cu, "is": ru * plan.n}[df]
    return min(words, ops.distinct(which))


def _tile_ifmap_index(plan: FoldPlan, fr: int, fc: int) -> tuple[np.ndarray, np.ndarray]:
    """The im2col rows (m) and columns (k) of one fold's ifmap tile."""
    ru, cu = plan.used(fr, fc)
    r, c = plan.rows, plan.cols
    if plan.dataflow == "ws":
        return np.arange(plan.m), np.arange(fr * r, fr * r + ru)
    if plan.dataflow == "os":
        return np.arange(fr * r, fr * r + ru), np.arange(plan.k)
    return np.arange(fc * c, fc * c + cu), np.arange(fr * r, fr * r + ru)


def _new_ifmap_words(plan: FoldPlan, ops: Operands, fr: int, fc: int,
                     seen: np.ndarray) -> int:
    """Addresses of a fold's ifmap tile not yet on chip; marks them as on chip."""
    ms, ks = _tile_ifmap_index(plan, fr, fc)
    addr = ops.ifmap(ms[:, None], ks[None, :]).ravel()
    addr = addr[addr >= 0] - ops.if_off
    new = np.unique(addr[~seen[addr]])
    seen[new] = True
    return int(new.size)


def _outputs_after(plan: FoldPlan, fr: int, fc: int) -> int:
    ru, cu = plan.used(fr, fc)
    if plan.dataflow == "os":
        return ru * cu
    if fr != plan.row_folds - 1:
        return 0  # partial sums stay in the accumulators
    return cu * (plan.m if plan.dataflow == "ws" else plan.n)


def user_memory(plan: FoldPlan, ops: Operands, cfg) -> MemoryReport:
    """Runs the fold timeline; returns the same fields as the CALC model."""
    bw = float(cfg.dram_bw_words)
    halves = {"ifmap": cfg.ifmap_sram_kb * 1024 // 2, "filter": cfg.filter_sram_kb * 1024 // 2}
    resident = {k: ops.distinct(k) <= halves[k] for k in halves}
    loaded_once: dict[str, set] = {"ifmap": set(), "filter": set()}
    # im2col tiles of a convolution overlap: count a resident ifmap's words exactly
    seen = (np.zeros(ops.g.ifmap_elems, dtype=bool)
            if resident["ifmap"] and not ops.im2col_unique else None)
    last_key: dict[str, tuple | None] = {"ifmap": None, "filter": None}
    folds = list(plan.fold_order())
    L = plan.fold_cycles
    dram = {"ifmap": 0, "filter": 0, "ofmap": 0}
    window: dict[str, list[float]] = {"ifmap": [], "filter": [], "ofmap": []}
    t_dram = 0.0

    def transfer(name: str, words: int, at: float) -> float:
        nonlocal t_dram
        if words <= 0:
            return at
        start = max(t_dram, at)
        t_dram = start + words / bw
        dram[name] += words
        window[name] += [start, t_dram]
        return t_dram

    def load(i: int, at: float) -> float:
        _, fr, fc = folds[i]
        ready = at
        for name, key in _tile_keys(plan, fr, fc).items():
            if resident[name]:
                if key in loaded_once[name]:
                    continue
                loaded_once[name].add(key)
            elif key == last_key[name]:
                continue
            last_key[name] = key
            # Tiles of different keys hold different words, except a convolution's
            # overlapping im2col tiles, whose resident ifmap counts only what is new.
            words = (_new_ifmap_words(plan, ops, fr, fc, seen)
                     if name == "ifmap" and seen is not None
                     else _tile_words(plan, ops, name, fr, fc))
            ready = max(ready, transfer(name, words, at))
        return ready

    ready = load(0, 0.0)
    end_prev = 0.0
    first_start = None
    for i, fr, fc in folds:
        start = max(end_prev, ready)
        if first_start is None:
            first_start = start
        end = start + L
        if i + 1 < len(folds):
            ready = load(i + 1, start)
        transfer("ofmap", _outputs_after(plan, fr, fc), end)
        end_prev = end
    finish = max(end_prev, t_dram)
    total = math.ceil(finish)
    stall = total - plan.total_rows
    sram = {k: (float(first_start), float(end_prev - 1)) for k in ("ifmap", "filter", "ofmap")}
    dwin = {k: (math.floor(min(v)) if v else 0.0, math.ceil(max(v)) - 1.0 if v else 0.0)
            for k, v in window.items()}
    dwin = {k: (float(a), float(b)) for k, (a, b) in dwin.items()}
    return MemoryReport(total_cycles=total - 1, stall_cycles=int(stall), sram_start_stop=sram,
                        dram_start_stop=dwin, dram_accesses=dram)
