"""The office's half-year figures, built through the service layer and read back by the CLI.

"443 hồ sơ: 360 trả đúng ngày hẹn, 65 trước hẹn; tổng thời gian 1.551/2.872 ngày, giảm 46%".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

from directives.domain import DeadlineSpec
from directives.runtime import Runtime
from directives.services import lifecycle, stats
from directives.services.calendar import load_calendar
from tests.builders import AGENCIES, OFFICE, issue, seed_registry

# (allowed working days, used working days, how many tasks); the totals are the office's.
SHAPE = [
    (3, 3, 360),  # on the day: 1,080 / 1,080
    (27, 6, 12),  # early: 1,702 allowed, 345 used over these three lines
    (26, 6, 8),
    (26, 5, 45),
    (5, 7, 18),  # late: 90 allowed, 126 used
]


def build_half_year(rt: Runtime) -> None:
    """443 tasks issued January–April 2026, each completed and confirmed within the half-year."""
    with rt.unit_of_work() as s:
        seed_registry(s)
        cal = load_calendar(s)
        specs = [(allowed, used) for allowed, used, n in SHAPE for _ in range(n)]
        issued = cal.roll_forward(date(2026, 1, 5))
        plan: list[tuple[str, date, int]] = []
        for start in range(0, len(specs), 10):
            batch = specs[start : start + 10]
            codes = issue(
                s,
                rt.clock,
                number=f"{start // 10 + 1}/TB-UBND",
                issued_on=issued,
                tasks=[
                    (AGENCIES[i % 4], DeadlineSpec(working_days=a))
                    for i, (a, _) in enumerate(batch)
                ],
            )
            plan += [(code, issued, used) for code, (_, used) in zip(codes, batch, strict=True)]
            issued = cal.add(issued, 1)
        for code, issued_on, used in plan:
            done = cal.add(issued_on, used)
            lifecycle.report(
                s,
                code,
                on=done,
                text="Đã hoàn thành",
                final=True,
                document_ref="12/BC",
                actor=OFFICE,
                clock=rt.clock,
            )
            lifecycle.confirm(s, code, on=cal.add(done, 2), actor=OFFICE, clock=rt.clock)


def test_half_year_matches_the_offices_report(rt: Runtime) -> None:
    build_half_year(rt)
    env = {**os.environ, "DIRECTIVES_DATABASE_URL": rt.settings.resolved_database_url}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "directives",
            "stats",
            "--from",
            "01/01/2026",
            "--to",
            "30/06/2026",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    figures = json.loads(out.stdout)
    assert {
        k: figures[k]
        for k in (
            "completed",
            "on_the_day",
            "early",
            "late",
            "working_days_used",
            "working_days_allowed",
            "time_saved_pct",
        )
    } == {
        "completed": 443,
        "on_the_day": 360,
        "early": 65,
        "late": 18,
        "working_days_used": 1551,
        "working_days_allowed": 2872,
        "time_saved_pct": 46.0,
    }
    assert figures["fell_due"] == 443
    assert figures["on_time_rate"] == round(100 * 425 / 443, 1)
    assert sum(a["completed"] for a in figures["by_agency"].values()) == 443
    assert figures["previous"]["completed"] == 0
    assert figures["change"]["completed"] == 443
    assert stats.half_year_line(figures) == (
        "443 hồ sơ, 360 đúng hẹn, 65 trước hẹn, 18 trễ hẹn; 1.551/2.872 ngày, giảm 46%"
    )
