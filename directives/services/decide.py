"""The decision step of the scheduled jobs, in the database: which notices are due on a day.

For every open task the rules of ``directives.reminders`` are evaluated in one INSERT … SELECT
over the working-day index (``wd(a, b)`` is ``ordinal(b) - ordinal(a)``), and the unique key
turns every notice already recorded into a no-op: only new notices come back. No Python loop
touches the tasks that are not due.
"""

from __future__ import annotations

from datetime import date, datetime

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
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from directives.db.outbox_tables import Notice
from directives.db.tables import CalendarDay, Task
from directives.policy import Policy
from directives.reminders import ACK, CHASE, DUE_SOON, ESCALATE1, ESCALATE2, NUDGE
from directives.services import grid_sql
from directives.services.calendar import ensure_index


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
    day: date, ordinal: int, policy: Policy, rules: tuple[str, ...]
) -> Select[tuple[str, int, str, int]]:
    """(rule, task id, deadline key, threshold) of every notice due on ``day`` for ``rules``."""
    eff = grid_sql.effective_deadline(day).label("eff")
    assigned_day = aliased(CalendarDay)
    report_day = aliased(CalendarDay)
    base = (
        select(
            Task.id.label("task_id"),
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
    wkey = func.coalesce(cast(w.eff, String), "")
    if ACK in rules:
        parts.append(
            select(literal(ACK), b.task_id, key, b.since_assigned).where(
                or_(b.ack.is_(None), b.ack > day), b.since_assigned >= policy.ack_after
            )
        )
    if DUE_SOON in rules:
        soon = case((w.eff == day, 0), else_=policy.due_soon)
        parts.append(
            select(literal(DUE_SOON), w.task_id, wkey, soon).where(
                w.eff >= day, -w.late <= policy.due_soon
            )
        )
    if CHASE in rules:
        step = policy.chase_every
        # first + step·⌊(late − first)/step⌋ without a division, whose rounding differs by database
        latest = w.late - (w.late - policy.chase_first) % step
        parts.append(
            select(literal(CHASE), w.task_id, wkey, latest).where(
                w.eff < day, w.late >= policy.chase_first
            )
        )
    if ESCALATE1 in rules:
        parts.append(
            select(literal(ESCALATE1), w.task_id, wkey, literal(policy.escalate_head)).where(
                w.eff < day, w.late >= policy.escalate_head
            )
        )
    if ESCALATE2 in rules:
        parts.append(
            select(literal(ESCALATE2), w.task_id, wkey, literal(policy.escalate_leader)).where(
                w.eff < day, w.late >= policy.escalate_leader
            )
        )
    if NUDGE in rules:
        every = policy.nudge_every
        parts.append(
            select(
                literal(NUDGE),
                b.task_id,
                literal(""),
                b.since_report - b.since_report % every,
            ).where(b.eff.is_(None), b.since_report >= every)
        )
    return union_all(*parts) if len(parts) > 1 else parts[0]  # type: ignore[return-value]


def decide(
    session: Session,
    day: date,
    policy: Policy,
    rules: tuple[str, ...],
    *,
    now: datetime,
    dry_run: bool = False,
) -> list[tuple[int, str, int, int]]:
    """Record the notices due on ``day``; returns the new ones as (id, rule, task id, threshold).

    With ``dry_run`` nothing is written and the ids are 0. On a rest day nothing is due.
    """
    cal = ensure_index(session)
    if not cal.is_working(day):
        return []
    cand = candidates(day, cal.ordinal(day), policy, rules).subquery()
    rule, task_id, key, threshold = cand.c
    fresh = select(rule, task_id, key, threshold).where(
        ~exists().where(
            Notice.rule == rule,
            Notice.task_id == task_id,
            Notice.deadline_key == key,
            Notice.threshold == threshold,
        )
    )
    if dry_run:
        return [(0, r, t, th) for r, t, _k, th in session.execute(fresh)]
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        make_insert(Notice)
        .from_select(
            ["rule", "task_id", "deadline_key", "threshold", "decided_on", "created_at"],
            # "WHERE true": SQLite needs it to parse ON CONFLICT after INSERT … SELECT.
            select(rule, task_id, key, threshold, literal(day), literal(now))
            .select_from(cand)
            .where(true()),
        )
        .on_conflict_do_nothing(index_elements=["rule", "task_id", "deadline_key", "threshold"])
        .returning(Notice.id, Notice.rule, Notice.task_id, Notice.threshold)
    )
    return [(i, r, t, th) for i, r, t, th in session.execute(stmt)]
