"""Entering directives and their tasks: one at a time from a form, or a whole file at once.

Either way one path: every fault of the batch is found first (``intake_checks``), then the task
codes are taken (one counter update per issue year), then directives, tasks, coordinators and
assignment events go in with their ids given (``_NewIds``), by COPY on PostgreSQL and one
executemany on SQLite (``bulk_insert.write_rows``), in rounds of ``CHUNK`` directives, all in
the caller's transaction, followed by the assignment messages. A refusal by the database midway
(a value too long for its column) raises, and the caller's rollback takes back every round.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import Any, overload

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directives.clock import Clock, today
from directives.db.tables import Directive, Task, TaskCoordinator, TaskEvent
from directives.domain import DeadlineSpec, DirectiveKind, Priority
from directives.errors import ImportFileError, InvalidInput
from directives.gcpause import paused_gc
from directives.importing import TaskRow
from directives.recurrence import Recurrence
from directives.services.bulk_insert import (
    insert_rows,
    reserve_ids,
    reused_key_checks,
    write_rows,
)
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
    with paused_gc():  # rows and keys by the hundred thousand, and no garbage
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
    ids = _NewIds(session, directives)
    directive_ids: list[int] = []
    task_ids: list[int] = []
    with reused_key_checks(conn):
        for chunk in chunks(directives):
            ids_of_chunk = ids.directives(chunk, registry, now)
            tids = ids.tasks(sum(len(d.tasks) for d in chunk))
            _store_tasks(session, registry, chunk, ids_of_chunk, tids, codes, actor=actor, now=now)
            directive_ids += ids_of_chunk
            task_ids += tids
            if progress is not None:
                progress(len(chunk))
    return directive_ids, task_ids


class _NewIds:
    """The ids of the rows to insert, known before they are written.

    PostgreSQL: reserved from each table's sequence, so the rows go in by COPY. SQLite: the
    directives come back from their INSERT, which takes the database's write lock until the
    transaction ends, so no other connection can add a task meanwhile and the tasks' ids count
    on from the largest one, as SQLite itself would number them.
    """

    def __init__(self, session: Session, directives: Sequence[NewDirective]) -> None:
        self._session = session
        self._postgres = session.get_bind().dialect.name == "postgresql"
        self._directive_ids: Iterator[int] = iter(())
        self._task_ids: Iterator[int] = iter(())
        if self._postgres:
            count = sum(len(d.tasks) for d in directives)
            self._directive_ids = iter(reserve_ids(session, Directive, len(directives)))
            self._task_ids = iter(reserve_ids(session, Task, count))
        self._next_task_id: int | None = None

    def directives(
        self, chunk: Sequence[NewDirective], registry: Registry, now: datetime
    ) -> list[int]:
        """Insert the directives; their ids, in order."""
        if self._postgres:
            ids = list(islice(self._directive_ids, len(chunk)))
            rows = [_directive_row(registry, d, now) for d in chunk]
            write_rows(
                self._session,
                Directive,
                ("id", *_DIRECTIVE_COLUMNS),
                [(i, *row) for i, row in zip(ids, rows, strict=True)],
            )
            return ids
        # Rows come back unordered: matched by the keys inserted, (number, year).
        returned = insert_rows(
            self._session.connection(),
            Directive,
            [
                dict(zip(_DIRECTIVE_COLUMNS, _directive_row(registry, d, now), strict=True))
                for d in chunk
            ],
            returning=("id", "number", "year"),
        )
        id_of = {(number, year): i for i, number, year in returned}
        return [id_of[d.number, d.issued_on.year] for d in chunk]

    def tasks(self, count: int) -> list[int]:
        """Ids for ``count`` tasks (once some directives are inserted, on SQLite)."""
        if self._postgres:
            return list(islice(self._task_ids, count))
        if self._next_task_id is None:
            largest = self._session.scalar(select(func.max(Task.id)))
            self._next_task_id = (largest or 0) + 1
        first = self._next_task_id
        self._next_task_id += count
        return list(range(first, first + count))


_DIRECTIVE_COLUMNS = (
    "number", "year", "issued_on", "kind", "signer_id", "summary", "source_ref", "created_at",
)  # fmt: skip
_TASK_COLUMNS = (
    "id", "code", "directive_id", "position", "content", "lead_agency_id", "leader_id",
    "officer_id", "sector", "priority", "source_ref", "stated_deadline", "recurrence",
    "series_id", "period", "deadline_working_days", "original_deadline", "deadline", "state",
    "assigned_on", "has_extensions", "has_pauses", "created_at",
)  # fmt: skip
_DEADLINE = _TASK_COLUMNS.index("deadline")
_EVENT_COLUMNS = ("task_id", "kind", "on", "recorded_at", "actor", "note", "data")
_ASSIGNED = State.ASSIGNED.value
_PRIORITY_VALUES = {p: p.value for p in Priority}


def _directive_row(registry: Registry, d: NewDirective, now: datetime) -> tuple[Any, ...]:
    return (
        d.number,
        d.issued_on.year,
        d.issued_on,
        d.kind.value,
        registry.leaders[d.signer],
        d.summary.strip(),
        d.source_ref,
        now,
    )


def _store_tasks(
    session: Session,
    registry: Registry,
    chunk: Sequence[NewDirective],
    directive_ids: Sequence[int],
    task_ids: Sequence[int],
    codes: dict[int, Iterator[str]],
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """The tasks of the directives just inserted, their coordinators and assignment events."""
    pairs = [
        (d, t, position, directive_id)
        for directive_id, d in zip(directive_ids, chunk, strict=True)
        for position, t in enumerate(d.tasks, start=1)
    ]
    rows = [
        _task_row(registry, d, t, position, task_id, directive_id, codes, now)
        for task_id, (d, t, position, directive_id) in zip(task_ids, pairs, strict=True)
    ]
    write_rows(session, Task, _TASK_COLUMNS, rows)
    coordinators = [
        (task_id, registry.agencies[code])
        for task_id, (_, t, _, _) in zip(task_ids, pairs, strict=True)
        for code in dict.fromkeys(t.coordinating_agencies)
    ]
    write_rows(session, TaskCoordinator, ("task_id", "agency_id"), coordinators)
    by = actor.describe()
    data: dict[tuple[date | None, DeadlineSpec], dict[str, Any]] = {}
    events = []
    for task_id, row, (d, t, _, _) in zip(task_ids, rows, pairs, strict=True):
        deadline = row[_DEADLINE]
        key = (deadline, t.deadline)
        document = data.get(key)
        if document is None:  # one for each distinct term: most tasks share theirs
            iso = deadline.isoformat() if deadline else None
            document = data[key] = {"deadline": iso, "deadline_text": t.deadline.text()}
        events.append((task_id, "assigned", d.issued_on, now, by, None, document))
    write_rows(session, TaskEvent, _EVENT_COLUMNS, events)


def _task_row(
    registry: Registry,
    d: NewDirective,
    t: NewTask,
    position: int,
    task_id: int,
    directive_id: int,
    codes: dict[int, Iterator[str]],
    now: datetime,
) -> tuple[Any, ...]:
    """The values of ``_TASK_COLUMNS``; a periodic task heads its own series."""
    stated, period, recurrence = t.deadline.on, None, t.deadline.recurrence
    if recurrence is not None:
        rule = Recurrence(*_split_rule(recurrence))
        period = rule.first_period(d.issued_on)
        stated = rule.due_date(period)
    deadline = registry.deadline(d.issued_on, stated, t.deadline.working_days)
    return (
        task_id,
        t.code or next(codes[d.issued_on.year]),
        directive_id,
        position,
        t.content.strip(),
        registry.agencies[t.lead_agency],
        registry.leaders[t.leader or d.signer],
        registry.officers[t.officer] if t.officer else None,
        t.sector,
        _PRIORITY_VALUES[t.priority],
        t.source_ref,
        stated,
        recurrence,
        task_id if recurrence is not None else None,
        period,
        t.deadline.working_days,
        deadline,
        deadline,
        _ASSIGNED,
        d.issued_on,
        False,
        False,
        now,
    )


def _split_rule(key: str) -> tuple[str, int]:
    unit, _, day = key.partition(":")
    return unit, int(day)


def directives_from_rows(rows: Sequence[TaskRow]) -> list[NewDirective]:
    """Group import rows (one task each) into directives, in file order."""
    groups: dict[tuple[str, int], list[TaskRow]] = defaultdict(list)
    with paused_gc():  # a task and its directive for every row: many objects, no garbage
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
                    tasks=tuple(map(_new_task, members)),
                )
            )
        return out


def _new_task(r: TaskRow) -> NewTask:
    """The task of an import row, made without the frozen dataclass's ``__init__`` (it sets each
    field with ``object.__setattr__``, which cost more than the rest of the grouping)."""
    task = object.__new__(NewTask)
    task.__dict__.update(
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
    return task


def task_count(session: Session) -> int:
    """How many tasks are stored."""
    return session.scalar(select(func.count(Task.id))) or 0


def check_new_task(task: NewTask) -> None:
    """Refuse an obviously empty task before any lookup (used by forms)."""
    if not task.content.strip():
        raise InvalidInput("thiếu nội dung nhiệm vụ")
