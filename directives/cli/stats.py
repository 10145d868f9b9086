"""The period figures command."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from directives.cli._common import Format, day, unit_of_work
from directives.cli._output import emit
from directives.services import stats as stats_service

KEYS = (
    "completed",
    "early",
    "on_the_day",
    "late",
    "on_time_rate",
    "working_days_used",
    "working_days_allowed",
    "time_saved_pct",
    "open_within_term",
    "open_overdue",
    "standing",
)
LABELS = {
    "completed": "Hoàn thành",
    "early": "Trước hạn",
    "on_the_day": "Đúng hạn",
    "late": "Quá hạn",
    "on_time_rate": "Tỷ lệ đúng hạn (%)",
    "working_days_used": "Ngày làm việc đã dùng",
    "working_days_allowed": "Ngày làm việc cho phép",
    "time_saved_pct": "Tiết kiệm thời gian (%)",
    "open_within_term": "Đang thực hiện trong hạn",
    "open_overdue": "Đang thực hiện quá hạn",
    "standing": "Thường xuyên",
}


def stats(
    from_: Annotated[str, typer.Option("--from", help="Từ ngày.")],
    to: Annotated[str, typer.Option("--to", help="Đến ngày.")],
    agency: Annotated[str | None, typer.Option(help="Chỉ một đơn vị.")] = None,
    leader: Annotated[
        str | None, typer.Option(help="Chỉ nhiệm vụ do một lãnh đạo phụ trách.")
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="table, json hoặc csv.")
    ] = Format.TABLE,
) -> None:
    """Số liệu một kỳ theo biểu mẫu và theo cách của Văn phòng.

    Ví dụ: directives stats --from 01/01/2026 --to 30/06/2026
    """
    start, end = day(from_, option="--from"), day(to, option="--to")
    with unit_of_work() as s:
        figures = stats_service.stats_dict(s, start, end, agency=agency, leader=leader)
    if fmt is Format.JSON:
        json.dump(figures, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    if fmt is Format.CSV:
        rows: list[dict[str, Any]] = [{"agency": "TOTAL", **{k: figures[k] for k in KEYS}}]
        rows += [
            {"agency": code, **{k: f[k] for k in KEYS}} for code, f in figures["by_agency"].items()
        ]
        emit(rows, fmt, columns=[("agency", "agency"), *[(k, k) for k in KEYS]])
        return
    change = figures["change"]
    rows = [
        {
            "label": LABELS[k],
            "value": figures[k],
            "previous": figures["previous"][k],
            "change": change[k],
        }
        for k in KEYS
    ]
    emit(
        rows,
        fmt,
        columns=[
            ("label", "Chỉ tiêu"),
            ("value", "Kỳ này"),
            ("previous", "Kỳ trước"),
            ("change", "Thay đổi"),
        ],
        title=f"Từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}",
    )
    typer.echo(stats_service.half_year_line(figures))
