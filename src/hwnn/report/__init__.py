"""The study's two outputs: report.html (one self-contained page) and results.json."""

from hwnn.report.html import render_html, write

__all__ = ["render_html", "write"]
