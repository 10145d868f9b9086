"""The decision step of the scheduled jobs, in the database: which notices are due on a day.

For every open task the rules of ``directives.reminders`` are evaluated in one SELECT over the
working-day index (``wd(a, b)`` is ``ordinal(b) - ordinal(a)``), less the notices already
recorded under their unique key: only new notices come back, and ``outbox.enqueue`` records
them with their messages. No Python loop touches the tasks that are not due.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from directives.calendar import WorkingCalendar
from directives.db.outbox_tables import Notice
from directives.db.tables import CalendarDay, Task
from directives.policy import Policy
from directives.reminders import ACK, CHASE, DUE_SOON, ESCALATE1, ESCALATE2, NUDGE
from directives.services import grid_sql, task_lines
from directives.services.calendar import ensure_index
from directives.services.outbox import NoticeKey


def _open_on(day: date) -> ColumnElement[bool]:
    """Open and waiting on the agency: assigned, not done, cancelled, paused or submitted."""
    return and_(
        Task.assigned_on <= day,
        or_(Task.confirmed_on.is_(None), Task.confirmed_on > day),
        or_(Task.cancelled_on.is_(None), Task.cancelled_on > day),
        or_(Task.submitted_on.is_(None), Task.submitted_on > day),
        ~grid_sql.paused(day),
    )


def candidates(
    day: date,
    ordinal: int,
    policy: Policy,
    rules: tuple[str, ...],
    carry: Sequence[InstrumentedAttribute[Any]] = (),
) -> Select[tuple[str, int, str, int]]:
    """(rule, task id, deadline key, threshold) of every notice due on ``day`` for ``rules``,
    each followed by the task's ``carry`` columns (read in the same scan of the tasks)."""
    eff = grid_sql.effective_deadline(day).label("eff")
    assigned_day = aliased(CalendarDay)
    report_day = aliased(CalendarDay)
    base = (
        select(
            Task.id.label("task_id"),
            *(column.label(f"carried_{column.key}") for column in carry),
            eff,
            Task.acknowledged_on.label("ack"),
            (literal(ordinal) - assigned_day.ordinal).label("since_assigned"),
            (literal(ordinal) - report_day.ordinal).label("since_report"),
        )
        .join(assigned_day, assigned_day.day == Task.assigned_on)
        .join(report_day, report_day.day == func.coalesce(Task.last_report_on, Task.assigned_on))
        .where(_open_on(day))
        .cte("open_tasks")
        .prefix_with("MATERIALIZED")
    )
    deadline_day = aliased(CalendarDay)
    key = func.coalesce(cast(base.c.eff, String), "")
    late = literal(ordinal) - deadline_day.ordinal  # > 0 once the deadline has passed
    with_deadline = (
        select(base, late.label("late"))
        .join(deadline_day, deadline_day.day == base.c.eff)
        .subquery()
    )
    parts: list[Select[tuple[str, int, str, int]]] = []
    b, w = base.c, with_deadline.c
    names = [f"carried_{column.key}" for column in carry]
    b_carried, w_carried = [b[n] for n in names], [w[n] for n in names]
    wkey = func.coalesce(cast(w.eff, String), "")
    if ACK in rules:
        parts.append(
            select(literal(ACK), b.task_id, key, b.since_assigned, *b_carried).where(
                or_(b.ack.is_(None), b.ack > day), b.since_assigned >= policy.ack_after
            )
        )
    if DUE_SOON in rules:
        soon = case((w.eff == day, 0), else_=policy.due_soon)
        parts.append(
            select(literal(DUE_SOON), w.task_id, wkey, soon, *w_carried).where(
                w.eff >= day, -w.late <= policy.due_soon
            )
        )
    if CHASE in rules:
        step = policy.chase_every
        # first + step·⌊(late − first)/step⌋ without a division, whose rounding differs by database
        latest = w.late - (w.late - policy.chase_first) % step
        parts.append(
            select(literal(CHASE), w.task_id, wkey, latest, *w_carried).where(
                w.eff < day, w.late >= policy.chase_first
            )
        )
    if ESCALATE1 in rules:
        parts.append(
            select(
                literal(ESCALATE1), w.task_id, wkey, literal(policy.escalate_head), *w_carried
            ).where(w.eff < day, w.late >= policy.escalate_head)
        )
    if ESCALATE2 in rules:
        parts.append(
            select(
                literal(ESCALATE2), w.task_id, wkey, literal(policy.escalate_leader), *w_carried
            ).where(w.eff < day, w.late >= policy.escalate_leader)
        )
    if NUDGE in rules:
        every = policy.nudge_every
        parts.append(
            select(
                literal(NUDGE),
                b.task_id,
                literal(""),
                b.since_report - b.since_report % every,
                *b_carried,
            ).where(b.eff.is_(None), b.since_report >= every)
        )
    return union_all(*parts) if len(parts) > 1 else parts[0]  # type: ignore[return-value]


# pg_advisory_xact_lock's key for "deciding notices": any 64-bit number, the same everywhere.
DECIDERS_LOCK = 0x6469726563746976  # "directiv"


def lock_deciders(session: Session) -> None:
    """Serialize the jobs that decide notices, until the transaction ends (PostgreSQL).

    A job reads which notices are new, builds their messages, and records both; two runs at
    once would both read the same notices as new. The second now waits, then reads them as
    recorded. SQLite has one writer at a time already, and a run whose reading went stale
    fails on writing (``outbox.record`` refuses a key recorded meanwhile) and sends nothing.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(DECIDERS_LOCK)))


def _fresh(
    day: date,
    ordinal: int,
    policy: Policy,
    rules: tuple[str, ...],
    carry: Sequence[InstrumentedAttribute[Any]] = (),
) -> Select[str, int, str, int]:
    """(rule, task id, deadline key, threshold) of the notices due and not yet recorded, each
    followed by the task's ``carry`` columns."""
    cand = candidates(day, ordinal, policy, rules, carry).subquery()
    rule, task_id, key, threshold, *carried = cand.c
    return select(rule, task_id, key, threshold, *carried).where(
        ~exists().where(
            Notice.task_id == task_id,
            Notice.rule == rule,
            Notice.deadline_key == key,
            Notice.threshold == threshold,
        )
    )


def decide(
    session: Session,
    day: date,
    policy: Policy,
    rules: tuple[str, ...],
    *,
    cal: WorkingCalendar | None = None,
) -> list[NoticeKey]:
    """The notices due on ``day`` for ``rules`` and not yet recorded, by key; none on a rest day.

    Nothing is written: ``outbox.enqueue`` records them with the messages that carry them.
    A caller that will record them takes ``lock_deciders`` first.
    """
    cal = cal or ensure_index(session)
    if not cal.is_working(day):
        return []
    fresh = _fresh(day, cal.ordinal(day), policy, rules)
    # Core rows: the ORM's result processing of 100,000 rows costs a third of a second.
    return [(r, t, k, th) for r, t, k, th in session.connection().execute(fresh).all()]


def decide_with_lines(
    session: Session,
    day: date,
    policy: Policy,
    rules: tuple[str, ...],
    *,
    cal: WorkingCalendar,
    app_url: str,
    on_row: Callable[[NoticeKey, task_lines.TaskLine], None] | None = None,
) -> tuple[list[NoticeKey], dict[int, task_lines.TaskLine]]:
    """``decide``, and in the same statement the task rows of the messages (``task_lines``):
    a first chase over a large register saves a second read of 100,000 tasks."""
    if not cal.is_working(day):
        return [], {}
    # The task columns of the rows come with the decision, from its one scan of the tasks:
    # joining 95,000 decided rows back to a million tasks cost a third of the statement.
    fresh = _fresh(day, cal.ordinal(day), policy, rules, task_lines.CARRIED)
    return task_lines.read_decided(session, fresh, day=day, cal=cal, app_url=app_url, on_row=on_row)
