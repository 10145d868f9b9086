"""Reports rendered from plain data: HTML pages, XLSX appendices, CSV and JSON, as bytes."""

from __future__ import annotations

from directives.reports.period import ReportFormat
from directives.reports.period import render as render_period

__all__ = ["ReportFormat", "render_period"]
