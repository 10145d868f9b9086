"""The working calendar as stored: Vietnam's public holidays plus the office's own days."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from functools import lru_cache

import holidays as holidays_pkg
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from directives.calendar import DEFAULT_FIRST, DEFAULT_LAST, WorkingCalendar
from directives.db.tables import CalendarDay, CalendarOverride, EngineMeta, Task
from directives.errors import InvalidInput


@lru_cache(maxsize=1)
def _vietnam() -> tuple[frozenset[date], frozenset[date]]:
    vn = holidays_pkg.country_holidays("VN", years=range(DEFAULT_FIRST.year, DEFAULT_LAST.year + 1))
    return frozenset(vn.keys()), frozenset(vn.weekend_workdays)


@lru_cache(maxsize=8)
def _build(overrides: tuple[tuple[date, bool], ...]) -> WorkingCalendar:
    off, worked = _vietnam()
    return WorkingCalendar.build(holidays=off, weekend_workdays=worked, overrides=dict(overrides))


def fingerprint(cal: WorkingCalendar) -> str:
    """Identifies a calendar's exceptions, so the stored index can tell when it is stale."""
    text = repr((cal.first, cal.last, sorted(cal.off), sorted(cal.worked)))
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


INDEX_KEY = "calendar_index"
# pg_advisory_xact_lock's key for "rebuilding the working-day index": any 64-bit number.
INDEX_LOCK = 0x63616C656E646172  # "calendar"


def ensure_index(session: Session) -> WorkingCalendar:
    """The calendar in force, with its working-day index in the database brought up to date.

    The index (``calendar_days``) lets SQL count working days by subtracting two ordinals.
    It is rebuilt (about 40,000 rows) only when the calendar changed since it was built.
    """
    cal = load_calendar(session)
    print_ = fingerprint(cal)
    meta = session.get(EngineMeta, INDEX_KEY)
    if meta is not None and meta.value == print_:
        return cal
    if session.get_bind().dialect.name == "postgresql":
        # Two processes finding it stale at once (two workers' first jobs on a new database)
        # would both rebuild it, and the second fail on the first's rows: the second waits
        # for the first, then finds it built. SQLite has one writer at a time already.
        session.execute(select(func.pg_advisory_xact_lock(INDEX_LOCK)))
        meta = session.get(EngineMeta, INDEX_KEY, populate_existing=True)
        if meta is not None and meta.value == print_:
            return cal
    session.execute(delete(CalendarDay))
    rows = []
    day = cal.first
    while day <= cal.last:
        rows.append({"day": day, "ordinal": cal.ordinal(day), "working": cal.is_working(day)})
        day += timedelta(days=1)
    for start in range(0, len(rows), 5000):
        session.execute(insert(CalendarDay), rows[start : start + 5000])
    if meta is None:
        session.add(EngineMeta(key=INDEX_KEY, value=print_))
    else:
        meta.value = print_
    session.flush()
    return cal


def public_holidays(year: int) -> dict[date, str]:
    """Public holidays and substitute days off of ``year``, as the ``holidays`` package has them."""
    return dict(holidays_pkg.country_holidays("VN", years=year).items())


def overrides(session: Session) -> dict[date, CalendarOverride]:
    """The office's own days off and working days, by date."""
    rows = session.scalars(select(CalendarOverride).order_by(CalendarOverride.day))
    return {row.day: row for row in rows}


def load_calendar(session: Session) -> WorkingCalendar:
    """The working calendar in force (cached per set of overrides)."""
    key = tuple((day, row.working) for day, row in overrides(session).items())
    return _build(key)


def set_day(session: Session, day: date, *, working: bool, note: str = "") -> int:
    """Declare ``day`` worked or off and recompute stored deadlines; returns tasks changed."""
    if not DEFAULT_FIRST <= day <= DEFAULT_LAST:
        raise InvalidInput(f"ngày {day.isoformat()} nằm ngoài lịch làm việc")
    row = session.get(CalendarOverride, day)
    if row is None:
        session.add(CalendarOverride(day=day, working=working, note=note))
    else:
        row.working, row.note = working, note
    session.flush()
    return recompute_deadlines(session, ensure_index(session))


def remove_day(session: Session, day: date) -> int:
    """Drop the office's override of ``day``, then recompute deadlines; returns tasks changed."""
    row = session.get(CalendarOverride, day)
    if row is None:
        raise InvalidInput(
            f"ngày {day.isoformat()} không có trong danh sách ngày do văn phòng khai báo"
        )
    session.delete(row)
    session.flush()
    return recompute_deadlines(session, ensure_index(session))


def compute_deadline(
    calendar: WorkingCalendar, issued_on: date, stated: date | None, working_days: int | None
) -> date | None:
    """N working days after issue, or the stated date rolled forward to a working day."""
    if working_days is not None:
        return calendar.add(issued_on, working_days)
    if stated is not None:
        return calendar.roll_forward(stated)
    return None


def recompute_deadlines(session: Session, calendar: WorkingCalendar) -> int:
    """Recompute each task's original and effective deadline after a calendar change."""
    changed = 0
    rows = session.execute(
        select(Task).where(
            (Task.stated_deadline.is_not(None)) | (Task.deadline_working_days.is_not(None))
        )
    ).scalars()
    for task in rows:
        new_original = compute_deadline(
            calendar, task.assigned_on, task.stated_deadline, task.deadline_working_days
        )
        new_effective = new_original if not task.has_extensions else task.deadline
        if task.has_extensions and task.deadline is not None:
            new_effective = calendar.roll_forward(task.deadline)
        if (new_original, new_effective) != (task.original_deadline, task.deadline):
            task.original_deadline, task.deadline = new_original, new_effective
            changed += 1
    return changed
