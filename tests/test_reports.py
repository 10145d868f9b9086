"""Period reports on a hand-built province: the grid, the appendix and the four formats.

Fifteen tasks over two agencies, Sở Xây dựng (SXD) and Sở Tài chính (STC), built through the
services. The report is for the first quarter of 2026 (01/01–31/03/2026), computed on 15/04/2026
and so as of 31/03/2026; the previous period is the fourth quarter of 2025. March 2026 has no
holiday: its working days are 2–6, 9–13, 16–20, 23–27, 30–31. Every expected figure below is
counted by hand from the comments in ``build``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from directives.cli import main
from directives.cli._common import set_runtime
from directives.clock import Clock
from directives.db.tables import Task
from directives.domain import DeadlineSpec, DirectiveKind
from directives.errors import InvalidInput, NotFound
from directives.figures import Figures
from directives.reports import ReportFormat, render_period
from directives.runtime import Runtime
from directives.services import intake, lifecycle, queries
from directives.services.calendar import load_calendar
from directives.services.reports import (
    PeriodKind,
    PeriodReportData,
    Section,
    build_period_report,
    parse_period,
    period_between,
)
from directives.timeliness import Grid, standing_as_of
from tests.builders import OFFICE, seed_registry
from tests.conftest import SAMPLE_DAY

AS_OF = date(2026, 4, 15)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPT = "Báo cáo <script>alert('x')</script> tiến độ giải phóng mặt bằng"


def _issue(
    s: Session,
    clock: Clock,
    number: str,
    issued_on: date,
    signer: str,
    tasks: list[tuple[str, str, DeadlineSpec]],
) -> list[str]:
    """One directive with (content, lead agency, deadline) tasks; the codes in order."""
    (directive,) = intake.issue_directives(
        s,
        [
            intake.NewDirective(
                number=number,
                issued_on=issued_on,
                kind=DirectiveKind.CONCLUSION_NOTICE,
                signer=signer,
                summary="Kết luận của lãnh đạo UBND tỉnh tại buổi làm việc",
                tasks=tuple(
                    intake.NewTask(content=c, lead_agency=a, deadline=d, officer="CV01")
                    for c, a, d in tasks
                ),
            )
        ],
        actor=OFFICE,
        clock=clock,
    )
    s.flush()
    return [t.code for t in sorted(directive.tasks, key=lambda t: t.position)]


def on(d: int, m: int, y: int = 2026) -> DeadlineSpec:
    """A dated deadline."""
    return DeadlineSpec(on=date(y, m, d))


def build(rt: Runtime) -> dict[str, str]:
    """The province's tasks; returns their codes by name (T1 … T15)."""
    clock = rt.clock
    with rt.unit_of_work() as s:
        seed_registry(s)
        # Directive C, 03/11/2025 (PCT1): the previous quarter.
        t7, t14 = _issue(
            s,
            clock,
            "230/TB-UBND",
            date(2025, 11, 3),
            "PCT1",
            [
                # T7 SXD: due 15/12/2025, never reported. Q4: fell due, overdue 12 days.
                # Q1: overdue 70 working days (1/1 and Tết 16–20/02 are off) → over 30 and 60.
                ("Hoàn thiện hồ sơ điều chỉnh quy hoạch chung đô thị", "SXD", on(15, 12, 2025)),
                # T14 STC: due 28/11/2025, reported 25/11 → Q4 early, 16 of 19 days.
                ("Thẩm định phương án tài chính dự án BOT", "STC", on(28, 11, 2025)),
            ],
        )
        # Directive A, 02/03/2026 (the chairman).
        t1, t2, t3, t4, t8, t11, t12, t13 = _issue(
            s,
            clock,
            "12/TB-UBND",
            date(2026, 3, 2),
            "CT",
            [
                # T1 SXD: due 20/03, reported 16/03 → early; 10 of 14 working days.
                ("Rà soát quỹ đất nhà ở xã hội", "SXD", on(20, 3)),
                # T2 SXD: due 13/03, reported 13/03 → on the day; 9 of 9.
                ("Kiểm tra chất lượng công trình trường học", "SXD", on(13, 3)),
                # T3 SXD: due 06/03, reported 11/03 → late 3 working days; 7 of 4.
                ("Báo cáo sự cố sạt lở bờ kè", "SXD", on(6, 3)),
                # T4 SXD: due 13/03, never reported → overdue 12 working days at 31/03.
                (SCRIPT, "SXD", on(13, 3)),
                # T8 STC: due 27/03, final report 25/03 confirmed 02/04 → within term at 31/03,
                # fell due but not (yet) on time.
                ("Tham mưu phân bổ vốn đầu tư công năm 2026", "STC", on(27, 3)),
                # T11 STC: cancelled 10/03 → cancelled in the period.
                ("Lập đề án thu phí tham quan", "STC", on(16, 3)),
                # T12 STC: paused 05/03 → paused, not fell due.
                ("Quyết toán dự án hoàn thành", "STC", on(13, 3)),
                # T13 STC: standing, reported 10/03 → completed, no deadline.
                ("Theo dõi thu ngân sách hằng tháng", "STC", DeadlineSpec()),
            ],
        )
        # Directive B, 09/03/2026 (PCT1).
        t5, t6, t9, t10 = _issue(
            s,
            clock,
            "45/TB-UBND",
            date(2026, 3, 9),
            "PCT1",
            [
                # T5 SXD: due 30/04 → open within term, not of the period.
                ("Xây dựng kế hoạch phát triển nhà ở", "SXD", on(30, 4)),
                # T6 SXD: standing, open.
                ("Cập nhật giá vật liệu xây dựng", "SXD", DeadlineSpec()),
                # T9 STC: due 31/03, nothing yet → within term (due soon) on the last day.
                ("Báo cáo tình hình giải ngân", "STC", on(31, 3)),
                # T10 STC: due 13/03, extended on 12/03 to 27/03, reported 26/03 → early against
                # the extension; 13 of 14 working days.
                ("Đề xuất cơ chế hỗ trợ doanh nghiệp", "STC", on(13, 3)),
            ],
        )
        # Directive D, 06/04/2026: after the quarter, counted nowhere.
        (t15,) = _issue(
            s, clock, "60/TB-UBND", date(2026, 4, 6), "CT", [("Việc sau kỳ", "STC", on(30, 4))]
        )

        def done(code: str, reported: date, confirmed: date) -> None:
            lifecycle.report(
                s, code, on=reported, text="Đã hoàn thành", final=True, actor=OFFICE, clock=clock
            )
            lifecycle.confirm(s, code, on=confirmed, actor=OFFICE, clock=clock)

        done(t14, date(2025, 11, 25), date(2025, 11, 26))
        done(t1, date(2026, 3, 16), date(2026, 3, 17))
        done(t2, date(2026, 3, 13), date(2026, 3, 16))
        done(t3, date(2026, 3, 11), date(2026, 3, 12))
        done(t13, date(2026, 3, 10), date(2026, 3, 12))
        lifecycle.request_extension(
            s,
            t10,
            on=date(2026, 3, 11),
            new_deadline=date(2026, 3, 27),
            reason="Chờ ý kiến các sở",
            actor=OFFICE,
            clock=clock,
        )
        lifecycle.decide_extension(
            s, t10, on=date(2026, 3, 12), approve=True, actor=OFFICE, clock=clock
        )
        done(t10, date(2026, 3, 26), date(2026, 3, 27))
        lifecycle.report(
            s, t8, on=date(2026, 3, 25), text="Xong", final=True, actor=OFFICE, clock=clock
        )
        lifecycle.confirm(s, t8, on=date(2026, 4, 2), actor=OFFICE, clock=clock)
        lifecycle.cancel(
            s, t11, on=date(2026, 3, 10), reason="Không còn phù hợp", actor=OFFICE, clock=clock
        )
        lifecycle.pause(
            s, t12, on=date(2026, 3, 5), reason="Chờ kiểm toán", actor=OFFICE, clock=clock
        )
    codes = (t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15)
    return {f"T{i}": c for i, c in enumerate(codes, start=1)}


@pytest.fixture
def province(rt: Runtime) -> dict[str, str]:
    """The hand-built province; the task codes by name."""
    return build(rt)


def quarter(rt: Runtime, **kwargs: Any) -> PeriodReportData:
    """The first quarter of 2026, computed on 15/04/2026."""
    with rt.unit_of_work() as s:
        return build_period_report(s, parse_period("2026-Q1"), as_of=AS_OF, **kwargs)


SXD = Figures(
    completed=3, early=1, on_the_day=1, late=1,
    fell_due=4, on_time=2,  # T1 T2 T3 T4 fell due; T1 and T2 on time
    working_days_used=26, working_days_allowed=27,  # 10 + 9 + 7 of 14 + 9 + 4
    open_within_term=1, due_soon=0,  # T5
    open_overdue=2, overdue_over_30=1, overdue_over_60=1, overdue_over_120=0,  # T4, T7
    standing=1, paused=0, cancelled=0,  # T6
)  # fmt: skip
STC = Figures(
    completed=2, early=1, on_the_day=0, late=0,  # T10 early, T13 without deadline
    fell_due=3, on_time=1,  # T8 T9 T10 fell due; T10 on time
    working_days_used=13, working_days_allowed=14,  # T10
    open_within_term=2, due_soon=1,  # T8 (waiting for the office), T9 (due today)
    open_overdue=0, overdue_over_30=0, overdue_over_60=0, overdue_over_120=0,
    standing=0, paused=1, cancelled=1,  # T12, T11
)  # fmt: skip
TOTAL = Figures(
    completed=5, early=2, on_the_day=1, late=1, fell_due=7, on_time=3,
    working_days_used=39, working_days_allowed=41, open_within_term=3, due_soon=1,
    open_overdue=2, overdue_over_30=1, overdue_over_60=1, standing=1, paused=1, cancelled=1,
)  # fmt: skip
PREVIOUS = Figures(
    completed=1, early=1, fell_due=2, on_time=1,  # T14 early; T7 and T14 fell due
    working_days_used=16, working_days_allowed=19, open_overdue=1,  # T7
)  # fmt: skip


def test_period_names_parse_to_their_days_and_previous_periods() -> None:
    cases = {
        "2026-03": (PeriodKind.MONTH, date(2026, 3, 1), date(2026, 3, 31), "Tháng 03/2026"),
        "02/2028": (PeriodKind.MONTH, date(2028, 2, 1), date(2028, 2, 29), "Tháng 02/2028"),
        "2026-Q1": (PeriodKind.QUARTER, date(2026, 1, 1), date(2026, 3, 31), "Quý I năm 2026"),
        "2026-q4": (PeriodKind.QUARTER, date(2026, 10, 1), date(2026, 12, 31), "Quý IV năm 2026"),
        "2026-H1": (PeriodKind.HALF, date(2026, 1, 1), date(2026, 6, 30), "6 tháng đầu năm 2026"),
        "2026-H2": (PeriodKind.HALF, date(2026, 7, 1), date(2026, 12, 31), "6 tháng cuối năm 2026"),
        "2026": (PeriodKind.YEAR, date(2026, 1, 1), date(2026, 12, 31), "Năm 2026"),
    }  # fmt: skip
    for text, (kind, start, end, label) in cases.items():
        p = parse_period(text)
        assert (p.kind, p.start, p.end, p.label) == (kind, start, end, label), text
    assert parse_period("2026-01").previous().label == "Tháng 12/2025"
    assert parse_period("2026-Q1").previous().label == "Quý IV năm 2025"
    assert parse_period("2026-H2").previous().label == "6 tháng đầu năm 2026"
    assert parse_period("2026").previous().start == date(2025, 1, 1)
    span = period_between(date(2026, 3, 1), date(2026, 3, 10))
    assert (span.previous().start, span.previous().end) == (date(2026, 2, 19), date(2026, 2, 28))
    assert span.label == "Từ ngày 01/03/2026 đến ngày 10/03/2026"


@pytest.mark.parametrize("bad", ["2026-13", "2026-Q5", "2026-H3", "Q1-2026", "26", "", "1989"])
def test_a_bad_period_is_refused_naming_the_value(bad: str) -> None:
    with pytest.raises(InvalidInput, match="kỳ báo cáo không hợp lệ") as caught:
        parse_period(bad)
    assert repr(bad) in str(caught.value)


def test_grid_per_agency_total_rate_and_change(rt: Runtime, province: dict[str, str]) -> None:
    r = quarter(rt)
    assert (r.start, r.end, r.title) == (date(2026, 1, 1), date(2026, 3, 31), "Quý I năm 2026")
    assert [(a.code, a.name) for a in r.agencies] == [
        ("STC", "Sở Tài chính"),
        ("SXD", "Sở Xây dựng"),
    ]
    by_code = {a.code: a for a in r.agencies}
    assert by_code["SXD"].figures == SXD
    assert by_code["STC"].figures == STC
    assert r.total == TOTAL
    assert r.total.on_time_rate == 42.9  # 3 of the 7 that fell due
    assert r.total.time_saved_pct == 4.9  # 39 of 41 days used
    assert (by_code["SXD"].figures.on_time_rate, by_code["STC"].figures.on_time_rate) == (50, 33.3)
    assert r.previous.label == "Quý IV năm 2025"
    assert (r.previous.start, r.previous.end) == (date(2025, 10, 1), date(2025, 12, 31))
    assert r.previous_total == PREVIOUS
    assert r.previous_total.on_time_rate == 50.0
    assert {k: r.change[k] for k in ("completed", "fell_due", "on_time_rate", "open_overdue")} == {
        "completed": 4,
        "fell_due": 5,
        "on_time_rate": -7.1,
        "open_overdue": 1,
    }
    # Documents: A and B were issued in the quarter with 8 + 4 tasks; C before, D after it.
    assert (r.documents.directives, r.documents.tasks) == (2, 12)
    assert {a.code: (a.documents.directives, a.documents.tasks) for a in r.agencies} == {
        "SXD": (2, 6),
        "STC": (2, 6),
    }
    assert (r.previous_documents.directives, r.previous_documents.tasks) == (1, 2)
    assert r.half_year_line == "5 hồ sơ, 1 đúng hẹn, 2 trước hẹn, 1 trễ hẹn; 39/41 ngày, giảm 4,9%"
    assert r.stats["by_agency"]["SXD"]["on_time_rate"] == 50.0
    assert r.stats["previous"]["from"] == "2025-10-01"


def test_appendix_lists_the_tasks_of_the_period_most_urgent_first(
    rt: Runtime, province: dict[str, str]
) -> None:
    t = quarter(rt).tasks
    code = {v: k for k, v in province.items()}
    assert [(code[row.code], row.section, row.result) for row in t.rows] == [
        ("T7", Section.OVERDUE, "Quá hạn 70 ngày làm việc, chưa hoàn thành"),
        ("T4", Section.OVERDUE, "Quá hạn 12 ngày làm việc, chưa hoàn thành"),
        ("T3", Section.DONE_LATE, "Hoàn thành quá hạn 3 ngày làm việc (11/03/2026)"),
        ("T8", Section.WITHIN_TERM, "Đã báo cáo ngày 25/03/2026, chờ xác nhận (trong hạn)"),
        ("T9", Section.WITHIN_TERM, "Đang thực hiện, trong hạn"),
        ("T10", Section.DONE_ON_TIME, "Hoàn thành trước hạn (26/03/2026)"),
        ("T13", Section.DONE_ON_TIME, "Hoàn thành (10/03/2026)"),
        ("T2", Section.DONE_ON_TIME, "Hoàn thành đúng hạn (13/03/2026)"),
        ("T1", Section.DONE_ON_TIME, "Hoàn thành trước hạn (16/03/2026)"),
    ]
    assert (t.total, t.directives, t.truncated, t.complete) == (9, 3, False, True)
    assert t.by_section == {
        Section.OVERDUE: 2,
        Section.DONE_LATE: 1,
        Section.WITHIN_TERM: 2,
        Section.DONE_ON_TIME: 4,
    }
    t10 = t.rows[5]
    assert (t10.deadline, t10.original_deadline) == (date(2026, 3, 27), date(2026, 3, 13))
    assert (t.rows[0].leader, t.rows[1].leader) == ("Lê Thị Hồng", "Trần Quốc Bảo")


def test_a_period_with_more_tasks_than_the_limit_lists_only_overdue_and_late(
    rt: Runtime, province: dict[str, str]
) -> None:
    # The grid bounds the tasks of the quarter by 7 fell due + 5 completed + 2 overdue = 14.
    short = quarter(rt, task_limit=13).tasks
    assert (short.complete, short.directives, short.truncated) == (False, None, False)
    assert [row.code for row in short.rows] == [province[n] for n in ("T7", "T4", "T3")]
    assert short.by_section == {Section.OVERDUE: 2, Section.DONE_LATE: 1}
    capped = quarter(rt, task_limit=2)
    assert [row.code for row in capped.tasks.rows] == [province["T7"], province["T4"]]
    assert (capped.tasks.total, capped.tasks.truncated) == (3, True)
    assert {a.code: a.figures for a in capped.agencies} == {"SXD": SXD, "STC": STC}
    assert quarter(rt, task_limit=14).tasks.complete


def test_a_period_not_over_stops_at_the_as_of_day(rt: Runtime, province: dict[str, str]) -> None:
    with rt.unit_of_work() as s:
        r = build_period_report(s, parse_period("2026-Q1"), as_of=date(2026, 3, 20))
        with pytest.raises(InvalidInput, match="kỳ báo cáo bắt đầu ngày 01/01/2026"):
            build_period_report(s, parse_period("2026-Q1"), as_of=date(2025, 12, 31))
    assert r.end == date(2026, 3, 20)
    assert r.title == "Quý I năm 2026 (đến ngày 20/03/2026)"
    # The same stretch of the previous quarter: 01/10 plus the 78 days from 01/01 to 20/03.
    assert (r.previous.start, r.previous.end) == (date(2025, 10, 1), date(2025, 12, 18))
    assert r.total.completed == 4  # T1 T2 T3 T13; T10 is confirmed on 27/03
    assert r.total.fell_due == 4  # T1 T2 T3 T4; T10's deadline is 27/03 by then
    assert r.tasks.total == 6  # T7 T4 overdue, T3 late, T1 T2 T13 done


def test_filters_by_agency_and_by_leader(rt: Runtime, province: dict[str, str]) -> None:
    stc = quarter(rt, agency="stc")
    assert stc.agency == ("STC", "Sở Tài chính")
    assert [a.code for a in stc.agencies] == ["STC"]
    assert stc.total == STC
    assert {row.agency_code for row in stc.tasks.rows} == {"STC"}
    pct1 = quarter(rt, leader="PCT1")  # directives B and C: T5 T6 T9 T10, T7
    assert (pct1.total.completed, pct1.total.fell_due, pct1.total.on_time) == (1, 2, 1)
    assert (pct1.total.open_overdue, pct1.total.open_within_term, pct1.total.standing) == (1, 2, 1)
    assert (pct1.documents.directives, pct1.documents.tasks) == (1, 4)
    assert [row.code for row in pct1.tasks.rows] == [province[n] for n in ("T7", "T9", "T10")]
    with pytest.raises(NotFound, match="KHONGCO"):
        quarter(rt, agency="KHONGCO")


def render(rt: Runtime, fmt: ReportFormat) -> bytes:
    """The quarter in ``fmt``."""
    return render_period(quarter(rt), fmt, office="Văn phòng UBND tỉnh Bình An")


def test_xlsx_appendix_and_grid_cell_by_cell(rt: Runtime, province: dict[str, str]) -> None:
    book = load_workbook(io.BytesIO(render(rt, ReportFormat.XLSX)))
    assert book.sheetnames == ["Phụ lục", "Tổng hợp"]
    sheet = book["Phụ lục"]
    assert sheet["A1"].value == "PHỤ LỤC"
    assert sheet["A2"].value == "TÌNH HÌNH THỰC HIỆN NHIỆM VỤ DO UBND TỈNH, CHỦ TỊCH UBND TỈNH GIAO"
    assert sheet["A3"].value == "Quý I năm 2026, số liệu tính đến ngày 31/03/2026"
    assert sheet["A4"].value == "(Kèm theo báo cáo của Văn phòng UBND tỉnh Bình An)"
    assert sheet["A5"].value == (
        "9 nhiệm vụ (thuộc 3 văn bản): 2 quá hạn chưa hoàn thành, 1 hoàn thành quá hạn, "
        "2 đang thực hiện trong hạn, 4 hoàn thành đúng hạn."
    )
    assert {"A1:F1", "A2:F2", "A3:F3", "A5:F5", "B7:F7"} <= {str(m) for m in sheet.merged_cells}
    header = [c.value for c in sheet[6]]
    assert header == [
        "STT",
        "Nội dung",
        "Cơ quan chủ trì",
        "Lãnh đạo phụ trách",
        "Thời hạn",
        "Kết quả",
    ]
    assert all(c.font.bold and c.border.left.style == "thin" for c in sheet[6])
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=7)]
    assert rows[0][:2] == ["I", "Nhiệm vụ quá hạn, chưa hoàn thành (2 nhiệm vụ)"]
    assert rows[1] == [
        1,
        "Hoàn thiện hồ sơ điều chỉnh quy hoạch chung đô thị\n"
        f"({province['T7']}; 230/TB-UBND ngày 03/11/2025)",
        "Sở Xây dựng",
        "Lê Thị Hồng",
        "15/12/2025",
        "Quá hạn 70 ngày làm việc, chưa hoàn thành",
    ]
    assert rows[2][0] == 2
    assert rows[2][1].startswith(SCRIPT)
    assert rows[3][:2] == ["II", "Nhiệm vụ hoàn thành quá hạn (1 nhiệm vụ)"]
    assert rows[4][0] == 1  # STT starts again in each section
    assert rows[4][5] == "Hoàn thành quá hạn 3 ngày làm việc (11/03/2026)"
    assert rows[5][:2] == [
        "III",
        "Nhiệm vụ đến hạn trong kỳ, đang thực hiện trong hạn (2 nhiệm vụ)",
    ]
    assert [r[5] for r in rows[6:8]] == [
        "Đã báo cáo ngày 25/03/2026, chờ xác nhận (trong hạn)",
        "Đang thực hiện, trong hạn",
    ]
    assert rows[8][:2] == ["IV", "Nhiệm vụ hoàn thành đúng hạn (4 nhiệm vụ)"]
    assert rows[9][2:] == [
        "Sở Tài chính",
        "Lê Thị Hồng",
        "27/03/2026 (gia hạn từ 13/03/2026)",
        "Hoàn thành trước hạn (26/03/2026)",
    ]
    assert rows[10][4:] == ["Thường xuyên", "Hoàn thành (10/03/2026)"]
    assert rows[11][5] == "Hoàn thành đúng hạn (13/03/2026)"
    assert rows[12][5] == "Hoàn thành trước hạn (16/03/2026)"
    assert len(rows) == 13
    assert sheet["B8"].alignment.wrap_text
    assert sheet.freeze_panes == "A7"
    assert sheet.print_title_rows == "$6:$6"
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.column_dimensions["B"].width == 60

    grid = book["Tổng hợp"]
    assert grid["A1"].value == "BIỂU TỔNG HỢP TÌNH HÌNH THỰC HIỆN NHIỆM VỤ THEO ĐƠN VỊ"
    assert grid["A2"].value == "Quý I năm 2026, số liệu tính đến ngày 31/03/2026"
    assert grid["A4"].value == (
        "Kết quả giải quyết: 5 hồ sơ, 1 đúng hẹn, 2 trước hẹn, 1 trễ hẹn; 39/41 ngày, giảm 4,9%"
    )
    assert [c.value for c in grid[5]] == [
        "STT",
        "Cơ quan chủ trì",
        *["Giao trong kỳ", None],  # merged over the columns below
        *["Đã hoàn thành", None, None],
        *["Đang thực hiện", None, None],
        *["Đến hạn trong kỳ", None],
        "Tạm hoãn",
        "Đã hủy",
    ]
    assert [c.value for c in grid[6]][2:12] == [
        "Văn bản",
        "Nhiệm vụ",
        "Tổng số",
        "Đúng hạn",
        "Quá hạn",
        "Trong hạn",
        "Quá hạn",
        "Thường xuyên",
        "Số nhiệm vụ",
        "Tỷ lệ đúng hạn (%)",
    ]
    assert {"C5:D5", "E5:G5", "H5:J5", "K5:L5", "A5:A6", "M5:M6"} <= {
        str(m) for m in grid.merged_cells
    }
    values = [[c.value for c in row] for row in grid.iter_rows(min_row=7, max_row=9)]
    assert values == [
        [1, "Sở Tài chính", 2, 6, 2, 1, 0, 2, 0, 0, 3, 33.3, 1, 1],
        [2, "Sở Xây dựng", 2, 6, 3, 2, 1, 1, 2, 1, 4, 50.0, 0, 0],
        [None, "Tổng cộng", 2, 12, 5, 3, 1, 3, 2, 1, 7, 42.9, 1, 1],
    ]
    assert grid["B9"].font.bold
    assert grid.freeze_panes == "C7"
    assert grid.print_title_rows == "$5:$6"
    assert grid["A11"].value == "SO SÁNH VỚI KỲ TRƯỚC (Quý IV năm 2025: 01/10/2025 – 31/12/2025)"
    compared = {row[1].value: [c.value for c in row[2:5]] for row in grid.iter_rows(min_row=13)}
    assert compared["Tỷ lệ đúng hạn (%)"] == [42.9, 50.0, -7.1]
    assert compared["Văn bản giao trong kỳ"] == [2, 1, 1]
    assert compared["Tiết kiệm thời gian (%)"] == [4.9, 15.8, -10.9]


def test_csv_is_the_grid_with_a_bom(rt: Runtime, province: dict[str, str]) -> None:
    data = render(rt, ReportFormat.CSV)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:6] == [
        "STT",
        "Mã đơn vị",
        "Cơ quan chủ trì",
        "Giao trong kỳ: Văn bản",
        "Giao trong kỳ: Nhiệm vụ",
        "Đã hoàn thành: Tổng số",
    ]
    assert rows[0][-3:] == ["Đến hạn trong kỳ: Tỷ lệ đúng hạn (%)", "Tạm hoãn", "Đã hủy"]
    assert rows[1:] == [
        ["1", "STC", "Sở Tài chính", "2", "6", "2", "1", "0", "2", "0", "0", "3", "33.3", "1", "1"],
        ["2", "SXD", "Sở Xây dựng", "2", "6", "3", "2", "1", "1", "2", "1", "4", "50.0", "0", "0"],
        ["", "", "Tổng cộng", "2", "12", "5", "3", "1", "3", "2", "1", "7", "42.9", "1", "1"],
    ]  # fmt: skip


def test_json_is_stats_dict_plus_documents_and_tasks(rt: Runtime, province: dict[str, str]) -> None:
    payload = json.loads(render(rt, ReportFormat.JSON))
    assert payload["period"] == {
        "kind": "quarter",
        "label": "Quý I năm 2026",
        "title": "Quý I năm 2026",
        "start": "2026-01-01",
        "end": "2026-03-31",
        "period_end": "2026-03-31",
        "as_of": "2026-04-15",
    }
    assert (payload["from"], payload["to"]) == ("2026-01-01", "2026-03-31")
    assert {k: payload[k] for k in ("completed", "fell_due", "on_time", "on_time_rate")} == {
        "completed": 5,
        "fell_due": 7,
        "on_time": 3,
        "on_time_rate": 42.9,
    }
    assert payload["by_agency"]["SXD"] == {"name": "Sở Xây dựng", **SXD.as_dict()}
    assert payload["previous"]["on_time_rate"] == 50.0
    assert payload["change"]["on_time_rate"] == -7.1
    assert payload["documents"] == {
        "directives": 2,
        "tasks": 12,
        "by_agency": {"STC": {"directives": 2, "tasks": 6}, "SXD": {"directives": 2, "tasks": 6}},
        "previous": {"directives": 1, "tasks": 2},
        "change": {"directives": 1, "tasks": 10},
    }
    assert payload["half_year_line"].endswith("39/41 ngày, giảm 4,9%")
    tasks = payload["tasks"]
    assert {k: tasks[k] for k in ("complete", "total", "directives", "listed", "truncated")} == {
        "complete": True,
        "total": 9,
        "directives": 3,
        "listed": 9,
        "truncated": False,
    }
    assert tasks["sections"] == {"overdue": 2, "done_late": 1, "within_term": 2, "done_on_time": 4}
    first = tasks["items"][0]
    assert {k: first[k] for k in ("code", "grid", "days_late", "deadline", "lead_agency")} == {
        "code": province["T7"],
        "grid": "overdue",
        "days_late": 70,
        "deadline": "2025-12-15",
        "lead_agency": "SXD",
    }


def test_html_page_shows_the_figures_and_escapes_task_content(
    rt: Runtime, province: dict[str, str]
) -> None:
    page = render(rt, ReportFormat.HTML).decode("utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="vi">' in page
    assert 'name="viewport"' in page
    assert "@page { size: A4 landscape" in page
    assert "Quý I năm 2026" in page
    assert "Văn phòng UBND tỉnh Bình An" in page
    assert "5 hồ sơ, 1 đúng hẹn, 2 trước hẹn, 1 trễ hẹn; 39/41 ngày, giảm 4,9%" in page
    assert "<b>42,9%</b>" in page
    assert "−7,1 so với kỳ trước" in page
    assert "Quá hạn 70 ngày làm việc, chưa hoàn thành" in page
    assert "<script>" not in page
    assert "Báo cáo &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; tiến độ" in page
    assert "Sở Xây dựng" in page
    assert "Tổng cộng" in page


# The command line, in-process as tests/test_cli.py runs it.


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``directives ARGS``; returns (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def cli(rt: Runtime, province: dict[str, str]) -> Iterator[dict[str, str]]:
    """The province behind the command line."""
    set_runtime(rt)
    yield province
    set_runtime(None)


def test_cli_json_and_csv_to_stdout(
    cli: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    base = ("report", "period", "--period", "2026-Q1", "--as-of", "15/04/2026")
    code, out, err = run(capsys, *base, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["tasks"]["total"] == 9
    code, out, err = run(capsys, *base, "--format", "csv", "--agency", "SXD")
    assert code == 0, err
    assert out.startswith("\ufeffSTT,")
    assert out.splitlines()[1].startswith("1,SXD,Sở Xây dựng,2,6,3,")
    code, out, _ = run(
        capsys,
        "report",
        "period",
        "--from",
        "2026-03-01",
        "--to",
        "31/03/2026",
        "--as-of",
        "15/04/2026",
        "-f",
        "json",
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["period"]["label"] == "Từ ngày 01/03/2026 đến ngày 31/03/2026"
    assert payload["previous"]["from"] == "2026-01-29"  # the 31 days before


def test_cli_xlsx_to_a_file_or_to_a_pipe(
    cli: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    target = tmp_path / "quy1.xlsx"
    code, out, err = run(
        capsys, "report", "period", "-p", "2026-Q1", "--as-of", "15/04/2026", "-f", "xlsx",
        "--out", str(target),
    )  # fmt: skip
    assert code == 0, err
    assert "quy1.xlsx" in out
    assert load_workbook(target)["Phụ lục"]["A1"].value == "PHỤ LỤC"


def test_cli_xlsx_to_standard_output_is_the_workbook(
    cli: dict[str, str], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    main(["report", "period", "-p", "2026-03", "--as-of", "15/04/2026", "-f", "xlsx"])
    data = capsysbinary.readouterr().out
    assert data.startswith(b"PK")
    assert load_workbook(io.BytesIO(data)).sheetnames == ["Phụ lục", "Tổng hợp"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--period", "2026-Q5"), "--period '2026-Q5': kỳ báo cáo không hợp lệ"),
        (("--period", "2026-03", "--from", "01/03/2026"), "không dùng cả hai"),
        (("--from", "01/03/2026"), "cần --period"),
        (("--from", "31/02/2026", "--to", "01/03/2026"), "31/02/2026"),
        (("--from", "10/03/2026", "--to", "01/03/2026"), "trước --from"),
        (("--period", "2026-Q1", "--agency", "KHONGCO"), "KHONGCO"),
        (("--period", "2027", "--as-of", "15/04/2026"), "kỳ báo cáo bắt đầu ngày 01/01/2027"),
        (("--period", "2026", "--format", "docx"), "docx"),
        (("--period", "2026", "--out", "/khong/co/thu-muc/bao-cao.html"), "không ghi được"),
    ],
)
def test_cli_bad_input_is_one_line_and_non_zero(
    cli: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    expected: str,
) -> None:
    code, out, err = run(capsys, "report", "period", *args)
    assert code != 0
    assert expected in err
    assert "Traceback" not in err + out
    if "--format" not in args:  # Typer's own usage errors come with a box
        assert len(err.strip().splitlines()) == 1


def test_appendix_matches_the_reference_rules_on_the_sample_province(
    rt: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    """The SQL list (and its pre-filter) against timeliness.standing_as_of, task by task."""
    set_runtime(rt)
    try:
        code, _, err = run(capsys, "sample", "load", str(EXAMPLES))
        assert code == 0, err
    finally:
        set_runtime(None)
    periods = [parse_period(p) for p in ("2026-07", "2026-09", "2026-10", "2026-Q3", "2026-H2")]
    periods.append(period_between(date(2026, 8, 15), date(2026, 11, 26)))
    with rt.unit_of_work() as s:
        cal = load_calendar(s)
        tasks = list(s.scalars(select(Task)))
        facts = queries.load_facts(s, tasks)
        for period in periods:
            end = min(period.end, SAMPLE_DAY)
            expected: dict[str, tuple[Section, int | None]] = {}
            for task in tasks:
                f = facts[task.id]
                st = standing_as_of(f, end, cal)
                done = f.completed_on or f.confirmed_on
                fell_due = (
                    st.grid not in (Grid.NOT_ASSIGNED, Grid.PAUSED, Grid.CANCELLED)
                    and st.deadline is not None
                    and period.start <= st.deadline <= end
                )
                completed = st.grid.is_done and done is not None and period.start <= done <= end
                if fell_due or completed or st.grid is Grid.OVERDUE:
                    expected[task.code] = (SECTION_OF[st.grid], st.days_late)
            full = build_period_report(s, period, as_of=SAMPLE_DAY).tasks
            assert full.complete, period
            got = {r.code: (r.section, r.days_late) for r in full.rows}
            assert got == expected, period.label
            assert [r.section for r in full.rows] == sorted(r.section for r in full.rows)
            # A limit under the grid's bound: only the overdue and late tasks, all of them here.
            attention = {c: v for c, v in expected.items() if v[0] < Section.WITHIN_TERM}
            short = build_period_report(
                s, period, as_of=SAMPLE_DAY, task_limit=max(1, len(attention))
            ).tasks
            assert (short.complete, short.total, short.truncated) == (False, len(attention), False)
            assert {r.code: (r.section, r.days_late) for r in short.rows} == attention
            overdue = {c: v for c, v in attention.items() if v[0] is Section.OVERDUE}
            if overdue:  # the overdue ones fill the page: the late ones are not even looked at
                page = build_period_report(s, period, as_of=SAMPLE_DAY, task_limit=len(overdue))
                assert {r.code: (r.section, r.days_late) for r in page.tasks.rows} == overdue
    assert any(v[0] is Section.DONE_LATE for v in got.values())


SECTION_OF = {
    Grid.OVERDUE: Section.OVERDUE,
    Grid.DONE_LATE: Section.DONE_LATE,
    Grid.WITHIN_TERM: Section.WITHIN_TERM,
    Grid.DUE_SOON: Section.WITHIN_TERM,
    Grid.DONE_EARLY: Section.DONE_ON_TIME,
    Grid.DONE_ON_THE_DAY: Section.DONE_ON_TIME,
    Grid.DONE_NO_DEADLINE: Section.DONE_ON_TIME,
}
