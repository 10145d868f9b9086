"""Printing rows as a table that fits 80 columns, as JSON or as CSV."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from rich.console import Console
from rich.table import Table

from directives.cli._common import Format


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def emit(
    rows: Sequence[Mapping[str, Any]],
    fmt: Format,
    *,
    columns: Sequence[tuple[str, str]],
    title: str | None = None,
    meta: Mapping[str, Any] | None = None,
    wide: str | None = None,
) -> None:
    """Print ``rows``; ``columns`` are (key, Vietnamese header); ``wide`` takes the spare width."""
    if fmt is Format.JSON:
        payload: Any = [_plain(r) for r in rows]
        if meta is not None:
            payload = {**_plain(meta), "items": payload}
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    if fmt is Format.CSV:
        writer = csv.writer(sys.stdout)
        writer.writerow([key for key, _ in columns])
        for r in rows:
            writer.writerow(["" if r.get(k) is None else _plain(r.get(k)) for k, _ in columns])
        return
    console = Console(width=None if sys.stdout.isatty() else 80, soft_wrap=False)
    table = Table(title=title, show_lines=False, expand=wide is not None, pad_edge=False)
    for key, header in columns:
        if key == wide:
            table.add_column(header, ratio=1, no_wrap=True, overflow="ellipsis", min_width=12)
        else:
            table.add_column(header, no_wrap=True)
    for r in rows:
        table.add_row(*[_cell(r.get(k)) for k, _ in columns])
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
