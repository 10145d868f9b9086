"""Reading the register: listing tasks in the grid as of a date, and one task with its history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, any_, func, or_, select
from sqlalchemy.orm import Session, aliased

from directives.calendar import WorkingCalendar
from directives.db.tables import (
    Agency,
    Directive,
    Extension,
    Leader,
    Officer,
    ProgressReport,
    Task,
    TaskCoordinator,
    TaskEvent,
    TaskPause,
)
from directives.errors import InvalidInput
from directives.reminders import OpenTask
from directives.services import grid_sql
from directives.services.calendar import load_calendar
from directives.services.lifecycle import load_task
from directives.timeliness import Grid, Standing, TaskFacts, standing_as_of

# Filters a user may ask for beyond the exact Grid values.
GROUPS = {
    "open": {Grid.WITHIN_TERM, Grid.DUE_SOON, Grid.OVERDUE, Grid.STANDING},
    "done": {Grid.DONE_EARLY, Grid.DONE_ON_THE_DAY, Grid.DONE_LATE, Grid.DONE_NO_DEADLINE},
}


def parse_statuses(values: Sequence[str]) -> set[Grid]:
    """Grid values or the groups ``open`` / ``done``; raises naming a bad value."""
    out: set[Grid] = set()
    for value in values:
        if value in GROUPS:
            out |= GROUPS[value]
            continue
        try:
            out.add(Grid(value))
        except ValueError:
            allowed = ", ".join([*GROUPS, *(g.value for g in Grid)])
            raise InvalidInput(
                f"trạng thái {value!r} không hợp lệ; dùng một trong: {allowed}"
            ) from None
    return out


@dataclass(frozen=True)
class TaskLine:
    """One row of the register as of a date."""

    code: str
    content: str
    directive: str
    issued_on: date
    lead_agency: str
    leader: str | None
    state: str
    standing: Standing


@dataclass(frozen=True)
class Page:
    """A page of the register and how many tasks match in all."""

    lines: list[TaskLine]
    total: int
    page: int
    page_size: int


def list_tasks(
    session: Session,
    *,
    as_of: date,
    agency: str | None = None,
    leader: str | None = None,
    statuses: Sequence[str] = (),
    deadline_from: date | None = None,
    deadline_to: date | None = None,
    text: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """Tasks assigned by ``as_of`` matching the filters, most urgent first."""
    if page < 1 or not 1 <= page_size <= 1000:
        raise InvalidInput(f"trang {page}, cỡ trang {page_size}: trang ≥ 1, cỡ trang 1–1000")
    cal = load_calendar(session)
    grid = grid_sql.grid(as_of, cal).label("grid")
    eff = grid_sql.effective_deadline(as_of)
    conditions: list[ColumnElement[bool]] = [Task.assigned_on <= as_of]
    if agency:
        conditions.append(_agency_matches(session, agency))
    if leader:
        leader_id = select(Leader.id).where(Leader.code == leader.upper()).scalar_subquery()
        conditions.append(Task.leader_id == leader_id)
    wanted = parse_statuses(statuses)
    shortcut = grid_sql.prefilter(as_of, wanted)
    if shortcut is not None:
        conditions.append(shortcut)
    if wanted:
        conditions.append(grid.in_([g.value for g in wanted]))
    if deadline_from:
        conditions.append(eff >= deadline_from)
    if deadline_to:
        conditions.append(eff <= deadline_to)
    if text and text.strip():
        conditions.append(_text_matches(text.strip()))
    # First the page's keys: ids and sort keys, with the number of matching tasks as a window
    # count, so the filters (the grid's CASE over every candidate task) run once for the page
    # and its total. Only the page's own rows are then read in full and joined.
    rank = grid_sql.urgency(as_of, cal)
    keys = (
        select(
            Task.id.label("id"),
            rank.label("rank"),
            eff.label("eff"),
            func.count().over().label("total"),
        )
        .where(*conditions)
        .order_by(rank, eff.is_(None), eff, Task.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
        .subquery("page_keys")
    )
    lead = aliased(Agency)
    stmt = (
        select(Task, Directive.number, Directive.issued_on, lead.code, Leader.code, keys.c.total)
        .join(keys, keys.c.id == Task.id)
        .join(Directive, Directive.id == Task.directive_id)
        .join(lead, lead.id == Task.lead_agency_id)
        .outerjoin(Leader, Leader.id == Task.leader_id)
        .order_by(keys.c.rank, keys.c.eff.is_(None), keys.c.eff, Task.id)
    )
    rows = session.execute(stmt).all()
    if rows:
        total = rows[0].total
    elif page == 1:
        total = 0
    else:  # a page past the end: no row carries the total, so count apart
        matching = select(Task.id).where(*conditions).subquery()
        total = session.scalar(select(func.count()).select_from(matching)) or 0
    facts = load_facts(session, [row[0] for row in rows])
    lines = [
        TaskLine(
            task.code,
            task.content,
            number,
            issued,
            lead_code,
            leader_code,
            task.state,
            standing_as_of(facts[task.id], as_of, cal),
        )
        for task, number, issued, lead_code, leader_code, _total in rows
    ]
    return Page(lines, total, page, page_size)


def _agency_matches(session: Session, agency: str) -> ColumnElement[bool]:
    """The task is led or coordinated by ``agency`` (its code).

    On PostgreSQL the coordinated tasks' ids come as one array, so that both halves of the OR
    are index conditions (a BitmapOr on the lead agency's and the primary key's indexes); with
    ``IN (subquery)`` the planner can only filter, and scans every task of the register.
    SQLite already answers the ``IN`` form with two index searches.
    """
    agency_id = select(Agency.id).where(Agency.code == agency.upper()).scalar_subquery()
    coordinated = select(TaskCoordinator.task_id).where(TaskCoordinator.agency_id == agency_id)
    if session.get_bind().dialect.name == "postgresql":
        # ARRAY(SELECT …), not = ANY (SELECT …), which would be a subquery test again.
        return (Task.lead_agency_id == agency_id) | (
            Task.id == any_(func.array(coordinated.scalar_subquery()))
        )
    return (Task.lead_agency_id == agency_id) | Task.id.in_(coordinated)


def _text_matches(text: str) -> ColumnElement[bool]:
    """The task's code, content or directive number contains ``text`` (any case)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    numbers = select(Directive.id).where(Directive.number.ilike(pattern, escape="\\"))
    return or_(
        Task.code.ilike(pattern, escape="\\"),
        Task.content.ilike(pattern, escape="\\"),
        Task.directive_id.in_(numbers),
    )


def load_facts(session: Session, tasks: Sequence[Task]) -> dict[int, TaskFacts]:
    """The timeliness facts of ``tasks``, with their approved extensions and pauses."""
    ext_ids = [t.id for t in tasks if t.has_extensions]
    pause_ids = [t.id for t in tasks if t.has_pauses]
    extensions, pauses = _extensions_and_pauses(session, ext_ids, pause_ids)
    return {
        t.id: TaskFacts(
            assigned_on=t.assigned_on,
            deadline=t.original_deadline,
            extensions=extensions.get(t.id, ()),
            submitted_on=t.submitted_on,
            completed_on=t.completed_on,
            confirmed_on=t.confirmed_on,
            cancelled_on=t.cancelled_on,
            pauses=pauses.get(t.id, ()),
        )
        for t in tasks
    }


def _extensions_and_pauses(
    session: Session, ext_ids: Sequence[int] | None, pause_ids: Sequence[int] | None
) -> tuple[
    dict[int, tuple[tuple[date, date], ...]], dict[int, tuple[tuple[date, date | None], ...]]
]:
    """Approved extensions and pauses by task id (``None`` ids = every task)."""
    ext: dict[int, list[tuple[date, date]]] = defaultdict(list)
    if ext_ids is None or ext_ids:
        q = (
            select(Extension.task_id, Extension.decided_on, Extension.granted_deadline)
            .where(Extension.status == "approved")
            .order_by(Extension.decided_on, Extension.id)
        )
        if ext_ids is not None:
            q = q.where(Extension.task_id.in_(ext_ids))
        for task_id, decided_on, granted in session.execute(q):
            assert decided_on is not None
            assert granted is not None
            ext[task_id].append((decided_on, granted))
    pau: dict[int, list[tuple[date, date | None]]] = defaultdict(list)
    if pause_ids is None or pause_ids:
        p = select(TaskPause.task_id, TaskPause.paused_on, TaskPause.resumed_on).order_by(
            TaskPause.id
        )
        if pause_ids is not None:
            p = p.where(TaskPause.task_id.in_(pause_ids))
        for task_id, paused_on, resumed_on in session.execute(p):
            pau[task_id].append((paused_on, resumed_on))
    return ({k: tuple(v) for k, v in ext.items()}, {k: tuple(v) for k, v in pau.items()})


@dataclass(frozen=True)
class TaskDetail:
    """A task with everything the task page and ``tasks show`` print."""

    task: Task
    standing: Standing
    coordinators: list[str]
    events: list[TaskEvent]
    reports: list[ProgressReport]
    extensions: list[Extension]
    officer: Officer | None


def task_detail(session: Session, code: str, *, as_of: date) -> TaskDetail:
    """One task with its timeline as of ``as_of`` (later events are left out)."""
    task = load_task(session, code)
    cal: WorkingCalendar = load_calendar(session)
    facts = load_facts(session, [task])[task.id]
    events = list(
        session.scalars(
            select(TaskEvent)
            .where(TaskEvent.task_id == task.id, TaskEvent.on <= as_of)
            .order_by(TaskEvent.id)
        )
    )
    reports = list(
        session.scalars(
            select(ProgressReport)
            .where(ProgressReport.task_id == task.id, ProgressReport.on <= as_of)
            .order_by(ProgressReport.id)
        )
    )
    extensions = list(
        session.scalars(
            select(Extension)
            .where(Extension.task_id == task.id, Extension.requested_on <= as_of)
            .order_by(Extension.id)
        )
    )
    return TaskDetail(
        task,
        standing_as_of(facts, as_of, cal),
        sorted(a.code for a in task.coordinators),
        events,
        reports,
        extensions,
        task.officer,
    )


def open_task_as_of(
    task: Task, facts: TaskFacts, day: date, cal: WorkingCalendar
) -> OpenTask | None:
    """What the reminder rules read of ``task`` on ``day``, or None if it is not open then."""
    grid = standing_as_of(facts, day, cal).grid
    if grid not in (Grid.WITHIN_TERM, Grid.DUE_SOON, Grid.OVERDUE, Grid.STANDING):
        return None
    return OpenTask(
        assigned_on=task.assigned_on,
        deadline=facts.effective_deadline(day),
        acknowledged=task.acknowledged_on is not None and task.acknowledged_on <= day,
        submitted=task.submitted_on is not None and task.submitted_on <= day,
        last_report_on=task.last_report_on,
    )
