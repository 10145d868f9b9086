"""Replaying a file of what happened to tasks (acknowledgements, reports, decisions) in order.

One row per event: ``Số ký hiệu`` and ``STT`` (the task's position in its directive) or
``Mã nhiệm vụ``; ``Ngày``; ``Hành động``; ``Tỷ lệ``; ``Nội dung``; ``Văn bản``. All rows are
applied in one transaction: a bad row stops the import and nothing is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from directives._tabular import Cell, Column, RowReader, read_records, text_of
from directives.clock import Clock
from directives.db.tables import Directive, Task
from directives.errors import DirectivesError, ImportFileError, InvalidInput, RowError
from directives.importing import parse_date
from directives.services import lifecycle
from directives.workflow import Actor

ACTIONS = (
    "ack",
    "report",
    "final",
    "confirm",
    "return",
    "extend-request",
    "extend-approve",
    "extend-reject",
    "pause",
    "resume",
    "cancel",
)
# English keys and the Vietnamese headers; a header the file has but no column here is refused.
HISTORY_COLUMNS = (
    Column("number", ("Số ký hiệu", "directive_number")),
    Column("position", ("STT", "position")),
    Column("code", ("Mã nhiệm vụ", "task_code")),
    Column("on", ("Ngày",), "thiếu ngày"),
    Column("action", ("Hành động",), "thiếu hành động"),
    Column("percent", ("Tỷ lệ",)),
    Column("text", ("Nội dung",)),
    Column("document", ("Văn bản",)),
)
MAX_DOCUMENT = 200  # progress_reports.document_ref
_NO_DATE = date.min  # stands in for a bad date in a row that is refused anyway
_POSITION = re.compile(r"[0-9]{1,4}", re.ASCII)  # "²".isdigit() is true, int("²") is not
_BAD_POSITION = -1
_PERCENT = re.compile(r"[0-9]{1,3}", re.ASCII)


@dataclass(frozen=True)
class HistoryRow:
    """One event to replay."""

    row: int
    task: str
    on: date
    action: str
    percent: int | None
    text: str
    document: str


def read_history(path: Path, session: Session) -> list[HistoryRow]:
    """Parse and resolve every row (CSV or XLSX); raises ImportFileError listing every bad one.

    The file is read as every import file is (``_tabular``): its size, encoding, cells and
    tasks are checked here, so a bad row is refused with its row, column and value before
    anything is applied.
    """
    codes = {
        (number, position): code
        for number, position, code in session.execute(
            select(Directive.number, Task.position, Task.code).join(Task.directive)
        )
    }
    known = set(codes.values())

    def build(r: RowReader) -> HistoryRow:
        task = _task(r, codes, known)
        on = r.get("on", parse_date, _NO_DATE)
        action = r.get("action", _action, "")
        percent = r.get("percent", _percent, None)
        text = r.get("text", text_of, "")
        document = r.get("document", text_of, "")
        if action == "extend-request":
            r.get("document", _requested_deadline, None)
        elif len(document) > MAX_DOCUMENT:
            r.fail("document", f"số văn bản quá dài (tối đa {MAX_DOCUMENT} ký tự)")
        return HistoryRow(r.number, task, on, action, percent, text, document)

    return read_records(path, HISTORY_COLUMNS, build)


def _task(r: RowReader, codes: dict[tuple[str, int], str], known: set[str]) -> str:
    """The task's code: given, or found from the directive's number and the task's position."""
    code: str | None = r.get("code", lambda cell: text_of(cell).upper(), None)
    if code is None:
        return ""  # a cell too long, or with a NUL: recorded already
    if code:
        if code not in known:
            r.fail("code", "không có nhiệm vụ với mã này")
        return code
    number: str | None = r.get("number", text_of, None)
    position = r.get("position", _position, _BAD_POSITION)
    if number is None or position == _BAD_POSITION:
        return ""  # its cell's fault is recorded already
    if (number, position) not in codes:
        where = f"STT {position}" if position else "thiếu STT"
        reason = f"không tìm thấy nhiệm vụ ({where}); ghi mã nhiệm vụ, hoặc số ký hiệu và STT"
        r.fail("number", reason)
        return ""
    return codes[(number, position)]


def _position(cell: Cell) -> int:
    """The task's position in its directive; 0 for a blank cell."""
    text = text_of(cell)
    if not text:
        return 0
    if not _POSITION.fullmatch(text) or int(text) < 1:
        raise ValueError("STT phải là số nguyên dương")
    return int(text)


def _action(cell: Cell) -> str:
    action = text_of(cell).lower()
    if action not in ACTIONS:
        raise ValueError(f"dùng một trong: {', '.join(ACTIONS)}")
    return action


def _percent(cell: Cell) -> int | None:
    text = text_of(cell).removesuffix("%").strip()
    if not text:
        return None
    if not _PERCENT.fullmatch(text) or int(text) > 100:
        raise ValueError("tỷ lệ phải là số nguyên từ 0 đến 100")
    return int(text)


def _requested_deadline(cell: Cell) -> date:
    try:
        return parse_date(text_of(cell))
    except ValueError as exc:
        raise ValueError(f"thời hạn đề nghị gia hạn: {exc}") from None


def apply_history(session: Session, rows: list[HistoryRow], *, actor: Actor, clock: Clock) -> int:
    """Apply the rows in file order; a refused row is re-raised with its row number."""
    for r in rows:
        try:
            _apply(session, r, actor=actor, clock=clock)
        except DirectivesError as exc:
            raise ImportFileError(
                "history", [RowError(r.row, "Hành động", r.action, str(exc))]
            ) from None
    return len(rows)


def _apply(session: Session, r: HistoryRow, *, actor: Actor, clock: Clock) -> None:
    on, t = r.on, r.task
    match r.action:
        case "ack":
            lifecycle.acknowledge(session, t, on=on, actor=actor, clock=clock)
        case "report" | "final":
            lifecycle.report(
                session,
                t,
                on=on,
                text=r.text,
                percent=r.percent,
                final=r.action == "final",
                document_ref=r.document or None,
                actor=actor,
                clock=clock,
            )
        case "confirm":
            lifecycle.confirm(session, t, on=on, note=r.text or None, actor=actor, clock=clock)
        case "return":
            lifecycle.return_report(session, t, on=on, reason=r.text, actor=actor, clock=clock)
        case "extend-request":
            try:
                wanted = parse_date(r.document)
            except ValueError as exc:
                raise InvalidInput(f"thời hạn đề nghị {r.document!r}: {exc}") from None
            lifecycle.request_extension(
                session, t, on=on, reason=r.text, new_deadline=wanted, actor=actor, clock=clock
            )
        case "extend-approve" | "extend-reject":
            lifecycle.decide_extension(
                session,
                t,
                on=on,
                approve=r.action == "extend-approve",
                note=r.text or None,
                actor=actor,
                clock=clock,
            )
        case "pause":
            lifecycle.pause(session, t, on=on, reason=r.text, actor=actor, clock=clock)
        case "resume":
            lifecycle.resume(session, t, on=on, actor=actor, clock=clock)
        case "cancel":
            lifecycle.cancel(session, t, on=on, reason=r.text, actor=actor, clock=clock)
