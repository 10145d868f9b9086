"""A period report rendered as bytes: HTML page, XLSX appendix, CSV grid or JSON."""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet.worksheet import Worksheet  # type: ignore[import-untyped]

from directives.figures import Figures
from directives.reports import _xlsx as xl
from directives.reports._html import DASH, environment, number
from directives.services.reports import Documents, PeriodReportData, Section, TaskRow

TOTAL_LABEL = "Tổng cộng"


class ReportFormat(enum.StrEnum):
    """Output formats of a report."""

    HTML = "html"
    XLSX = "xlsx"
    CSV = "csv"
    JSON = "json"

    @property
    def binary(self) -> bool:
        """True when the output is not text (never written to a terminal)."""
        return self is ReportFormat.XLSX


@dataclass(frozen=True)
class Column:
    """A column of the grid: a group heading (or None), its heading and how to read it."""

    key: str
    group: str | None
    header: str
    value: Callable[[Figures, Documents], int | float | None]


GRID = (
    Column("directives", "Giao trong kỳ", "Văn bản", lambda f, d: d.directives),
    Column("tasks", "Giao trong kỳ", "Nhiệm vụ", lambda f, d: d.tasks),
    Column("completed", "Đã hoàn thành", "Tổng số", lambda f, d: f.completed),
    Column("completed_on_time", "Đã hoàn thành", "Đúng hạn", lambda f, d: f.early + f.on_the_day),
    Column("late", "Đã hoàn thành", "Quá hạn", lambda f, d: f.late),
    Column("open_within_term", "Đang thực hiện", "Trong hạn", lambda f, d: f.open_within_term),
    Column("open_overdue", "Đang thực hiện", "Quá hạn", lambda f, d: f.open_overdue),
    Column("standing", "Đang thực hiện", "Thường xuyên", lambda f, d: f.standing),
    Column("fell_due", "Đến hạn trong kỳ", "Số nhiệm vụ", lambda f, d: f.fell_due),
    Column("on_time_rate", "Đến hạn trong kỳ", "Tỷ lệ đúng hạn (%)", lambda f, d: f.on_time_rate),
    Column("paused", None, "Tạm hoãn", lambda f, d: f.paused),
    Column("cancelled", None, "Đã hủy", lambda f, d: f.cancelled),
)

# The comparison with the previous period: (key, label); documents first, then the figures.
COMPARED = (
    ("directives", "Văn bản giao trong kỳ"),
    ("tasks", "Nhiệm vụ giao trong kỳ"),
    ("completed", "Nhiệm vụ hoàn thành"),
    ("early", "Hoàn thành trước hạn"),
    ("on_the_day", "Hoàn thành đúng ngày hạn"),
    ("late", "Hoàn thành quá hạn"),
    ("fell_due", "Nhiệm vụ đến hạn trong kỳ"),
    ("on_time_rate", "Tỷ lệ đúng hạn (%)"),
    ("working_days_used", "Ngày làm việc đã dùng"),
    ("working_days_allowed", "Ngày làm việc cho phép"),
    ("time_saved_pct", "Tiết kiệm thời gian (%)"),
    ("open_within_term", "Đang thực hiện trong hạn"),
    ("open_overdue", "Đang thực hiện quá hạn"),
    ("standing", "Nhiệm vụ thường xuyên"),
)


def render(report: PeriodReportData, fmt: ReportFormat, *, office: str) -> bytes:
    """The report in ``fmt``; ``office`` signs the HTML page and the XLSX titles."""
    match fmt:
        case ReportFormat.HTML:
            return to_html(report, office=office)
        case ReportFormat.XLSX:
            return to_xlsx(report, office=office)
        case ReportFormat.CSV:
            return to_csv(report)
    return to_json(report)


def grid_rows(report: PeriodReportData) -> list[tuple[str, str, list[int | float | None]]]:
    """(code, name, values in ``GRID`` order) per agency, then the total with code ''."""
    rows = [
        (a.code, a.name, [c.value(a.figures, a.documents) for c in GRID]) for a in report.agencies
    ]
    total = [c.value(report.total, report.documents) for c in GRID]
    return [*rows, ("", TOTAL_LABEL, total)]


def comparison(report: PeriodReportData) -> list[tuple[str, Any, Any, Any]]:
    """(label, this period, previous period, change) for every compared figure."""
    now = {**report.total.as_dict(), **_documents(report.documents)}
    before = {**report.previous_total.as_dict(), **_documents(report.previous_documents)}
    out: list[tuple[str, Any, Any, Any]] = []
    for key, label in COMPARED:
        a, b = now[key], before[key]
        out.append((label, a, b, None if a is None or b is None else round(a - b, 1)))
    return out


def _documents(d: Documents) -> dict[str, int]:
    return {"directives": d.directives, "tasks": d.tasks}


def summary_sentence(report: PeriodReportData) -> str:
    """What the appendix holds: '9 nhiệm vụ (thuộc 3 văn bản): 2 quá hạn chưa hoàn thành, …'."""
    t = report.tasks
    if not t.complete:
        return (
            "Phụ lục rút gọn (kỳ có nhiều nhiệm vụ): chỉ liệt kê "
            f"{number(t.by_section[Section.OVERDUE])} nhiệm vụ quá hạn chưa hoàn thành và "
            f"{number(t.by_section[Section.DONE_LATE])} nhiệm vụ hoàn thành quá hạn; "
            "nhiệm vụ trong hạn và hoàn thành đúng hạn có trong biểu tổng hợp."
        )
    counts = ", ".join(
        f"{number(t.by_section[s])} {label}"
        for s, label in (
            (Section.OVERDUE, "quá hạn chưa hoàn thành"),
            (Section.DONE_LATE, "hoàn thành quá hạn"),
            (Section.WITHIN_TERM, "đang thực hiện trong hạn"),
            (Section.DONE_ON_TIME, "hoàn thành đúng hạn"),
        )
    )
    return f"{number(t.total)} nhiệm vụ (thuộc {number(t.directives)} văn bản): {counts}."


def truncation_note(report: PeriodReportData) -> str | None:
    """Why the appendix stops early, or None when it lists every task it announces."""
    t = report.tasks
    if not t.truncated:
        return None
    return (
        f"Danh sách chỉ liệt kê {number(len(t.rows))} trong số {number(t.total)} nhiệm vụ "
        "(nhiệm vụ quá hạn trước); số liệu tổng hợp theo đơn vị vẫn đầy đủ."
    )


def subtitle(report: PeriodReportData) -> str:
    """'Quý I năm 2026, số liệu tính đến ngày 31/03/2026', with the scope if limited."""
    text = f"{report.title}, số liệu tính đến ngày {report.end:%d/%m/%Y}"
    scope = scope_text(report)
    return f"{text}; {scope}" if scope else text


def scope_text(report: PeriodReportData) -> str:
    """'Đơn vị chủ trì: Sở Xây dựng; Lãnh đạo phụ trách: …', or '' for the whole province."""
    parts = []
    if report.agency:
        parts.append(f"Đơn vị chủ trì: {report.agency[1]}")
    if report.leader:
        parts.append(f"Lãnh đạo phụ trách: {report.leader[1]}")
    return "; ".join(parts)


def deadline_text(row: TaskRow) -> str:
    """'31/03/2026', with the original when extended; 'Thường xuyên' without a deadline."""
    if row.deadline is None:
        return "Thường xuyên"
    text = f"{row.deadline:%d/%m/%Y}"
    if row.original_deadline and row.original_deadline != row.deadline:
        text += f" (gia hạn từ {row.original_deadline:%d/%m/%Y})"
    return text


def content_text(row: TaskRow) -> str:
    """The task's content with its code and directive, so a reader can trace it."""
    return f"{row.content}\n({row.code}; {row.directive} ngày {row.directive_issued_on:%d/%m/%Y})"


def to_html(report: PeriodReportData, *, office: str) -> bytes:
    """A standalone page, printable on A4 and readable on a phone."""
    page = environment().get_template("period.html")
    html = page.render(
        r=report,
        office=office,
        scope=scope_text(report),
        columns=GRID,
        grid=grid_rows(report),
        comparison=comparison(report),
        summary=summary_sentence(report),
        note=truncation_note(report),
        sections=_sections(report.tasks.rows),
        deadline_text=deadline_text,
    )
    return html.encode("utf-8")


def _sections(rows: list[TaskRow]) -> list[tuple[Section, list[TaskRow]]]:
    out: dict[Section, list[TaskRow]] = {}
    for row in rows:
        out.setdefault(row.section, []).append(row)
    return list(out.items())


def to_csv(report: PeriodReportData) -> bytes:
    """The grid per agency and the total row, UTF-8 with a BOM so that Excel reads Vietnamese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        ["STT", "Mã đơn vị", "Cơ quan chủ trì"]
        + [f"{c.group}: {c.header}" if c.group else c.header for c in GRID]
    )
    rows = grid_rows(report)
    for i, (code, name, values) in enumerate(rows, start=1):
        stt = "" if not code else i
        writer.writerow([stt, code, name, *("" if v is None else v for v in values)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def as_dict(report: PeriodReportData) -> dict[str, Any]:
    """The JSON payload: ``stats_dict``'s figures, the documents, the line and the tasks."""
    t = report.tasks
    return {
        "report": "period",
        "period": {
            "kind": report.period.kind.value,
            "label": report.period.label,
            "title": report.title,
            "start": report.start.isoformat(),
            "end": report.end.isoformat(),
            "period_end": report.period.end.isoformat(),
            "as_of": report.as_of.isoformat(),
        },
        "agency": report.agency[0] if report.agency else None,
        "leader": report.leader[0] if report.leader else None,
        **report.stats,
        "documents": {
            **_documents(report.documents),
            "by_agency": {a.code: _documents(a.documents) for a in report.agencies},
            "previous": _documents(report.previous_documents),
            "change": {
                "directives": report.documents.directives - report.previous_documents.directives,
                "tasks": report.documents.tasks - report.previous_documents.tasks,
            },
        },
        "half_year_line": report.half_year_line,
        "tasks": {
            "complete": t.complete,
            "total": t.total,
            "directives": t.directives,
            "listed": len(t.rows),
            "limit": t.limit,
            "truncated": t.truncated,
            "sections": {s.name.lower(): n for s, n in t.by_section.items()},
            "items": [_task(row) for row in t.rows],
        },
    }


def _task(row: TaskRow) -> dict[str, Any]:
    def iso(d: date | None) -> str | None:
        return None if d is None else d.isoformat()

    return {
        "section": row.section.name.lower(),
        "code": row.code,
        "content": row.content,
        "directive": row.directive,
        "directive_issued_on": iso(row.directive_issued_on),
        "lead_agency": row.agency_code,
        "lead_agency_name": row.agency_name,
        "leader": row.leader,
        "deadline": iso(row.deadline),
        "original_deadline": iso(row.original_deadline),
        "grid": row.grid.value,
        "status": row.grid.label,
        "completed_on": iso(row.completed_on),
        "submitted_on": iso(row.submitted_on),
        "days_late": row.days_late,
        "result": row.result,
    }


def to_json(report: PeriodReportData) -> bytes:
    """``as_dict`` as UTF-8 JSON."""
    return (json.dumps(as_dict(report), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# XLSX: an official appendix table (sheet 1) and the grid per agency (sheet 2).
APPENDIX_HEADERS = (
    ("STT", 6),
    ("Nội dung", 60),
    ("Cơ quan chủ trì", 24),
    ("Lãnh đạo phụ trách", 20),
    ("Thời hạn", 14),
    ("Kết quả", 34),
)
APPENDIX_HEADER_ROW = 6
GRID_HEADER_ROW = 5  # and the row below it


def to_xlsx(report: PeriodReportData, *, office: str) -> bytes:
    """Sheet 'Phụ lục' lists the tasks of the period; sheet 'Tổng hợp' holds the grid."""
    book = xl.workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Phụ lục"
    _appendix(sheet, report, office)
    _grid_sheet(book.create_sheet("Tổng hợp"), report, office)
    return xl.to_bytes(book)


def _appendix(sheet: Worksheet, report: PeriodReportData, office: str) -> None:
    width = len(APPENDIX_HEADERS)
    xl.title(sheet, 1, "PHỤ LỤC", width)
    xl.title(sheet, 2, "TÌNH HÌNH THỰC HIỆN NHIỆM VỤ DO UBND TỈNH, CHỦ TỊCH UBND TỈNH GIAO", width)
    xl.title(sheet, 3, subtitle(report), width)
    xl.title(sheet, 4, f"(Kèm theo báo cáo của {office})", width, bold=False)
    xl.title(sheet, 5, summary_sentence(report), width, bold=False)
    sheet.row_dimensions[5].height = 32
    for col, (text, col_width) in enumerate(APPENDIX_HEADERS, start=1):
        xl.header(sheet, APPENDIX_HEADER_ROW, col, text)
        sheet.column_dimensions[get_column_letter(col)].width = col_width
    row = APPENDIX_HEADER_ROW + 1
    for section, rows in _sections(report.tasks.rows):
        xl.cell(sheet, row, 1, section.roman, bold=True, center=True)
        sheet.merge_cells(start_row=row, start_column=2, end_row=row, end_column=width)
        count = report.tasks.by_section[section]
        xl.cell(sheet, row, 2, f"{section.title} ({number(count)} nhiệm vụ)", bold=True)
        for col in range(3, width + 1):
            sheet.cell(row, col).style = "report body"
        row += 1
        for stt, task in enumerate(rows, start=1):
            values = (
                stt,
                content_text(task),
                task.agency_name,
                task.leader,
                deadline_text(task),
                task.result,
            )
            for col, value in enumerate(values, start=1):
                xl.cell(sheet, row, col, value, center=col in (1, 5))
            row += 1
    note = truncation_note(report)
    if not report.tasks.rows:
        note = "Không có nhiệm vụ nào đến hạn, hoàn thành hoặc quá hạn trong kỳ."
    if note:
        xl.title(sheet, row, note, width, bold=False)
    xl.print_setup(
        sheet, f"{APPENDIX_HEADER_ROW}:{APPENDIX_HEADER_ROW}", f"A{APPENDIX_HEADER_ROW + 1}"
    )


def _grid_sheet(sheet: Worksheet, report: PeriodReportData, office: str) -> None:
    width = 2 + len(GRID)
    top = GRID_HEADER_ROW
    xl.title(sheet, 1, "BIỂU TỔNG HỢP TÌNH HÌNH THỰC HIỆN NHIỆM VỤ THEO ĐƠN VỊ", width)
    xl.title(sheet, 2, subtitle(report), width)
    xl.title(sheet, 3, f"(Kèm theo báo cáo của {office})", width, bold=False)
    xl.title(sheet, 4, f"Kết quả giải quyết: {report.half_year_line}", width, bold=False)
    for col, text in ((1, "STT"), (2, "Cơ quan chủ trì")):
        xl.header(sheet, top, col, text)
        xl.header(sheet, top + 1, col, None)
        sheet.merge_cells(start_row=top, start_column=col, end_row=top + 1, end_column=col)
    col = 3
    while col < width + 1:
        column = GRID[col - 3]
        span = sum(1 for c in GRID if c.group is not None and c.group == column.group)
        if column.group is None:
            xl.header(sheet, top, col, column.header)
            xl.header(sheet, top + 1, col, None)
            sheet.merge_cells(start_row=top, start_column=col, end_row=top + 1, end_column=col)
            col += 1
            continue
        for k in range(span):
            xl.header(sheet, top, col + k, column.group)
            xl.header(sheet, top + 1, col + k, GRID[col - 3 + k].header)
        sheet.merge_cells(start_row=top, start_column=col, end_row=top, end_column=col + span - 1)
        col += span
    row = top + 2
    for i, (code, name, values) in enumerate(grid_rows(report), start=1):
        bold = not code
        xl.cell(sheet, row, 1, i if code else None, bold=bold, center=True)
        xl.cell(sheet, row, 2, name, bold=bold)
        for k, value in enumerate(values, start=3):
            xl.cell(sheet, row, k, DASH if value is None else value, bold=bold, center=True)
            if isinstance(value, float):
                sheet.cell(row, k).number_format = "0.0"
        row += 1
    row += 1
    prev = report.previous
    xl.title(sheet, row, f"SO SÁNH VỚI KỲ TRƯỚC ({prev.label}: {prev.span})", width)
    row += 1
    for k, text in enumerate(("Chỉ tiêu", "Kỳ này", "Kỳ trước", "Thay đổi"), start=2):
        xl.header(sheet, row, k, text)
    for label, now, before, delta in comparison(report):
        row += 1
        xl.cell(sheet, row, 2, label)
        for k, value in enumerate((now, before, delta), start=3):
            xl.cell(sheet, row, k, DASH if value is None else value, center=True)
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 34
    for k in range(3, width + 1):
        sheet.column_dimensions[get_column_letter(k)].width = 11
    xl.print_setup(sheet, f"{top}:{top + 1}", f"C{top + 2}")
