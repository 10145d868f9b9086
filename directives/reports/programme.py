"""The monthly work programme's status rendered as bytes: HTML page, XLSX table, CSV or JSON.

The input is the status as ``services.programme.monthly_report`` returns it (live, or the frozen
final snapshot), so every format says the same thing.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from directives.programme import ItemState
from directives.reports import _xlsx as xl
from directives.reports._html import environment, number, vndate
from directives.reports.period import ReportFormat

COLUMNS = (
    ("STT", 6),
    ("Nội dung", 56),
    ("Loại", 14),
    ("Cơ quan chủ trì", 26),
    ("Lãnh đạo phụ trách", 20),
    ("Thời gian trình", 14),
    ("Kết quả", 34),
    ("Mã", 12),
)
HEADER_ROW = 6


def result(item: dict[str, Any]) -> str:
    """What became of an item, as the office writes it in the table's last column."""
    state = ItemState(item["state"])
    submitted = ""
    if item["submitted_on"]:
        submitted = f"ngày {vndate(item['submitted_on'])}"
        if item["document_number"]:
            submitted += f", {item['document_number']}"
    match state:
        case ItemState.SUBMITTED_ON_TIME:
            return f"Đã trình đúng hạn ({submitted})"
        case ItemState.SUBMITTED_LATE:
            return f"Đã trình chậm ({submitted})"
        case ItemState.NOT_YET_DUE:
            return "Chưa đến hạn trình"
        case ItemState.OVERDUE:
            return "Quá hạn, chưa trình"
        case ItemState.POSTPONED:
            target = item["postponed_to"]
            return f"Lùi sang tháng {target['month']} ({target['code']})" if target else "Lùi"
        case ItemState.REMOVED:
            return "Đưa ra khỏi chương trình"


def stage_text(status: dict[str, Any]) -> str:
    """'Số liệu chốt tháng …' or 'Số liệu tạm tính đến ngày …'."""
    if status["final"]:
        return f"Số liệu chốt tháng (lập ngày {vndate(status.get('compiled_on'))})"
    return f"Số liệu tạm tính đến ngày {vndate(status['as_of'])}"


def summary_sentence(status: dict[str, Any]) -> str:
    """'12 nội dung; đã trình 6 (2 chậm); 3 quá hạn chưa trình (25%); …'."""
    s = status["summary"]
    pct = "" if s["overdue_pct"] is None else f" ({number(s['overdue_pct'])}%)"
    return (
        f"{number(s['total'])} nội dung; đã trình "
        f"{number(s['submitted_on_time'] + s['submitted_late'])} "
        f"({number(s['submitted_late'])} trình chậm); {number(s['overdue'])} quá hạn chưa trình"
        f"{pct}; {number(s['carried_in'])} từ tháng trước chuyển sang; "
        f"{number(s['carried_over'])} lùi sang tháng sau"
    )


def render(status: dict[str, Any], fmt: ReportFormat, *, office: str) -> bytes:
    """The status in ``fmt``."""
    match fmt:
        case ReportFormat.HTML:
            page = environment().get_template("programme.html")
            return page.render(s=status, office=office, result=result).encode("utf-8")
        case ReportFormat.XLSX:
            return _xlsx(status, office)
        case ReportFormat.CSV:
            return _csv(status)
        case ReportFormat.JSON:
            return (json.dumps(status, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _row(n: int, item: dict[str, Any]) -> list[Any]:
    return [
        n,
        item["title"],
        item["kind"],
        item["agency"],
        item["leader"],
        vndate(item["planned"]),
        result(item),
        item["code"],
    ]


def _csv(status: dict[str, Any]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([name for name, _ in COLUMNS] + ["Tình trạng"])
    for n, item in enumerate(status["items"], start=1):
        writer.writerow([*_row(n, item), item["state"]])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx(status: dict[str, Any], office: str) -> bytes:
    book = xl.workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"CTCT {status['month'].replace('/', '-')}"
    width = len(COLUMNS)
    xl.title(sheet, 1, office.upper(), width)
    xl.title(sheet, 2, f"TÌNH HÌNH THỰC HIỆN CHƯƠNG TRÌNH CÔNG TÁC THÁNG {status['month']}", width)
    xl.title(sheet, 3, stage_text(status), width, bold=False)
    xl.title(sheet, 4, summary_sentence(status), width, bold=False)
    sheet.row_dimensions[4].height = 32
    for col, (text, col_width) in enumerate(COLUMNS, start=1):
        xl.header(sheet, HEADER_ROW, col, text)
        sheet.column_dimensions[get_column_letter(col)].width = col_width
    row = HEADER_ROW + 1
    for n, item in enumerate(status["items"], start=1):
        for col, value in enumerate(_row(n, item), start=1):
            xl.cell(sheet, row, col, value, center=col in (1, 6, 8))
        row += 1
    if not status["items"]:
        empty = "Chương trình công tác tháng không có nội dung nào."
        xl.title(sheet, row, empty, width, bold=False)
    xl.print_setup(sheet, f"{HEADER_ROW}:{HEADER_ROW}", f"A{HEADER_ROW + 1}")
    return xl.to_bytes(book)
