"""Periodic tasks: the rule, and the recurring job adding each period's occurrence once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from directives.clock import FixedClock
from directives.db.tables import Task
from directives.domain import DeadlineSpec
from directives.recurrence import Recurrence
from directives.runtime import Runtime
from directives.services import lifecycle
from flows import jobs
from tests.builders import OFFICE, issue, seed_registry


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("monthly:20", Recurrence("monthly", 20)),
        ("Ngày 20 hằng tháng", Recurrence("monthly", 20)),
        ("Hằng tháng, trước ngày 5", Recurrence("monthly", 5)),
        ("Trước ngày 15 tháng cuối hằng quý", Recurrence("quarterly", 15)),
        ("hằng quý ngày 10", Recurrence("quarterly", 10)),
        ("10 ngày làm việc", None),
        ("30/11/2026", None),
    ],
)
def test_periodic_deadlines_are_read_from_the_secretariats_words(
    text: str, expected: Recurrence | None
) -> None:
    assert Recurrence.parse(text) == expected


def test_periods_and_their_due_dates() -> None:
    monthly, quarterly = Recurrence("monthly", 31), Recurrence("quarterly", 15)
    assert monthly.due_date("2026-02") == date(2026, 2, 28)
    assert monthly.next_period("2026-12") == "2027-01"
    assert quarterly.period_of(date(2026, 11, 26)) == "2026-Q4"
    assert quarterly.due_date("2026-Q4") == date(2026, 12, 15)
    assert quarterly.next_period("2026-Q4") == "2027-Q1"
    assert Recurrence("monthly", 20).first_period(date(2026, 10, 21)) == "2026-11"


def _series(rt: Runtime) -> list[Task]:
    with rt.unit_of_work() as s:
        return list(
            s.scalars(select(Task).where(Task.recurrence.is_not(None)).order_by(Task.period))
        )


def test_each_month_gets_its_occurrence_once_and_a_cancelled_series_stops(rt: Runtime) -> None:
    with rt.unit_of_work() as s:
        seed_registry(s)
        (code,) = issue(
            s,
            rt.clock,
            number="77/CT-UBND",
            issued_on=date(2026, 10, 5),
            tasks=[("STC", DeadlineSpec(recurrence="monthly:20"))],
        )
    (first,) = _series(rt)
    assert (first.period, first.deadline, first.series_id) == (
        "2026-10",
        date(2026, 10, 20),
        first.id,
    )
    created_on = {}
    day = date(2026, 10, 6)
    while day <= date(2026, 12, 31):
        summary = jobs.recurring(rt, as_of=day)
        if summary.extra.get("tasks_created"):
            created_on[day] = summary.extra["tasks_created"]
        day += timedelta(days=1)
    # 1/11 is a Sunday: November's occurrence comes on Monday 2/11; December's on Tuesday 1/12.
    assert created_on == {date(2026, 11, 2): 1, date(2026, 12, 1): 1}
    series = _series(rt)
    assert [(t.period, t.deadline) for t in series] == [
        ("2026-10", date(2026, 10, 20)),
        ("2026-11", date(2026, 11, 20)),
        ("2026-12", date(2026, 12, 21)),  # 20/12 is a Sunday
    ]
    assert {t.series_id for t in series} == {first.id}
    assert jobs.recurring(rt, as_of=date(2026, 12, 2)).extra["tasks_created"] == 0
    with rt.unit_of_work() as s:
        lifecycle.cancel(
            s,
            series[-1].code,
            on=date(2026, 12, 2),
            reason="Thôi báo cáo",
            actor=OFFICE,
            clock=FixedClock.on(date(2026, 12, 2)),
        )
    assert jobs.recurring(rt, as_of=date(2027, 1, 4)).extra.get("tasks_created") == 0
    assert code == first.code


def test_the_import_reads_a_periodic_deadline() -> None:
    from directives.importing import parse_deadline

    spec = parse_deadline("Ngày 20 hằng tháng", date(2026, 10, 5))
    assert spec == DeadlineSpec(recurrence="monthly:20")
    assert spec.text() == "Ngày 20 hằng tháng"
    assert not spec.standing
