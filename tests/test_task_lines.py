"""Task rows rendered by the database equal the Python ones (``mailing.task_line``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from directives.db.tables import Task
from directives.runtime import Runtime
from directives.services import task_lines
from directives.services.aside import fetched_aside
from directives.services.calendar import load_calendar
from directives.services.history import apply_history
from directives.services.mailing import task_line
from tests.test_replay import SYSTEM, _load


@pytest.mark.parametrize("app_url", ["", "https://nhiemvu.binhan.gov.vn/"])
def test_database_rows_match_the_python_rows_on_every_kind_of_deadline(
    rt: Runtime, app_url: str
) -> None:
    by_day = _load(rt)
    with rt.unit_of_work() as s:
        apply_history(
            s, [r for d in sorted(by_day) for r in by_day[d]], actor=SYSTEM, clock=rt.clock
        )
    with rt.unit_of_work() as s:
        cal = load_calendar(s)
        tasks = list(s.scalars(select(Task)))
        assert {t.deadline is None for t in tasks} == {True, False}
        assert any(t.deadline_working_days for t in tasks)
        assert any(t.stated_deadline for t in tasks)
        assert any(t.deadline != t.original_deadline for t in tasks)  # an extension
        for day in (date(2026, 8, 3) + timedelta(days=k) for k in range(0, 120, 9)):
            rows = task_lines.read_lines(
                s, [t.id for t in tasks], day=day, cal=cal, app_url=app_url
            )
            for t in tasks:
                row = rows[t.id]
                assert json.loads(row.json) == task_line(t, day, cal, app_url), (t.code, day)
                assert (row.code, row.deadline, row.lead_agency_id, row.leader_id) == (
                    t.code,
                    t.deadline,
                    t.lead_agency_id,
                    t.leader_id,
                )
                assert row.officer_id == t.officer_id
                assert json.loads(task_lines.with_key(row.json, "days_since_report", 20)) == {
                    **task_line(t, day, cal, app_url),
                    "days_since_report": 20,
                }


def test_the_decision_reads_the_same_rows_in_its_own_statement(rt: Runtime) -> None:
    from directives.policy import Policy
    from directives.reminders import CHASE_RULES, ESCALATION_RULES
    from directives.services.decide import decide, decide_with_lines

    by_day = _load(rt)
    with rt.unit_of_work() as s:
        apply_history(
            s, [r for d in sorted(by_day) for r in by_day[d]], actor=SYSTEM, clock=rt.clock
        )
    rules = CHASE_RULES + ESCALATION_RULES
    checked = 0
    with rt.unit_of_work() as s:
        cal = load_calendar(s)
        for day in (date(2026, 8, 3) + timedelta(days=k) for k in range(0, 120, 9)):
            keys, rows = decide_with_lines(
                s, day, Policy(), rules, cal=cal, app_url="https://nhiemvu.binhan.gov.vn"
            )
            assert sorted(keys) == sorted(decide(s, day, Policy(), rules, cal=cal)), day
            assert set(rows) == {task_id for _, task_id, _, _ in keys}
            alone = task_lines.read_lines(
                s, sorted(rows), day=day, cal=cal, app_url="https://nhiemvu.binhan.gov.vn"
            )
            assert rows == alone, day
            checked += len(keys)
    assert checked > 20


def test_chunks_fetched_aside_arrive_in_order_and_an_error_reaches_the_consumer() -> None:
    def chunks() -> Iterator[list[int]]:
        for i in range(10):
            yield [i, i]
        raise RuntimeError("the database went away")

    got: list[int] = []

    def consume() -> None:
        for chunk in fetched_aside(chunks()):
            got.extend(chunk)

    with pytest.raises(RuntimeError, match="went away"):
        consume()
    assert got == [i for i in range(10) for _ in (0, 1)]


def test_a_consumer_that_stops_early_stops_the_fetching_thread() -> None:
    fetched: list[int] = []

    def chunks() -> Iterator[list[int]]:
        for i in range(1000):
            fetched.append(i)
            yield [i]

    stream = fetched_aside(chunks())
    assert next(stream) == [0]
    stream.close()  # joins the thread: it must not stay blocked on the full queue
    assert len(fetched) < 20
    assert not [t for t in threading.enumerate() if t.name == "fetched-aside"]
