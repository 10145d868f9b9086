"""The workflow through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from directives.db.tables import Task, TaskEvent
from directives.domain import DeadlineSpec
from directives.errors import InvalidInput, PermissionDenied, TransitionNotAllowed
from directives.runtime import Runtime
from directives.services import lifecycle, queries
from directives.timeliness import Grid
from directives.workflow import Actor, Role
from tests.builders import OFFICE, issue, seed_registry

ISSUED = date(2026, 10, 1)  # a Thursday


@pytest.fixture
def codes(rt: Runtime) -> list[str]:
    with rt.unit_of_work() as s:
        seed_registry(s)
        return issue(
            s,
            rt.clock,
            number="245/TB-UBND",
            issued_on=ISSUED,
            tasks=[
                ("SKHDT", DeadlineSpec(working_days=10)),
                ("STC", DeadlineSpec(on=date(2026, 10, 17))),  # a Saturday → Monday 19/10
                ("SXD", DeadlineSpec()),
            ],
        )


def test_codes_are_sequential_per_year_and_deadlines_follow_the_calendar(
    rt: Runtime, codes: list[str]
) -> None:
    assert codes == ["NV26-0001", "NV26-0002", "NV26-0003"]
    with rt.unit_of_work() as s:
        tasks = {t.code: t for t in s.scalars(select(Task))}
    assert tasks["NV26-0001"].deadline == date(2026, 10, 15)  # 10 working days after 1/10
    assert tasks["NV26-0002"].deadline == date(2026, 10, 19)  # rest-day rule
    assert tasks["NV26-0002"].stated_deadline == date(2026, 10, 17)
    assert tasks["NV26-0003"].deadline is None


def test_full_life_confirmed_on_time_counts_the_report_date(rt: Runtime, codes: list[str]) -> None:
    code, clock = codes[0], rt.clock
    agency = Actor(Role.AGENCY, "Văn thư Sở KH&ĐT", agency="SKHDT")
    with rt.unit_of_work() as s:
        lifecycle.acknowledge(s, code, on=date(2026, 10, 2), actor=agency, clock=clock)
        lifecycle.report(
            s, code, on=date(2026, 10, 8), text="Đã xong 50%", percent=50, actor=agency, clock=clock
        )
        lifecycle.report(
            s,
            code,
            on=date(2026, 10, 15),
            text="Hoàn thành",
            final=True,
            document_ref="123/SKHDT-KH",
            actor=agency,
            clock=clock,
        )
        # The office confirms two weeks later; completion is still the report's date.
        lifecycle.confirm(s, code, on=date(2026, 10, 29), actor=OFFICE, clock=clock)
    with rt.unit_of_work() as s:
        det = queries.task_detail(s, code, as_of=date(2026, 11, 26))
        before = queries.task_detail(s, code, as_of=date(2026, 10, 20))
    assert det.standing.grid is Grid.DONE_ON_THE_DAY
    assert [e.kind for e in det.events] == [
        "assigned",
        "acknowledged",
        "progress",
        "submitted",
        "confirmed",
    ]
    # As of 20/10 the report was in on time and waiting: not shown overdue.
    assert before.standing.grid is Grid.WITHIN_TERM


def test_returned_report_does_not_count_and_task_goes_overdue(
    rt: Runtime, codes: list[str]
) -> None:
    code, clock = codes[0], rt.clock
    with rt.unit_of_work() as s:
        lifecycle.report(
            s, code, on=date(2026, 10, 14), text="Xong", final=True, actor=OFFICE, clock=clock
        )
        lifecycle.return_report(
            s, code, on=date(2026, 10, 16), reason="Thiếu số liệu", actor=OFFICE, clock=clock
        )
    with rt.unit_of_work() as s:
        det = queries.task_detail(s, code, as_of=date(2026, 10, 20))
        with pytest.raises(TransitionNotAllowed):
            lifecycle.confirm(s, code, on=date(2026, 10, 20), actor=OFFICE, clock=clock)
    assert det.standing.grid is Grid.OVERDUE
    assert det.standing.days_late == 3  # 16, 19, 20 October


def test_extension_keeps_the_original_deadline_and_flags_late_requests(
    rt: Runtime, codes: list[str]
) -> None:
    code, clock = codes[1], rt.clock
    stc = Actor(Role.AGENCY, agency="STC")
    with rt.unit_of_work() as s:
        ext = lifecycle.request_extension(
            s,
            code,
            on=date(2026, 10, 20),
            reason="Chờ số liệu Bộ",
            new_deadline=date(2026, 11, 14),
            actor=stc,
            clock=clock,
        )
        assert ext.after_deadline
        with pytest.raises(PermissionDenied):
            lifecycle.decide_extension(
                s,
                code,
                on=date(2026, 10, 21),
                approve=True,
                actor=Actor(Role.AGENCY, agency="STC"),
                clock=clock,
            )
    with rt.unit_of_work() as s:
        lifecycle.decide_extension(
            s,
            code,
            on=date(2026, 10, 21),
            approve=True,
            actor=Actor(Role.LEADER, leader="PCT1"),
            clock=clock,
        )
        task = lifecycle.load_task(s, code)
        assert task.original_deadline == date(2026, 10, 19)
        assert task.deadline == date(2026, 11, 16)  # 14/11 is a Saturday
        before = queries.task_detail(s, code, as_of=date(2026, 10, 20)).standing
        after = queries.task_detail(s, code, as_of=date(2026, 10, 21)).standing
    assert (before.grid, before.deadline) == (Grid.OVERDUE, date(2026, 10, 19))
    assert (after.grid, after.deadline) == (Grid.WITHIN_TERM, date(2026, 11, 16))


def test_agency_cannot_act_on_another_agencys_task(rt: Runtime, codes: list[str]) -> None:
    with rt.unit_of_work() as s, pytest.raises(PermissionDenied):
        lifecycle.acknowledge(
            s,
            codes[0],
            on=date(2026, 10, 2),
            actor=Actor(Role.AGENCY, agency="STC"),
            clock=rt.clock,
        )


@pytest.mark.parametrize("on", [date(2026, 9, 30), date(2026, 12, 1)])
def test_event_dates_before_assignment_or_in_the_future_are_refused(
    rt: Runtime, codes: list[str], on: date
) -> None:
    with rt.unit_of_work() as s, pytest.raises(InvalidInput):
        lifecycle.acknowledge(s, codes[0], on=on, actor=OFFICE, clock=rt.clock)


def test_refused_transition_leaves_the_database_unchanged(rt: Runtime, codes: list[str]) -> None:
    with rt.unit_of_work() as s:
        before = s.scalar(select(func.count(TaskEvent.id)))

    def acknowledge_then_confirm() -> None:
        with rt.unit_of_work() as s:
            lifecycle.acknowledge(s, codes[0], on=date(2026, 10, 2), actor=OFFICE, clock=rt.clock)
            lifecycle.confirm(s, codes[0], on=date(2026, 10, 2), actor=OFFICE, clock=rt.clock)

    with pytest.raises(TransitionNotAllowed):
        acknowledge_then_confirm()
    with rt.unit_of_work() as s:
        assert s.scalar(select(func.count(TaskEvent.id))) == before
        assert lifecycle.load_task(s, codes[0]).state == "assigned"


def test_pause_resume_and_cancel_are_counted_apart(rt: Runtime, codes: list[str]) -> None:
    clock = rt.clock
    with rt.unit_of_work() as s:
        lifecycle.pause(
            s, codes[0], on=date(2026, 10, 5), reason="Chờ ý kiến Bộ", actor=OFFICE, clock=clock
        )
        lifecycle.resume(s, codes[0], on=date(2026, 10, 9), actor=OFFICE, clock=clock)
        lifecycle.cancel(
            s,
            codes[2],
            on=date(2026, 10, 9),
            reason="Đã có văn bản khác",
            actor=OFFICE,
            clock=clock,
        )
    with rt.unit_of_work() as s:
        assert (
            queries.task_detail(s, codes[0], as_of=date(2026, 10, 6)).standing.grid is Grid.PAUSED
        )
        assert queries.task_detail(s, codes[0], as_of=date(2026, 10, 9)).standing.days_left == 4
        assert (
            queries.task_detail(s, codes[0], as_of=date(2026, 10, 12)).standing.grid
            is Grid.DUE_SOON
        )
        assert (
            queries.task_detail(s, codes[2], as_of=date(2026, 10, 9)).standing.grid
            is Grid.CANCELLED
        )
        with pytest.raises(TransitionNotAllowed):
            lifecycle.request_extension(
                s,
                codes[2],
                on=date(2026, 10, 9),
                reason="x",
                new_deadline=date(2026, 12, 1),
                actor=OFFICE,
                clock=clock,
            )
