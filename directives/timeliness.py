"""Timeliness of a task as of a date, derived from dated facts and the working calendar.

Nothing here is stored: the grid status of a task is recomputed for every ``as_of`` so it never goes
stale. The facts are a projection of the task's event log (see ``directives.db.projection``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from directives.calendar import WorkingCalendar

DUE_SOON_WINDOW = 3  # working days
AGING_BUCKETS = (120, 60, 30)  # "over N working days overdue", largest first


class Grid(enum.StrEnum):
    """Where a task stands in the official grid as of a date."""

    NOT_ASSIGNED = "not_assigned"  # assigned after as_of
    WITHIN_TERM = "within_term"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    DONE_EARLY = "done_early"
    DONE_ON_THE_DAY = "done_on_the_day"
    DONE_LATE = "done_late"
    DONE_NO_DEADLINE = "done_no_deadline"
    STANDING = "standing"
    PAUSED = "paused"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        """The Vietnamese name shown to users."""
        return _GRID_LABELS[self]

    @property
    def is_open(self) -> bool:
        """True for the statuses of a task still being worked on."""
        return self in (Grid.WITHIN_TERM, Grid.DUE_SOON, Grid.OVERDUE, Grid.STANDING)

    @property
    def is_done(self) -> bool:
        """True for the statuses of a confirmed task."""
        return self in (
            Grid.DONE_EARLY,
            Grid.DONE_ON_THE_DAY,
            Grid.DONE_LATE,
            Grid.DONE_NO_DEADLINE,
        )


_GRID_LABELS = {
    Grid.NOT_ASSIGNED: "Chưa giao",
    Grid.WITHIN_TERM: "Trong hạn",
    Grid.DUE_SOON: "Sắp đến hạn",
    Grid.OVERDUE: "Quá hạn",
    Grid.DONE_EARLY: "Hoàn thành trước hạn",
    Grid.DONE_ON_THE_DAY: "Hoàn thành đúng hạn",
    Grid.DONE_LATE: "Hoàn thành quá hạn",
    Grid.DONE_NO_DEADLINE: "Hoàn thành",
    Grid.STANDING: "Thường xuyên",
    Grid.PAUSED: "Tạm hoãn",
    Grid.CANCELLED: "Đã hủy",
}


@dataclass(frozen=True, slots=True)
class TaskFacts:
    """The dated facts of one task that timeliness is derived from.

    ``extensions`` holds approved extensions as (decided_on, new_deadline) in decision order;
    ``pauses`` holds (paused_on, resumed_on or None). ``completed_on`` is the date of the report the
    office confirmed (``confirmed_on`` is when it confirmed it); ``submitted_on`` is the date of a
    final report still waiting for the office.
    """

    assigned_on: date
    deadline: date | None = None
    extensions: tuple[tuple[date, date], ...] = ()
    submitted_on: date | None = None
    completed_on: date | None = None
    confirmed_on: date | None = None
    cancelled_on: date | None = None
    pauses: tuple[tuple[date, date | None], ...] = ()

    def effective_deadline(self, as_of: date | None = None) -> date | None:
        """The latest approved extension decided on or before ``as_of``, else the original."""
        result = self.deadline
        for decided_on, new_deadline in self.extensions:
            if as_of is None or decided_on <= as_of:
                result = new_deadline
        return result

    def paused_on(self, as_of: date) -> bool:
        """True if a pause covers ``as_of``."""
        return any(p <= as_of and (r is None or r > as_of) for p, r in self.pauses)


@dataclass(frozen=True, slots=True)
class Standing:
    """A task's grid status as of a date, with its effective deadline and age in working days."""

    grid: Grid
    deadline: date | None
    days_left: int | None = None  # working days until the deadline (open, not overdue)
    days_late: int | None = None  # working days past the deadline (overdue or done late)

    @property
    def bucket(self) -> int | None:
        """The aging bucket (30, 60 or 120) an overdue task is past, if any."""
        if self.days_late is None or self.grid is not Grid.OVERDUE:
            return None
        return next((b for b in AGING_BUCKETS if self.days_late > b), None)


def standing_as_of(
    facts: TaskFacts,
    as_of: date,
    calendar: WorkingCalendar,
    *,
    due_soon_window: int = DUE_SOON_WINDOW,
) -> Standing:
    """Classify a task as of ``as_of`` following DESIGN.md's rules.

    A final report waiting for the office is judged by its own date: if the report came in on time
    the task is not shown overdue while the office has yet to confirm it.
    """
    if facts.assigned_on > as_of:
        return Standing(Grid.NOT_ASSIGNED, facts.deadline)
    deadline = facts.effective_deadline(as_of)
    if facts.confirmed_on is not None and facts.confirmed_on <= as_of:
        done = facts.completed_on or facts.confirmed_on
        if deadline is None:
            return Standing(Grid.DONE_NO_DEADLINE, None)
        if done < deadline:
            return Standing(Grid.DONE_EARLY, deadline)
        if done == deadline:
            return Standing(Grid.DONE_ON_THE_DAY, deadline)
        return Standing(Grid.DONE_LATE, deadline, days_late=calendar.wd(deadline, done))
    if facts.cancelled_on is not None and facts.cancelled_on <= as_of:
        return Standing(Grid.CANCELLED, deadline)
    if facts.paused_on(as_of):
        return Standing(Grid.PAUSED, deadline)
    if deadline is None:
        return Standing(Grid.STANDING, None)
    reference = as_of
    if facts.submitted_on is not None and facts.submitted_on <= as_of:
        reference = facts.submitted_on
    if reference > deadline:
        return Standing(Grid.OVERDUE, deadline, days_late=calendar.wd(deadline, reference))
    if as_of > deadline:  # reported on time, waiting for the office: not the agency's delay
        return Standing(Grid.WITHIN_TERM, deadline, days_left=0)
    left = calendar.wd(as_of, deadline)
    grid = Grid.DUE_SOON if left <= due_soon_window else Grid.WITHIN_TERM
    return Standing(grid, deadline, days_left=left)
