"""The monthly work programme (chương trình công tác tháng): item states as of a date, and totals.

Pure rules over plain values, like ``timeliness``: the state of an item is derived on read from its
dates and the working calendar, never stored. An item's planned date of submission to the
Committee is a deadline like any other: when it falls on a rest day it moves to the next working
day, and a submission on or before that day is on time.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from directives.calendar import WorkingCalendar


class ItemKind(enum.StrEnum):
    """What an item of the programme is (the office's own column "Loại")."""

    PROJECT = "project"  # đề án
    REPORT = "report"  # báo cáo
    SUBMISSION = "submission"  # tờ trình
    DRAFT = "draft"  # dự thảo văn bản (quyết định, chỉ thị, nghị quyết…)
    PLAN = "plan"  # kế hoạch
    OTHER = "other"


ITEM_KIND_LABELS: dict[ItemKind, str] = {
    ItemKind.PROJECT: "Đề án",
    ItemKind.REPORT: "Báo cáo",
    ItemKind.SUBMISSION: "Tờ trình",
    ItemKind.DRAFT: "Dự thảo văn bản",
    ItemKind.PLAN: "Kế hoạch",
    ItemKind.OTHER: "Khác",
}


class ItemState(enum.StrEnum):
    """An item's state as of a date (the keys the status templates label)."""

    SUBMITTED_ON_TIME = "submitted_on_time"
    SUBMITTED_LATE = "submitted_late"
    NOT_YET_DUE = "not_yet_due"
    OVERDUE = "overdue"
    POSTPONED = "postponed"
    REMOVED = "removed"


ITEM_STATE_LABELS: dict[ItemState, str] = {
    ItemState.SUBMITTED_ON_TIME: "Đã trình đúng hạn",
    ItemState.SUBMITTED_LATE: "Đã trình chậm",
    ItemState.NOT_YET_DUE: "Chưa đến hạn trình",
    ItemState.OVERDUE: "Quá hạn, chưa trình",
    ItemState.POSTPONED: "Lùi thời gian trình",
    ItemState.REMOVED: "Đưa ra khỏi chương trình",
}


@dataclass(frozen=True)
class ItemDates:
    """The dates that decide an item's state."""

    planned_on: date
    submitted_on: date | None = None
    postponed_on: date | None = None
    removed_on: date | None = None


def due_date(planned_on: date, cal: WorkingCalendar) -> date:
    """The day a submission is due: the planned date, moved to the next working day if rested."""
    return cal.roll_forward(planned_on)


def state_as_of(item: ItemDates, day: date, cal: WorkingCalendar) -> ItemState:
    """The state of ``item`` seen on ``day`` (events dated after ``day`` are not yet known)."""
    if item.removed_on is not None and item.removed_on <= day:
        return ItemState.REMOVED
    if item.postponed_on is not None and item.postponed_on <= day:
        return ItemState.POSTPONED
    due = due_date(item.planned_on, cal)
    if item.submitted_on is not None and item.submitted_on <= day:
        return ItemState.SUBMITTED_ON_TIME if item.submitted_on <= due else ItemState.SUBMITTED_LATE
    return ItemState.OVERDUE if day > due else ItemState.NOT_YET_DUE


@dataclass(frozen=True)
class Summary:
    """A month's totals; the overdue share is of the items still in the programme."""

    total: int
    by_state: dict[ItemState, int]
    carried_in: int  # items postponed into this month from an earlier one
    carried_over: int  # items postponed from this month to a later one

    @property
    def in_programme(self) -> int:
        """Items the month still answers for: every item but those removed from it."""
        return self.total - self.by_state.get(ItemState.REMOVED, 0)

    @property
    def overdue(self) -> int:
        """Items past their planned date and not submitted."""
        return self.by_state.get(ItemState.OVERDUE, 0)

    @property
    def overdue_pct(self) -> float | None:
        """The overdue share of the items in the programme, one decimal; None when it has none."""
        if not self.in_programme:
            return None
        return round(100 * self.overdue / self.in_programme, 1)

    def as_dict(self) -> dict[str, object]:
        """Plain data for JSON, the templates and snapshots."""
        return {
            "total": self.total,
            "in_programme": self.in_programme,
            **{state.value: self.by_state.get(state, 0) for state in ItemState},
            "overdue_pct": self.overdue_pct,
            "carried_in": self.carried_in,
            "carried_over": self.carried_over,
        }


def summarize(states: Iterable[tuple[ItemState, bool]]) -> Summary:
    """Totals over (state, carried in from an earlier month) pairs of one month's items."""
    by_state: dict[ItemState, int] = {}
    total = carried_in = 0
    for state, carried in states:
        total += 1
        carried_in += carried
        by_state[state] = by_state.get(state, 0) + 1
    return Summary(total, by_state, carried_in, by_state.get(ItemState.POSTPONED, 0))


_MONTH_FORMS = (
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})"),
    re.compile(r"(?P<m>\d{1,2})[/.-](?P<y>\d{4})"),
)


def parse_month(text: str) -> date:
    """The first day of a month written ``2026-03``, ``03/2026`` or ``3/2026``."""
    value = text.strip()
    for form in _MONTH_FORMS:
        match = form.fullmatch(value)
        if match:
            year, month = int(match["y"]), int(match["m"])
            if 1 <= month <= 12 and 1900 <= year <= 9999:
                return date(year, month, 1)
            break
    raise ValueError(f"tháng {text!r} không hợp lệ (viết 2026-03 hoặc 03/2026)")


def month_label(month: date) -> str:
    """``11/2026``: how the office names a month."""
    return f"{month.month:02d}/{month.year}"


def next_month(month: date) -> date:
    """The first day of the month after ``month``'s."""
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_end(month: date) -> date:
    """The last day of ``month``'s month."""
    return next_month(month) - timedelta(days=1)


def last_working_day(month: date, cal: WorkingCalendar) -> date:
    """The last working day of ``month``'s month (the default planned date)."""
    day = month_end(month)
    while not cal.is_working(day):
        day -= timedelta(days=1)
    return day


def first_working_day(month: date, cal: WorkingCalendar) -> date:
    """The first working day of ``month``'s month, when the final status is due."""
    return cal.roll_forward(month.replace(day=1))


INTERIM_DAY = 25  # the status of the month in progress is compiled on the 25th


def interim_day(month: date, cal: WorkingCalendar) -> date:
    """The day the month-in-progress status goes out: the 25th, or the next working day."""
    return cal.roll_forward(month.replace(day=INTERIM_DAY))
