"""The grid computed in SQL (for filtering and paging) agrees with the pure Python rules."""

from __future__ import annotations

import random
from datetime import date, timedelta

from directives.domain import DeadlineSpec
from directives.runtime import Runtime
from directives.services import lifecycle, queries
from directives.services.calendar import load_calendar
from directives.timeliness import Grid
from directives.workflow import Actor, Role
from tests.builders import AGENCIES, OFFICE, issue, seed_registry

LEADER = Actor(Role.LEADER, leader="PCT1")


def _random_histories(rt: Runtime, seed: int) -> None:
    rng = random.Random(seed)
    with rt.unit_of_work() as s:
        seed_registry(s)
        cal = load_calendar(s)
        issued = date(2026, 6, 1)
        for n in range(12):
            issued = cal.add(issued, rng.randint(1, 6))
            specs = [
                rng.choice(
                    [
                        DeadlineSpec(working_days=rng.randint(1, 25)),
                        DeadlineSpec(on=issued + timedelta(days=rng.randint(0, 40))),
                        DeadlineSpec(),
                    ]
                )
                for _ in range(5)
            ]
            codes = issue(
                s,
                rt.clock,
                number=f"{n + 1}/TB-UBND",
                issued_on=issued,
                tasks=[(AGENCIES[i % 4], dl) for i, dl in enumerate(specs)],
            )
            for code, spec in zip(codes, specs, strict=True):
                day = issued
                for _ in range(rng.randint(0, 6)):
                    day = cal.add(day, rng.randint(0, 8))
                    task = lifecycle.load_task(s, code)
                    moves = {
                        "assigned": ["ack", "final", "pause", "cancel", "extend"],
                        "acknowledged": ["report", "final", "extend", "pause"],
                        "in_progress": ["report", "final", "extend"],
                        "returned": ["final", "report"],
                        "submitted": ["confirm", "return", "confirm"],
                        "paused": ["resume", "cancel"],
                    }.get(task.state, [])
                    if not moves:
                        break
                    move = rng.choice(moves)
                    if move == "extend" and (spec.standing or task.deadline is None):
                        continue
                    _apply(s, rt, code, move, day, task.deadline, rng)


def _apply(
    s, rt: Runtime, code: str, move: str, day: date, deadline: date | None, rng: random.Random
) -> None:  # type: ignore[no-untyped-def]
    c = rt.clock
    if move == "ack":
        lifecycle.acknowledge(s, code, on=day, actor=OFFICE, clock=c)
    elif move in ("report", "final"):
        lifecycle.report(
            s, code, on=day, text="Báo cáo", final=move == "final", actor=OFFICE, clock=c
        )
    elif move == "confirm":
        lifecycle.confirm(s, code, on=day, actor=OFFICE, clock=c)
    elif move == "return":
        lifecycle.return_report(s, code, on=day, reason="Chưa đạt", actor=OFFICE, clock=c)
    elif move == "pause":
        lifecycle.pause(s, code, on=day, reason="Chờ", actor=OFFICE, clock=c)
    elif move == "resume":
        lifecycle.resume(s, code, on=day, actor=OFFICE, clock=c)
    elif move == "cancel":
        lifecycle.cancel(s, code, on=day, reason="Thôi", actor=OFFICE, clock=c)
    elif move == "extend":
        assert deadline is not None
        lifecycle.request_extension(
            s,
            code,
            on=day,
            reason="Cần thêm thời gian",
            new_deadline=deadline + timedelta(days=rng.randint(1, 30)),
            actor=OFFICE,
            clock=c,
        )
        lifecycle.decide_extension(
            s, code, on=day, approve=rng.random() < 0.7, actor=LEADER, clock=c
        )


def test_sql_grid_filter_matches_python_standing_on_every_day(rt: Runtime) -> None:
    _random_histories(rt, seed=20261126)
    with rt.unit_of_work() as s:
        for as_of in [date(2026, 6, 1) + timedelta(days=k) for k in range(0, 170, 3)]:
            everything = queries.list_tasks(s, as_of=as_of, page_size=1000)
            python = {line.code: line.standing.grid for line in everything.lines}
            for grid in Grid:
                if grid is Grid.NOT_ASSIGNED:
                    continue
                page = queries.list_tasks(s, as_of=as_of, statuses=[grid.value], page_size=1000)
                sql = {line.code for line in page.lines}
                assert sql == {c for c, g in python.items() if g is grid}, (as_of, grid)
                assert page.total == len(sql)


def test_agency_filter_pages_and_totals_match_the_whole_register(rt: Runtime) -> None:
    """Led or coordinated by the agency, in the register's order, on pages that add up."""
    from sqlalchemy import select

    from directives.db.tables import Agency, Task, TaskCoordinator

    _random_histories(rt, seed=2027)
    with rt.unit_of_work() as s:
        ids = dict(s.execute(select(Agency.code, Agency.id)).all())
        coordinated = set()
        for task in s.scalars(select(Task).order_by(Task.id)).all()[::3]:
            if task.lead_agency_id != ids["SXD"]:
                s.add(TaskCoordinator(task_id=task.id, agency_id=ids["SXD"]))
                coordinated.add(task.code)
        s.flush()
        as_of = date(2026, 8, 20)
        register = queries.list_tasks(s, as_of=as_of, page_size=1000).lines
        for statuses in ([], ["open"], ["overdue"], ["done"]):
            wanted = queries.parse_statuses(statuses)
            expected = [
                line.code
                for line in register
                if (line.lead_agency == "SXD" or line.code in coordinated)
                and (not wanted or line.standing.grid in wanted)
            ]
            assert expected, statuses
            paged: list[str] = []
            for page in range(1, len(expected) // 4 + 3):  # the last one is past the end
                got = queries.list_tasks(
                    s, as_of=as_of, agency="sxd", statuses=statuses, page=page, page_size=4
                )
                assert got.total == len(expected), (statuses, page)
                paged += [line.code for line in got.lines]
            assert paged == expected, statuses
        nobody = queries.list_tasks(s, as_of=as_of, agency="KHONGCO")  # no such agency
        assert (nobody.total, nobody.lines) == (0, [])


def test_sql_period_figures_match_the_python_reference(rt: Runtime) -> None:
    from sqlalchemy import select

    from directives.db.tables import Agency, Task
    from directives.figures import period_report
    from directives.services.period_sql import period_report_sql

    _random_histories(rt, seed=7)
    periods = [
        (date(2026, 6, 1), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2026, 9, 30)),
        (date(2026, 1, 1), date(2026, 12, 31)),
        (date(2026, 8, 10), date(2026, 8, 10)),
        # Late periods: most tasks finished before them, which the SQL leaves out unread.
        (date(2026, 9, 15), date(2026, 10, 14)),
        (date(2026, 10, 20), date(2026, 12, 31)),
    ]
    with rt.unit_of_work() as s:
        cal = load_calendar(s)
        tasks = list(s.scalars(select(Task)))
        facts = queries.load_facts(s, tasks)
        codes = dict(s.execute(select(Agency.id, Agency.code)).all())
        items = [(codes[t.lead_agency_id], facts[t.id]) for t in tasks]
        for start, end in periods:
            python = period_report(items, start, end, cal)
            sql = period_report_sql(s, start, end)
            assert sql.total == python.total, (start, end)
            nonzero = {k: v for k, v in python.by_agency.items() if v != type(v)()}
            assert {k: v for k, v in sql.by_agency.items() if v != type(v)()} == nonzero
            if (start, end) == periods[2]:
                year = sql.total
    # The histories exercise every branch the figures distinguish.
    exercised = (
        "completed",
        "late",
        "fell_due",
        "open_overdue",
        "working_days_used",
        "paused",
        "cancelled",
    )
    assert all(getattr(year, name) > 0 for name in exercised)
