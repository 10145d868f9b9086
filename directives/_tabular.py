"""Reading a CSV or XLSX import file into numbered rows of cells, and reading cells by column."""

from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

from python_calamine import CalamineError, CalamineWorkbook

from directives.errors import ImportFileError, InvalidInput, RowError
from directives.filecheck import check_import_file
from directives.gcpause import paused_gc

Cell = str | int | float | bool | date | datetime | time | timedelta
T = TypeVar("T")

MAX_FILE_BYTES = 60 * 1024 * 1024
MAX_CELL_CHARS = 10_000
MAX_ERRORS = 1000
_SHOWN_CHARS = 100


def normalize_header(text: str) -> str:
    """Lower-case, trim and NFC-normalise a header so that equal headers compare equal."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def fold(text: str) -> str:
    """Normalise like a header, then drop Vietnamese diacritics (đ → d)."""
    decomposed = unicodedata.normalize("NFD", normalize_header(text))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.replace("đ", "d")


def is_blank(cell: Cell | None) -> bool:
    """True for an empty cell or one holding only whitespace."""
    return cell is None or (isinstance(cell, str) and not cell.strip())


def cell_text(cell: Cell) -> str:
    """The cell as text, the way a user would read it in Excel."""
    if isinstance(cell, str):
        return unicodedata.normalize("NFC", cell)
    if isinstance(cell, float) and cell.is_integer():
        # Excel stores every number as a float; a code typed as 101 must not read "101.0".
        return str(int(cell))
    if isinstance(cell, datetime) and cell.time() == time():
        return cell.strftime("%d/%m/%Y")
    if isinstance(cell, date) and not isinstance(cell, datetime):
        return cell.strftime("%d/%m/%Y")
    return str(cell)


def text_of(cell: Cell) -> str:
    """The cell as trimmed text."""
    return cell_text(cell).strip()


def optional_text_of(cell: Cell) -> str | None:
    """The cell as trimmed text, or None when blank."""
    return text_of(cell) or None


def split_list(cell: Cell, separators: str) -> list[str]:
    """The non-blank, trimmed parts of a cell holding a list (e.g. "A; B, C")."""
    return [part.strip() for part in re.split(f"[{separators}]", text_of(cell)) if part.strip()]


def pick(choices: dict[str, T], reason: str) -> Callable[[Cell], T]:
    """A parser looking a cell up by its lower-cased, diacritic-free text; "" is a blank cell."""

    def parse(cell: Cell) -> T:
        key = fold(cell_text(cell))
        if key not in choices:
            raise ValueError(reason)
        return choices[key]

    return parse


def quoted(text: str) -> str:
    """Text quoted for an error message, cut short and with control characters escaped."""
    return repr(text if len(text) <= 40 else text[:40] + "…")


def shown(cell: Cell) -> Cell:
    """The cell, cut short when it is too long to echo back in an error."""
    if isinstance(cell, str) and len(cell) > _SHOWN_CHARS:
        return cell[:_SHOWN_CHARS] + "…"
    return cell


def thousands(number: int) -> str:
    """An integer written the Vietnamese way: 20.000.000."""
    return f"{number:,}".replace(",", ".")


def column_letter(index: int) -> str:
    """Excel's letter for a zero-based column index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


@dataclass(frozen=True)
class Column:
    """One supported column: its English key, the Vietnamese headers, and why a blank is wrong."""

    key: str
    headers: tuple[str, ...]
    missing: str | None = None  # the error for a blank cell; None for an optional column

    @property
    def aliases(self) -> frozenset[str]:
        """Every normalised header accepted for this column."""
        names = {self.key, self.key.replace("_", " ")}
        names.update(normalize_header(h) for h in self.headers)
        names.update(fold(h) for h in self.headers)
        return frozenset(names)


@dataclass(frozen=True)
class Table:
    """A file's first non-blank row as headers, then its non-blank rows with Excel row numbers."""

    source: str
    header_row: int
    headers: list[str]
    rows: list[tuple[int, Sequence[Cell]]]


@dataclass(frozen=True)
class Layout:
    """Where each known column sits in a file, and the header the user wrote for it."""

    columns: dict[str, Column]
    positions: dict[str, int]
    labels: dict[str, str]

    @functools.cached_property
    def keys(self) -> dict[int, str]:
        """The column key at each position (built once, not once per row)."""
        return {index: key for key, index in self.positions.items()}


def read_table(path: Path) -> Table:
    """Read the rows of a .csv or .xlsx file, refusing other kinds and files over 60 MB."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidInput(f"{path.name}: chỉ nhận tệp .csv hoặc .xlsx")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if size > MAX_FILE_BYTES:
        raise InvalidInput(f"{path.name}: tệp quá lớn ({size / 2**20:.1f} MB, tối đa 60 MB)")
    # Before any parser sees it: a few kilobytes of XLSX can make calamine ask for gigabytes,
    # and an allocation failure there aborts the process (it cannot be caught).
    check_import_file(path)
    grid: Sequence[Sequence[Cell]] = _read_csv(path) if suffix == ".csv" else _read_xlsx(path)
    numbered = [(i + 1, row) for i, row in enumerate(grid) if not all(map(is_blank, row))]
    if not numbered:
        return Table(path.name, 1, [], [])
    (header_row, header), *rows = numbered
    return Table(path.name, header_row, [str(shown(cell_text(c).strip())) for c in header], rows)


def _read_csv(path: Path) -> list[list[str]]:
    try:
        text = _decode(path.read_bytes(), path.name)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    # The default limit (128 KiB) would abort the whole file on one oversized cell; the file is
    # already capped at 60 MB, and an oversized cell is reported as a row error instead.
    if csv.field_size_limit() < MAX_FILE_BYTES:
        csv.field_size_limit(MAX_FILE_BYTES)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    try:
        return list(reader)
    except csv.Error as exc:
        raise InvalidInput(f"{path.name}: tệp CSV hỏng ở dòng {reader.line_num} ({exc})") from None


def _decode(data: bytes, name: str) -> str:
    # Excel's "Unicode text" export starts with a UTF-16 BOM; cp1258 would read it as garbage.
    # cp1258 is how old Vietnamese Windows files come; its combining tone marks are recomposed
    # by cell_text, which NFC-normalises every cell.
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "cp1258"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(f"{name}: tệp không phải UTF-8")


def _unreadable(path: Path, exc: OSError) -> InvalidInput:
    if isinstance(exc, FileNotFoundError):
        return InvalidInput(f"{path.name}: không tìm thấy tệp")
    return InvalidInput(f"{path.name}: không mở được tệp ({type(exc).__name__})")


_QUOTED = re.compile(r'"[^"]*"')


def _sniff_delimiter(text: str) -> str:
    # csv.Sniffer is slow on large samples and is fooled by commas inside quoted headers
    # ("Số, ký hiệu"), so count the candidates on the header line outside quotes.
    first_line = _QUOTED.sub("", text[:65_536].split("\n", 1)[0])
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_xlsx(path: Path) -> Sequence[Sequence[Cell]]:
    try:
        with CalamineWorkbook.from_path(path) as workbook:
            # skip_empty_area=False keeps leading blank rows, so row numbers match Excel's.
            return workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except CalamineError as exc:
        raise InvalidInput(f"{path.name}: không đọc được tệp Excel ({exc})") from None
    except OSError as exc:
        raise _unreadable(path, exc) from None


def resolve_columns(table: Table, columns: Sequence[Column]) -> Layout:
    """Match the file's headers to the supported columns, or raise listing every header fault."""
    by_alias = {alias: column for column in columns for alias in column.aliases}
    positions: dict[str, int] = {}
    labels: dict[str, str] = {}
    errors: list[RowError] = []
    for index, header in enumerate(table.headers):
        if not header:
            continue  # a cell under a blank header is reported on its own row
        column = by_alias.get(normalize_header(header))
        if column is None:
            errors.append(RowError(table.header_row, header, header, "cột không được hỗ trợ"))
        elif column.key in positions:
            reason = f"cột bị trùng với cột {labels[column.key]!r}"
            errors.append(RowError(table.header_row, header, header, reason))
        else:
            positions[column.key] = index
            labels[column.key] = header
    for column in columns:
        if column.missing is not None and column.key not in positions:
            errors.append(RowError(table.header_row, column.headers[0], "", "thiếu cột bắt buộc"))
        labels.setdefault(column.key, column.headers[0])
    if errors:
        raise ImportFileError(table.source, errors[:MAX_ERRORS])
    return Layout({c.key: c for c in columns}, positions, labels)


class RowReader:
    """One data row: reads cells by column key and records every fault as a RowError."""

    def __init__(
        self, number: int, cells: Sequence[Cell], layout: Layout, errors: list[RowError]
    ) -> None:
        self.number = number
        self.failed = False
        self._layout = layout
        self._errors = errors
        self._cells: dict[str, Cell] = {}
        self._spoiled: set[str] = set()
        keys = layout.keys
        for index, cell in enumerate(cells):
            key = keys.get(index)
            if key is None:
                if not is_blank(cell):
                    self.failed = True
                    where = f"cột {column_letter(index)}"
                    reason = "ô có dữ liệu nhưng cột không có tiêu đề"
                    errors.append(RowError(number, where, shown(cell), reason))
                continue
            self._cells[key] = cell
            if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
                self.fail(key, f"ô quá dài ({thousands(len(cell))} ký tự, tối đa 10.000)")
                self._spoiled.add(key)
            elif isinstance(cell, str) and "\x00" in cell:  # PostgreSQL cannot store it
                self.fail(key, "ô có ký tự NUL (\\x00), không lưu được")
                self._spoiled.add(key)

    def cell(self, key: str) -> Cell:
        """The raw cell of a column; an empty string when the file lacks the column."""
        return self._cells.get(key, "")

    def fail(self, key: str, reason: str) -> None:
        """Record a fault in this row's cell of the given column."""
        self.failed = True
        label = self._layout.labels[key]
        self._errors.append(RowError(self.number, label, shown(self.cell(key)), reason))

    def get(self, key: str, parse: Callable[[Cell], T], fallback: T) -> T:
        """Parse a cell, recording a blank required cell or a ValueError; fallback on a fault."""
        if key in self._spoiled:
            return fallback
        cell = self.cell(key)
        missing = self._layout.columns[key].missing
        if missing is not None and is_blank(cell):
            self.fail(key, missing)
            return fallback
        try:
            return parse(cell)
        except ValueError as exc:
            self.fail(key, str(exc))
            return fallback


def read_records(
    path: Path,
    columns: Sequence[Column],
    build: Callable[[RowReader], T],
    *,
    parsers: Mapping[str, Callable[[Cell], Any]] | None = None,
    assemble: Callable[[int, tuple[Any, ...]], T | None] | None = None,
) -> list[T]:
    """Build one record per non-blank row, or raise ImportFileError listing every bad row.

    With ``parsers`` (one for each of ``columns``, the ones ``build`` reads them with) and
    ``assemble``, each column's distinct cells are parsed once for the whole file, and a row
    whose cells all read cleanly is put together by ``assemble`` from its row number and values
    (in the order of ``parsers``). A row with a faulty cell, or one ``assemble`` declines by
    returning None, goes through ``build``, which reports its faults.
    """
    with paused_gc():  # the rows are many objects and no garbage
        return _records(path, columns, build, parsers, assemble)


def _records(
    path: Path,
    columns: Sequence[Column],
    build: Callable[[RowReader], T],
    parsers: Mapping[str, Callable[[Cell], Any]] | None,
    assemble: Callable[[int, tuple[Any, ...]], T | None] | None,
) -> list[T]:
    table = read_table(path)
    layout = resolve_columns(table, columns)
    clean: list[tuple[Any, ...] | None] | None = None
    if parsers is not None and assemble is not None:
        clean = _parsed_rows(table, layout, parsers)
    errors: list[RowError] = []
    records: list[T] = []
    for i, (number, cells) in enumerate(table.rows):
        if clean is not None and assemble is not None and (values := clean[i]) is not None:
            record = assemble(number, values)
            if record is not None:
                records.append(record)
                continue
        reader = RowReader(number, cells, layout, errors)
        record = build(reader)
        if not reader.failed:
            records.append(record)
        if len(errors) >= MAX_ERRORS:
            break  # a file this broken needs fixing as a whole; stop reading it
    if errors:
        raise ImportFileError(table.source, errors[:MAX_ERRORS])
    return records


_FAULT: Any = object()  # a cell that RowReader must read, to report what is wrong with it


def _parsed_rows(
    table: Table, layout: Layout, parsers: Mapping[str, Callable[[Cell], Any]]
) -> list[tuple[Any, ...] | None]:
    """Each row's parsed values, or None where a cell has a fault that RowReader would record.

    Column by column, each distinct cell once: a file repeats its directives, codes, dates and
    labels on every row, and a row at a time cost more than reading the file.
    """
    unparsed = set(layout.columns) - set(parsers)
    if unparsed:
        raise ValueError(f"no parser for {', '.join(sorted(unparsed))}")
    rows = [cells for _, cells in table.rows]
    width = max([len(table.headers), *map(len, rows)])
    if any(len(cells) < width for cells in rows):  # a CSV row may stop short
        rows = [[*cells, *[""] * (width - len(cells))] for cells in rows]
    grid = list(zip(*rows, strict=True)) or [()] * width  # the columns, left to right
    blank = ("",) * len(rows)
    faulty: set[int] = set()
    for index, column in enumerate(grid):
        if index not in layout.keys:  # a cell under no header, as RowReader refuses it
            faulty.update(i for i, cell in enumerate(column) if not is_blank(cell))
    columns: list[list[Any]] = []
    for key, parse in parsers.items():
        required = layout.columns[key].missing is not None
        position = layout.positions.get(key)
        column = blank if position is None else grid[position]
        # 1, 1.0 and True are equal keys but not equal cells: only text is its own key.
        cells: Sequence[Any] = column
        if set(map(type, column)) - {str}:
            cells = [v if v.__class__ is str else (v.__class__, v) for v in column]
        answers = {
            cell: _answer(cell if cell.__class__ is str else cell[1], parse, required)
            for cell in dict.fromkeys(cells)
        }
        parsed = list(map(answers.__getitem__, cells))
        if any(answer is _FAULT for answer in answers.values()):
            faulty.update(i for i, answer in enumerate(parsed) if answer is _FAULT)
        columns.append(parsed)
    return [None if i in faulty else values for i, values in enumerate(zip(*columns, strict=True))]


def _answer(cell: Cell, parse: Callable[[Cell], Any], required: bool) -> Any:
    """What ``parse`` reads in the cell, or ``_FAULT`` where RowReader would record an error."""
    if isinstance(cell, str) and (len(cell) > MAX_CELL_CHARS or "\x00" in cell):
        return _FAULT
    if required and is_blank(cell):
        return _FAULT
    try:
        return parse(cell)
    except ValueError:
        return _FAULT
