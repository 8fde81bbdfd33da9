"""Step mode: real numbers moving through a small systolic array, cycle by cycle.

The deck's picture of the TPU's matrix unit, for all three of SCALE-Sim's dataflows. The
GEMM is Y[M, N] = A[M, K] @ W[K, N]. Each dataflow puts two dimensions on the array
(S_r rows, S_c columns) and runs the third in time (T); the array of A_r x A_c PEs runs
ceil(S_r / A_r) x ceil(S_c / A_c) folds, column folds outermost (``FoldPlan``). Every fold
lasts exactly SCALE-Sim's fold length, so the whole run takes the fast model's cycle count
(``FoldPlan.total_rows``) and the result equals A @ W exactly. Cycles below count from 0
within one fold; (k0, n0) / (k0, m0) / (m0, n0) is the fold's corner.

**ws** (weight stationary, the TPU; S_r = K, S_c = N, T = M), 2 A_r + A_c + T - 2 cycles:

1. *load weights* (cycles 0 .. A_r - 1): weight rows shift down from the top edge, bottom
   row first, so after A_r cycles PE(i, j) holds W[k0 + i, n0 + j];
2. *stream inputs*: A[t, k0 + i] enters row i at the left edge at cycle A_r + t + i (the
   skew) and moves one PE right per cycle; partial sums move one PE down per cycle,
   s(i, j) = s(i - 1, j) + w(i, j) x x(i, j);
3. *drain*: once the last input has entered, the wavefront empties; output (t, j) leaves
   the bottom edge at cycle 2 A_r - 1 + t + j, the row of SCALE-Sim's ofmap demand matrix,
   and is added to the result (K folds accumulate). The last leaves at cycle
   2 A_r + A_c + T - 3, the fold's last.

**is** (input stationary; S_r = K, S_c = M, T = N), 2 A_r + A_c + T - 2 cycles: ws with
the operands' roles swapped, computing Y^T = W^T A^T.

1. *load inputs* (cycles 0 .. A_r - 1): PE(i, j) ends up holding A[m0 + j, k0 + i];
2. *stream weights*: W[k0 + i, n] enters row i at cycle A_r + n + i and moves right;
   partial sums move down;
3. *drain*: output Y[m0 + j, n] leaves the bottom of column j at cycle 2 A_r - 1 + n + j.

**os** (output stationary; S_r = M, S_c = N, T = K), T + A_r + A_c - 2 cycles:

1. *stream operands*: A[m0 + i, k] enters row i at the left edge at cycle k + i and moves
   right; W[k, n0 + j] enters column j at the top at cycle k + j and moves down; both meet
   in PE(i, j) at cycle k + i + j, which adds their product to its accumulator;
2. *drain outputs*: once the last operands have entered, the wavefront empties. PE(i, j)
   sees its last pair (k = K - 1) at cycle K - 1 + i + j and writes its finished sum out
   on that cycle (one output per PE row per cycle, as the wavefront passes). The last,
   PE(A_r - 1, A_c - 1), finishes at cycle K + A_r + A_c - 3, the fold's last. (SCALE-Sim
   lists row i's writes at the rows of PE(A_r - 1 - i, j), bottom row first; the same cycles
   on a full fold.) Folds cover distinct outputs, so nothing accumulates across them.

Folds that use only ru x cu of the PEs (the last row or column fold) still last the full
fold length, as in SCALE-Sim. Frames name each PE's three registers by operand: ``weights``
(held in ws, moving down in os, moving right in is), ``inputs`` (moving right in ws and os,
held in is) and ``psums`` (partial sums moving down in ws and is, the accumulator held in
place in os); ``Frame.stationary`` is the held one.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwnn.errors import ConfigError
from hwnn.hw.systolic_folds import FoldPlan

STEP_DATAFLOWS = ("ws", "os", "is")
PHASES = {
    "ws": ("load weights", "stream inputs", "drain"),
    "os": ("stream operands", "drain outputs"),
    "is": ("load inputs", "stream weights", "drain"),
}
# what each register does, per dataflow (frame labels and legends)
LEGEND = {
    "ws": "w held, x moves right, s (partial sum) moves down",
    "os": "x moves right, w moves down, acc (accumulator) held",
    "is": "x held, w moves right, s (partial sum) moves down",
}
_HELD = {"ws": "weights", "os": "psums", "is": "inputs"}
_SUM_LABEL = {"ws": "s", "os": "acc", "is": "s"}


@dataclass(frozen=True)
class Frame:
    """The array's registers after one cycle (NaN marks an empty register).

    Registers are named by operand (see the module docstring for which moves where);
    ``outputs`` lists the results Y[m, n] that leave the array on this cycle.
    """

    cycle: int  # global cycle, 0-based
    fold: int
    fold_cycle: int
    phase: str  # one of PHASES[dataflow]
    weights: np.ndarray  # (rows, cols): the weight in each PE
    inputs: np.ndarray  # the input (element of A) in each PE
    psums: np.ndarray  # partial sum leaving each PE downwards (ws, is); accumulator (os)
    outputs: tuple[tuple[int, int, float], ...]  # (m, n, value) leaving the array
    dataflow: str = "ws"

    @property
    def stationary(self) -> np.ndarray:
        """The register held in place: weights (ws), accumulators (os), inputs (is)."""
        return getattr(self, _HELD[self.dataflow])


@dataclass(frozen=True)
class StepResult:
    result: np.ndarray  # A @ W
    cycles: int
    frames: list[Frame]
    dataflow: str = "ws"


def _check(dataflow: str, a: np.ndarray, w: np.ndarray, rows: int, cols: int) -> None:
    if dataflow not in STEP_DATAFLOWS:
        raise ConfigError(f"dataflow {dataflow!r} unknown; use one of {', '.join(STEP_DATAFLOWS)}")
    if a.ndim != 2 or w.ndim != 2 or a.shape[1] != w.shape[0]:
        raise ConfigError(f"step mode needs A[M, K] and W[K, N] with matching K, got "
                          f"{a.shape} and {w.shape}")
    if a.size == 0 or w.size == 0:
        raise ConfigError(f"A and W must not be empty, got {a.shape} and {w.shape}")
    for name, x in (("A", a), ("W", w)):
        if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)
                or x.dtype == bool):
            raise ConfigError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if rows <= 0 or cols <= 0:
        raise ConfigError(f"array must be at least 1x1, got {rows}x{cols}")


def _show(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    return np.where(present, values, np.nan).astype(float)


def _shift_right(x: np.ndarray, edge: np.ndarray) -> np.ndarray:
    """Every register takes its left neighbour's value; column 0 takes ``edge``."""
    return np.concatenate([edge[:, None], x[:, :-1]], axis=1)


def _shift_down(x: np.ndarray, edge: np.ndarray) -> np.ndarray:
    return np.concatenate([edge[None, :], x[:-1]], axis=0)


def _held_fold(xs: np.ndarray, tile: np.ndarray, rows: int, cols: int, length: int,
               dtype) -> Iterator[tuple]:
    """One ws / is fold: ``tile`` (ru x cu) is held, xs[t, i] streams into row i.

    Yields (phase index, held, moving, psum, [(t, j, value) leaving the bottom]) per cycle.
    """
    T, ru = xs.shape
    cu = tile.shape[1]
    full = np.zeros((rows, cols), dtype=dtype)
    full[:ru, :cu] = tile
    used = np.zeros((rows, cols), dtype=bool)
    used[:ru, :cu] = True
    held, hset = np.zeros_like(full), np.zeros_like(used)
    x, xv = np.zeros_like(full), np.zeros_like(used)
    s, sv = np.zeros_like(full), np.zeros_like(used)
    ii, jj = np.arange(rows), np.arange(cols)
    for tau in range(length):
        drained = []
        if tau < rows:  # the tile shifts down, its bottom row entering first
            held = _shift_down(held, full[rows - 1 - tau])
            hset = _shift_down(hset, used[rows - 1 - tau])
            phase = 0
        else:
            t_in = tau - rows - ii  # xs[t, i] enters row i at cycle rows + t + i
            ok = (t_in >= 0) & (t_in < T) & (ii < ru)
            edge = np.zeros(rows, dtype=dtype)
            edge[ok] = xs[t_in[ok], ii[ok]]
            x, xv = _shift_right(x, edge), _shift_right(xv, ok)
            # each PE adds its product to the partial sum arriving from above
            s = _shift_down(s, np.zeros(cols, dtype=dtype)) + np.where(xv, held * x, 0)
            sv = _shift_down(sv, np.zeros(cols, dtype=bool)) | xv
            t_out = tau - (2 * rows - 1) - jj
            for j in np.flatnonzero((t_out >= 0) & (t_out < T) & (jj < cu)):
                drained.append((int(t_out[j]), int(j), s[rows - 1, j]))
            phase = 1 if tau < rows + T + ru - 1 else 2
        yield phase, _show(held, hset), _show(x, xv), _show(s, sv), drained


def _os_fold(a_blk: np.ndarray, w_blk: np.ndarray, rows: int, cols: int, length: int,
             dtype) -> Iterator[tuple]:
    """One os fold: rows of A (ru x K) stream from the left, columns of W (K x cu) from
    the top. Yields (phase index, weights, inputs, accumulators, [(i, j, value)])."""
    ru, K = a_blk.shape
    cu = w_blk.shape[1]
    x, xv = np.zeros((rows, cols), dtype=dtype), np.zeros((rows, cols), dtype=bool)
    w, wv = np.zeros_like(x), np.zeros_like(xv)
    acc, av = np.zeros_like(x), np.zeros_like(xv)
    ii, jj = np.arange(rows), np.arange(cols)
    in_use = (ii[:, None] < ru) & (jj[None, :] < cu)
    for tau in range(length):
        k_row, k_col = tau - ii, tau - jj  # A[., k] enters row i at k + i, W[k, .] col j at k + j
        ok_r = (k_row >= 0) & (k_row < K) & (ii < ru)
        ok_c = (k_col >= 0) & (k_col < K) & (jj < cu)
        edge_r = np.zeros(rows, dtype=dtype)
        edge_r[ok_r] = a_blk[ii[ok_r], k_row[ok_r]]
        edge_c = np.zeros(cols, dtype=dtype)
        edge_c[ok_c] = w_blk[k_col[ok_c], jj[ok_c]]
        x, xv = _shift_right(x, edge_r), _shift_right(xv, ok_r)
        w, wv = _shift_down(w, edge_c), _shift_down(wv, ok_c)
        mac = xv & wv
        acc = acc + np.where(mac, x * w, 0)
        av = av | mac
        # PE(i, j) has seen its last pair (k = K - 1) at cycle K - 1 + i + j
        done = in_use & (ii[:, None] + jj[None, :] == tau - (K - 1))
        drained = [(int(i), int(j), acc[i, j]) for i, j in np.argwhere(done)]
        phase = 0 if tau < K - 1 + max(ru, cu) else 1
        yield phase, _show(w, wv), _show(x, xv), _show(acc, av), drained


def _fold(plan: FoldPlan, a: np.ndarray, w: np.ndarray, fr: int, fc: int, dtype
          ) -> Iterator[tuple]:
    """One fold of any dataflow as (phase index, weights, inputs, psums, [(m, n, value)])."""
    r, c, L = plan.rows, plan.cols, plan.fold_cycles
    ru, cu = plan.used(fr, fc)
    i0, j0 = fr * r, fc * c  # the fold's corner in (S_r, S_c)
    if plan.dataflow == "os":
        for ph, wd, xd, sd, dr in _os_fold(a[i0:i0 + ru], w[:, j0:j0 + cu], r, c, L, dtype):
            yield ph, wd, xd, sd, [(i0 + i, j0 + j, v) for i, j, v in dr]
    elif plan.dataflow == "ws":  # W[k, n] held, A[t, k] streams
        for ph, held, mov, sd, dr in _held_fold(a[:, i0:i0 + ru], w[i0:i0 + ru, j0:j0 + cu],
                                                r, c, L, dtype):
            yield ph, held, mov, sd, [(t, j0 + j, v) for t, j, v in dr]
    else:  # is: A^T[k, m] held, W^T[n, k] streams, Y^T[n, m] leaves
        xs, tile = w[i0:i0 + ru].T, a[j0:j0 + cu, i0:i0 + ru].T
        for ph, held, mov, sd, dr in _held_fold(xs, tile, r, c, L, dtype):
            yield ph, mov, held, sd, [(j0 + j, t, v) for t, j, v in dr]


def run(dataflow: str, a: np.ndarray, w: np.ndarray, rows: int, cols: int,
        keep_frames: bool = True, max_frames: int = 10_000) -> StepResult:
    """Runs A @ W on a ``rows x cols`` array with ``dataflow`` ("ws", "os" or "is"),
    one cycle at a time."""
    a, w = np.asarray(a), np.asarray(w)
    _check(dataflow, a, w, rows, cols)
    M, K = a.shape
    N = w.shape[1]
    plan = FoldPlan(dataflow, rows, cols, M, K, N)
    if keep_frames and plan.total_rows > max_frames:
        raise ConfigError(f"{plan.total_rows} cycles would make too many frames "
                          f"(limit {max_frames}); use a smaller example or keep_frames=False")
    dtype = np.result_type(a.dtype, w.dtype, np.int64)
    a, w = a.astype(dtype), w.astype(dtype)
    out = np.zeros((M, N), dtype=dtype)
    frames: list[Frame] = []
    names = PHASES[dataflow]
    cycle = 0
    for fi, fr, fc in plan.fold_order():
        for tau, (ph, wd, xd, sd, drained) in enumerate(_fold(plan, a, w, fr, fc, dtype)):
            for m, n, val in drained:
                out[m, n] += val  # ws / is: K folds add up; os: each output once
            if keep_frames:
                outs = tuple((m, n, float(val)) for m, n, val in drained)
                frames.append(Frame(cycle, fi, tau, names[ph], wd, xd, sd, outs, dataflow))
            cycle += 1
    return StepResult(out, cycle, frames, dataflow)


def run_ws(a: np.ndarray, w: np.ndarray, rows: int, cols: int,
           keep_frames: bool = True, max_frames: int = 10_000) -> StepResult:
    """Runs A @ W on a ``rows x cols`` weight-stationary array, one cycle at a time."""
    return run("ws", a, w, rows, cols, keep_frames, max_frames)


def run_os(a: np.ndarray, w: np.ndarray, rows: int, cols: int,
           keep_frames: bool = True, max_frames: int = 10_000) -> StepResult:
    """Runs A @ W on a ``rows x cols`` output-stationary array, one cycle at a time."""
    return run("os", a, w, rows, cols, keep_frames, max_frames)


def run_is(a: np.ndarray, w: np.ndarray, rows: int, cols: int,
           keep_frames: bool = True, max_frames: int = 10_000) -> StepResult:
    """Runs A @ W on a ``rows x cols`` input-stationary array, one cycle at a time."""
    return run("is", a, w, rows, cols, keep_frames, max_frames)


# ---- rendering -----------------------------------------------------------------------


def _cell(x: float) -> str:
    if np.isnan(x):
        return "."
    return f"{x:g}"


def _outputs_text(frame: Frame) -> str:
    return "out: " + ", ".join(f"y[{m},{n}]={val:g}" for m, n, val in frame.outputs)


def render_text(frame: Frame) -> str:
    """One frame as text: each PE shows weight | input | partial sum (accumulator in os)."""
    rows, cols = frame.weights.shape
    sl = _SUM_LABEL[frame.dataflow]
    lines = [f"cycle {frame.cycle} (fold {frame.fold}, step {frame.fold_cycle}): {frame.phase}"
             f"  [{frame.dataflow}: {LEGEND[frame.dataflow]}]"]
    for i in range(rows):
        cells = [f"[w={_cell(frame.weights[i, j])} x={_cell(frame.inputs[i, j])} "
                 f"{sl}={_cell(frame.psums[i, j])}]" for j in range(cols)]
        lines.append(" ".join(cells))
    if frame.outputs:
        lines.append(_outputs_text(frame))
    return "\n".join(lines)


def _figure(frame: Frame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = frame.weights.shape
    fig, ax = plt.subplots(figsize=(1.4 * cols + 1.2, 1.1 * rows + 1.4), dpi=80)
    ax.set_xlim(-0.6, cols - 0.4)
    ax.set_ylim(rows - 0.4, -0.9)
    ax.axis("off")
    ax.set_title(f"{frame.dataflow} cycle {frame.cycle}: {frame.phase}\n"
                 f"{LEGEND[frame.dataflow]}", fontsize=9)
    held = _HELD[frame.dataflow]
    regs = (("weights", "w", -0.15), ("inputs", "x", 0.05),
            ("psums", _SUM_LABEL[frame.dataflow], 0.25))
    for i in range(rows):
        for j in range(cols):
            # a PE is busy (multiplies) when both of its operands are present
            busy = not (np.isnan(frame.inputs[i, j]) or np.isnan(frame.weights[i, j]))
            ax.add_patch(plt.Rectangle((j - 0.45, i - 0.4), 0.9, 0.8,
                                       fc="#fde68a" if busy else "#e5e7eb", ec="#374151"))
            for field, label, dy in regs:
                ax.text(j, i + dy, f"{label} {_cell(getattr(frame, field)[i, j])}",
                        ha="center", fontsize=8,
                        fontweight="bold" if field == held else "normal")
    if frame.outputs:
        ax.text(-0.5, rows - 0.1, _outputs_text(frame), fontsize=8, va="top")
    return fig


def render_svg(frame: Frame) -> str:
    """One frame as a self-contained SVG string (for the HTML report)."""
    import matplotlib.pyplot as plt

    fig = _figure(frame)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def render_png(frame: Frame, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    fig = _figure(frame)
    fig.savefig(path, format="png", bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def render_gif(frames: list[Frame], path: str | Path, ms_per_frame: int = 500) -> Path:
    """An animated GIF of the frames (Pillow, which matplotlib already depends on)."""
    import matplotlib.pyplot as plt
    from PIL import Image

    if not frames:
        raise ConfigError("no frames to animate")
    images = []
    for f in frames:
        fig = _figure(f)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80)  # no tight box: every frame the same size
        plt.close(fig)
        buf.seek(0)
        images.append(Image.open(buf).convert("P"))
    images[0].save(path, save_all=True, append_images=images[1:], duration=ms_per_frame,
                   loop=0)
    return Path(path)


def iter_text(frames: list[Frame]) -> Iterator[str]:
    for f in frames:
        yield render_text(f)
