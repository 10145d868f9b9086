"""What every XLSX report shares: named styles, titles, header and body cells, A4 print setup.

Cells take named styles, registered once per workbook: styling each cell with its own objects is
four times slower in openpyxl.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import (  # type: ignore[import-untyped]
    Alignment,
    Border,
    Font,
    NamedStyle,
    PatternFill,
    Side,
)
from openpyxl.worksheet.worksheet import Worksheet  # type: ignore[import-untyped]

FONT = "Times New Roman"
THIN = Side(style="thin")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
STYLES = {
    "title": dict(font=Font(name=FONT, size=12, bold=True), alignment=CENTER),
    "note": dict(font=Font(name=FONT, size=12, italic=True), alignment=CENTER),
    "header": dict(
        font=Font(name=FONT, size=11, bold=True),
        alignment=CENTER,
        border=BORDER,
        fill=PatternFill("solid", fgColor="D9E1F2"),
    ),
    "body": dict(font=Font(name=FONT, size=11), alignment=WRAP_TOP, border=BORDER),
    "body-center": dict(font=Font(name=FONT, size=11), alignment=CENTER, border=BORDER),
    "bold": dict(font=Font(name=FONT, size=11, bold=True), alignment=WRAP_TOP, border=BORDER),
    "bold-center": dict(font=Font(name=FONT, size=11, bold=True), alignment=CENTER, border=BORDER),
}


def workbook() -> Workbook:
    """A new workbook with the report styles registered."""
    book = Workbook()
    for name, parts in STYLES.items():
        book.add_named_style(NamedStyle(name=f"report {name}", **parts))
    return book


def to_bytes(book: Workbook) -> bytes:
    """The saved workbook."""
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def title(sheet: Worksheet, row: int, text: str, width: int, *, bold: bool = True) -> None:
    """A title line merged across ``width`` columns."""
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    sheet.cell(row, 1, text).style = "report title" if bold else "report note"


def header(sheet: Worksheet, row: int, col: int, text: str | None) -> None:
    """A table header cell."""
    sheet.cell(row, col, text).style = "report header"


def cell(
    sheet: Worksheet, row: int, col: int, value: Any, *, bold: bool = False, center: bool = False
) -> None:
    """A table body cell."""
    name = (
        ("bold" if bold else "body") if not center else ("bold-center" if bold else "body-center")
    )
    sheet.cell(row, col, value).style = f"report {name}"


def print_setup(sheet: Worksheet, title_rows: str, freeze: str) -> None:
    """A4 landscape, fit to width, the header rows repeated on every page, frozen below them."""
    sheet.freeze_panes = freeze
    sheet.print_title_rows = title_rows
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.5
