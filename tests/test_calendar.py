"""Working-day arithmetic: properties, and the official calendar around known holidays."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directives.calendar import CalendarRangeError, WorkingCalendar
from directives.services.calendar import _build

VN = _build(())  # Vietnam's calendar with no office overrides

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))
calendars = st.builds(
    lambda off, worked: WorkingCalendar.build(
        holidays=off, weekend_workdays=worked, first=date(1999, 1, 1), last=date(2070, 12, 31)
    ),
    st.sets(days, max_size=40),
    st.sets(days, max_size=10),
)


@given(calendars, days, st.integers(min_value=1, max_value=400))
@settings(max_examples=200, deadline=None)
def test_adding_n_working_days_then_counting_gives_n(cal: WorkingCalendar, d: date, n: int) -> None:
    result = cal.add(d, n)
    assert cal.wd(d, result) == n
    assert cal.is_working(result)
    # …and it is the first such day: the day before is one working day short.
    assert cal.wd(d, result - timedelta(days=1)) == n - 1


@given(calendars, days, days)
@settings(max_examples=200, deadline=None)
def test_wd_counts_working_days_after_a_up_to_b(cal: WorkingCalendar, a: date, b: date) -> None:
    if (b - a).days > 400 or b < a:
        assert cal.wd(a, b) == -cal.wd(b, a)
        return
    brute = sum(cal.is_working(a + timedelta(days=k)) for k in range(1, (b - a).days + 1))
    assert cal.wd(a, b) == brute


@given(calendars, days)
@settings(max_examples=200, deadline=None)
def test_roll_forward_gives_the_first_working_day_on_or_after(
    cal: WorkingCalendar, d: date
) -> None:
    rolled = cal.roll_forward(d)
    assert cal.is_working(rolled)
    assert all(not cal.is_working(d + timedelta(days=k)) for k in range((rolled - d).days))


def test_new_year_2015_friday_off_and_saturday_27_12_2014_worked() -> None:
    assert VN.is_working(date(2014, 12, 27))  # Saturday made a working day
    assert not VN.is_working(date(2015, 1, 1))
    assert not VN.is_working(date(2015, 1, 2))  # nghỉ bù
    assert VN.add(date(2014, 12, 26), 1) == date(2014, 12, 27)
    assert VN.add(date(2014, 12, 31), 2) == date(2015, 1, 6)
    assert VN.wd(date(2014, 12, 26), date(2015, 1, 5)) == 5  # 27/12, 29, 30, 31/12, 5/1
    assert VN.roll_forward(date(2015, 1, 1)) == date(2015, 1, 5)


def test_tet_2015_saturday_14_02_worked_then_a_week_off() -> None:
    assert VN.is_working(date(2015, 2, 14))
    assert VN.working_days(date(2015, 2, 13), date(2015, 2, 25)) == [
        date(2015, 2, 13),
        date(2015, 2, 14),
        date(2015, 2, 24),
        date(2015, 2, 25),
    ]
    assert VN.add(date(2015, 2, 13), 3) == date(2015, 2, 25)


def test_reunification_and_labour_day_2015() -> None:
    assert VN.is_working(date(2015, 4, 25))  # Saturday worked for 29/4
    off = [date(2015, 4, 28), date(2015, 4, 29), date(2015, 4, 30), date(2015, 5, 1)]
    assert not any(VN.is_working(d) for d in off)
    assert VN.wd(date(2015, 4, 24), date(2015, 5, 4)) == 3  # 25/4, 27/4, 4/5


def test_national_day_2015_and_2014() -> None:
    assert not VN.is_working(date(2015, 9, 2))
    assert VN.wd(date(2015, 9, 1), date(2015, 9, 3)) == 1
    assert not VN.is_working(date(2014, 9, 1))  # nghỉ bù for Saturday 6/9/2014
    assert VN.is_working(date(2014, 9, 6))


def test_office_override_wins_over_the_national_calendar() -> None:
    cal = _build(((date(2026, 11, 27), False), (date(2026, 11, 28), True)))
    assert not cal.is_working(date(2026, 11, 27))
    assert cal.is_working(date(2026, 11, 28))
    assert cal.wd(date(2026, 11, 26), date(2026, 11, 30)) == 2


def test_dates_outside_the_span_are_refused_with_the_date() -> None:
    with pytest.raises(CalendarRangeError, match="1989-12-31"):
        VN.is_working(date(1989, 12, 31))
