"""Period figures aggregated in the database, over the working-day index.

The same definitions as ``directives.figures.period_report`` (the reference the tests compare
with), computed with one grouped query per period instead of a Python loop over every task:
working days are ordinal differences from ``calendar_days``, the grid is ``grid_sql``'s CASE.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import Grouping

from directives.calendar import WorkingCalendar
from directives.db.tables import Agency, CalendarDay, Leader, Task
from directives.figures import Figures, PeriodReport
from directives.services import grid_sql
from directives.services.calendar import ensure_index
from directives.timeliness import AGING_BUCKETS, Grid


def _sum(condition: ColumnElement[bool], value: Any = 1) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _may_count(start: date, end: date) -> ColumnElement[bool]:
    """A cheap superset of the tasks that count in [start, end]: it leaves out, before any CASE
    is evaluated, the tasks finished or cancelled before ``start`` whose deadline cannot fall in
    the period (most of a long history). Every other task is classified as before."""
    finished_before = or_(
        and_(Task.confirmed_on.is_not(None), Task.confirmed_on < start),
        and_(Task.cancelled_on.is_not(None), Task.cancelled_on < start),
    )
    # The effective deadline as of ``end`` is the original one or an approved extension's.
    may_fall_due = or_(Task.has_extensions, Task.original_deadline >= start)
    return or_(~finished_before, may_fall_due)


class _Ordinals:
    """Working-day ordinals of date columns: joins to ``calendar_days`` (SQLite), or on
    PostgreSQL a lookup in an array bound once per query, which spares four hash joins over
    every row of the period."""

    def __init__(self, session: Session, cal: WorkingCalendar) -> None:
        self.array = session.get_bind().dialect.name == "postgresql"
        self.aliases: list[tuple[Any, ColumnElement[date]]] = []
        if self.array:
            days = (cal.last - cal.first).days + 1
            values = [cal.ordinal(cal.first + timedelta(days=i)) for i in range(days)]
            self.values = bindparam("ordinals", values, type_=postgresql.ARRAY(Integer))
            self.first = cal.first

    def __call__(self, day: ColumnElement[date]) -> ColumnElement[int]:
        if self.array:
            index = cast(day - literal(self.first, Date), Integer) + 1
            # Parenthesised: ``$1::INTEGER[][i]`` would read as a two-dimensional type.
            return cast(Grouping(self.values)[index], Integer)
        alias = aliased(CalendarDay)
        self.aliases.append((alias, day))
        return cast(alias.ordinal, Integer)

    def joined(self, source: Any) -> Any:
        """``source`` with the joins the SQLite form needs."""
        for alias, day in self.aliases:
            source = source.outerjoin(alias, alias.day == day)
        return source


_ordinals = _Ordinals


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
    ).where(Task.assigned_on <= end, _may_count(start, end))
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
    ordinal = _ordinals(session, cal)
    o_assigned, o_done, o_eff, o_ref = (
        ordinal(c) for c in (t.c.assigned, t.c.done, t.c.eff, t.c.ref)
    )
    g = t.c.g
    done = g.in_(
        [
            x.value
            for x in (Grid.DONE_EARLY, Grid.DONE_ON_THE_DAY, Grid.DONE_LATE, Grid.DONE_NO_DEADLINE)
        ]
    )
    completed = and_(done, t.c.done >= start, t.c.done <= end)
    timed = and_(completed, t.c.eff.is_not(None))
    late_days = o_ref - o_eff
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
        "working_days_used": _sum(and_(timed, o_done > o_assigned), o_done - o_assigned),
        "working_days_allowed": _sum(and_(timed, o_eff > o_assigned), o_eff - o_assigned),
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
        .select_from(ordinal.joined(t.join(Agency, Agency.id == t.c.agency_id)))
        .group_by(Agency.code)
    )
    report = PeriodReport(start, end)
    for row in session.execute(stmt):
        fig = Figures(**{name: int(getattr(row, name)) for name in columns})
        report.by_agency[row.code] = fig
        report.total.add(fig)
    return report
