"""Checks on an import file before it is parsed, so that no file can exhaust memory or time.

The readers trust a file's shape. Python's csv module keeps every row, however many a few bytes
of separators make. calamine (the XLSX reader) lays a sheet out as the whole rectangle from A1
to its furthest cell, reserves room for as many shared strings as the file declares, and hands
Python one copy of a shared string for every cell that uses it; an allocation it cannot make
aborts the process rather than raising. A file of a few kilobytes can ask for terabytes. So,
before a file is parsed:

- a CSV holds at most ``MAX_CELLS`` cells, counted from its line ends and separators (an upper
  bound), and at most ``MAX_COLUMNS`` fields a record, counted the way the csv module splits it
  (the reader records an error for every stray cell of a row, so one wide row could fill memory);
- an XLSX is a sound ZIP of at most ``MAX_PARTS`` parts, unpacking to at most
  ``MAX_UNPACKED_BYTES`` as declared *and* as actually inflated (each part is inflated here,
  with its declared size as the budget and its CRC checked), no large part packed tighter than
  ``MAX_RATIO`` to one; each part's cells, placed the way calamine places them (``r``
  attributes, else the next row and column), lie within Excel's limits and span at most
  ``MAX_CELLS`` cells counted from A1; the shared-string table declares at most ``MAX_CELLS``
  strings; and the shared strings a part's cells point at add up to at most ``MAX_TEXT_BYTES``.

Every refusal is an ``InvalidInput`` naming the file and what is wrong with it, in Vietnamese.
"""

from __future__ import annotations

import html
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from directives.errors import InvalidInput

MAX_CELLS = 3_000_000
MAX_COLUMNS = 1_000
MAX_PARTS = 10_000
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_RATIO = 200
MAX_TEXT_BYTES = 256 * 1024 * 1024  # about 2.5 kB of text a row in 100,000 rows
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
_RATIO_FROM = 1024 * 1024  # small parts (styles, themes) may pack tighter; they cannot hurt
_CHUNK = 1024 * 1024
_LONG_RUN = 1024 * 1024  # a tag and the text after it; no real spreadsheet part comes close
_MB = 1024 * 1024

# A CSV reduced to what splits it into records and fields: "x" stands for any other byte.
_CSV_SKELETON = bytes(c if c in b',;\t\n\r"' else ord("x") for c in range(256))
# For each delimiter: every byte but it and the line ends (dropped to count fields a line).
_ALL_BUT = {d: bytes(c for c in range(256) if c not in (d[0], 10, 13)) for d in (b",", b";", b"\t")}
_PREFIX = rb"(?:[^\s<>/!?:=]+:)?"  # calamine matches elements by local name, any prefix
_QUOTED = rb"""(?:"([^"<]*)"|'([^'<]*)')"""
# Rows and cells, and the values of cells, as calamine walks them. A tag's ``r`` and ``t`` are
# captured wherever they stand among its attributes; quoted values are consumed whole (they may
# hold ">" or "r=" look-alikes). A tag that does not close before the next "<" captures no
# ">", and is refused in an XML part. The text after a tag is its value.
_SHEET = re.compile(
    rb"<(?:(/)" + _PREFIX + rb"row\s*>|" + _PREFIX + rb"(row|c|v)(?=[\s/>])"
    # r="AB12" split into its letters, digits and anything else (which makes it invalid)
    rb"""(?:(?:\s++(?:r\s*=\s*(?:"([A-Za-z]{0,3})([0-9]{0,7})([^"<]*)"|'([^'<]*)')"""
    rb"|t\s*=\s*"
    + _QUOTED
    + rb"""|[^\s=<>/]+\s*=\s*(?:"[^"<]*"|'[^'<]*')))*+\s*+(/?)(>))?)([^<]*)"""
)
# The shared-string table: its root, and where each string starts and ends.
_STRINGS = re.compile(
    rb"<(/?)" + _PREFIX + rb"(si|sst)(?=[\s/>])((?:[^<>\"']|\"[^<\"]*\"|'[^<']*')*+)(>)?"
)
_TARGET = re.compile(rb"Target\s*=\s*" + _QUOTED)  # anywhere: a superset of the real ones
_ATTRIBUTE = re.compile(rb"""([^\s=/<>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(rb"([A-Za-z]{1,3})([0-9]{1,7})")
_DIGITS = re.compile(rb"[0-9]{1,7}")


def thousands(number: int) -> str:
    """An integer written the Vietnamese way: 3.000.000."""
    return f"{number:,}".replace(",", ".")


def check_import_file(path: Path) -> None:
    """Refuse (InvalidInput) a .csv or .xlsx file whose reading would exhaust memory or time.

    Call it after the file-size check and before the file is parsed; other kinds pass.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        check_csv(path)
    elif suffix == ".xlsx":
        check_xlsx(path)


def check_csv(path: Path) -> None:
    """Refuse a CSV with more cells, or wider lines, than an import file can have."""
    try:
        data = path.read_bytes()
    except OSError:
        return  # the reader reports a missing or unreadable file in its own words
    lines = data.count(b"\n") + data.count(b"\r") + 1
    cells = lines + max(data.count(b","), data.count(b";"), data.count(b"\t"))
    if cells > MAX_CELLS:
        raise InvalidInput(
            f"{path.name}: tệp CSV có quá nhiều dòng hoặc ô (hơn {thousands(MAX_CELLS)} ô); "
            "hãy chia thành nhiều tệp nhỏ hơn"
        )
    if _widest_record(data) > MAX_COLUMNS:
        raise InvalidInput(
            f"{path.name}: tệp CSV có dòng dài hơn {thousands(MAX_COLUMNS)} cột; "
            "kiểm tra lại dấu phân cách"
        )


def _widest_record(data: bytes) -> int:
    """The most fields a record holds as the csv module reads it, for any of the delimiters.

    A quoted field opens with a quote at the start of a field and may hold delimiters and
    line ends; each is replaced by one "x" before the delimiters of each line are counted.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = data.decode("utf-16", "replace").encode("utf-8")
    skeleton = b"\n" + data.translate(_CSV_SKELETON)
    widest = 0
    for delimiter in (b",", b";", b"\t"):
        # The quote comes first, so the regex engine jumps from quote to quote.
        quoted = re.compile(rb'"(?<=[' + delimiter + rb'\n\r]")(?:[^"]|"")*+"')
        kept = quoted.sub(b"x", skeleton).translate(None, _ALL_BUT[delimiter])
        widest = max(widest, 1 + max(map(len, kept.splitlines()), default=0))
    return widest


def check_xlsx(path: Path) -> None:
    """Refuse an XLSX that is no sound ZIP, or would unpack or lay out beyond the limits."""
    name = path.name
    try:
        with zipfile.ZipFile(path) as archive, path.open("rb") as raw:
            parts = archive.infolist()
            _check_directory(name, parts)
            _check_parts(name, raw, parts)
    except zipfile.BadZipFile:
        raise InvalidInput(
            f"{name}: không phải tệp Excel .xlsx (không đọc được cấu trúc tệp nén)"
        ) from None
    except (zipfile.LargeZipFile, zlib.error, EOFError, ValueError, OverflowError):
        raise InvalidInput(f"{name}: tệp Excel hỏng hoặc có cấu trúc không hỗ trợ") from None
    except OSError:
        return  # missing or unreadable: the reader says so in its own words


def _check_directory(name: str, parts: list[zipfile.ZipInfo]) -> None:
    """What the ZIP's directory declares: the number of parts, their sizes, their packing."""
    if len(parts) > MAX_PARTS:
        raise InvalidInput(
            f"{name}: tệp Excel có {thousands(len(parts))} phần (tối đa {thousands(MAX_PARTS)})"
        )
    total = 0
    for part in parts:
        packing = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
        if part.flag_bits & 0x1 or part.compress_type not in packing:
            raise InvalidInput(
                f"{name}: phần {_shown(part.filename)} của tệp Excel được mã hóa "
                "hoặc nén theo cách không hỗ trợ"
            )
        total += part.file_size
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > _RATIO_FROM and ratio > MAX_RATIO:
            raise InvalidInput(
                f"{name}: phần {_shown(part.filename)} nén với tỉ lệ {ratio:.0f}:1, bất thường "
                f"(tối đa {MAX_RATIO}:1); có thể là tệp «bom nén»"
            )
    if total > MAX_UNPACKED_BYTES:
        raise InvalidInput(
            f"{name}: tệp Excel giải nén ra {total / _MB:.0f} MB "
            f"(tối đa {MAX_UNPACKED_BYTES // _MB} MB)"
        )


def _check_parts(name: str, raw: BinaryIO, parts: list[zipfile.ZipInfo]) -> None:
    """Inflate and scan every part: relationships first, then shared strings, then the rest."""
    targets: set[str] = set()  # base names that the workbook's relationships point at
    lengths: list[int] = []
    for part in sorted(parts, key=lambda p: (_kind(p.filename) != "rels", not _is_strings(p))):
        # A part calamine may read as XML is held to well-formed tags; others (images) are not.
        strict = _kind(part.filename) in ("xml", "rels") or _base(part.filename) in targets
        scan = _Part(name, part.filename, lengths, strict=strict, strings=_is_strings(part))
        for chunk in _inflate(name, raw, part):
            scan.feed(chunk)
        scan.close()
        if _base(part.filename) == "workbook.xml.rels":
            targets.update(_base(html.unescape(t.decode("utf-8", "replace"))) for t in scan.targets)
        if _is_strings(part):
            lengths = _longest(lengths, scan.string_lengths)


def _base(filename: str) -> str:
    return filename.replace("\\", "/").rsplit("/", 1)[-1].lower()


def _kind(filename: str) -> str:
    return _base(filename).rsplit(".", 1)[-1]


def _is_strings(part: zipfile.ZipInfo) -> bool:
    # calamine opens "<workbook folder>/sharedStrings.xml"; any folder and case is taken here.
    return _base(part.filename) == "sharedstrings.xml"


def _longest(a: list[int], b: list[int]) -> list[int]:
    """Per index, the longer of two tables' strings (a file may hold more than one table)."""
    if len(a) < len(b):
        a, b = b, a
    return [max(x, y) for x, y in zip(a, b, strict=False)] + a[len(b) :]


def _inflate(name: str, raw: BinaryIO, part: zipfile.ZipInfo) -> Iterator[bytes]:
    """The part's bytes, inflated with its declared size as the budget and its CRC checked.

    Declared sizes can lie, and a reader may inflate past them, so the stream must end exactly
    at the declared size.
    """
    broken = InvalidInput(
        f"{name}: phần {_shown(part.filename)} của tệp Excel bị hỏng "
        "(nội dung không khớp với kích thước hoặc mã kiểm tra đã khai báo)"
    )
    raw.seek(part.header_offset)
    header = raw.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise broken
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    raw.seek(part.header_offset + 30 + name_length + extra_length)
    inflater = zlib.decompressobj(-15) if part.compress_type == zipfile.ZIP_DEFLATED else None
    left, produced, crc = part.compress_size, 0, 0
    while left > 0 and not (inflater is not None and inflater.eof):
        packed = raw.read(min(left, _CHUNK))
        if not packed:
            raise broken
        left -= len(packed)
        while packed:
            if inflater is None:
                data, packed = packed, b""
            else:
                # One byte over the budget is enough to know the part lies about its size.
                data = inflater.decompress(packed, min(_CHUNK, part.file_size - produced + 1))
                packed = b"" if inflater.eof else inflater.unconsumed_tail
            produced += len(data)
            if produced > part.file_size:
                raise broken
            crc = zlib.crc32(data, crc)
            if data:
                yield data
    if (inflater is not None and not inflater.eof) or produced != part.file_size:
        raise broken
    if crc != part.CRC:
        raise broken


class _Part:
    """Scans one part as calamine walks it: where its cells go and what text they point at.

    Bytes are scanned up to the last ``<`` seen and the rest waits for the next chunk, so a
    tag is always whole when it is read, and so is the text after it, up to the next tag.
    Every part is scanned for cells (a relationship can make any part a sheet); the shared
    strings are measured too, and the relationships' targets collected.
    """

    def __init__(
        self, name: str, part: str, lengths: list[int], *, strict: bool, strings: bool
    ) -> None:
        self.name, self.part, self.lengths = name, part, lengths
        self.strict, self.strings = strict, strings
        self.pending = b""
        self.offset = 0  # where ``pending`` starts in the part
        self.started = False
        self.row = 0  # calamine's running row and column, 0-based
        self.column = 0
        self.rows = 0  # the rectangle, from A1, that the cells holding something need
        self.columns = 0
        self.shared = False  # inside a cell whose values are shared-string indexes
        self.text = 0  # bytes of shared strings that this part's cells point at
        self.letters: dict[bytes, int] = {}  # column letters seen, and their 0-based index
        self.string_lengths: list[int] = []
        self.string_start: int | None = None
        self.targets: list[bytes] = []

    def feed(self, chunk: bytes) -> None:
        """Scan the next bytes of the part."""
        if not self.started and chunk.strip():
            self.started = True
            self.strict = self.strict or chunk.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"<"
        data = self.pending + chunk
        cut = data.rfind(b"<")
        if cut < 0:
            cut = len(data)
        self._scan(data, cut)
        self.offset += cut
        self.pending = data[cut:]
        if len(self.pending) > _LONG_RUN:
            close = self.pending.find(b">")
            if close < 0:
                if self.strict:
                    raise self._refusal("có một thẻ XML dài bất thường")
                close = 0
            # The tag is whole and only text follows it: read the tag, skip the text.
            self._scan(self.pending[: close + 65], close + 65)
            self.offset += len(self.pending)
            self.pending = b""

    def close(self) -> None:
        """Scan what is left at the end of the part."""
        self._scan(self.pending, len(self.pending))

    def _scan(self, data: bytes, end: int) -> None:
        self._cells(data, end)
        if self.strings:
            self._strings(data, end)
        self.targets += [a or b for a, b in _TARGET.findall(data, 0, end)]

    def _cells(self, data: bytes, end: int) -> None:
        # One tight loop, no calls in the common case: a million cells take about a second.
        row, column, rows, columns = self.row, self.column, self.rows, self.columns
        lengths, count, text_bytes, shared = self.lengths, len(self.lengths), self.text, False
        letters_seen = self.letters
        for match in _SHEET.findall(data, 0, end):
            closing, element, letters, digits, rest, quoted, t1, t2, empty, closed, text = match
            if closing:  # </row>
                row, column = row + 1, 0
            elif not closed:
                if self.strict:
                    raise self._refusal(f"có thẻ <{element.decode()}> không hợp lệ")
            elif element == b"c":
                row_at = row
                if letters and digits and not rest:  # the usual r="B7", without a call
                    row_at = int(digits) - 1
                    column = letters_seen.get(letters, -1)
                    if column < 0:
                        column = letters_seen[letters] = _column(letters)
                elif letters or digits or rest or quoted:
                    row_at, column = self._reference(letters + digits + rest or quoted)
                if not (0 <= row_at < EXCEL_ROWS and column < EXCEL_COLUMNS):
                    raise self._outside(letters + digits + rest or quoted, row_at, column)
                shared = not empty and (t1 or t2) == b"s"
                if not empty and (row_at >= rows or column >= columns):
                    rows, columns = max(rows, row_at + 1), max(columns, column + 1)
                    if rows * columns > MAX_CELLS:
                        raise self._refusal(
                            f"trải trên {thousands(rows)} dòng × {thousands(columns)} cột "
                            f"(tối đa {thousands(MAX_CELLS)} ô, tính từ ô A1)"
                        )
                column += 1
            elif element == b"v":
                if shared:
                    # As calamine reads it: the raw text, and index 0 when it is no number.
                    index = int(text) if text.isdigit() and len(text) < 19 else 0
                    if index < count:
                        text_bytes += lengths[index]
            else:  # <row>
                number = letters + digits + rest or quoted
                if number:
                    if not _DIGITS.fullmatch(number) or not 1 <= int(number) <= EXCEL_ROWS:
                        raise self._refusal(f"có số dòng {_shown(number)} không hợp lệ")
                    row = int(number) - 1
                if empty:
                    row, column = row + 1, 0
        self.row, self.column, self.rows, self.columns = row, column, rows, columns
        self.text = text_bytes
        if text_bytes > MAX_TEXT_BYTES:
            raise self._refusal(f"có các ô chứa quá nhiều văn bản (hơn {MAX_TEXT_BYTES // _MB} MB)")

    def _reference(self, ref: bytes) -> tuple[int, int]:
        """(row, column), 0-based, of an A1 reference."""
        found = _REF.fullmatch(ref)
        if found is None:
            raise self._refusal(f"có ô mang địa chỉ {_shown(ref)} không hợp lệ")
        letters, digits = found.groups()
        return int(digits) - 1, _column(letters)

    def _outside(self, ref: bytes, row: int, column: int) -> InvalidInput:
        where = _shown(ref) if ref else f"ở dòng {thousands(row + 1)}, cột {thousands(column + 1)}"
        return self._refusal(
            f"có ô {where} nằm ngoài giới hạn của Excel "
            f"({thousands(EXCEL_ROWS)} dòng, {thousands(EXCEL_COLUMNS)} cột)"
        )

    def _strings(self, data: bytes, end: int) -> None:
        for match in _STRINGS.finditer(data, 0, end):
            closing, element, attributes, closed = match.groups()
            if not closed:
                if self.strict:
                    raise self._refusal(f"có thẻ <{element.decode()}> không hợp lệ")
            elif element == b"sst":
                if not closing:
                    self._table(attributes)
            elif closing:
                if self.string_start is not None:
                    self.string_lengths.append(self.offset + match.start() - self.string_start)
                self.string_start = None
            elif attributes.endswith(b"/"):
                self.string_lengths.append(0)
            else:
                self.string_start = self.offset + match.end()

    def _table(self, attributes: bytes) -> None:
        declared = _attribute(attributes, b"uniqueCount")
        if declared is not None and declared.isdigit() and int(declared) > MAX_CELLS:
            raise self._refusal(
                f"khai báo {thousands(int(declared))} chuỗi dùng chung "
                f"(tối đa {thousands(MAX_CELLS)})"
            )

    def _refusal(self, what: str) -> InvalidInput:
        return InvalidInput(f"{self.name}: phần {_shown(self.part)} của tệp Excel {what}")


def _column(letters: bytes) -> int:
    """The 0-based column of Excel's letters (A → 0, AA → 26)."""
    column = 0
    for letter in letters.upper():
        column = column * 26 + letter - ord("A") + 1
    return column - 1


def _attribute(attributes: bytes, key: bytes) -> bytes | None:
    """The raw value of an attribute (calamine reads values raw, entities and all)."""
    if key not in attributes:
        return None  # the common case, and a quick one
    for found in _ATTRIBUTE.finditer(attributes):
        if found.group(1) == key:
            value: bytes = found.group(2) if found.group(2) is not None else found.group(3)
            return value
    return None


def _shown(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return repr(text if len(text) <= 40 else text[:40] + "…")
