"""The monthly work programme: states as of a date, carry-over, the snapshots and the status job.

A hand-built November 2026 (14 and 28/11 are Saturdays; Tuesday 24/11 is Vietnam Culture Day,
a day off from 2026), entered on 28/10/2026. Every answer below is worked out by hand.
"""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from directives.cli import main
from directives.cli._common import set_runtime
from directives.clock import FixedClock
from directives.db.outbox_tables import OutboxMessage
from directives.db.tables import ProgrammeEvent, ProgrammeItem, ProgrammeSnapshot
from directives.errors import Conflict, ImportFileError, InvalidInput, PermissionDenied
from directives.programme import ItemKind, parse_month
from directives.runtime import Runtime
from directives.services import programme
from directives.workflow import Actor, Role
from flows.jobs import JOBS
from notifications.message import build
from notifications.model import outgoing_from_json
from tests.builders import OFFICE, seed_registry

NOV, DEC = date(2026, 11, 1), date(2026, 12, 1)
ENTERED = date(2026, 10, 28)
ITEMS = [
    # A: planned Tue 10/11, submitted 09/11 → on time
    programme.NewItem("Đề án phát triển du lịch giai đoạn 2026–2030", ItemKind.PROJECT, "SKHDT",
                      "PCT1", date(2026, 11, 10)),
    # B: planned Sat 14/11 → due Mon 16/11; submitted 16/11 → on time (the rest day moves it)
    programme.NewItem("Báo cáo tình hình kinh tế – xã hội tháng 11", ItemKind.REPORT, "STC",
                      "CT", date(2026, 11, 14)),
    # C: planned Wed 18/11, submitted Fri 20/11 → late
    programme.NewItem("Tờ trình quy định giá đất năm 2027", ItemKind.SUBMISSION, "SXD",
                      "PCT1", date(2026, 11, 18)),
    # D: planned Fri 20/11, not submitted by the month's end → overdue (submitted 02/12, later)
    programme.NewItem("Dự thảo Quyết định quy chế quản lý kiến trúc", ItemKind.DRAFT, "SXD",
                      "Lê Thị Hồng", date(2026, 11, 20)),
    # E: planned Fri 27/11; on 25/11 not yet due; postponed to December on 26/11
    programme.NewItem("Kế hoạch chuyển đổi số năm 2027", ItemKind.PLAN, "UBNDTP",
                      "PCT1", date(2026, 11, 27)),
    # F: no planned date → Mon 30/11, the month's last working day; removed on 24/11
    programme.NewItem("Đề án sắp xếp đơn vị hành chính cấp xã", ItemKind.PROJECT,
                      "Sở Kế hoạch và Đầu tư", "CT"),
    # G: planned Mon 23/11, overdue on 25/11, submitted Fri 27/11 → late; no leader in charge
    programme.NewItem("Báo cáo tổng kết công tác năm 2026", ItemKind.REPORT, "STC", None,
                      date(2026, 11, 23)),
]  # fmt: skip


def at(rt: Runtime, day: date) -> None:
    """Move the runtime's clock to 09:00 of ``day``."""
    rt.clock = FixedClock.on(day)


@pytest.fixture
def november(rt: Runtime) -> Runtime:
    """The registry and November's programme, with what happened up to 27/11 recorded."""
    at(rt, date(2026, 11, 27))
    with rt.unit_of_work() as s:
        seed_registry(s)
        stored = programme.add_items(s, NOV, ITEMS, actor=OFFICE, clock=rt.clock, on=ENTERED)
        assert [i.code for i in stored] == [f"CT2611-00{n}" for n in range(1, 8)]
        a, b, c, _d, e, f, g = (i.code for i in stored)
        kw: dict[str, Any] = {"actor": OFFICE, "clock": rt.clock}
        programme.submit(s, a, on=date(2026, 11, 9), document_number="101/TTr-SKHĐT", **kw)
        programme.submit(s, b, on=date(2026, 11, 16), document_number="88/BC-STC", **kw)
        programme.submit(s, c, on=date(2026, 11, 20), document_number="55/TTr-SXD", **kw)
        programme.remove(s, f, on=date(2026, 11, 24), reason="Trung ương chưa hướng dẫn", **kw)
        new = programme.postpone(
            s, e, to_month=DEC, on=date(2026, 11, 26), reason="Chờ ý kiến các sở", **kw
        )
        assert (new.code, new.planned_on) == ("CT2612-001", date(2026, 12, 31))
        programme.submit(s, g, on=date(2026, 11, 27), document_number="90/BC-STC", **kw)
    return rt


def states(status: dict[str, Any]) -> dict[str, str]:
    return {i["code"][-1]: i["state"] for i in status["items"]}


def test_states_on_the_25th_and_at_the_months_end(november: Runtime) -> None:
    with november.unit_of_work() as s:
        interim = programme.month_status(s, NOV, as_of=date(2026, 11, 25))
        end = programme.month_status(s, NOV, as_of=date(2026, 11, 30))
    assert states(interim) == {
        "1": "submitted_on_time",
        "2": "submitted_on_time",
        "3": "submitted_late",
        "4": "overdue",
        "5": "not_yet_due",
        "6": "removed",
        "7": "overdue",
    }
    # 7 items, 1 removed → 6 in the programme; 2 overdue = 33.3%
    assert interim["summary"] == {
        "total": 7,
        "in_programme": 6,
        "submitted_on_time": 2,
        "submitted_late": 1,
        "not_yet_due": 1,
        "overdue": 2,
        "postponed": 0,
        "removed": 1,
        "overdue_pct": 33.3,
        "carried_in": 0,
        "carried_over": 0,
    }
    assert states(end) == states(interim) | {"5": "postponed", "7": "submitted_late"}
    assert end["summary"]["overdue"] == 1
    assert end["summary"]["overdue_pct"] == 16.7  # 1 of 6
    assert end["summary"]["carried_over"] == 1
    e = end["items"][4]
    assert e["postponed_to"] == {"code": "CT2612-001", "month": "12/2026"}
    b = end["items"][1]
    assert (b["planned"], b["due"]) == ("2026-11-14", "2026-11-16")
    f = end["items"][5]
    assert f["planned"] == "2026-11-30"
    assert f["agency"] == "Sở Kế hoạch và Đầu tư"
    # Before the submissions are dated, they are not seen.
    assert interim["items"][6]["submitted_on"] is None


def test_a_postponed_item_is_carried_into_the_next_month_with_its_history(
    november: Runtime,
) -> None:
    with november.unit_of_work() as s:
        dec = programme.month_status(s, DEC, as_of=date(2026, 12, 2))
        history = programme.item_history(s, "CT2612-001")
        before = programme.month_status(s, DEC, as_of=date(2026, 11, 25))
    assert [i["code"] for i in dec["items"]] == ["CT2612-001"]
    assert dec["items"][0]["carried_from"] == {"code": "CT2611-005", "month": "11/2026"}
    assert dec["summary"]["carried_in"] == 1
    assert dec["summary"]["not_yet_due"] == 1
    assert [link["code"] for link in history["chain"]] == ["CT2611-005", "CT2612-001"]
    assert [e["kind"] for e in history["chain"][0]["events"]] == ["entered", "postponed"]
    assert history["chain"][0]["events"][1]["note"] == "Chờ ý kiến các sở"
    assert history["chain"][1]["events"][0] == {
        "kind": "carried_in",
        "on": "2026-11-26",
        "actor": "secretariat:Văn thư",
        "note": "Chờ ý kiến các sở",
        "source": "CT2611-005",
    }
    assert before["items"] == []  # not yet carried over on 25/11


def test_the_final_snapshot_does_not_change_with_later_edits(november: Runtime) -> None:
    at(november, date(2026, 12, 1))
    summary = JOBS["programme"](november, as_of=date(2026, 12, 1))
    assert summary.extra["statuses"] == [
        {"month": "11/2026", "stage": "final", "as_of": "2026-11-30", "recipients": ["CT", "PCT1"]}
    ]
    at(november, date(2026, 12, 3))
    with november.unit_of_work() as s:
        programme.submit(
            s, "CT2611-004", on=date(2026, 12, 2), document_number="77/TTr-SXD",
            actor=OFFICE, clock=november.clock,
        )  # fmt: skip
    with november.unit_of_work() as s:
        frozen = programme.monthly_report(s, NOV, as_of=date(2026, 12, 3))
        live = programme.monthly_report(s, NOV, as_of=date(2026, 12, 3), live=True)
        before_final = programme.monthly_report(s, NOV, as_of=date(2026, 11, 30))
    assert frozen["final"] is True
    assert frozen["compiled_on"] == "2026-12-01"
    assert states(frozen)["4"] == "overdue"
    assert frozen["summary"]["overdue"] == 1
    assert states(live)["4"] == "submitted_late"
    assert live["summary"]["overdue"] == 0
    assert before_final["final"] is False


def outbox_contexts(rt: Runtime) -> dict[str, dict[str, Any]]:
    with rt.unit_of_work() as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return {r.message_id: r.payload for r in rows}


def test_the_job_sends_the_interim_on_the_25th_and_the_final_on_the_first_working_day(
    november: Runtime,
) -> None:
    rt = november
    at(rt, date(2026, 12, 1))
    run = JOBS["programme"]
    assert run(rt, as_of=date(2026, 11, 23)).extra["statuses"] == []  # before the 25th
    assert run(rt, as_of=date(2026, 11, 24)).working_day is False  # Vietnam Culture Day
    dry = run(rt, as_of=date(2026, 11, 25), dry_run=True)
    assert dry.extra["statuses"][0]["recipients"] == ["CT", "PCT1"]
    with rt.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(ProgrammeSnapshot)) == 0
    first = run(rt, as_of=date(2026, 11, 25))
    assert first.messages == 2
    assert run(rt, as_of=date(2026, 11, 25)).messages == 0  # twice the same day: nothing new
    assert run(rt, as_of=date(2026, 11, 26)).messages == 0  # the interim was compiled once
    assert run(rt, as_of=date(2026, 11, 29)).working_day is False  # Sunday
    assert run(rt, as_of=date(2026, 12, 1)).messages == 2  # November's final
    payloads = outbox_contexts(rt)
    assert sorted(k.split("@")[0] for k in payloads) == [
        "<programme-202611-final-ct",
        "<programme-202611-final-pct1",
        "<programme-202611-interim-ct",
        "<programme-202611-interim-pct1",
    ]
    by_key = {k.split("@")[0][1:]: v for k, v in payloads.items()}
    chairman = by_key["programme-202611-interim-ct"]["context"]
    assert len(chairman["items"]) == 7
    assert chairman["summary"]["overdue"] == 2
    # PCT1 is in charge of A, C, D ("Lê Thị Hồng" resolves to PCT1) and E: D overdue, 1 of 4.
    pct1 = by_key["programme-202611-interim-pct1"]["context"]
    assert [i["code"] for i in pct1["items"]] == [
        "CT2611-001",
        "CT2611-003",
        "CT2611-004",
        "CT2611-005",
    ]
    assert (pct1["summary"]["overdue"], pct1["summary"]["overdue_pct"]) == (1, 25.0)
    assert pct1["final"] is False
    assert pct1["recipient"] == "Phó Chủ tịch UBND tỉnh Lê Thị Hồng"
    final = by_key["programme-202611-final-ct"]
    assert final["context"]["final"] is True
    # The stored message renders: subject and a row per item, Vietnamese intact.
    msg = email.message_from_bytes(
        bytes(build(outgoing_from_json(final), date=rt.clock.now())),
        policy=email.policy.default,
    )
    assert msg["Subject"] == (
        "[Chương trình công tác] Tháng 11/2026: 1/7 nội dung quá hạn – số liệu chốt tháng"
    )
    text = msg.get_body(("plain",)).get_content()
    assert "Dự thảo Quyết định quy chế quản lý kiến trúc (Dự thảo văn bản, CT2611-004)" in text
    assert "Tình trạng: Lùi thời gian trình" in text


def test_nothing_is_sent_for_a_month_without_items(rt: Runtime) -> None:
    with rt.unit_of_work() as s:
        seed_registry(s)
    summary = JOBS["programme"](rt, as_of=date(2026, 11, 25))
    assert summary.extra["statuses"] == []
    assert summary.messages == 0


def test_bad_operations_are_refused_and_change_nothing(november: Runtime) -> None:
    rt = november
    kw: dict[str, Any] = {"actor": OFFICE, "clock": rt.clock}
    with rt.unit_of_work() as s:
        before = s.scalar(select(func.count()).select_from(ProgrammeEvent))
    cases = [
        (Conflict, "đã trình ngày 09/11/2026", lambda s: programme.submit(
            s, "CT2611-001", on=date(2026, 11, 20), document_number="1/TTr", **kw)),
        (Conflict, "đã đưa ra khỏi chương trình", lambda s: programme.postpone(
            s, "CT2611-006", to_month=DEC, on=date(2026, 11, 26), reason="x", **kw)),
        (InvalidInput, "không sau tháng 11/2026", lambda s: programme.postpone(
            s, "CT2611-004", to_month=NOV, on=date(2026, 11, 26), reason="x", **kw)),
        (InvalidInput, "ở tương lai", lambda s: programme.submit(
            s, "CT2611-004", on=date(2026, 12, 30), document_number="1/TTr", **kw)),
        (InvalidInput, "thiếu số văn bản", lambda s: programme.submit(
            s, "CT2611-004", on=date(2026, 11, 27), document_number="  ", **kw)),
        (InvalidInput, "thiếu lý do", lambda s: programme.remove(
            s, "CT2611-004", on=date(2026, 11, 27), reason=" ", **kw)),
        (PermissionDenied, "Văn phòng", lambda s: programme.remove(
            s, "CT2611-004", on=date(2026, 11, 27), reason="x",
            actor=Actor(Role.AGENCY, agency="SXD"), clock=rt.clock)),
    ]  # fmt: skip
    for error, words, call in cases:
        with pytest.raises(error, match=words), rt.unit_of_work() as s:
            call(s)
    with rt.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(ProgrammeEvent)) == before


def test_adding_reports_every_bad_item_and_stores_none(november: Runtime) -> None:
    bad = [
        programme.NewItem("Đề án mới", ItemKind.PROJECT, "SKHDT", "PCT1", date(2026, 12, 2)),
        programme.NewItem("Báo cáo quý IV", ItemKind.REPORT, "KHONGCO", None, date(2026, 12, 9)),
        programme.NewItem("Tờ trình X", ItemKind.SUBMISSION, "STC", "PCT9", date(2026, 12, 9)),
        programme.NewItem("  ", ItemKind.OTHER, "STC"),
    ]
    with pytest.raises(ImportFileError) as caught, november.unit_of_work() as s:
        programme.add_items(s, DEC, bad, actor=OFFICE, clock=november.clock)
    assert [(e.row, e.column) for e in caught.value.errors] == [
        (2, "agency"),
        (3, "leader"),
        (4, "title"),
    ]
    with november.unit_of_work() as s:
        assert s.scalar(select(func.count()).where(ProgrammeItem.month == DEC)) == 1
    # The first is fine on its own; entering it twice is refused.
    with november.unit_of_work() as s:
        programme.add_items(s, DEC, bad[:1], actor=OFFICE, clock=november.clock)
    with (
        pytest.raises(ImportFileError, match="đã có trong chương trình"),
        november.unit_of_work() as s,
    ):
        programme.add_items(s, DEC, bad[:1], actor=OFFICE, clock=november.clock)


def test_months_are_read_in_the_offices_forms() -> None:
    assert parse_month("2026-03") == parse_month("03/2026") == parse_month("3/2026")
    for wrong in ("2026-13", "13/2026", "tháng 3", ""):
        with pytest.raises(ValueError, match="không hợp lệ"):
            parse_month(wrong)


# --- import and the command line --------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def cli(rt: Runtime) -> Iterator[Runtime]:
    with rt.unit_of_work() as s:
        seed_registry(s)
    set_runtime(rt)
    yield rt
    set_runtime(None)


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["STT", "Tên đề án, nội dung", "Loại", "Cơ quan chủ trì", "Lãnh đạo phụ trách",
               "Thời gian trình", "Ghi chú"])  # fmt: skip
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_the_offices_xlsx_is_imported_and_listed(
    cli: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_xlsx(
        tmp_path / "ctct-12-2026.xlsx",
        [
            [1, "Đề án phát triển đô thị thông minh", "Đề án", "SXD", "PCT1", date(2026, 12, 15),
             None],
            [2, "Báo cáo tình hình thu ngân sách", None, "Sở Tài chính", "Trần Quốc Bảo",
             "18/12/2026", "Báo cáo định kỳ"],
            [3, "Quy chế phối hợp quản lý cụm công nghiệp", "Dự thảo văn bản", "skhdt", None,
             None, None],
        ],
    )  # fmt: skip
    code, out, err = run(capsys, "programme", "import", str(path), "--month", "12/2026")
    assert code == 0, err
    assert "Đã nhập 3 nội dung vào chương trình tháng 12/2026 (CT2612-001…CT2612-003)" in out
    code, out, err = run(
        capsys, "programme", "list", "--month", "2026-12", "--as-of", "16/12/2026", "-f", "json"
    )
    assert code == 0, err
    listed = json.loads(out)
    assert [(i["code"], i["kind"], i["agency"], i["leader"], i["planned"], i["state"])
            for i in listed["items"]] == [
        ("CT2612-001", "Đề án", "SXD", "PCT1", "2026-12-15", "overdue"),
        ("CT2612-002", "Báo cáo", "STC", "CT", "2026-12-18", "not_yet_due"),
        ("CT2612-003", "Dự thảo văn bản", "SKHDT", None, "2026-12-31", "not_yet_due"),
    ]  # fmt: skip
    assert listed["summary"]["overdue_pct"] == 33.3
    code, out, err = run(
        capsys, "programme", "submit", "CT2612-001", "--on", "26/11/2026", "--document",
        "12/TTr-SXD",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run(
        capsys, "programme", "submit", "CT2612-001", "--on", "26/11/2026", "--document", "13/TTr"
    )
    assert code == Conflict.exit_code
    assert err.strip().count("\n") == 0
    assert "đã trình ngày 26/11/2026" in err


def test_a_bad_file_names_each_row_and_stores_nothing(
    cli: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_xlsx(
        tmp_path / "ctct.xlsx",
        [
            [1, "Đề án A", "Đề án", "SXD", "PCT1", date(2026, 12, 15), None],
            [2, "Báo cáo B", "Công văn", "STC", None, "18/12/2026", None],
            [3, "Đề án C", None, "SXD", None, "35/12/2026", None],
            [4, "Đề án D", None, "SXD", None, "05/01/2027", None],
        ],
    )
    code, _, err = run(capsys, "programme", "import", str(path), "--month", "2026-12")
    assert code == InvalidInput.exit_code
    assert "dòng 3, cột 'Loại', giá trị 'Công văn'" in err
    assert "và 1 lỗi khác" in err
    assert "dòng 4, cột 'Thời gian trình', giá trị '35/12/2026': ngày không hợp lệ" in err
    # The file read well, the references are checked next: a date outside the month.
    rows = [[1, "Đề án A", "Đề án", "SXD", "PCT1", date(2026, 12, 15), None],
            [2, "Đề án D", None, "SXD", None, "05/01/2027", None]]  # fmt: skip
    code, _, err = run(
        capsys, "programme", "import", str(write_xlsx(path, rows)), "--month", "2026-12"
    )
    assert code == InvalidInput.exit_code
    assert (
        "dòng 3, cột 'planned', giá trị '05/01/2027': ngày trình không thuộc tháng 12/2026" in err
    )
    with cli.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(ProgrammeItem)) == 0
    code, _, err = run(capsys, "programme", "list", "--month", "2026-13")
    assert code == InvalidInput.exit_code
    assert "--month '2026-13'" in err


def test_the_sample_province_has_novembers_programme(
    cli: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = Path(__file__).resolve().parents[1] / "examples"
    code, out, err = run(capsys, "sample", "load", str(examples))
    assert code == 0, err
    assert "12 nội dung chương trình công tác" in out
    code, out, err = run(
        capsys, "programme", "list", "--month", "11/2026", "--as-of", "26/11/2026", "-f", "json"
    )
    assert code == 0, err
    status = json.loads(out)
    # Overdue: the land-price draft (16/11), the fire-safety directive (23/11), the digital
    # transformation project (12/11); submitted from the file: 4 on time, 2 late (one on 26/11).
    assert {k: status["summary"][k] for k in ("total", "overdue", "overdue_pct")} == {
        "total": 12,
        "overdue": 3,
        "overdue_pct": 25.0,
    }
    assert (status["summary"]["submitted_on_time"], status["summary"]["submitted_late"]) == (4, 2)
    late = [i for i in status["items"] if i["state"] == "submitted_late"]
    assert [i["detail"] for i in late] == [
        "trình 18/11/2026, 231/TTr-SVHTTDL",
        "trình 26/11/2026, 87/BC-TTr",
    ]
    # Seen from the 25th, the inspection report (due 25/11, submitted 26/11) is not yet due.
    code, out, err = run(
        capsys, "programme", "list", "--month", "11/2026", "--as-of", "25/11/2026", "-f", "json"
    )
    on_25th = {i["code"]: i["state"] for i in json.loads(out)["items"]}
    assert on_25th["CT2611-009"] == "not_yet_due"
