"""What an intake checks before it writes anything: every fault of a batch, found in one pass.

The registry is read as ids by code (no objects), and the stored directives and task codes are
asked for by the batch's own keys, not loaded whole: a one-directive form costs the same on a
register of a million tasks as on an empty one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from directives.calendar import WorkingCalendar
from directives.db.tables import Agency, Directive, Leader, Officer, Task
from directives.errors import RowError
from directives.services.calendar import compute_deadline, load_calendar

if TYPE_CHECKING:
    from directives.services.intake import NewDirective, NewTask

MAX_CONTENT = 10_000
AUTO_CODE = re.compile(r"^NV\d{2}-\d+$")
CHUNK = 1000  # keys per IN list, directives per round of inserts
T = TypeVar("T")


@dataclass(frozen=True)
class Registry:
    """Agencies, leaders and officers by code (their ids), and the working calendar."""

    agencies: dict[str, int]
    inactive: frozenset[str]
    leaders: dict[str, int]
    officers: dict[str, int]
    calendar: WorkingCalendar
    _deadlines: dict[tuple[date, date | None, int | None], date | None] = field(
        default_factory=dict, repr=False, compare=False
    )

    def deadline(
        self, issued_on: date, stated: date | None, working_days: int | None
    ) -> date | None:
        """``compute_deadline``, once per distinct term: a file repeats its dates and terms."""
        key = (issued_on, stated, working_days)
        if key not in self._deadlines:
            self._deadlines[key] = compute_deadline(self.calendar, issued_on, stated, working_days)
        return self._deadlines[key]


def load_registry(session: Session) -> Registry:
    """The registry as the intake needs it: ids only."""
    agencies = session.execute(select(Agency.code, Agency.id, Agency.active)).all()
    return Registry(
        agencies={code: id_ for code, id_, _ in agencies},
        inactive=frozenset(code for code, _, active in agencies if not active),
        leaders=dict(session.execute(select(Leader.code, Leader.id)).all()),
        officers=dict(session.execute(select(Officer.code, Officer.id)).all()),
        calendar=load_calendar(session),
    )


def find_faults(
    session: Session, registry: Registry, directives: Sequence[NewDirective]
) -> list[RowError]:
    """Every bad value of the batch, in batch order, each with its row, field and value."""
    errors: list[RowError] = []
    keys = [(d.number, d.issued_on.year) for d in directives]
    stored = _stored_keys(session, keys)
    explicit = sorted({t.code for d in directives for t in d.tasks if t.code})
    taken: set[str] = set()
    for chunk in chunks(explicit):
        taken.update(session.scalars(select(Task.code).where(Task.code.in_(chunk))))
    seen: set[tuple[str, int]] = set()
    for d, key in zip(directives, keys, strict=True):
        first_row = d.tasks[0].row if d.tasks and d.tasks[0].row else 1
        if key in stored or key in seen:
            reason = f"văn bản số {d.number} năm {d.issued_on.year} đã có"
            errors.append(RowError(first_row, "directive_number", d.number, reason))
        seen.add(key)
        _check_directive(errors, registry, d, first_row)
        for i, t in enumerate(d.tasks, start=1):
            _check_task(errors, registry, taken, d, t, t.row or i)
    return errors


def _check_directive(errors: list[RowError], registry: Registry, d: NewDirective, row: int) -> None:
    if d.signer not in registry.leaders:
        errors.append(RowError(row, "signer", d.signer, "không có lãnh đạo với mã này"))
    if not d.summary.strip():
        errors.append(RowError(row, "summary", d.summary, "thiếu trích yếu"))
    if not d.tasks:
        errors.append(RowError(row, "content", "", "văn bản không có nhiệm vụ nào"))


def _check_task(
    errors: list[RowError],
    registry: Registry,
    taken: set[str],
    d: NewDirective,
    t: NewTask,
    row: int,
) -> None:
    def bad(column: str, value: object, reason: str) -> None:
        errors.append(RowError(row, column, value, reason))

    content = t.content.strip()
    if not content:
        bad("content", t.content, "thiếu nội dung nhiệm vụ")
    elif len(content) > MAX_CONTENT:
        bad("content", content, f"nội dung quá dài ({len(content)} ký tự, tối đa {MAX_CONTENT:,})")
    if t.lead_agency not in registry.agencies:
        bad("lead_agency", t.lead_agency, "không có đơn vị với mã này")
    elif t.lead_agency in registry.inactive:
        bad("lead_agency", t.lead_agency, "đơn vị đã ngừng hoạt động")
    for code in t.coordinating_agencies:
        if code not in registry.agencies:
            bad("coordinating_agencies", code, "không có đơn vị với mã này")
        elif code == t.lead_agency:
            bad("coordinating_agencies", code, "đơn vị phối hợp trùng đơn vị chủ trì")
    if t.leader is not None and t.leader not in registry.leaders:
        bad("leader", t.leader, "không có lãnh đạo với mã này")
    if t.officer is not None and t.officer not in registry.officers:
        bad("officer", t.officer, "không có chuyên viên với mã này")
    if t.deadline.on is not None and t.deadline.on < d.issued_on:
        bad("deadline", t.deadline.on.strftime("%d/%m/%Y"), "thời hạn trước ngày ban hành")
    if t.code is not None:
        if AUTO_CODE.match(t.code):
            bad("task_code", t.code, "mã dạng NVyy-nnnn do hệ thống tự cấp")
        elif t.code in taken:
            bad("task_code", t.code, "mã nhiệm vụ đã được dùng")
        taken.add(t.code)


def _stored_keys(session: Session, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
    """Which of the (number, year) keys are stored already."""
    wanted = set(keys)
    found: set[tuple[str, int]] = set()
    for chunk in chunks(sorted({number for number, _ in wanted})):
        query = select(Directive.number, Directive.year).where(Directive.number.in_(chunk))
        found.update((n, y) for n, y in session.execute(query) if (n, y) in wanted)
    return found


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
