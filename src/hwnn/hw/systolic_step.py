"""Step mode: real numbers moving through a small weight-stationary array, cycle by cycle.

The deck's picture of the TPU's matrix unit. For each fold (a ``rows x cols`` tile of
the weight matrix W[K, N]) the array runs exactly SCALE-Sim's fold length:

1. *load weights* (cycles 0 .. A_r - 1): weight rows shift down from the top edge, bottom
   row first, so after A_r cycles PE(i, j) holds W[k0 + i, n0 + j];
2. *stream inputs*: a[t, k] enters row k at the left edge at cycle A_r + t + k (the skew)
   and moves one PE right per cycle; partial sums move one PE down per cycle,
   v(i, j) = v(i - 1, j) + w(i, j) x h(i, j);
3. *drain*: output (t, j) leaves the bottom edge at cycle 2 A_r - 1 + t + j, the row of
   SCALE-Sim's ofmap demand matrix, and is added to the result (row folds accumulate).

A fold lasts 2 A_r + A_c + T - 2 cycles, so the whole run takes exactly the fast model's
cycle count (``FoldPlan.total_rows``), and the result equals A @ W exactly.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwnn.errors import ConfigError
from hwnn.hw.systolic_folds import FoldPlan


@dataclass(frozen=True)
class Frame:
    """The array's registers after one cycle (NaN marks an empty register)."""

    cycle: int  # global cycle, 0-based
    fold: int
    fold_cycle: int
    phase: str  # "load weights", "stream inputs" or "drain"
    weights: np.ndarray  # (rows, cols)
    inputs: np.ndarray  # value passing through each PE this cycle
    psums: np.ndarray  # partial sum leaving each PE downwards
    outputs: tuple[tuple[int, int, float], ...]  # (t, n, value) leaving the bottom edge


@dataclass(frozen=True)
class StepResult:
    result: np.ndarray  # A @ W
    cycles: int
    frames: list[Frame]


def _check(a: np.ndarray, w: np.ndarray, rows: int, cols: int) -> None:
    if a.ndim != 2 or w.ndim != 2 or a.shape[1] != w.shape[0]:
        raise ConfigError(f"step mode needs A[T, K] and W[K, N] with matching K, got "
                          f"{a.shape} and {w.shape}")
    if rows <= 0 or cols <= 0:
        raise ConfigError(f"array must be at least 1x1, got {rows}x{cols}")


def run_ws(a: np.ndarray, w: np.ndarray, rows: int, cols: int,
           keep_frames: bool = True, max_frames: int = 10_000) -> StepResult:
    """Runs A @ W on a ``rows x cols`` weight-stationary array, one cycle at a time."""
    a = np.asarray(a)
    w = np.asarray(w)
    _check(a, w, rows, cols)
    T, K = a.shape
    N = w.shape[1]
    plan = FoldPlan("ws", rows, cols, T, K, N)
    if keep_frames and plan.total_rows > max_frames:
        raise ConfigError(f"{plan.total_rows} cycles would make too many frames "
                          f"(limit {max_frames}); use a smaller example or keep_frames=False")
    dtype = np.result_type(a.dtype, w.dtype, np.int64)
    out = np.zeros((T, N), dtype=dtype)
    frames: list[Frame] = []
    L = plan.fold_cycles
    cycle = 0
    for fi, fr, fc in plan.fold_order():
        k0, n0 = fr * rows, fc * cols
        ru, cu = plan.used(fr, fc)
        tile = np.zeros((rows, cols), dtype=dtype)
        tile[:ru, :cu] = w[k0:k0 + ru, n0:n0 + cu]
        used = np.zeros((rows, cols), dtype=bool)
        used[:ru, :cu] = True
        wreg = np.zeros((rows, cols), dtype=dtype)
        wset = np.zeros((rows, cols), dtype=bool)
        h = np.zeros((rows, cols), dtype=dtype)
        hv = np.zeros((rows, cols), dtype=bool)
        v = np.zeros((rows, cols), dtype=dtype)
        vv = np.zeros((rows, cols), dtype=bool)
        for tau in range(L):
            emitted: list[tuple[int, int, float]] = []
            if tau < rows:  # weights shift down, bottom row of the tile enters first
                wreg[1:] = wreg[:-1].copy()
                wset[1:] = wset[:-1].copy()
                src = rows - 1 - tau
                wreg[0] = tile[src]
                wset[0] = used[src]
                phase = "load weights"
            else:
                # inputs move right; a[t, k] enters row k at cycle rows + t + k
                h[:, 1:] = h[:, :-1].copy()
                hv[:, 1:] = hv[:, :-1].copy()
                t_in = tau - rows - np.arange(rows)
                ok = (t_in >= 0) & (t_in < T) & (np.arange(rows) < ru)
                h[:, 0] = 0
                hv[:, 0] = ok
                if ok.any():
                    ks = np.flatnonzero(ok)
                    h[ks, 0] = a[t_in[ks], k0 + ks]
                # partial sums move down, each PE adds its product
                above = np.vstack([np.zeros((1, cols), dtype=dtype), v[:-1]])
                above_v = np.vstack([np.zeros((1, cols), dtype=bool), vv[:-1]])
                v = above + np.where(hv, wreg * h, 0)
                vv = above_v | hv
                t_out = tau - (2 * rows - 1) - np.arange(cols)
                for j in np.flatnonzero((t_out >= 0) & (t_out < T) & (np.arange(cols) < cu)):
                    t = int(t_out[j])
                    out[t, n0 + j] += v[rows - 1, j]
                    emitted.append((t, n0 + int(j), float(v[rows - 1, j])))
                phase = "stream inputs" if tau < rows + T + ru - 1 else "drain"
            if keep_frames:
                frames.append(Frame(
                    cycle, fi, tau, phase,
                    np.where(wset, wreg, np.nan).astype(float),
                    np.where(hv, h, np.nan).astype(float),
                    np.where(vv & (tau >= rows), v, np.nan).astype(float), tuple(emitted)))
            cycle += 1
    return StepResult(out, cycle, frames)


# ---- rendering -----------------------------------------------------------------------


def _cell(x: float) -> str:
    if np.isnan(x):
        return "."
    return f"{x:g}"


def render_text(frame: Frame) -> str:
    """One frame as text: each PE shows weight | input | partial sum."""
    rows, cols = frame.weights.shape
    lines = [f"cycle {frame.cycle} (fold {frame.fold}, step {frame.fold_cycle}): {frame.phase}"]
    for i in range(rows):
        cells = [f"[w={_cell(frame.weights[i, j])} x={_cell(frame.inputs[i, j])} "
                 f"s={_cell(frame.psums[i, j])}]" for j in range(cols)]
        lines.append(" ".join(cells))
    if frame.outputs:
        lines.append("out: " + ", ".join(f"y[{t},{n}]={val:g}" for t, n, val in frame.outputs))
    return "\n".join(lines)


def _figure(frame: Frame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = frame.weights.shape
    fig, ax = plt.subplots(figsize=(1.4 * cols + 1.2, 1.1 * rows + 1.2), dpi=80)
    ax.set_xlim(-0.6, cols - 0.4)
    ax.set_ylim(rows - 0.4, -0.9)
    ax.axis("off")
    ax.set_title(f"cycle {frame.cycle}: {frame.phase}", fontsize=10)
    for i in range(rows):
        for j in range(cols):
            busy = not np.isnan(frame.inputs[i, j])
            ax.add_patch(plt.Rectangle((j - 0.45, i - 0.4), 0.9, 0.8,
                                       fc="#fde68a" if busy else "#e5e7eb", ec="#374151"))
            ax.text(j, i - 0.15, f"w {_cell(frame.weights[i, j])}", ha="center", fontsize=8)
            ax.text(j, i + 0.05, f"x {_cell(frame.inputs[i, j])}", ha="center", fontsize=8)
            ax.text(j, i + 0.25, f"s {_cell(frame.psums[i, j])}", ha="center", fontsize=8)
    if frame.outputs:
        ax.text(-0.5, rows - 0.1, "out: " + ", ".join(
            f"y[{t},{n}]={val:g}" for t, n, val in frame.outputs), fontsize=8, va="top")
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
        fig.savefig(buf, format="png", dpi=80)
        plt.close(fig)
        buf.seek(0)
        images.append(Image.open(buf).convert("P"))
    images[0].save(path, save_all=True, append_images=images[1:], duration=ms_per_frame,
                   loop=0)
    return Path(path)


def iter_text(frames: list[Frame]) -> Iterator[str]:
    for f in frames:
        yield render_text(f)
