"""Replaying a file of what happened to tasks (acknowledgements, reports, decisions) in order.

One row per event: ``Số ký hiệu`` and ``STT`` (the task's position in its directive) or
``Mã nhiệm vụ``; ``Ngày``; ``Hành động``; ``Tỷ lệ``; ``Nội dung``; ``Văn bản``. All rows are
applied in one transaction: a bad row stops the import and nothing is kept.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from directives._tabular import fold, normalize_header
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
_HEADERS = {
    "so ky hieu": "number",
    "directive_number": "number",
    "stt": "position",
    "position": "position",
    "ma nhiem vu": "code",
    "task_code": "code",
    "ngay": "on",
    "on": "on",
    "hanh dong": "action",
    "action": "action",
    "ty le": "percent",
    "percent": "percent",
    "noi dung": "text",
    "text": "text",
    "van ban": "document",
    "document": "document",
}


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
    """Parse and resolve every row; raises ImportFileError listing every bad one."""
    errors: list[RowError] = []
    out: list[HistoryRow] = []
    codes = {
        (number, position): code
        for number, position, code in session.execute(
            select(Directive.number, Task.position, Task.code).join(Task.directive)
        )
    }
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [_HEADERS.get(fold(normalize_header(h)), h) for h in next(reader, [])]
        for n, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            rec = dict(zip(header, (v.strip() for v in values), strict=False))
            try:
                out.append(_row(n, rec, codes))
            except RowError as exc:
                errors.append(exc)
    if errors:
        raise ImportFileError(path.name, errors)
    return out


def _row(n: int, rec: dict[str, str], codes: dict[tuple[str, int], str]) -> HistoryRow:
    code = rec.get("code", "").upper()
    if not code:
        number, position = rec.get("number", ""), rec.get("position", "")
        if not position.isdigit() or (number, int(position)) not in codes:
            raise RowError(n, "Số ký hiệu", f"{number} / {position}", "không tìm thấy nhiệm vụ")
        code = codes[(number, int(position))]
    try:
        on = parse_date(rec.get("on", ""))
    except ValueError as exc:
        raise RowError(n, "Ngày", rec.get("on"), str(exc)) from None
    action = rec.get("action", "").lower()
    if action not in ACTIONS:
        raise RowError(n, "Hành động", action, f"dùng một trong: {', '.join(ACTIONS)}")
    pct = rec.get("percent", "")
    if pct and not pct.isdigit():
        raise RowError(n, "Tỷ lệ", pct, "phải là số nguyên 0–100")
    return HistoryRow(
        n, code, on, action, int(pct) if pct else None, rec.get("text", ""), rec.get("document", "")
    )


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
