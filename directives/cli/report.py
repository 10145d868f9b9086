"""The ``reports`` commands: period reports as HTML, XLSX, CSV or JSON.

Each command builds its data through ``directives.services``, renders it to bytes with
``directives.reports`` and hands the bytes to ``_deliver``; a new report (monthly, digest) is one
more function decorated with ``@report_app.command``, reusing the option aliases below.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from directives.cli._common import day, runtime, unit_of_work
from directives.errors import InvalidInput
from directives.reports import ReportFormat, render_period
from directives.services import reports as reports_service

report_app = typer.Typer(help="Báo cáo định kỳ: HTML, XLSX, CSV hoặc JSON.", no_args_is_help=True)

FormatOpt = Annotated[
    ReportFormat, typer.Option("--format", "-f", help="html, xlsx, csv hoặc json.")
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out", "-o", help="Ghi ra tệp (bắt buộc với xlsx khi in ra màn hình).", dir_okay=False
    ),
]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Tính đến ngày (mặc định: hôm nay).")]
AgencyOpt = Annotated[str | None, typer.Option("--agency", help="Chỉ một đơn vị chủ trì (mã).")]
LeaderOpt = Annotated[
    str | None, typer.Option("--leader", help="Chỉ nhiệm vụ do một lãnh đạo phụ trách (mã).")
]


def _deliver(data: bytes, fmt: ReportFormat, out: Path | None) -> None:
    """Write the report to ``out``, or to standard output unless it is binary on a terminal."""
    if out is not None:
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise InvalidInput(f"--out {str(out)!r}: không ghi được ({exc.strerror})") from None
        size = f"{len(data):,}".replace(",", ".")
        typer.echo(f"Đã ghi báo cáo ({fmt.value}, {size} byte) vào {out}.")
        return
    if fmt.binary and sys.stdout.isatty():
        raise InvalidInput(f"--format {fmt.value}: tệp nhị phân, cần --out TỆP")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _period(period: str | None, from_: str | None, to: str | None) -> reports_service.Period:
    if period is not None and (from_ is not None or to is not None):
        raise InvalidInput("dùng --period hoặc --from/--to, không dùng cả hai")
    if period is not None:
        return reports_service.parse_period(period)
    if from_ is None or to is None:
        raise InvalidInput("cần --period (ví dụ 2026-Q1) hoặc cả --from và --to")
    return reports_service.period_between(day(from_, option="--from"), day(to, option="--to"))


@report_app.command("period")
def period(
    period: Annotated[
        str | None,
        typer.Option(
            "--period", "-p", help="2026-03 (tháng), 2026-Q1 (quý), 2026-H1 (6 tháng), 2026 (năm)."
        ),
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Từ ngày (thay cho --period).")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Đến ngày (thay cho --period).")] = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = ReportFormat.HTML,
    out: OutOpt = None,
    agency: AgencyOpt = None,
    leader: LeaderOpt = None,
    limit: Annotated[
        int,
        typer.Option(help="Số nhiệm vụ tối đa trong phụ lục (số liệu tổng hợp luôn đầy đủ)."),
    ] = reports_service.DEFAULT_TASK_LIMIT,
) -> None:
    """Báo cáo một kỳ: số liệu theo đơn vị, so sánh kỳ trước, danh mục nhiệm vụ.

    Ví dụ: directives report period --period 2026-Q1 --format xlsx --out quy1.xlsx
    """
    chosen = _period(period, from_, to)
    on = day(as_of, option="--as-of")
    with unit_of_work() as s:
        data = reports_service.build_period_report(
            s, chosen, as_of=on, agency=agency, leader=leader, task_limit=limit
        )
    _deliver(render_period(data, fmt, office=runtime().settings.office_name), fmt, out)


@report_app.command("monthly")
def monthly(
    month: Annotated[str, typer.Option("--month", help="Tháng, ví dụ 2026-11 hoặc 11/2026.")],
    as_of: AsOfOpt = None,
    fmt: FormatOpt = ReportFormat.HTML,
    out: OutOpt = None,
    leader: LeaderOpt = None,
    live: Annotated[
        bool, typer.Option("--live", help="Tính lại, kể cả khi tháng đã chốt số liệu.")
    ] = False,
) -> None:
    """Tình hình Chương trình công tác tháng: số liệu chốt tháng, hoặc tạm tính đến một ngày.

    Ví dụ: directives report monthly --month 11/2026 --as-of 26/11/2026 --format xlsx -o ct.xlsx
    """
    from directives.cli.programme import month as parse_month_option
    from directives.reports.programme import render
    from directives.services import programme

    m = parse_month_option(month)
    on = day(as_of, option="--as-of")
    with unit_of_work() as s:
        status = programme.monthly_report(s, m, as_of=on, leader=leader, live=live)
    _deliver(render(status, fmt, office=runtime().settings.office_name), fmt, out)


@report_app.command("digest")
def digest(
    leader: Annotated[str, typer.Option("--leader", help="Mã lãnh đạo, ví dụ PCT1.")],
    as_of: AsOfOpt = None,
    fmt: FormatOpt = ReportFormat.HTML,
    out: OutOpt = None,
) -> None:
    """Báo cáo tuần của một lãnh đạo, như thư gửi vào đầu tuần (kể cả khi không gửi).

    Ví dụ: directives report digest --leader PCT1 --as-of 23/11/2026 --out tuan.html
    """
    from directives.db.tables import Leader
    from directives.services.digest import digest_context
    from directives.services.mailing import MailSettings
    from directives.services.registry import by_code

    on = day(as_of, option="--as-of")
    settings = runtime().settings
    with unit_of_work() as s:
        person = by_code(s, Leader, leader)
        context = digest_context(s, person, on, MailSettings.from_settings(settings))
    if context is None:  # the job would send nothing; say so rather than write an empty page
        typer.echo(f"Lãnh đạo {person.code} không có nội dung cần báo cáo tính đến {on:%d/%m/%Y}.")
        return
    _deliver(_digest_bytes(context, fmt), fmt, out)


DIGEST_SECTIONS = (
    ("critical", "Quá hạn nghiêm trọng"),
    ("due_next", "Đến hạn trong 5 ngày làm việc tới"),
    ("completed", "Hoàn thành trong tuần"),
)
DIGEST_COLUMNS = ("Mục", "Mã", "Nội dung", "Văn bản", "Cơ quan chủ trì", "Thời hạn", "Quá hạn")


def _digest_rows(context: dict[str, Any]) -> list[list[Any]]:
    """The digest's tasks, one row each, with the section they are listed under."""
    rows = []
    sections = [(label, context[key]) for key, label in DIGEST_SECTIONS]
    sections[1:1] = [
        (f"Quá hạn: {group['agency']}", group["tasks"]) for group in context["overdue_by_agency"]
    ]
    for label, tasks in sections:
        for t in tasks:
            late = t["days_late"]
            rows.append(
                [
                    label,
                    t["code"],
                    t["content"],
                    t["directive"],
                    t["lead_agency"],
                    t["deadline_text"],
                    "" if late is None else f"{late} ngày làm việc",
                ]
            )
    return rows


def _digest_bytes(context: dict[str, Any], fmt: ReportFormat) -> bytes:
    """The digest as the leader reads it (HTML, charts inline), its data, or its task list."""
    import json

    if fmt is ReportFormat.JSON:
        return (json.dumps(context, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if fmt is ReportFormat.HTML:
        import base64

        from notifications.charts import is_data_spec, png
        from notifications.render import render

        html = render("weekly_digest", context).html
        for spec in context["charts"]:
            if is_data_spec(spec):
                data = base64.b64encode(png(spec)).decode("ascii")
                html = html.replace(f"cid:{spec['cid']}", f"data:image/png;base64,{data}")
        return html.encode("utf-8")
    rows = _digest_rows(context)
    if fmt is ReportFormat.CSV:
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerows([list(DIGEST_COLUMNS), *rows])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")
    from directives.reports import _xlsx as xl
    from directives.reports._html import vndate

    book = xl.workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Báo cáo tuần"
    width = len(DIGEST_COLUMNS)
    xl.title(sheet, 1, f"BÁO CÁO TUẦN GỬI {context['recipient'].upper()}", width)
    xl.title(sheet, 2, f"Tính đến ngày {vndate(context['as_of'])}", width, bold=False)
    for col, text in enumerate(DIGEST_COLUMNS, start=1):
        xl.header(sheet, 4, col, text)
    for r, row in enumerate(rows, start=5):
        for col, value in enumerate(row, start=1):
            xl.cell(sheet, r, col, value)
    for letter, chars in zip("ABCDEFG", (22, 12, 60, 16, 26, 16, 14), strict=True):
        sheet.column_dimensions[letter].width = chars
    xl.print_setup(sheet, "4:4", "A5")
    return xl.to_bytes(book)
