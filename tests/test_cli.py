"""The command line on a real database: the sample province, listings, and bad input refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from directives.cli import main
from directives.cli._common import set_runtime
from directives.db.tables import Base
from directives.runtime import Runtime

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HEADER = (
    "Số ký hiệu,Ngày ban hành,Loại văn bản,Người ký,Trích yếu,Nội dung nhiệm vụ,"
    "Đơn vị chủ trì,Đơn vị phối hợp,Thời hạn\n"
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``directives ARGS`` in-process; returns (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def list_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """``directives tasks list ARGS --format json``, parsed."""
    code, out, err = run(capsys, "tasks", "list", *args, "--format", "json")
    assert code == 0, err
    payload: dict[str, Any] = json.loads(out)
    return payload


@pytest.fixture
def cli(rt: Runtime, capsys: pytest.CaptureFixture[str]) -> Iterator[Runtime]:
    """The sample province loaded through the CLI."""
    set_runtime(rt)
    code, out, err = run(capsys, "sample", "load", str(EXAMPLES))
    assert code == 0, err
    assert "77 nhiệm vụ" in out
    yield rt
    set_runtime(None)


def snapshot(rt: Runtime) -> dict[str, object]:
    """Row counts of every table and the tasks' states: what 'unchanged' means."""
    with rt.unit_of_work() as s:
        counts: dict[str, object] = {
            t.name: s.scalar(select(func.count()).select_from(t))
            for t in Base.metadata.sorted_tables
        }
        counts["tasks"] = s.execute(
            text(
                "select code, state, deadline, acknowledged_on, confirmed_on "
                "from tasks order by code"
            )
        ).all()
    return counts


def test_register_lists_overdue_tasks_as_json_with_codes(
    cli: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "tasks",
        "list",
        "--as-of",
        "26/11/2026",
        "--status",
        "overdue",
        "--format",
        "json",
        "--page-size",
        "5",
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["total"] == 37
    assert [i["grid"] for i in payload["items"]] == ["overdue"] * 5
    lates = [i["days_late"] for i in payload["items"]]
    assert lates == sorted(lates, reverse=True)


def test_table_fits_80_columns(cli: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "tasks", "list", "--as-of", "26/11/2026")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "Quá hạn" in out


def test_csv_listing_has_a_header_and_one_row_per_task(
    cli: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "tasks", "list", "--as-of", "26/11/2026", "--format", "csv", "--page-size", "1000"
    )
    assert code == 0
    assert out.splitlines()[0] == "code,content,lead_agency,deadline,status,when"
    assert len(out.splitlines()) == 78


def test_show_prints_the_timeline(cli: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "tasks", "show", "NV26-0016", "--as-of", "26/11/2026", "--format", "json"
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["task"]["status"] == "Hoàn thành quá hạn"
    assert [e["kind"] for e in payload["items"]][-2:] == ["submitted", "confirmed"]


def test_transitions_from_the_command_line(
    cli: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = list_json(capsys, "--as-of", "26/11/2026", "--status", "within_term")
    item = listing["items"][0]
    task, agency = item["code"], item["lead_agency"]
    assert (
        run(
            capsys,
            "progress",
            task,
            "--text",
            "Xong",
            "--final",
            "--document",
            "9/BC",
            "--on",
            "26/11/2026",
            "--as",
            f"agency:{agency}",
        )[0]
        == 0
    )
    assert run(capsys, "confirm", task, "--on", "26/11/2026")[0] == 0
    shown = json.loads(
        run(capsys, "tasks", "show", task, "--as-of", "26/11/2026", "--format", "json")[1]
    )
    assert shown["task"]["grid"] in ("done_early", "done_on_the_day")


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "nhiem-vu.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


BAD_ROWS = {
    "unknown agency": (
        "900/TB-UBND,02/11/2026,thông báo kết luận,CT,Kết luận,Làm việc A,"
        "KHONGCO,,10 ngày làm việc\n",
        "KHONGCO",
    ),
    "deadline before issue": (
        "900/TB-UBND,02/11/2026,thông báo kết luận,CT,Kết luận,Làm việc A,SXD,,01/11/2026\n",
        "thời hạn trước ngày ban hành",
    ),
    "impossible date": (
        "900/TB-UBND,31/02/2015,thông báo kết luận,CT,Kết luận,Làm việc A,SXD,,\n",
        "31/02/2015",
    ),
    "empty content": (
        "900/TB-UBND,02/11/2026,thông báo kết luận,CT,Kết luận,,SXD,,\n",
        "thiếu nội dung nhiệm vụ",
    ),
    "good row then a coordinator equal to the lead": (
        "900/TB-UBND,02/11/2026,thông báo kết luận,CT,Kết luận,Làm việc A,SXD,,\n"
        "900/TB-UBND,02/11/2026,thông báo kết luận,CT,Kết luận,Làm việc B,STC,STC,\n",
        "dòng 3",
    ),
    "already registered number": (
        "285/TB-UBND,02/07/2026,thông báo kết luận,CT,Kết luận,Làm A,SXD,,\n",
        "285/TB-UBND",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_import_is_one_clear_line_and_writes_nothing(
    cli: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str
) -> None:
    body, expected = BAD_ROWS[case]
    before = snapshot(cli)
    code, out, err = run(capsys, "import", str(_write(tmp_path, body)))
    assert code == 2
    assert err.startswith("Lỗi: nhiem-vu.csv: dòng ")
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out
    assert snapshot(cli) == before


def test_a_20_mb_cell_is_refused_quickly_without_writing(
    cli: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    huge = "x" * (20 * 1024 * 1024)
    path = _write(tmp_path, f"900/TB-UBND,02/11/2026,chỉ thị,CT,Kết luận,{huge},SXD,,\n")
    before = snapshot(cli)
    code, _, err = run(capsys, "import", str(path))
    assert code == 2
    assert "dòng 2" in err
    assert len(err) < 400
    assert snapshot(cli) == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("confirm", "{open}"), "không thể xác nhận hoàn thành"),
        (
            ("extend", "request", "{done}", "--to", "31/12/2026", "--reason", "Chậm"),
            "không thể đề nghị gia hạn",
        ),
        (("ack", "NV99-9999"), "không có nhiệm vụ mã"),
        (("ack", "{open}", "--on", "31/02/2026"), "31/02/2026"),
        (("ack", "{open}", "--as", "agency:STC"), "không có quyền"),
    ],
)
def test_refused_transitions_exit_non_zero_and_change_nothing(
    cli: Runtime, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expected: str
) -> None:
    listing = list_json(capsys, "--as-of", "26/11/2026", "--page-size", "1000")["items"]
    unacknowledged = next(
        i["code"] for i in listing if i["state"] == "assigned" and i["lead_agency"] != "STC"
    )
    done = next(i["code"] for i in listing if i["state"] == "confirmed")
    before = snapshot(cli)
    code, _, err = run(capsys, *[a.format(open=unacknowledged, done=done) for a in args])
    assert code != 0
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    assert snapshot(cli) == before


def test_every_command_has_one_line_help_with_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import typer.main

    from directives.cli import app

    group = typer.main.get_command(app)
    commands = []

    def walk(cmd: object, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            commands.append((path, cmd))

    walk(group, [])
    assert len(commands) > 20
    for path, cmd in commands:
        help_text = getattr(cmd, "help", "") or ""
        assert "Ví dụ: directives " in help_text, path


def test_xlsx_import_with_vietnamese_headers_and_real_dates(
    rt: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import csv
    from datetime import datetime

    from openpyxl import Workbook

    set_runtime(rt)
    try:
        for kind in ("agencies", "leaders", "officers"):
            assert run(capsys, kind, "import", str(EXAMPLES / f"{kind}.csv"))[0] == 0
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        with (EXAMPLES / "directives.csv").open(encoding="utf-8") as fh:
            for i, row in enumerate(csv.reader(fh)):
                if i:  # dates as real Excel dates, as a secretariat's sheet has them
                    row[1] = datetime.strptime(row[1], "%d/%m/%Y")  # type: ignore[call-overload]
                sheet.append(row)
        path = tmp_path / "chi-dao.xlsx"
        book.save(path)
        code, out, err = run(capsys, "import", str(path))
        assert code == 0, err
        assert "25 văn bản, 77 nhiệm vụ" in out
        listing = list_json(capsys, "--as-of", "26/11/2026", "--page-size", "1")
        assert listing["total"] == 77
    finally:
        set_runtime(None)
