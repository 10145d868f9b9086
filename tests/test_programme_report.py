"""`directives report monthly` and `report digest`: the same status in every format, read back."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from directives.cli import main
from directives.cli._common import set_runtime
from directives.programme import ItemKind
from directives.runtime import Runtime
from directives.services import programme
from tests.builders import OFFICE, seed_registry

NOV = date(2026, 11, 1)


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
    """Three items: one submitted on time, one overdue, one with HTML in its title."""
    with rt.unit_of_work() as s:
        seed_registry(s)
        items = [
            programme.NewItem("Đề án phát triển du lịch", ItemKind.PROJECT, "SKHDT", "PCT1",
                              date(2026, 11, 10)),
            programme.NewItem("Báo cáo thu ngân sách 11 tháng", ItemKind.REPORT, "STC", "CT",
                              date(2026, 11, 20)),
            programme.NewItem("Quy chế <script>alert(1)</script> phối hợp", ItemKind.DRAFT, "SXD",
                              None, date(2026, 11, 30)),
        ]  # fmt: skip
        stored = programme.add_items(s, NOV, items, actor=OFFICE, clock=rt.clock, on=NOV)
        programme.submit(
            s, stored[0].code, on=date(2026, 11, 9), document_number="101/TTr-SKHĐT",
            actor=OFFICE, clock=rt.clock,
        )  # fmt: skip
    set_runtime(rt)
    yield rt
    set_runtime(None)


def report(capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str, *extra: str) -> Path:
    out = tmp_path / f"ct.{fmt}"
    args = ("report", "monthly", "--month", "11/2026", "--as-of", "26/11/2026", "-f", fmt)
    code, stdout, err = run(capsys, *args, "-o", str(out), *extra)
    assert code == 0, err
    assert f"Đã ghi báo cáo ({fmt}" in stdout
    return out


def test_the_monthly_status_in_xlsx_reads_back_cell_by_cell(
    cli: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    book = openpyxl.load_workbook(report(capsys, tmp_path, "xlsx"))
    sheet = book.active
    assert sheet is not None
    assert sheet.title == "CTCT 11-2026"
    assert sheet["A2"].value == "TÌNH HÌNH THỰC HIỆN CHƯƠNG TRÌNH CÔNG TÁC THÁNG 11/2026"
    assert sheet["A3"].value == "Số liệu tạm tính đến ngày 26/11/2026"
    # 3 items, 1 submitted on time; 1 overdue of 3 = 33,3%; the third not yet due (30/11).
    assert sheet["A4"].value == (
        "3 nội dung; đã trình 1 (0 trình chậm); 1 quá hạn chưa trình (33,3%); "
        "0 từ tháng trước chuyển sang; 0 lùi sang tháng sau"
    )
    assert [c.value for c in sheet[6]] == [
        "STT", "Nội dung", "Loại", "Cơ quan chủ trì", "Lãnh đạo phụ trách", "Thời gian trình",
        "Kết quả", "Mã",
    ]  # fmt: skip
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=7, max_row=9)]
    assert rows == [
        [1, "Đề án phát triển du lịch", "Đề án", "Sở Kế hoạch và Đầu tư", "Lê Thị Hồng",
         "10/11/2026", "Đã trình đúng hạn (ngày 09/11/2026, 101/TTr-SKHĐT)", "CT2611-001"],
        [2, "Báo cáo thu ngân sách 11 tháng", "Báo cáo", "Sở Tài chính", "Trần Quốc Bảo",
         "20/11/2026", "Quá hạn, chưa trình", "CT2611-002"],
        [3, "Quy chế <script>alert(1)</script> phối hợp", "Dự thảo văn bản", "Sở Xây dựng", None,
         "30/11/2026", "Chưa đến hạn trình", "CT2611-003"],
    ]  # fmt: skip
    assert sheet.freeze_panes == "A7"
    assert sheet.print_title_rows == "$6:$6"


def test_csv_json_and_html_say_the_same(
    cli: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    raw = report(capsys, tmp_path, "csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads Vietnamese only with the BOM
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][-2:] == ["Mã", "Tình trạng"]
    assert [(r[0], r[6], r[8]) for r in rows[1:]] == [
        ("1", "Đã trình đúng hạn (ngày 09/11/2026, 101/TTr-SKHĐT)", "submitted_on_time"),
        ("2", "Quá hạn, chưa trình", "overdue"),
        ("3", "Chưa đến hạn trình", "not_yet_due"),
    ]
    status = json.loads(report(capsys, tmp_path, "json").read_text(encoding="utf-8"))
    assert (status["summary"]["overdue"], status["summary"]["overdue_pct"]) == (1, 33.3)
    html = report(capsys, tmp_path, "html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Tình hình thực hiện Chương trình công tác tháng 11/2026" in html
    assert "Số liệu tạm tính đến ngày 26/11/2026." in html
    # One leader's share: PCT1 is in charge of the first item only.
    mine = json.loads(report(capsys, tmp_path, "json", "--leader", "PCT1").read_text("utf-8"))
    assert [i["code"] for i in mine["items"]] == ["CT2611-001"]


def test_after_the_final_status_the_report_is_the_frozen_one(
    cli: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from directives.clock import FixedClock
    from flows.jobs import JOBS

    cli.clock = FixedClock.on(date(2026, 12, 2))
    JOBS["programme"](cli, as_of=date(2026, 12, 1))
    with cli.unit_of_work() as s:
        programme.submit(
            s, "CT2611-002", on=date(2026, 12, 2), document_number="9/BC-STC",
            actor=OFFICE, clock=cli.clock,
        )  # fmt: skip
    args = ("report", "monthly", "--month", "2026-11", "--as-of", "02/12/2026", "-f", "json")
    frozen = json.loads(run(capsys, *args)[1])
    live = json.loads(run(capsys, *args, "--live")[1])
    assert frozen["final"] is True
    assert frozen["items"][1]["state"] == "overdue"
    assert live["items"][1]["state"] == "submitted_late"
    html = run(capsys, *args[:-1], "html")[1]
    assert "Số liệu chốt tháng, lập ngày 01/12/2026" in html


def test_a_leaders_digest_as_a_page_with_its_charts_and_as_a_task_list(
    rt: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    examples = Path(__file__).resolve().parents[1] / "examples"
    set_runtime(rt)
    try:
        assert run(capsys, "sample", "load", str(examples))[0] == 0
        base = ("report", "digest", "--leader", "pct1", "--as-of", "23/11/2026")
        code, html, err = run(capsys, *base, "-f", "html")
        assert code == 0, err
        assert html.count("data:image/png;base64,") == 2  # both charts, inline
        assert "cid:" not in html
        assert "Kính gửi: <strong>Phó Chủ tịch UBND tỉnh Nguyễn Văn An</strong>" in html
        code, out, err = run(capsys, *base, "-f", "csv")
        rows = list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))
        assert rows[0] == ["Mục", "Mã", "Nội dung", "Văn bản", "Cơ quan chủ trì", "Thời hạn",
                           "Quá hạn"]  # fmt: skip
        context = json.loads(run(capsys, *base, "-f", "json")[1])
        listed = {r[1] for r in rows[1:]}
        assert {t["code"] for t in context["critical"]} <= listed
        assert {t["code"] for t in context["due_next"]} <= listed
        code, _, err = run(capsys, "report", "digest", "--leader", "PCT9", "--as-of", "23/11/2026")
        assert code == 3
        assert "không có lãnh đạo mã 'PCT9'" in err
    finally:
        set_runtime(None)
