"""The digest's agency figures: added up by the database, ranked per leader in Python.

Twelve agencies with 1 to 12 overdue tasks (more than the chart's bars) and one whose only task
was done on time this year, on the digest's day of ``tests/test_digest.py`` (Monday 23/11/2026).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Integer, case, literal, select, union_all

from directives.domain import AgencyKind, DeadlineSpec, DirectiveKind
from directives.importing import AgencyRow
from directives.runtime import Runtime
from directives.services import intake, lifecycle, registry
from directives.services.digest import (
    _AGENCY_KEYS,
    _APART_CODES,
    CHART_BARS,
    _agency_tests,
    _counted,
    digest_contexts,
)
from directives.services.mailing import MailSettings
from directives.timeliness import AGING_BUCKETS
from tests.builders import OFFICE, seed_registry

DAY = date(2026, 11, 23)
MAIL = MailSettings(sender="Văn phòng <vanphong@binhan.gov.vn>", office="Văn phòng")
MANY = 12  # agencies with overdue tasks: SO01 has 1, …, SO12 has 12
# Working days of October 2026, one deadline per agency: SO01's the earliest, SO12's the latest.
OCTOBER = [date(2026, 10, d) for d in (1, 2, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16)]
DUE = {n: OCTOBER[n - 1] for n in range(1, MANY + 1)}


def _kinds() -> list[int]:
    """Every standing, aging level and set of flags, with a standing a week ago and a series."""
    return [
        g + (g ^ 5) * 16 + (g * 7 % 64) * 256 + aging * 16384 + flags * 131072
        for g in range(16)
        for aging in range(len(AGING_BUCKETS) + 2)
        for flags in range(16)
    ]


def test_the_database_adds_up_an_agencys_figures_as_counted_says(rt: Runtime) -> None:
    kinds = _kinds()
    assert len({k & 15 for k in kinds} - _APART_CODES) > 10
    with rt.unit_of_work() as s:
        for start in range(0, len(kinds), 400):  # SQLite's limit on a compound select
            chunk = union_all(
                *(select(literal(k, Integer).label("kind")) for k in kinds[start : start + 400])
            ).subquery()
            tests = _agency_tests(chunk.c.kind)
            stmt = select(chunk.c.kind, *(case((t, 1), else_=0) for t in tests))
            for kind, *counts in s.execute(stmt):
                expected = [int(key in _counted(kind)) for key in _AGENCY_KEYS]
                assert counts == expected, kind


def _build(rt: Runtime) -> None:
    with rt.unit_of_work() as s:
        seed_registry(s)
        codes = [f"SO{n:02d}" for n in range(1, MANY + 2)]
        registry.upsert_agencies(
            s,
            [
                AgencyRow(row=10 + i, code=code, name=f"Sở số {code[2:]}",
                          kind=AgencyKind.DEPARTMENT,
                          focal_emails=(f"vanthu.{code.lower()}@binhan.gov.vn",),
                          head_name="Nguyễn Văn An",
                          head_email=f"giamdoc.{code.lower()}@binhan.gov.vn", active=True)
                for i, code in enumerate(codes)
            ],
        )  # fmt: skip
        tasks = [
            intake.NewTask(content=f"Nhiệm vụ {n}.{k} của sở", lead_agency=f"SO{n:02d}",
                           deadline=DeadlineSpec(on=DUE[n]), officer="CV01")
            for n in range(1, MANY + 1)
            for k in range(n)
        ]  # fmt: skip
        tasks.append(
            intake.NewTask(content="Nhiệm vụ đã xong", lead_agency=f"SO{MANY + 1:02d}",
                           deadline=DeadlineSpec(on=date(2026, 10, 30)), officer="CV01")
        )  # fmt: skip
        (directive,) = intake.issue_directives(
            s,
            [
                intake.NewDirective(number="300/TB-UBND", issued_on=date(2026, 8, 3),
                                    kind=DirectiveKind.CONCLUSION_NOTICE, signer="CT",
                                    summary="Kết luận giao ban", tasks=tuple(tasks))
            ],
            actor=OFFICE,
            clock=rt.clock,
        )  # fmt: skip
        s.flush()
        last = max(directive.tasks, key=lambda t: t.position).code
    with rt.unit_of_work() as s:
        lifecycle.report(s, last, on=date(2026, 10, 20), text="Đã hoàn thành", final=True,
                         actor=OFFICE, clock=rt.clock)  # fmt: skip
        lifecycle.confirm(s, last, on=date(2026, 10, 21), actor=OFFICE, clock=rt.clock)


def _chairman(rt: Runtime) -> dict[str, Any]:
    with rt.unit_of_work() as s:
        ctx = digest_contexts(s, DAY, MAIL)["CT"]
    assert ctx is not None
    return ctx


def test_past_the_charts_bars_the_other_agencies_share_one_and_the_table_ranks_them_all(
    rt: Runtime,
) -> None:
    _build(rt)
    ctx = _chairman(rt)
    bars, _series = ctx["charts"]
    most = list(range(MANY, MANY - CHART_BARS, -1))
    assert bars["labels"] == [f"Sở số {n:02d}" for n in most] + ["Các đơn vị khác"]
    assert bars["values"] == [*most, sum(range(1, MANY - CHART_BARS + 1))]
    table = ctx["agencies"]
    ranked = [f"SO{n:02d}" for n in range(MANY, 0, -1)]  # most overdue first
    assert [r["code"] for r in table] == [*ranked, f"SO{MANY + 1:02d}"]
    assert [r["overdue"] for r in table] == [*range(MANY, 0, -1), 0]
    assert table[-1] | {"agency": ""} == {
        "agency": "", "code": f"SO{MANY + 1:02d}", "fell_due": 1, "on_time": 1,
        "on_time_rate": 100.0, "overdue": 0, "completed": 1,
    }  # fmt: skip
    assert all(r["fell_due"] == r["overdue"] and r["on_time_rate"] == 0 for r in table[:-1])
    groups = ctx["overdue_by_agency"]  # the earliest deadline first: SO01's
    assert [g["code"] for g in groups] == [f"SO{n:02d}" for n in range(1, MANY + 1)]
    assert [g["count"] for g in groups] == list(range(1, MANY + 1))
    assert all(g["count"] == g["critical"] + len(g["tasks"]) + g["more"] for g in groups)
