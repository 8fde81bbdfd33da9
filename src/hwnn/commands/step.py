"""``hwnn step``: a small GEMM moved through a systolic array cycle by cycle (step mode).

The logic is ``run_step`` (plain arguments in, a ``StepSummary`` out, frames kept when
asked for); ``register`` adds the thin typer command that prints it, the frames as text,
or ``--json``, and writes the GIF / PNG pictures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import typer

from hwnn.commands.common import emit_json, err, guarded, out
from hwnn.errors import ConfigError

# Step mode moves every number by hand in Python: beyond these sizes use `hwnn simulate`.
MAX_DIM = 64
MAX_CYCLES = 10_000
# Drawing costs about 5 ms per PE per frame, so pictures are bounded by frames x PEs.
MAX_PICTURE_CELLS = 5_000


@dataclass(frozen=True)
class StepSummary:
    dataflow: str
    array: str
    m: int
    k: int
    n: int
    seed: int
    cycles: int  # counted by stepping the array
    fast_model_cycles: int  # hwnn.hw.systolic.cycles_only, hwnn convention
    folds: int
    fold_cycles: int
    result_correct: bool  # the array's result equals A @ W exactly
    a: list
    w: list
    result: list
    frames: list = field(default_factory=list)  # with --frames: registers per cycle
    files: list[str] = field(default_factory=list)


def _check_sizes(dataflow: str, sizes: dict[str, int]) -> None:
    from hwnn.hw.systolic_step import STEP_DATAFLOWS

    if dataflow not in STEP_DATAFLOWS:
        raise ConfigError(f"--dataflow {dataflow!r} unknown; use one of "
                          f"{', '.join(STEP_DATAFLOWS)}")
    for name, v in sizes.items():
        if not 1 <= v <= MAX_DIM:
            raise ConfigError(f"--{name} must be between 1 and {MAX_DIM} for step mode "
                              f"(got {v}); use `hwnn simulate` for larger layers")


def _frame_dict(f) -> dict:
    return {"cycle": f.cycle, "fold": f.fold, "fold_cycle": f.fold_cycle, "phase": f.phase,
            "weights": f.weights.tolist(), "inputs": f.inputs.tolist(),
            "psums": f.psums.tolist(), "outputs": [list(o) for o in f.outputs]}


def _pictures(frames: list, gif: Path | None, png_dir: Path | None) -> list[str]:
    from hwnn.hw.systolic_step import render_gif, render_png

    files = []
    if png_dir is not None:
        png_dir.mkdir(parents=True, exist_ok=True)
        files += [str(render_png(f, png_dir / f"frame_{f.cycle:05d}.png")) for f in frames]
    if gif is not None:
        files.append(str(render_gif(frames, gif)))
    return files


def _check_work(plan, pictures: bool, gif: Path | None, png_dir: Path | None) -> None:
    """Refuses, before any work, runs too long to step or draw and unwritable outputs."""
    cycles, r, c = plan.total_rows, plan.rows, plan.cols
    if cycles > MAX_CYCLES:
        raise ConfigError(f"{plan.dataflow} on a {r}x{c} array takes {cycles} cycles for this "
                          f"GEMM; step mode stops at {MAX_CYCLES}: use a larger array or "
                          "smaller matrices")
    if pictures and cycles * r * c > MAX_PICTURE_CELLS:
        raise ConfigError(f"drawing {cycles} frames of a {r}x{c} array is too slow (frames x "
                          f"PEs must be <= {MAX_PICTURE_CELLS}); use a smaller array or "
                          "smaller matrices, or leave out --gif / --png-dir")
    if gif is not None and not gif.resolve().parent.is_dir():
        raise ConfigError(f"--gif {gif}: folder {gif.resolve().parent} does not exist")
    if png_dir is not None and png_dir.exists() and not png_dir.is_dir():
        raise ConfigError(f"--png-dir {png_dir} is a file, not a folder")


def run_step(dataflow: str = "ws", rows: int = 4, cols: int = 4, m: int = 4, k: int = 4,
             n: int = 4, seed: int = 0, frames: bool = False, gif: Path | None = None,
             png_dir: Path | None = None) -> tuple[StepSummary, list]:
    """Steps A[m, k] @ W[k, n] (small integers from ``seed``) through a ``rows x cols``
    array; returns the summary and the frames (empty unless frames or pictures are asked)."""
    from hwnn.hw.systolic import ArrayConfig, LayerSpec, cycles_only
    from hwnn.hw.systolic_folds import FoldPlan, gemm_geometry
    from hwnn.hw.systolic_step import run

    _check_sizes(dataflow, {"rows": rows, "cols": cols, "m": m, "k": k, "n": n})
    plan = FoldPlan(dataflow, rows, cols, m, k, n)
    pictures = gif is not None or png_dir is not None
    _check_work(plan, pictures, gif, png_dir)
    rng = np.random.default_rng(seed)
    a = rng.integers(-4, 5, (m, k))
    w = rng.integers(-4, 5, (k, n))
    res = run(dataflow, a, w, rows, cols, keep_frames=frames or pictures, max_frames=MAX_CYCLES)
    fast = cycles_only(LayerSpec("step", gemm_geometry(m, k, n)),
                       ArrayConfig(rows=rows, cols=cols, dataflow=dataflow), "hwnn").cycles
    files = _pictures(res.frames, gif, png_dir) if pictures else []
    summary = StepSummary(
        dataflow, f"{rows}x{cols}", m, k, n, seed, res.cycles, fast, plan.folds,
        plan.fold_cycles, bool(np.array_equal(res.result, a @ w)), a.tolist(), w.tolist(),
        res.result.tolist(), [_frame_dict(f) for f in res.frames] if frames else [], files)
    return summary, res.frames


def _say(text: str) -> None:
    # plain text: frames are full of [brackets] that rich would read as markup
    out.print(text, markup=False, highlight=False, soft_wrap=True)


def _print_summary(s: StepSummary) -> None:
    from hwnn.hw.systolic_step import LEGEND

    _say(f"{s.dataflow} on a {s.array} array ({LEGEND[s.dataflow]}), "
         f"A[{s.m}x{s.k}] @ W[{s.k}x{s.n}], seed {s.seed}")
    folds = f"{s.folds} fold{'s' if s.folds > 1 else ''} of {s.fold_cycles}"
    _say(f"cycles: {s.cycles} ({folds}); "
         f"fast model: {s.fast_model_cycles}; "
         f"result {'equals' if s.result_correct else 'DIFFERS FROM'} A @ W")
    pngs = [f for f in s.files if f.endswith(".png")]
    if pngs:
        _say(f"wrote {len(pngs)} PNG frames to {Path(pngs[0]).parent}")
    for f in s.files:
        if not f.endswith(".png"):
            _say(f"wrote {f}")


def register(app: typer.Typer) -> None:
    @app.command("step")
    @guarded
    def step_command(
        dataflow: str = typer.Option("ws", "--dataflow", help="ws, os or is."),
        rows: int = typer.Option(4, "--rows", help="PE rows of the array (1-64)."),
        cols: int = typer.Option(4, "--cols", help="PE columns of the array (1-64)."),
        m: int = typer.Option(4, "--m", help="Rows of A (1-64)."),
        k: int = typer.Option(4, "--k", help="Columns of A = rows of W (1-64)."),
        n: int = typer.Option(4, "--n", help="Columns of W (1-64)."),
        seed: int = typer.Option(0, "--seed", help="Seed of the small integer matrices."),
        frames: bool = typer.Option(False, "--frames", help="Print every cycle's registers."),
        gif: Path = typer.Option(None, "--gif", help="Write an animated GIF of the frames."),
        png_dir: Path = typer.Option(None, "--png-dir", help="Write one PNG per frame here."),
        as_json: bool = typer.Option(False, "--json", help="Print the machine-readable result."),
    ) -> None:
        """Step a small GEMM through a systolic array cycle by cycle (ws, os or is)."""
        from hwnn.hw.systolic_step import render_text

        if (gif or png_dir) and not as_json:
            err.print("drawing frames ...")
        summary, kept = run_step(dataflow, rows, cols, m, k, n, seed, frames, gif, png_dir)
        if as_json:
            emit_json(summary)
            return
        if frames:
            for f in kept:
                _say(render_text(f) + "\n")
        _print_summary(summary)
