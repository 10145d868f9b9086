"""Import files (CSV or XLSX, one record a row) read into validated rows; nothing is stored."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from directives._tabular import (
    Cell,
    Column,
    RowReader,
    fold,
    is_blank,
    optional_text_of,
    pick,
    quoted,
    read_records,
    split_list,
    text_of,
    thousands,
)
from directives._tabular import normalize_header as normalize_header
from directives.domain import AgencyKind, DeadlineSpec, DirectiveKind, LeaderRole, Priority
from directives.programme import ITEM_KIND_LABELS, ItemKind
from directives.recurrence import Recurrence

E = TypeVar("E")

MIN_YEAR, MAX_YEAR = 1990, 2100
MAX_WORKING_DAYS = 3650
_EXCEL_EPOCH = date(1899, 12, 30)  # 1900 date system, counting Excel's phantom 29/02/1900
_NO_DATE = date.min  # stands in for a bad date; no deadline is ever before it
_NONE: tuple[str, ...] = ()
_STANDING = DeadlineSpec()

_BAD_DATE = "ngày không hợp lệ"
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", re.ASCII)
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_WORKING_DAYS = re.compile(r"(\d+)\s*(ngay lam viec|ngay|nglv|working days?)", re.ASCII)
# 245/TB-UBND, 1789/QĐ-UBND, and the decree style with the year inside: 12/2024/QĐ-UBND.
_DIRECTIVE_NUMBER = re.compile(r"\d+[A-Za-z0-9]*(?:/[A-ZĐa-zđ0-9\-]+){1,2}", re.ASCII)
_CODE = re.compile(r"[A-Z0-9][A-Z0-9_\-]{0,19}", re.ASCII)
_TASK_CODE = re.compile(r"[A-Z0-9][A-Z0-9\-]{2,19}", re.ASCII)
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"  # local part: no spaces, quotes, "<>" or CR/LF
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]*",
    re.ASCII,
)


@dataclass(frozen=True)
class TaskRow:
    """One task of a tasks file, with the directive it comes from."""

    row: int
    directive_number: str
    directive_date: date
    directive_kind: DirectiveKind
    signer: str
    summary: str
    content: str
    lead_agency: str
    coordinating_agencies: tuple[str, ...]
    deadline: DeadlineSpec
    leader: str | None
    officer: str | None
    sector: str | None
    priority: Priority
    source_ref: str | None
    task_code: str | None


@dataclass(frozen=True)
class AgencyRow:
    """One agency of an agencies file."""

    row: int
    code: str
    name: str
    kind: AgencyKind
    focal_emails: tuple[str, ...]
    head_name: str | None
    head_email: str | None
    active: bool


@dataclass(frozen=True)
class LeaderRow:
    """One chairman or vice-chairman of a leaders file."""

    row: int
    code: str
    name: str
    title: str
    role: LeaderRole
    email: str
    sectors: tuple[str, ...]


@dataclass(frozen=True)
class OfficerRow:
    """One office staff member of an officers file."""

    row: int
    code: str
    name: str
    email: str


def parse_date(value: object) -> date:
    """Read DD/MM/YYYY, D/M/YYYY, YYYY-MM-DD, a date cell or an Excel serial number."""
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        day = _from_serial(value)
    elif isinstance(value, str):
        day = _date_from_text(value)
    else:
        raise ValueError(_BAD_DATE)
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"năm {day.year} nằm ngoài khoảng {MIN_YEAR}–{MAX_YEAR}")
    return day


def _from_serial(serial: float) -> date:
    if not math.isfinite(serial) or serial < 1:
        raise ValueError(_BAD_DATE)
    try:
        return _EXCEL_EPOCH + timedelta(days=int(serial))  # a fraction is the time of day
    except OverflowError:
        raise ValueError(_BAD_DATE) from None


def _date_from_text(text: str) -> date:
    text = text.strip()
    if not text:
        raise ValueError("thiếu ngày")
    if match := _DMY.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
    elif match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    else:
        raise ValueError(f"{_BAD_DATE} (ghi theo dạng DD/MM/YYYY hoặc YYYY-MM-DD)")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(_BAD_DATE) from None


def parse_deadline(value: object, issued: date) -> DeadlineSpec:
    """Read a deadline (a date, "N ngày làm việc" or blank/"thường xuyên") issued on a date."""
    spec = _deadline_form(value)
    if spec.on is not None and spec.on < issued:
        raise ValueError("thời hạn trước ngày ban hành")
    return spec


def _deadline_form(value: object) -> DeadlineSpec:
    if value is None:
        return DeadlineSpec()
    if isinstance(value, str):
        folded = fold(value)
        if folded in ("", "thuong xuyen"):
            return DeadlineSpec()
        if (periodic := Recurrence.parse(value)) is not None:
            return DeadlineSpec(recurrence=periodic.key)
        if match := _WORKING_DAYS.fullmatch(folded):
            days = int(match.group(1))
            if not 1 <= days <= MAX_WORKING_DAYS:
                limit = thousands(MAX_WORKING_DAYS)
                raise ValueError(f"số ngày làm việc phải từ 1 đến {limit}")
            return DeadlineSpec(working_days=days)
        if not (_DMY.fullmatch(value.strip()) or _ISO.fullmatch(value.strip())):
            raise ValueError(
                "thời hạn không hợp lệ (ghi ngày DD/MM/YYYY, «N ngày làm việc» hoặc «thường xuyên»)"
            )
    return DeadlineSpec(on=parse_date(value))


def _labelled(members: dict[str, E], labels: dict[E, str]) -> dict[str, E]:
    return {**{fold(k): m for k, m in members.items()}, **{fold(t): m for m, t in labels.items()}}


# A blank optional cell is looked up as "", so each table's "" entry is that column's default.
_kind = pick(
    _labelled({k.value: k for k in DirectiveKind}, {k: k.label for k in DirectiveKind})
    | {"tb": DirectiveKind.CONCLUSION_NOTICE, "ct": DirectiveKind.DIRECTIVE}
    | {"cv": DirectiveKind.OFFICIAL_LETTER, "qd": DirectiveKind.DECISION}
    | {"ykcd": DirectiveKind.INSTRUCTION},
    "loại văn bản không hợp lệ (thông báo kết luận, chỉ thị, công văn, quyết định, ý kiến chỉ đạo)",
)
_priority = pick(
    _labelled({p.value: p for p in Priority}, {p: p.label for p in Priority})
    | {"": Priority.NORMAL},
    "độ khẩn không hợp lệ (thường, khẩn, thượng khẩn, hỏa tốc)",
)
_agency_kind = pick(
    _labelled({k.value: k for k in AgencyKind}, {k: k.label for k in AgencyKind})
    | {"so": AgencyKind.DEPARTMENT, "nganh": AgencyKind.DEPARTMENT, "huyen": AgencyKind.DISTRICT}
    | {"ubnd huyen": AgencyKind.DISTRICT, "": AgencyKind.OTHER},
    "loại đơn vị không hợp lệ (sở, ban, huyện, văn phòng, khác)",
)
_ROLES: dict[str, LeaderRole | None] = {r.value: r for r in LeaderRole}
_role = pick(
    _ROLES | {"chu tich": LeaderRole.CHAIRMAN, "pho chu tich": LeaderRole.VICE_CHAIRMAN, "": None},
    "vai trò không hợp lệ (chủ tịch, phó chủ tịch)",
)
_flag = pick(
    dict.fromkeys(("co", "yes", "true", "1", "x", ""), True)
    | dict.fromkeys(("khong", "no", "false", "0"), False),
    "giá trị không hợp lệ (có hoặc không)",
)


def _directive_number(cell: Cell) -> str:
    number = text_of(cell)
    if not _DIRECTIVE_NUMBER.fullmatch(number):
        raise ValueError("số ký hiệu không hợp lệ")
    return number


def _code(cell: Cell) -> str:
    # Codes are compared across files (agencies, leaders, tasks), so one spelling: upper case.
    code = text_of(cell).upper()
    if not _CODE.fullmatch(code):
        reason = "chữ in hoa không dấu, số, '-' hoặc '_', tối đa 20 ký tự"
        raise ValueError(f"mã {quoted(code)} không hợp lệ ({reason})")
    return code


def _optional_code(cell: Cell) -> str | None:
    return _code(cell) if text_of(cell) else None


def _codes(cell: Cell) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_code(part) for part in split_list(cell, ",;")))


def _task_code(cell: Cell) -> str | None:
    code = text_of(cell).upper()
    if code and not _TASK_CODE.fullmatch(code):
        reason = "3–20 ký tự: chữ in hoa không dấu, số hoặc '-'"
        raise ValueError(f"mã nhiệm vụ {quoted(code)} không hợp lệ ({reason})")
    return code or None


def _email(cell: Cell) -> str:
    address = text_of(cell)
    # fullmatch on an ASCII class also refuses spaces, CR/LF (header injection) and "<>".
    if len(address) > 254 or not _EMAIL.fullmatch(address):
        raise ValueError(f"email {quoted(address)} không hợp lệ")
    return address


def _optional_email(cell: Cell) -> str | None:
    return _email(cell) if text_of(cell) else None


def _emails(cell: Cell) -> tuple[str, ...]:
    addresses = [_email(part) for part in split_list(cell, ",;")]
    if not addresses:
        raise ValueError("thiếu email")
    # Mailboxes are case-insensitive in practice; one spelling each, so nobody gets two copies.
    unique: dict[str, str] = {}
    for address in addresses:
        unique.setdefault(address.lower(), address)
    return tuple(unique.values())


def _sectors(cell: Cell) -> tuple[str, ...]:
    return tuple(dict.fromkeys(split_list(cell, ";")))


def _squash(text: str) -> str:
    return " ".join(text.split())


def _check_unique(r: RowReader, code: str, seen: dict[str, int]) -> None:
    if not code:
        return  # a bad or missing code was reported already
    if code in seen:
        r.fail("code", f"mã {code} trùng với dòng {seen[code]}")
    else:
        seen[code] = r.number


TASK_COLUMNS = (
    Column("directive_number", ("Số ký hiệu", "Số, ký hiệu", "Số văn bản"), "thiếu số ký hiệu"),
    Column("directive_date", ("Ngày ban hành", "Ngày văn bản"), "thiếu ngày ban hành"),
    Column("directive_kind", ("Loại văn bản",), "thiếu loại văn bản"),
    Column("signer", ("Người ký",), "thiếu người ký"),
    Column("summary", ("Trích yếu",), "thiếu trích yếu"),
    Column("content", ("Nội dung nhiệm vụ", "Nội dung"), "thiếu nội dung nhiệm vụ"),
    Column("lead_agency", ("Đơn vị chủ trì", "Cơ quan chủ trì"), "thiếu đơn vị chủ trì"),
    Column("coordinating_agencies", ("Đơn vị phối hợp", "Cơ quan phối hợp")),
    Column("deadline", ("Thời hạn", "Hạn xử lý")),
    Column("leader", ("Lãnh đạo phụ trách", "Lãnh đạo chỉ đạo")),
    Column("officer", ("Chuyên viên theo dõi", "Chuyên viên")),
    Column("sector", ("Lĩnh vực",)),
    Column("priority", ("Độ khẩn", "Mức độ")),
    Column("source_ref", ("Nguồn", "Trích dẫn")),
    Column("task_code", ("Mã nhiệm vụ",)),
)
AGENCY_COLUMNS = (
    Column("code", ("Mã đơn vị", "Mã"), "thiếu mã đơn vị"),
    Column("name", ("Tên đơn vị", "Tên"), "thiếu tên đơn vị"),
    Column("kind", ("Loại", "Loại đơn vị")),
    Column("focal_emails", ("Email đầu mối",), "thiếu email đầu mối"),
    Column("head_name", ("Thủ trưởng",)),
    Column("head_email", ("Email thủ trưởng",)),
    Column("active", ("Hoạt động",)),
)
LEADER_COLUMNS = (
    Column("code", ("Mã", "Mã lãnh đạo"), "thiếu mã lãnh đạo"),
    Column("name", ("Họ tên", "Họ và tên"), "thiếu họ tên"),
    Column("title", ("Chức danh",), "thiếu chức danh"),
    Column("role", ("Vai trò",)),
    Column("email", ("Email",), "thiếu email"),
    Column("sectors", ("Lĩnh vực phụ trách", "Lĩnh vực")),
)
OFFICER_COLUMNS = (
    Column("code", ("Mã", "Mã chuyên viên"), "thiếu mã chuyên viên"),
    Column("name", ("Họ tên", "Họ và tên"), "thiếu họ tên"),
    Column("email", ("Email",), "thiếu email"),
)


def read_task_rows(path: Path) -> list[TaskRow]:
    """Read a tasks file, one task a row, or raise ImportFileError listing every bad row."""
    first_of: dict[tuple[str, int], TaskRow] = {}
    # A file repeats its directives' cells on every task row, and its codes, dates and labels
    # across rows: each distinct cell of a column is parsed once.
    number_of, date_of, kind_of = _memo(_directive_number), _memo(parse_date), _memo(_kind)
    code_of, codes_of, deadline_of = _memo(_code), _memo(_codes), _memo(_deadline_form)
    optional_code_of, optional_text = _memo(_optional_code), _memo(optional_text_of)
    priority_of, summary_of, task_code_of = _memo(_priority), _memo(text_of), _memo(_task_code)

    def build(r: RowReader) -> TaskRow:
        number = r.get("directive_number", number_of, "")
        issued = r.get("directive_date", date_of, _NO_DATE)
        kind = r.get("directive_kind", kind_of, DirectiveKind.CONCLUSION_NOTICE)
        signer = r.get("signer", code_of, "")
        summary = r.get("summary", summary_of, "")
        content = r.get("content", text_of, "")
        lead = r.get("lead_agency", code_of, "")
        coordinating = r.get("coordinating_agencies", codes_of, _NONE)
        if lead in coordinating:
            r.fail("coordinating_agencies", f"đơn vị {lead} đã là đơn vị chủ trì")
        deadline = r.get("deadline", deadline_of, _STANDING)
        if deadline.on is not None and deadline.on < issued:
            r.fail("deadline", "thời hạn trước ngày ban hành")
        row = TaskRow(
            row=r.number,
            directive_number=number,
            directive_date=issued,
            directive_kind=kind,
            signer=signer,
            summary=summary,
            content=content,
            lead_agency=lead,
            coordinating_agencies=coordinating,
            deadline=deadline,
            leader=r.get("leader", optional_code_of, None),
            officer=r.get("officer", optional_code_of, None),
            sector=r.get("sector", optional_text, None),
            priority=r.get("priority", priority_of, Priority.NORMAL),
            source_ref=r.get("source_ref", optional_text, None),
            task_code=r.get("task_code", task_code_of, None),
        )
        if not r.failed:
            _check_same_directive(r, row, first_of)
        return row

    # The parsers ``build`` reads the columns with, in TaskRow's order, for ``assemble``.
    parsers: dict[str, Callable[[Cell], Any]] = {
        "directive_number": number_of,
        "directive_date": date_of,
        "directive_kind": kind_of,
        "signer": code_of,
        "summary": summary_of,
        "content": text_of,
        "lead_agency": code_of,
        "coordinating_agencies": codes_of,
        "deadline": deadline_of,
        "leader": optional_code_of,
        "officer": optional_code_of,
        "sector": optional_text,
        "priority": priority_of,
        "source_ref": optional_text,
        "task_code": task_code_of,
    }

    def assemble(number: int, values: tuple[Any, ...]) -> TaskRow | None:
        """The row from cells that all read cleanly; None when it breaks a rule across cells
        (``build`` then reports it)."""
        issued, lead, coordinating, deadline = values[1], values[6], values[7], values[8]
        if lead in coordinating or (deadline.on is not None and deadline.on < issued):
            return None
        row = _task_row((number, *values))
        first = first_of.setdefault((row.directive_number, issued.year), row)
        if first is not row and _differs(row, first):
            return None
        return row

    return read_records(path, TASK_COLUMNS, build, parsers=parsers, assemble=assemble)


_TASK_ROW_FIELDS = tuple(f.name for f in fields(TaskRow))


def _task_row(values: Iterable[object]) -> TaskRow:
    """A TaskRow from its fields' values, in order, without the frozen dataclass's ``__init__``,
    which sets each field with ``object.__setattr__``: 4 µs a row, more than reading its cells.
    """
    row = object.__new__(TaskRow)
    row.__dict__.update(zip(_TASK_ROW_FIELDS, values, strict=True))
    return row


def _memo(parse: Callable[[Cell], E]) -> Callable[[Cell], E]:
    """``parse`` remembering its answer (a value or a ValueError's reason) for each cell."""
    answers: dict[tuple[type, Cell], tuple[bool, object]] = {}

    def parse_once(cell: Cell) -> E:
        key = (cell.__class__, cell)  # 1, 1.0 and True are equal keys, but not equal cells
        answer = answers.get(key)
        if answer is None:
            try:
                answer = True, parse(cell)
            except ValueError as exc:
                answer = False, str(exc)
            answers[key] = answer
        ok, value = answer
        if not ok:
            raise ValueError(value)
        return cast(E, value)

    return parse_once


def _check_same_directive(
    r: RowReader, row: TaskRow, first_of: dict[tuple[str, int], TaskRow]
) -> None:
    # Numbers restart every year, so number + year names one directive.
    first = first_of.setdefault((row.directive_number, row.directive_date.year), row)
    if first is row:
        return
    for key in _differs(row, first):
        r.fail(key, f"khác với dòng {first.row} cùng số ký hiệu")


def _differs(row: TaskRow, first: TaskRow) -> list[str]:
    """The directive's fields in which a row differs from its directive's first row."""
    differs = {
        "directive_date": row.directive_date != first.directive_date,
        "directive_kind": row.directive_kind != first.directive_kind,
        "signer": row.signer != first.signer,
        "summary": row.summary != first.summary and _squash(row.summary) != _squash(first.summary),
    }
    return [key for key, differ in differs.items() if differ]


def read_agency_rows(path: Path) -> list[AgencyRow]:
    """Read an agencies file, one agency a row, or raise ImportFileError listing every bad row."""
    seen: dict[str, int] = {}

    def build(r: RowReader) -> AgencyRow:
        code = r.get("code", _code, "")
        _check_unique(r, code, seen)
        return AgencyRow(
            row=r.number,
            code=code,
            name=r.get("name", text_of, ""),
            kind=r.get("kind", _agency_kind, AgencyKind.OTHER),
            focal_emails=r.get("focal_emails", _emails, _NONE),
            head_name=r.get("head_name", optional_text_of, None),
            head_email=r.get("head_email", _optional_email, None),
            active=r.get("active", _flag, True),
        )

    return read_records(path, AGENCY_COLUMNS, build)


def read_leader_rows(path: Path) -> list[LeaderRow]:
    """Read a leaders file, one leader a row, or raise ImportFileError listing every bad row."""
    seen: dict[str, int] = {}
    chairman_rows: list[int] = []

    def build(r: RowReader) -> LeaderRow:
        code = r.get("code", _code, "")
        _check_unique(r, code, seen)
        name = r.get("name", text_of, "")
        title = r.get("title", text_of, "")
        # An unreadable role is reported already; VICE_CHAIRMAN keeps it out of the chairman check.
        unreadable: LeaderRole | None = LeaderRole.VICE_CHAIRMAN
        role = r.get("role", _role, unreadable)
        if role is None:
            chairman = fold(title).startswith("chu tich")
            role = LeaderRole.CHAIRMAN if chairman else LeaderRole.VICE_CHAIRMAN
        if role is LeaderRole.CHAIRMAN:
            if chairman_rows:
                column = "title" if is_blank(r.cell("role")) else "role"
                r.fail(column, f"chỉ được có một chủ tịch (đã có ở dòng {chairman_rows[0]})")
            else:
                chairman_rows.append(r.number)
        email = r.get("email", _email, "")
        sectors = r.get("sectors", _sectors, _NONE)
        return LeaderRow(r.number, code, name, title, role, email, sectors)

    return read_records(path, LEADER_COLUMNS, build)


def read_officer_rows(path: Path) -> list[OfficerRow]:
    """Read an officers file, one officer a row, or raise ImportFileError listing every bad row."""
    seen: dict[str, int] = {}

    def build(r: RowReader) -> OfficerRow:
        code = r.get("code", _code, "")
        _check_unique(r, code, seen)
        return OfficerRow(r.number, code, r.get("name", text_of, ""), r.get("email", _email, ""))

    return read_records(path, OFFICER_COLUMNS, build)


@dataclass(frozen=True)
class ProgrammeRow:
    """One item of a work-programme file; agency and leader as written (code or name)."""

    row: int
    title: str
    kind: ItemKind
    agency: str
    leader: str | None
    planned_on: date | None  # None: the last working day of the month
    note: str | None
    submitted_on: date | None = None  # already submitted (a tracking file brought in mid-month)
    document_number: str | None = None


PROGRAMME_COLUMNS = (
    Column("position", ("STT", "TT", "Số thứ tự")),
    Column(
        "title",
        ("Nội dung", "Tên đề án", "Tên nội dung", "Nội dung trình", "Tên đề án, nội dung"),
        "thiếu nội dung",
    ),
    Column("kind", ("Loại", "Loại nội dung", "Hình thức")),
    Column(
        "agency",
        ("Cơ quan chủ trì", "Cơ quan trình", "Đơn vị chủ trì", "Cơ quan chủ trì soạn thảo"),
        "thiếu cơ quan chủ trì",
    ),
    Column("leader", ("Lãnh đạo phụ trách", "Lãnh đạo UBND tỉnh phụ trách", "Lãnh đạo chỉ đạo")),
    Column("planned", ("Thời gian trình", "Ngày trình", "Thời hạn trình", "Thời gian trình UBND")),
    Column("note", ("Ghi chú",)),
    Column("submitted_on", ("Ngày đã trình", "Đã trình ngày")),
    Column("document_number", ("Số văn bản trình", "Văn bản trình")),
)

# The kind named by a title's first words, when the file has no "Loại" column or leaves it blank.
_TITLE_KINDS = (
    ("de an", ItemKind.PROJECT),
    ("bao cao", ItemKind.REPORT),
    ("to trinh", ItemKind.SUBMISSION),
    ("ke hoach", ItemKind.PLAN),
    ("du thao", ItemKind.DRAFT),
    ("quyet dinh", ItemKind.DRAFT),
    ("nghi quyet", ItemKind.DRAFT),
    ("chi thi", ItemKind.DRAFT),
)
_item_kind = pick(
    _labelled({k.value: k for k in ItemKind}, ITEM_KIND_LABELS)
    | {"du thao": ItemKind.DRAFT, "van ban": ItemKind.DRAFT, "": ItemKind.OTHER},
    "loại không hợp lệ (đề án, báo cáo, tờ trình, dự thảo văn bản, kế hoạch, khác)",
)


def kind_from_title(title: str) -> ItemKind:
    """The kind a title announces ("Đề án …", "Báo cáo …"), else ``OTHER``."""
    folded = fold(title)
    return next((k for prefix, k in _TITLE_KINDS if folded.startswith(prefix)), ItemKind.OTHER)


def parse_item_kind(value: str) -> ItemKind:
    """An item kind from its key or Vietnamese label (ValueError otherwise)."""
    return _item_kind(value)


def _optional_date(cell: Cell) -> date | None:
    return None if is_blank(cell) else parse_date(cell)


def read_programme_rows(path: Path) -> list[ProgrammeRow]:
    """Read a work-programme file, one item a row, or raise ImportFileError listing bad rows."""

    def build(r: RowReader) -> ProgrammeRow:
        title = r.get("title", text_of, "")
        kind = r.get("kind", _item_kind, ItemKind.OTHER)
        if kind is ItemKind.OTHER and is_blank(r.cell("kind")):
            kind = kind_from_title(title)
        return ProgrammeRow(
            row=r.number,
            title=title,
            kind=kind,
            agency=r.get("agency", text_of, ""),
            leader=r.get("leader", optional_text_of, None),
            planned_on=r.get("planned", _optional_date, None),
            note=r.get("note", optional_text_of, None),
            submitted_on=r.get("submitted_on", _optional_date, None),
            document_number=r.get("document_number", optional_text_of, None),
        )

    return read_records(path, PROGRAMME_COLUMNS, build)
