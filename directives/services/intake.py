"""Entering directives and their tasks: one at a time from a form, or a whole file at once.

Either way one path: every fault of the batch is found first (``intake_checks``), then the task
codes are taken (one counter update per issue year), then directives, tasks, coordinators and
assignment events go in with multi-row INSERTs (``bulk_insert``), in rounds of ``CHUNK``
directives, all in the caller's transaction, followed by the assignment messages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, overload

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from directives.clock import Clock, today
from directives.db.tables import Directive, Task, TaskCoordinator, TaskEvent
from directives.domain import DeadlineSpec, DirectiveKind, Priority
from directives.errors import ImportFileError, InvalidInput
from directives.importing import TaskRow
from directives.recurrence import Recurrence
from directives.services.bulk_insert import insert_rows, reused_key_checks
from directives.services.codes import take_numbers
from directives.services.intake_checks import CHUNK as CHUNK
from directives.services.intake_checks import MAX_CONTENT as MAX_CONTENT
from directives.services.intake_checks import Registry, chunks, find_faults, load_registry
from directives.services.mailing import MailSettings, notify_assigned
from directives.workflow import Actor, State

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


class StoredDirectives(Sequence[Directive]):
    """The directives just stored, loaded from the session when first read.

    A file import only counts them; loading tens of thousands of objects would take longer than
    storing their rows did.
    """

    def __init__(self, session: Session, ids: Sequence[int]) -> None:
        self._session = session
        self._ids = list(ids)
        self._loaded: list[Directive] | None = None

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> Directive: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Directive]: ...
    def __getitem__(self, index: int | slice) -> Directive | Sequence[Directive]:
        return self._objects()[index]

    def _objects(self) -> list[Directive]:
        if self._loaded is None:
            by_id: dict[int, Directive] = {}
            for chunk in chunks(self._ids):
                query = select(Directive).where(Directive.id.in_(chunk))
                by_id.update((d.id, d) for d in self._session.scalars(query))
            self._loaded = [by_id[i] for i in self._ids]
        return self._loaded


def _allocate_codes(session: Session, year: int, n: int) -> list[str]:
    """``n`` task codes of the year's series: NV26-0001, NV26-0002, …"""
    scope = f"{year % 100:02d}"
    return [f"NV{scope}-{i:04d}" for i in take_numbers(session, scope, n)]


def _auto_codes(session: Session, directives: Sequence[NewDirective]) -> dict[int, Iterator[str]]:
    """The codes of the tasks given none, per issue year: one counter update for each year."""
    wanted: dict[int, int] = defaultdict(int)
    for d in directives:
        wanted[d.issued_on.year] += sum(1 for t in d.tasks if not t.code)
    return {year: iter(_allocate_codes(session, year, n)) for year, n in wanted.items() if n}


def issue_directives(
    session: Session,
    directives: Sequence[NewDirective],
    *,
    actor: Actor,
    clock: Clock,
    source: str = "form",
    mail: MailSettings | None = None,
    progress: Callable[[int], None] | None = None,
) -> StoredDirectives:
    """Store directives with their tasks, all or nothing; every bad value is reported at once.

    With ``mail``, the assignment messages are enqueued in the same transaction.
    """
    registry = load_registry(session)
    errors = find_faults(session, registry, directives)
    if errors:
        raise ImportFileError(source, errors[:1000])
    now = clock.now()
    directive_ids, task_ids = _store(
        session, registry, directives, actor=actor, now=now, progress=progress
    )
    if mail is not None:
        notify_assigned(session, task_ids, on=today(clock), now=now, mail=mail)
    return StoredDirectives(session, directive_ids)


def _store(
    session: Session,
    registry: Registry,
    directives: Sequence[NewDirective],
    *,
    actor: Actor,
    now: datetime,
    progress: Callable[[int], None] | None,
) -> tuple[list[int], list[int]]:
    """Insert the checked batch; the new directives' ids and their tasks' ids, in batch order."""
    codes = _auto_codes(session, directives)
    conn = session.connection()
    directive_ids: list[int] = []
    task_ids: list[int] = []
    with reused_key_checks(conn):
        for chunk in chunks(directives):
            ids, tids = _store_round(conn, registry, chunk, codes, actor=actor, now=now)
            directive_ids += ids
            task_ids += tids
            if progress is not None:
                progress(len(chunk))
    return directive_ids, task_ids


def _store_round(
    conn: Connection,
    registry: Registry,
    chunk: Sequence[NewDirective],
    codes: dict[int, Iterator[str]],
    *,
    actor: Actor,
    now: datetime,
) -> tuple[list[int], list[int]]:
    # Rows come back unordered: matched by the keys inserted, (number, year) and the code.
    returned = insert_rows(
        conn,
        Directive,
        [_directive_row(registry, d, now) for d in chunk],
        returning=("id", "number", "year"),
    )
    id_of = {(number, year): i for i, number, year in returned}
    ids = [id_of[d.number, d.issued_on.year] for d in chunk]
    rows = [
        _task_row(registry, d, t, position, directive_id, codes, now)
        for directive_id, d in zip(ids, chunk, strict=True)
        for position, t in enumerate(d.tasks, start=1)
    ]
    task_of: dict[str, int] = dict(insert_rows(conn, Task, rows, returning=("code", "id")))
    task_ids = [task_of[row["code"]] for row in rows]
    tasks = [t for d in chunk for t in d.tasks]
    _store_task_links(conn, registry, tasks, rows, task_ids, actor=actor, now=now)
    return ids, task_ids


def _directive_row(registry: Registry, d: NewDirective, now: datetime) -> dict[str, Any]:
    return {
        "number": d.number,
        "year": d.issued_on.year,
        "issued_on": d.issued_on,
        "kind": d.kind.value,
        "signer_id": registry.leaders[d.signer],
        "summary": d.summary.strip(),
        "source_ref": d.source_ref,
        "created_at": now,
    }


def _task_row(
    registry: Registry,
    d: NewDirective,
    t: NewTask,
    position: int,
    directive_id: int,
    codes: dict[int, Iterator[str]],
    now: datetime,
) -> dict[str, Any]:
    stated, period = t.deadline.on, None
    if t.deadline.recurrence is not None:
        rule = Recurrence(*_split_rule(t.deadline.recurrence))
        period = rule.first_period(d.issued_on)
        stated = rule.due_date(period)
    deadline = registry.deadline(d.issued_on, stated, t.deadline.working_days)
    return {
        "code": t.code or next(codes[d.issued_on.year]),
        "directive_id": directive_id,
        "position": position,
        "content": t.content.strip(),
        "lead_agency_id": registry.agencies[t.lead_agency],
        "leader_id": registry.leaders[t.leader or d.signer],
        "officer_id": registry.officers[t.officer] if t.officer else None,
        "sector": t.sector,
        "priority": t.priority.value,
        "source_ref": t.source_ref,
        "stated_deadline": stated,
        "recurrence": t.deadline.recurrence,
        "period": period,
        "deadline_working_days": t.deadline.working_days,
        "original_deadline": deadline,
        "deadline": deadline,
        "state": State.ASSIGNED.value,
        "assigned_on": d.issued_on,
        "has_extensions": False,
        "has_pauses": False,
        "created_at": now,
    }


def _store_task_links(
    conn: Connection,
    registry: Registry,
    tasks: Sequence[NewTask],
    rows: Sequence[dict[str, Any]],
    ids: Sequence[int],
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """The coordinators, the assignment events and the series of the tasks just inserted."""
    coordinators = [
        {"task_id": task_id, "agency_id": registry.agencies[code]}
        for task_id, t in zip(ids, tasks, strict=True)
        for code in dict.fromkeys(t.coordinating_agencies)
    ]
    if coordinators:
        insert_rows(conn, TaskCoordinator, coordinators)
    by = actor.describe()
    events = [
        {
            "task_id": task_id,
            "kind": "assigned",
            "on": row["assigned_on"],
            "recorded_at": now,
            "actor": by,
            "note": None,
            "data": {
                "deadline": row["deadline"].isoformat() if row["deadline"] else None,
                "deadline_text": t.deadline.text(),
            },
        }
        for task_id, row, t in zip(ids, rows, tasks, strict=True)
    ]
    insert_rows(conn, TaskEvent, events)
    # A periodic task heads its own series; the recurring job adds the next occurrences.
    periodic = [i for i, t in zip(ids, tasks, strict=True) if t.deadline.recurrence is not None]
    for chunk in chunks(periodic):
        conn.execute(update(Task).where(Task.id.in_(chunk)).values(series_id=Task.id))


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
