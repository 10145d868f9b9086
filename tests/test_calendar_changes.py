"""An office-added day off changes every derived figure, and removing it restores them."""

from __future__ import annotations

from datetime import date

from directives.domain import DeadlineSpec
from directives.runtime import Runtime
from directives.services import calendar as cal_service
from directives.services import lifecycle, queries, stats
from tests.builders import OFFICE, issue, seed_registry

DAY_OFF = date(2026, 11, 20)  # a Friday the province gives off


def _figures(rt: Runtime) -> dict[str, object]:
    with rt.unit_of_work() as s:
        t1, t2, _t3 = (
            queries.task_detail(s, c, as_of=date(2026, 11, 18))
            for c in ("NV26-0001", "NV26-0002", "NV26-0003")
        )
        figs = stats.stats_dict(s, date(2026, 11, 1), date(2026, 11, 30))
    return {
        "deadline_wd": t1.task.deadline,
        "deadline_on_day_off": t2.task.deadline,
        "days_left": t1.standing.days_left,
        "used": figs["working_days_used"],
        "allowed": figs["working_days_allowed"],
        "timing": (figs["early"], figs["on_the_day"], figs["late"]),
    }


def test_office_day_off_moves_deadlines_and_every_count(rt: Runtime) -> None:
    with rt.unit_of_work() as s:
        seed_registry(s)
        issue(
            s,
            rt.clock,
            number="300/TB-UBND",
            issued_on=date(2026, 11, 16),
            tasks=[
                ("SKHDT", DeadlineSpec(working_days=5)),  # 17–20/11 and 23/11
                ("STC", DeadlineSpec(on=DAY_OFF)),
                ("SXD", DeadlineSpec(working_days=4)),  # due 20/11; reported on 23/11
            ],
        )
        lifecycle.report(
            s,
            "NV26-0003",
            on=date(2026, 11, 23),
            text="Xong",
            final=True,
            actor=OFFICE,
            clock=rt.clock,
        )
        lifecycle.confirm(s, "NV26-0003", on=date(2026, 11, 24), actor=OFFICE, clock=rt.clock)
    before = _figures(rt)
    assert before == {
        "deadline_wd": date(2026, 11, 23),
        "deadline_on_day_off": DAY_OFF,
        "days_left": 3,
        "used": 5,
        "allowed": 4,
        "timing": (0, 0, 1),
    }
    with rt.unit_of_work() as s:
        assert cal_service.set_day(s, DAY_OFF, working=False, note="QĐ nghỉ của tỉnh") == 3
    after = _figures(rt)
    assert after == {
        # 17, 18, 19, 23 and 25/11: 24/11 is Vietnam Culture Day, a public holiday from 2026.
        "deadline_wd": date(2026, 11, 25),
        "deadline_on_day_off": date(2026, 11, 23),
        "days_left": 3,
        "used": 4,
        "allowed": 4,
        "timing": (0, 1, 0),
    }
    with rt.unit_of_work() as s:
        cal_service.remove_day(s, DAY_OFF)
    assert _figures(rt) == before
