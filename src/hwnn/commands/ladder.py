"""``hwnn bench ladder``: the deck's CPU speed-ups measured as an optimization ladder.

``register(app)`` adds a ``ladder`` command to ``app``; mounted on the ``bench`` group it
reads ``hwnn bench ladder [--json] [--sizes 256,512,1024,2048] [--threads 1,2] ...``.
The logic lives in ``ladder_command`` (plain arguments in, a LadderReport out) so that the
CLI stays a thin layer over ``hwnn.ladder``.
"""

from __future__ import annotations

import typer

from hwnn.commands.common import emit_json, err, guarded, out, parse_ints, progress, table
from hwnn.errors import ConfigError
from hwnn.ladder import LadderReport, LadderRow, ladder_report

COLUMNS = ["rung", "shape", "thr", "GFLOP/s", "of peak", "x naive", "/ OpenBLAS", "us/sample"]


def ladder_command(
    json: bool = False,
    sizes: str = "256,512,1024,2048",
    threads: str = "1,2",
    repeats: int = 5,
    batches: str = "1,4,16,64,256",
    layers: bool = True,
    binary: bool = True,
) -> LadderReport:
    """Runs the ladder and prints it (a rich table, or JSON with ``json=True``)."""
    size_list = parse_ints(sizes, "--sizes")
    thread_list = parse_ints(threads, "--threads")
    if not thread_list:
        raise ConfigError("--threads must name at least one thread count, e.g. 1,2")
    with progress(enabled=not json) as bar:
        task = bar.add_task("ladder", total=None)

        def step(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        kwargs = {"shapes": [] if not layers else None}
        report = ladder_report(
            sizes=size_list, threads=thread_list, repeats=repeats,
            batches=parse_ints(batches, "--batches"), binary=binary, progress=step, **kwargs,
        )
    if json:
        emit_json(report)
        return report
    peak = report.peak_gflops_per_core
    err.print(
        f"{report.cpu_model}: {report.simd or 'no SIMD'}, peak "
        f"{'unmeasured' if peak is None else f'{peak:.1f}'} GFLOP/s per core (FMA loop); "
        f"{report.openblas}; load average {report.load_average_1m} on {report.cpu_count} cores"
    )
    notes: list[str] = []
    rows = [_table_row(r, notes) for r in report.rows]
    out.print(table("Optimization ladder (GFLOP/s = 2 flops per multiply-add)", rows, COLUMNS))
    for i, note in enumerate(notes, 1):
        out.print(f"[{i}] {note}", highlight=False)
    return report


def _table_row(r: LadderRow, notes: list[str]) -> dict:
    """One row for the terminal: short columns; each distinct note becomes a footnote."""
    shape = r.shape
    if r.note:
        if r.note not in notes:
            notes.append(r.note)
        shape += f" [{notes.index(r.note) + 1}]"
    latency = r.latency_per_sample_s
    return {
        "rung": r.rung,
        "shape": shape,
        "thr": r.threads,
        "GFLOP/s": f"{r.gflops:.2f}",
        "of peak": "" if r.fraction_of_peak is None else f"{r.fraction_of_peak:.0%}",
        "x naive": "" if r.speedup_over_naive is None else f"{r.speedup_over_naive:.1f}",
        "/ OpenBLAS": "" if r.ratio_to_openblas is None else f"{r.ratio_to_openblas:.2f}",
        "us/sample": "" if latency is None else f"{latency * 1e6:.1f}",
    }


def register(app: typer.Typer) -> None:
    """Adds the ``ladder`` command to ``app`` (the ``bench`` group)."""

    @app.command("ladder")
    @guarded
    def ladder(
        json: bool = typer.Option(False, "--json", help="Print the machine-readable result only."),
        sizes: str = typer.Option("256,512,1024,2048", help="Square sizes n for n^3 GEMMs."),
        threads: str = typer.Option("1,2", help="Thread counts for the threads rung and BLAS."),
        repeats: int = typer.Option(5, help="Timed runs per point; the median is reported."),
        batches: str = typer.Option(
            "1,4,16,64,256", help="Batch sizes for batched classification (empty: skip)."
        ),
        layers: bool = typer.Option(True, help="Also time the study's layer shapes."),
        binary: bool = typer.Option(True, help="Also time the Fig. 5 binary kernel."),
    ) -> None:
        """Each rung from naive to SIMD + threads: GFLOP/s, fraction of peak, vs OpenBLAS."""
        ladder_command(json, sizes, threads, repeats, batches, layers, binary)
