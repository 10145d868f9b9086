"""Entering directives and their tasks: one at a time from a form, or a whole file at once."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from directives.calendar import WorkingCalendar
from directives.clock import Clock, today
from directives.db.tables import (
    Agency,
    Directive,
    Leader,
    Officer,
    Task,
    TaskCoordinator,
    TaskEvent,
)
from directives.domain import DeadlineSpec, DirectiveKind, Priority
from directives.errors import ImportFileError, InvalidInput, RowError
from directives.importing import TaskRow
from directives.recurrence import Recurrence
from directives.services.calendar import compute_deadline, load_calendar
from directives.services.codes import take_numbers
from directives.services.mailing import MailSettings, notify_assigned
from directives.workflow import Actor, State

MAX_CONTENT = 10_000
AUTO_CODE = re.compile(r"^NV\d{2}-\d+$")
STANDING = DeadlineSpec()


@dataclass(frozen=True)
class NewTask:
    """A task as the secretariat enters it."""

    content: str
    lead_agency: str
    coordinating_agencies: tuple[str, ...] = ()
    deadline: DeadlineSpec = STANDING
    leader: str | None = None  # default: the signer
    officer: str | None = None
    sector: str | None = None
    priority: Priority = Priority.NORMAL
    source_ref: str | None = None
    code: str | None = None  # default: the next NVyy-nnnn of the issue year
    row: int | None = None  # the import row it came from, for error messages


@dataclass(frozen=True)
class NewDirective:
    """A directive with its tasks."""

    number: str
    issued_on: date
    kind: DirectiveKind
    signer: str
    summary: str
    tasks: tuple[NewTask, ...]
    source_ref: str | None = None


@dataclass
class _Refs:
    agencies: dict[str, Agency]
    leaders: dict[str, Leader]
    officers: dict[str, Officer]
    calendar: WorkingCalendar
    errors: list[RowError] = field(default_factory=list)
    taken_codes: set[str] = field(default_factory=set)


def _refs(session: Session) -> _Refs:
    return _Refs(
        agencies={a.code: a for a in session.scalars(select(Agency))},
        leaders={x.code: x for x in session.scalars(select(Leader))},
        officers={o.code: o for o in session.scalars(select(Officer))},
        calendar=load_calendar(session),
    )


def _check(refs: _Refs, d: NewDirective, t: NewTask, row: int) -> None:
    def bad(column: str, value: object, reason: str) -> None:
        refs.errors.append(RowError(row, column, value, reason))

    content = t.content.strip()
    if not content:
        bad("content", t.content, "thiếu nội dung nhiệm vụ")
    elif len(content) > MAX_CONTENT:
        bad("content", content, f"nội dung quá dài ({len(content)} ký tự, tối đa {MAX_CONTENT:,})")
    lead = refs.agencies.get(t.lead_agency)
    if lead is None:
        bad("lead_agency", t.lead_agency, "không có đơn vị với mã này")
    elif not lead.active:
        bad("lead_agency", t.lead_agency, "đơn vị đã ngừng hoạt động")
    for code in t.coordinating_agencies:
        if code not in refs.agencies:
            bad("coordinating_agencies", code, "không có đơn vị với mã này")
        elif code == t.lead_agency:
            bad("coordinating_agencies", code, "đơn vị phối hợp trùng đơn vị chủ trì")
    if t.leader is not None and t.leader not in refs.leaders:
        bad("leader", t.leader, "không có lãnh đạo với mã này")
    if t.officer is not None and t.officer not in refs.officers:
        bad("officer", t.officer, "không có chuyên viên với mã này")
    if t.deadline.on is not None and t.deadline.on < d.issued_on:
        bad("deadline", t.deadline.on.strftime("%d/%m/%Y"), "thời hạn trước ngày ban hành")
    if t.code is not None:
        if AUTO_CODE.match(t.code):
            bad("task_code", t.code, "mã dạng NVyy-nnnn do hệ thống tự cấp")
        elif t.code in refs.taken_codes:
            bad("task_code", t.code, "mã nhiệm vụ đã được dùng")
        refs.taken_codes.add(t.code)


def _check_directive(refs: _Refs, d: NewDirective, row: int) -> None:
    if d.signer not in refs.leaders:
        refs.errors.append(RowError(row, "signer", d.signer, "không có lãnh đạo với mã này"))
    if not d.summary.strip():
        refs.errors.append(RowError(row, "summary", d.summary, "thiếu trích yếu"))
    if not d.tasks:
        refs.errors.append(RowError(row, "content", "", "văn bản không có nhiệm vụ nào"))


def _allocate_codes(session: Session, year: int, n: int) -> list[str]:
    """``n`` task codes of the year's series: NV26-0001, NV26-0002, …"""
    scope = f"{year % 100:02d}"
    return [f"NV{scope}-{i:04d}" for i in take_numbers(session, scope, n)]


def issue_directives(
    session: Session,
    directives: Sequence[NewDirective],
    *,
    actor: Actor,
    clock: Clock,
    source: str = "form",
    mail: MailSettings | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Directive]:
    """Store directives with their tasks, all or nothing; every bad value is reported at once.

    With ``mail``, the assignment messages are enqueued in the same transaction.
    """
    refs = _refs(session)
    existing = set(session.execute(select(Directive.number, Directive.year)).all())
    explicit = [t.code for d in directives for t in d.tasks if t.code]
    if explicit:
        refs.taken_codes |= set(session.scalars(select(Task.code).where(Task.code.in_(explicit))))
    seen: set[tuple[str, int]] = set()
    for d in directives:
        first_row = d.tasks[0].row if d.tasks and d.tasks[0].row else 1
        key = (d.number, d.issued_on.year)
        if key in existing or key in seen:
            refs.errors.append(
                RowError(
                    first_row,
                    "directive_number",
                    d.number,
                    f"văn bản số {d.number} năm {d.issued_on.year} đã có",
                )
            )
        seen.add(key)
        _check_directive(refs, d, first_row)
        for i, t in enumerate(d.tasks, start=1):
            _check(refs, d, t, t.row or i)
    if refs.errors:
        raise ImportFileError(source, refs.errors[:1000])
    stored = []
    for d in directives:
        stored.append(_store(session, refs, d, actor=actor, clock=clock))
        if progress is not None:
            progress(1)
    if mail is not None:
        task_ids = list(
            session.scalars(select(Task.id).where(Task.directive_id.in_([d.id for d in stored])))
        )
        notify_assigned(session, task_ids, on=today(clock), now=clock.now(), mail=mail)
    return stored


def _store(
    session: Session, refs: _Refs, d: NewDirective, *, actor: Actor, clock: Clock
) -> Directive:
    now = clock.now()
    directive = Directive(
        number=d.number,
        year=d.issued_on.year,
        issued_on=d.issued_on,
        kind=d.kind.value,
        signer_id=refs.leaders[d.signer].id,
        summary=d.summary.strip(),
        source_ref=d.source_ref,
        created_at=now,
    )
    session.add(directive)
    session.flush()
    auto = iter(_allocate_codes(session, d.issued_on.year, sum(1 for t in d.tasks if not t.code)))
    rows = []
    for position, t in enumerate(d.tasks, start=1):
        stated, period = t.deadline.on, None
        if t.deadline.recurrence is not None:
            rule = Recurrence(*_split_rule(t.deadline.recurrence))
            period = rule.first_period(d.issued_on)
            stated = rule.due_date(period)
        deadline = compute_deadline(refs.calendar, d.issued_on, stated, t.deadline.working_days)
        rows.append(
            dict[str, Any](
                code=t.code or next(auto),
                directive_id=directive.id,
                position=position,
                content=t.content.strip(),
                lead_agency_id=refs.agencies[t.lead_agency].id,
                leader_id=refs.leaders[t.leader or d.signer].id,
                officer_id=refs.officers[t.officer].id if t.officer else None,
                sector=t.sector,
                priority=t.priority.value,
                source_ref=t.source_ref,
                stated_deadline=stated,
                recurrence=t.deadline.recurrence,
                period=period,
                deadline_working_days=t.deadline.working_days,
                original_deadline=deadline,
                deadline=deadline,
                state=State.ASSIGNED.value,
                assigned_on=d.issued_on,
                has_extensions=False,
                has_pauses=False,
                created_at=now,
            )
        )
    ids = session.scalars(insert(Task).returning(Task.id, sort_by_parameter_order=True), rows).all()
    # A periodic task heads its own series; the recurring job adds the next occurrences.
    session.execute(
        update(Task)
        .where(
            Task.directive_id == directive.id,
            Task.recurrence.is_not(None),
            Task.series_id.is_(None),
        )
        .values(series_id=Task.id)
        .execution_options(synchronize_session=False)
    )
    coordinators = [
        {"task_id": task_id, "agency_id": refs.agencies[code].id}
        for task_id, t in zip(ids, d.tasks, strict=True)
        for code in dict.fromkeys(t.coordinating_agencies)
    ]
    if coordinators:
        session.execute(insert(TaskCoordinator), coordinators)
    session.execute(
        insert(TaskEvent),
        [
            {
                "task_id": task_id,
                "kind": "assigned",
                "on": d.issued_on,
                "recorded_at": now,
                "actor": actor.describe(),
                "note": None,
                "data": {
                    "deadline": row["deadline"].isoformat() if row["deadline"] else None,
                    "deadline_text": t.deadline.text(),
                },
            }
            for task_id, row, t in zip(ids, rows, d.tasks, strict=True)
        ],
    )
    return directive


def _split_rule(key: str) -> tuple[str, int]:
    unit, _, day = key.partition(":")
    return unit, int(day)


def directives_from_rows(rows: Sequence[TaskRow]) -> list[NewDirective]:
    """Group import rows (one task each) into directives, in file order."""
    groups: dict[tuple[str, int], list[TaskRow]] = defaultdict(list)
    for r in rows:
        groups[(r.directive_number, r.directive_date.year)].append(r)
    out = []
    for members in groups.values():
        head = members[0]
        out.append(
            NewDirective(
                number=head.directive_number,
                issued_on=head.directive_date,
                kind=head.directive_kind,
                signer=head.signer,
                summary=head.summary,
                tasks=tuple(
                    NewTask(
                        content=r.content,
                        lead_agency=r.lead_agency,
                        coordinating_agencies=r.coordinating_agencies,
                        deadline=r.deadline,
                        leader=r.leader,
                        officer=r.officer,
                        sector=r.sector,
                        priority=r.priority,
                        source_ref=r.source_ref,
                        code=r.task_code,
                        row=r.row,
                    )
                    for r in members
                ),
            )
        )
    return out


def task_count(session: Session) -> int:
    """How many tasks are stored."""
    return session.scalar(select(func.count(Task.id))) or 0


def check_new_task(task: NewTask) -> None:
    """Refuse an obviously empty task before any lookup (used by forms)."""
    if not task.content.strip():
        raise InvalidInput("thiếu nội dung nhiệm vụ")
