"""The working calendar as a pure value: which days are worked, and working-day arithmetic.

A day is worked when it is Monday–Friday or a declared make-up Saturday (làm bù), and it is not a
public holiday or a declared day off. Office overrides win over everything else. Counting is O(1):
the calendar keeps, for every day of its span, how many working days precede it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate

# Wide enough for five years of history and any deadline a directive sets; beyond it we refuse.
DEFAULT_FIRST = date(1990, 1, 1)
DEFAULT_LAST = date(2100, 12, 31)


class CalendarRangeError(ValueError):
    """A date outside the span the calendar was built for."""


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days over [first, last]; ``off`` and ``worked`` are the exceptions to Mon–Fri."""

    off: frozenset[date] = frozenset()
    worked: frozenset[date] = frozenset()
    first: date = DEFAULT_FIRST
    last: date = DEFAULT_LAST
    _flags: bytes = field(init=False, repr=False, compare=False)
    _count: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        span = (self.last - self.first).days + 1
        first_ordinal = self.first.toordinal()
        flags = bytearray(span)
        for i in range(span):
            # date.weekday() of ordinal n is (n + 6) % 7 … avoid building date objects in the loop.
            flags[i] = 1 if (first_ordinal + i + 6) % 7 < 5 else 0
        for day in self.worked:
            if self.first <= day <= self.last:
                flags[(day - self.first).days] = 1
        for day in self.off:
            if self.first <= day <= self.last and day not in self.worked:
                flags[(day - self.first).days] = 0
        object.__setattr__(self, "_flags", bytes(flags))
        # _count[i] = working days among the first i days of the span (so _count[0] == 0).
        object.__setattr__(self, "_count", tuple(accumulate(flags, initial=0)))

    @classmethod
    def build(
        cls,
        *,
        holidays: Iterable[date] = (),
        weekend_workdays: Iterable[date] = (),
        overrides: Mapping[date, bool] | None = None,
        first: date = DEFAULT_FIRST,
        last: date = DEFAULT_LAST,
    ) -> WorkingCalendar:
        """Combine public holidays, make-up Saturdays and office overrides (True = worked)."""
        off = set(holidays)
        worked = set(weekend_workdays) - off
        for day, is_worked in (overrides or {}).items():
            if is_worked:
                worked.add(day)
                off.discard(day)
            else:
                off.add(day)
                worked.discard(day)
        return cls(off=frozenset(off), worked=frozenset(worked), first=first, last=last)

    def _index(self, day: date) -> int:
        if not self.first <= day <= self.last:
            raise CalendarRangeError(
                f"date {day.isoformat()} is outside the working calendar "
                f"({self.first.isoformat()} – {self.last.isoformat()})"
            )
        return (day - self.first).days

    def is_working(self, day: date) -> bool:
        """True when ``day`` is a working day."""
        return self._flags[self._index(day)] == 1

    def ordinal(self, day: date) -> int:
        """Working days up to ``day`` in the span: ``wd(a, b) = ordinal(b) - ordinal(a)``."""
        return self._count[self._index(day) + 1]

    def wd(self, a: date, b: date) -> int:
        """Working days ``x`` with ``a < x <= b``; negative when ``b`` is before ``a``."""
        return self.ordinal(b) - self.ordinal(a)

    def roll_forward(self, day: date) -> date:
        """``day`` if it is worked, else the next working day (the rest-day rule for deadlines)."""
        while not self.is_working(day):
            day += timedelta(days=1)
        return day

    def add(self, day: date, n: int) -> date:
        """The n-th working day after ``day`` (n ≥ 1), or ``day`` rolled forward when n is 0."""
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        if n == 0:
            return self.roll_forward(day)
        target = self.ordinal(day) + n
        # The first index whose cumulative count reaches target is that working day.
        lo, hi = self._index(day) + 1, len(self._flags)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._count[mid + 1] >= target:
                hi = mid
            else:
                lo = mid + 1
        if lo >= len(self._flags):
            raise CalendarRangeError(
                f"{n} working days after {day.isoformat()} is past {self.last}"
            )
        return self.first + timedelta(days=lo)

    def working_days(self, start: date, end: date) -> list[date]:
        """The working days in [start, end]."""
        i, j = self._index(start), self._index(end)
        return [self.first + timedelta(days=k) for k in range(i, j + 1) if self._flags[k]]
