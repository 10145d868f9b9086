"""Period figures aggregated in the database, over the working-day index.

The same definitions as ``directives.figures.period_report`` (the reference the tests compare
with), computed with one grouped query per period instead of a Python loop over every task:
working days are ordinal differences from ``calendar_days``, the grid is ``grid_sql``'s CASE.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from directives.db.tables import Agency, CalendarDay, Leader, Task
from directives.figures import Figures, PeriodReport
from directives.services import grid_sql
from directives.services.calendar import ensure_index
from directives.timeliness import AGING_BUCKETS, Grid


def _sum(condition: ColumnElement[bool], value: Any = 1) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def period_report_sql(
    session: Session,
    start: date,
    end: date,
    *,
    agency: str | None = None,
    leader: str | None = None,
) -> PeriodReport:
    """Figures for [start, end] as of ``end``, in total and per lead agency."""
    cal = ensure_index(session)
    done_on = func.coalesce(Task.completed_on, Task.confirmed_on)
    reference = case(
        (and_(Task.submitted_on.is_not(None), Task.submitted_on <= end), Task.submitted_on),
        else_=literal(end),
    )
    inner = select(
        Task.lead_agency_id.label("agency_id"),
        grid_sql.grid(end, cal).label("g"),
        grid_sql.effective_deadline(end).label("eff"),
        done_on.label("done"),
        reference.label("ref"),
        Task.assigned_on.label("assigned"),
        Task.cancelled_on.label("cancelled"),
    ).where(Task.assigned_on <= end)
    if agency:
        inner = inner.where(
            Task.lead_agency_id
            == select(Agency.id).where(Agency.code == agency.upper()).scalar_subquery()
        )
    if leader:
        inner = inner.where(
            Task.leader_id
            == select(Leader.id).where(Leader.code == leader.upper()).scalar_subquery()
        )
    # Materialized: inlined, the grid CASE and the deadline subquery would be evaluated again
    # in every one of the sums below (seventeen times a row).
    t = inner.cte("period_tasks").prefix_with("MATERIALIZED")
    o_assigned, o_done, o_eff, o_ref = (aliased(CalendarDay) for _ in range(4))
    g = t.c.g
    done = g.in_(
        [
            x.value
            for x in (Grid.DONE_EARLY, Grid.DONE_ON_THE_DAY, Grid.DONE_LATE, Grid.DONE_NO_DEADLINE)
        ]
    )
    completed = and_(done, t.c.done >= start, t.c.done <= end)
    timed = and_(completed, t.c.eff.is_not(None))
    late_days = o_ref.ordinal - o_eff.ordinal
    overdue = g == Grid.OVERDUE.value
    fell_due = and_(
        g.not_in([Grid.PAUSED.value, Grid.CANCELLED.value]),
        t.c.eff.is_not(None),
        t.c.eff >= start,
        t.c.eff <= end,
    )
    columns = {
        "completed": _sum(completed),
        "early": _sum(and_(completed, g == Grid.DONE_EARLY.value)),
        "on_the_day": _sum(and_(completed, g == Grid.DONE_ON_THE_DAY.value)),
        "late": _sum(and_(completed, g == Grid.DONE_LATE.value)),
        "fell_due": _sum(fell_due),
        "on_time": _sum(and_(fell_due, g.in_([Grid.DONE_EARLY.value, Grid.DONE_ON_THE_DAY.value]))),
        "working_days_used": _sum(
            and_(timed, o_done.ordinal > o_assigned.ordinal), o_done.ordinal - o_assigned.ordinal
        ),
        "working_days_allowed": _sum(
            and_(timed, o_eff.ordinal > o_assigned.ordinal), o_eff.ordinal - o_assigned.ordinal
        ),
        "open_within_term": _sum(g.in_([Grid.WITHIN_TERM.value, Grid.DUE_SOON.value])),
        "due_soon": _sum(g == Grid.DUE_SOON.value),
        "open_overdue": _sum(overdue),
        "overdue_over_30": _sum(and_(overdue, late_days > AGING_BUCKETS[2])),
        "overdue_over_60": _sum(and_(overdue, late_days > AGING_BUCKETS[1])),
        "overdue_over_120": _sum(and_(overdue, late_days > AGING_BUCKETS[0])),
        "standing": _sum(g == Grid.STANDING.value),
        "paused": _sum(g == Grid.PAUSED.value),
        "cancelled": _sum(
            and_(g == Grid.CANCELLED.value, t.c.cancelled >= start, t.c.cancelled <= end)
        ),
    }
    stmt = (
        select(Agency.code, *(col.label(name) for name, col in columns.items()))
        .select_from(t)
        .join(Agency, Agency.id == t.c.agency_id)
        .outerjoin(o_assigned, o_assigned.day == t.c.assigned)
        .outerjoin(o_done, o_done.day == t.c.done)
        .outerjoin(o_eff, o_eff.day == t.c.eff)
        .outerjoin(o_ref, o_ref.day == t.c.ref)
        .group_by(Agency.code)
    )
    report = PeriodReport(start, end)
    for row in session.execute(stmt):
        fig = Figures(**{name: int(getattr(row, name)) for name in columns})
        report.by_agency[row.code] = fig
        report.total.add(fig)
    return report
