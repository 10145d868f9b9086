"""The grid status as a SQL expression, so listings filter and page in the database.

It mirrors ``directives.timeliness.standing_as_of`` exactly (a test compares the two).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, or_, select

from directives.calendar import WorkingCalendar
from directives.db.tables import Extension, Task, TaskPause
from directives.timeliness import DUE_SOON_WINDOW


def effective_deadline(as_of: date) -> ColumnElement[date]:
    """The latest extension approved on or before ``as_of``, else the original deadline."""
    granted = (
        select(Extension.granted_deadline)
        .where(
            Extension.task_id == Task.id,
            Extension.status == "approved",
            Extension.decided_on <= as_of,
        )
        .order_by(Extension.decided_on.desc(), Extension.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return case(
        (Task.has_extensions, func.coalesce(granted, Task.original_deadline)),
        else_=Task.original_deadline,
    )


def paused(as_of: date) -> ColumnElement[bool]:
    """True when a pause covers ``as_of``."""
    covering = exists().where(
        TaskPause.task_id == Task.id,
        TaskPause.paused_on <= as_of,
        or_(TaskPause.resumed_on.is_(None), TaskPause.resumed_on > as_of),
    )
    return and_(Task.has_pauses, covering)


def grid(as_of: date, calendar: WorkingCalendar) -> ColumnElement[str]:
    """The ``Grid`` value of every task as of ``as_of``."""
    eff = effective_deadline(as_of)
    # wd(as_of, D) <= window  ⟺  D is before the (window + 1)-th working day after as_of.
    cutoff = calendar.add(as_of, DUE_SOON_WINDOW + 1)
    reference = case(
        (and_(Task.submitted_on.is_not(None), Task.submitted_on <= as_of), Task.submitted_on),
        else_=literal(as_of),
    )
    return case(
        (Task.assigned_on > as_of, "not_assigned"),
        (
            and_(Task.confirmed_on.is_not(None), Task.confirmed_on <= as_of),
            case(
                (eff.is_(None), "done_no_deadline"),
                (Task.completed_on < eff, "done_early"),
                (Task.completed_on == eff, "done_on_the_day"),
                else_="done_late",
            ),
        ),
        (and_(Task.cancelled_on.is_not(None), Task.cancelled_on <= as_of), "cancelled"),
        (paused(as_of), "paused"),
        (eff.is_(None), "standing"),
        (reference > eff, "overdue"),
        (literal(as_of) > eff, "within_term"),
        (eff < cutoff, "due_soon"),
        else_="within_term",
    )
