"""Renders a StudyResult as HTML (Jinja2) and JSON; reads only result dataclasses.

Every section is drawn the same way: a single result as a two-column table of its
fields, a list of results as a table with one row each, then the section's charts
(inline SVG). The page has no external links, so it opens offline.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from hwnn.results import StudyResult, to_jsonable

_env = Environment(loader=PackageLoader("hwnn.report", "templates"), autoescape=select_autoescape())


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        shown = ", ".join(_fmt(v) for v in value[:12])
        return shown + (f", ... ({len(value)} in all)" if len(value) > 12 else "")
    return "" if value is None else str(value)


def _rows(data: Any) -> tuple[list[str], list[list[str]], bool]:
    """(columns, rows, is_record): one record becomes field/value pairs."""
    plain = to_jsonable(data)
    if isinstance(plain, dict):
        return ["field", "value"], [[k, _fmt(v)] for k, v in plain.items()], True
    if isinstance(plain, list) and plain and all(isinstance(r, dict) for r in plain):
        cols: list[str] = []
        for r in plain:
            cols += [c for c in r if c not in cols]
        return cols, [[_fmt(r.get(c)) for c in cols] for r in plain], False
    return ["value"], [[_fmt(plain)]], True


def render_html(result: StudyResult) -> str:
    sections = []
    for s in result.sections:
        cols, rows, is_record = _rows(s.data)
        sections.append(
            {
                "key": s.key,
                "title": s.title,
                "description": s.description,
                "columns": cols,
                "rows": rows,
                "is_record": is_record,
                "charts": [Markup(c) for c in s.charts],
            }
        )
    return _env.get_template("report.html.j2").render(result=result, sections=sections)


def _atomic_write(path: Path, text: str) -> None:
    # write-then-rename: a reader never sees half a file, and a crash keeps the old one
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write(result: StudyResult, out_dir: str | Path) -> tuple[Path, Path]:
    """Writes report.html and results.json into ``out_dir``; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "results.json", out / "report.html"
    _atomic_write(json_path, json.dumps(result.to_json(), indent=2) + "\n")
    _atomic_write(html_path, render_html(result))
    return html_path, json_path
