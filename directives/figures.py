"""Period figures in the official grid and in the office's own half-year style.

Definitions (as of the end of the period, from the dated facts):
- completed: confirmed by ``end`` with a completion date (the confirmed report's date) in the
  period; early / on the day / late against the effective deadline; tasks with no deadline count
  as completed only.
- working days used / allowed: ``wd(assigned, completed)`` and ``wd(assigned, deadline)``
  summed over the completed tasks that had a deadline; time saved = 1 − used / allowed, in %.
- fell due: tasks not cancelled or paused at ``end`` whose effective deadline lies in the
  period; the on-time rate is the share of them completed on or before their deadline.
- open within term (due soon included), overdue (with aging buckets), standing, paused: the grid
  as of ``end``; cancelled: the tasks cancelled during the period.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import date, timedelta

from directives.calendar import WorkingCalendar
from directives.timeliness import Grid, TaskFacts, standing_as_of


@dataclass
class Figures:
    """Counts for one agency or for the total."""

    completed: int = 0
    early: int = 0
    on_the_day: int = 0
    late: int = 0
    fell_due: int = 0
    on_time: int = 0
    working_days_used: int = 0
    working_days_allowed: int = 0
    open_within_term: int = 0
    due_soon: int = 0
    open_overdue: int = 0
    overdue_over_30: int = 0
    overdue_over_60: int = 0
    overdue_over_120: int = 0
    standing: int = 0
    paused: int = 0
    cancelled: int = 0

    @property
    def on_time_rate(self) -> float | None:
        """Percent of the tasks that fell due completed on time; None when none fell due."""
        return round(100 * self.on_time / self.fell_due, 1) if self.fell_due else None

    @property
    def time_saved_pct(self) -> float | None:
        """Percent of the allowed working days not used; None when nothing had a deadline."""
        if not self.working_days_allowed:
            return None
        saved = self.working_days_allowed - self.working_days_used
        return round(100 * saved / self.working_days_allowed, 1)

    def as_dict(self) -> dict[str, int | float | None]:
        """Counts and the two derived percentages."""
        out: dict[str, int | float | None] = dict(asdict(self))
        out["on_time_rate"] = self.on_time_rate
        out["time_saved_pct"] = self.time_saved_pct
        return out

    def add(self, other: Figures) -> None:
        """Accumulate ``other`` into these counts."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class PeriodReport:
    """Figures for [start, end] in total and per agency."""

    start: date
    end: date
    total: Figures = field(default_factory=Figures)
    by_agency: dict[str, Figures] = field(default_factory=dict)


def _count(fig: Figures, facts: TaskFacts, start: date, end: date, cal: WorkingCalendar) -> None:
    st = standing_as_of(facts, end, cal)
    grid = st.grid
    if grid is Grid.NOT_ASSIGNED:
        return
    if grid.is_done:
        done = facts.completed_on or facts.confirmed_on
        assert done is not None
        if start <= done <= end:
            fig.completed += 1
            if grid is Grid.DONE_EARLY:
                fig.early += 1
            elif grid is Grid.DONE_ON_THE_DAY:
                fig.on_the_day += 1
            elif grid is Grid.DONE_LATE:
                fig.late += 1
            if st.deadline is not None:
                fig.working_days_used += max(0, cal.wd(facts.assigned_on, done))
                fig.working_days_allowed += max(0, cal.wd(facts.assigned_on, st.deadline))
    elif grid is Grid.OVERDUE:
        fig.open_overdue += 1
        bucket = st.bucket
        fig.overdue_over_120 += bucket == 120
        fig.overdue_over_60 += bucket is not None and bucket >= 60
        fig.overdue_over_30 += bucket is not None
    elif grid in (Grid.WITHIN_TERM, Grid.DUE_SOON):
        fig.open_within_term += 1
        fig.due_soon += grid is Grid.DUE_SOON
    elif grid is Grid.STANDING:
        fig.standing += 1
    elif grid is Grid.PAUSED:
        fig.paused += 1
    elif grid is Grid.CANCELLED:
        assert facts.cancelled_on is not None
        fig.cancelled += start <= facts.cancelled_on <= end
    counted = grid not in (Grid.PAUSED, Grid.CANCELLED) and st.deadline is not None
    if counted and st.deadline is not None and start <= st.deadline <= end:
        fig.fell_due += 1
        fig.on_time += grid in (Grid.DONE_EARLY, Grid.DONE_ON_THE_DAY)


def period_report(
    tasks: Iterable[tuple[str, TaskFacts]],
    start: date,
    end: date,
    calendar: WorkingCalendar,
) -> PeriodReport:
    """Figures over ``tasks`` (agency code, facts) for the period [start, end]."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    report = PeriodReport(start, end)
    for agency, facts in tasks:
        fig = report.by_agency.get(agency)
        if fig is None:
            fig = report.by_agency[agency] = Figures()
        _count(fig, facts, start, end, calendar)
    for fig in report.by_agency.values():
        report.total.add(fig)
    return report


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length that ends the day before ``start``."""
    length = end - start
    prev_end = start - timedelta(days=1)
    return prev_end - length, prev_end


def change(current: Figures, previous: Figures) -> dict[str, int | float | None]:
    """Current minus previous for every figure (None where either percentage is undefined)."""
    now, before = current.as_dict(), previous.as_dict()
    out: dict[str, int | float | None] = {}
    for key, value in now.items():
        old = before[key]
        out[key] = None if value is None or old is None else round(value - old, 1)
    return out
