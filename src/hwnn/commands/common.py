"""What every CLI command shares: error reporting, JSON output and progress bars."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from hwnn.errors import ConfigError, HwnnError
from hwnn.results import to_jsonable

# Results go to stdout (so --json pipes cleanly); messages and progress go to stderr.
out = Console()
err = Console(stderr=True)


def guarded(fn: Callable) -> Callable:
    """Turns an HwnnError into one clear message and exit status 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HwnnError as e:
            err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def emit_json(value: Any) -> None:
    """Prints any result (dataclasses included) as JSON on stdout."""
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2) + "\n")
    sys.stdout.flush()


def table(title: str, rows: list[dict], columns: list[str] | None = None) -> Table:
    """A rich table from a list of dicts (keys are column names, with their units)."""
    cols = columns or (list(rows[0].keys()) if rows else [])
    t = Table(title=title)
    for c in cols:
        t.add_column(c)
    for r in rows:
        t.add_row(*(_fmt(r.get(c)) for c in cols))
    return t


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


@contextmanager
def progress(enabled: bool = True) -> Iterator[Progress]:
    """A progress display on stderr; ``enabled=False`` (e.g. with --json) keeps it silent."""
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not enabled or not err.is_terminal,
        transient=True,
    )
    with bar:
        yield bar


def parse_ints(text: str, option: str) -> tuple[int, ...]:
    """"256,512" -> (256, 512); an empty string -> (); anything else is a ConfigError."""
    try:
        values = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ConfigError(
            f"{option} must be comma-separated positive integers such as 256,512; got {text!r}"
        ) from None
    if any(v < 1 for v in values):
        raise ConfigError(f"{option} must be positive integers, got {text!r}")
    return values
