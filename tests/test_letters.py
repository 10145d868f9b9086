"""Reminder letters: which tasks a letter lists, the .docx read back cell by cell, the command.

The calendar of the tests, November 2026 (as of Thursday 26/11, the clock's day):
    Mon  2  3  4  5  6 | 9 10 11 12 13 | 16 17 18 19 20 | 23 [24] 25 26 | 27 | 30  1  2  3
24/11 is a public holiday (Ngày Văn hóa Việt Nam), so the week of the 23rd has 3 working days
up to the 26th. ``wd(D, 26/11)`` counts the working days after D up to the 26th:
    20/10 (Tue): 21–23/10 (3) + 26–30/10 (5) + 2–26/11 (5 + 5 + 5 + 3 = 18)  = 26
    30/10 (Fri): 2–26/11                                                     = 18
    05/11 (Thu): 6/11 (1) + 9–13 (5) + 16–20 (5) + 23, 25, 26 (3)            = 14
    11/11 (Wed): 12, 13 (2) + 16–20 (5) + 23, 25, 26 (3)                      = 10
    12/11 (Thu): 13 (1) + 5 + 3                                              = 9
    17/11 (Tue): 18–20 (3) + 3                                               = 6
Five working days after 26/11: 27/11, 30/11, 1/12, 2/12, 3/12 → the agency answers by 03/12.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocumentObject
from docx.shared import Pt
from docx.table import Table

from directives.cli import main
from directives.cli._common import set_runtime
from directives.domain import DeadlineSpec, DirectiveKind
from directives.errors import NotFound
from directives.letter_docx import render_letter
from directives.runtime import Runtime
from directives.services import intake, lifecycle
from directives.services.letters import (
    CriticalTask,
    NoCriticalTasks,
    ReminderLetter,
    Sender,
    chief_name,
    reminder_letter,
    sender,
)
from directives.settings import Settings
from tests.builders import OFFICE, issue, seed_registry

AS_OF = date(2026, 11, 26)
OFFICE_NAME = "Văn phòng UBND tỉnh Bình An"
CHIEF = "Nguyễn Văn Bình <chanhvp@binhan.gov.vn>"
LONG_CONTENT = (
    "Rà soát, hoàn thiện hồ sơ điều chỉnh quy hoạch chung đô thị Bình An đến năm 2045; "
    "phối hợp Sở Tài nguyên và Môi trường giải quyết dứt điểm vướng mắc về đất đai"
)
BINH_AN = sender(OFFICE_NAME, chief=CHIEF)


def _province(rt: Runtime) -> dict[str, str]:
    """The tasks of the module docstring; returns their codes by role."""
    with rt.unit_of_work() as s:
        seed_registry(s)
        (first,) = intake.issue_directives(
            s,
            [
                intake.NewDirective(
                    number="231/TB-UBND",
                    issued_on=date(2026, 9, 28),
                    kind=DirectiveKind.CONCLUSION_NOTICE,
                    signer="CT",
                    summary="Kết luận của Chủ tịch UBND tỉnh về công tác quy hoạch",
                    tasks=(
                        intake.NewTask(
                            content=LONG_CONTENT,
                            lead_agency="SXD",
                            deadline=DeadlineSpec(on=date(2026, 10, 20)),
                            officer="CV01",
                        ),
                    ),
                )
            ],
            actor=OFFICE,
            clock=rt.clock,
        )
        s.flush()
        late26 = first.tasks[0].code
        codes = issue(
            s,
            rt.clock,
            number="245/TB-UBND",
            issued_on=date(2026, 10, 1),
            tasks=[
                ("SXD", DeadlineSpec(on=date(2026, 10, 30))),  # 18 working days late
                ("SXD", DeadlineSpec(on=date(2026, 10, 15))),  # extended to 05/11: 14
                ("SXD", DeadlineSpec(on=date(2026, 11, 11))),  # 10: the threshold itself
                ("SXD", DeadlineSpec(on=date(2026, 11, 12))),  # 9: not yet
                ("SXD", DeadlineSpec(on=date(2026, 11, 17))),  # 6
                ("SXD", DeadlineSpec(on=date(2026, 10, 30))),  # confirmed on 23/11
                ("SXD", DeadlineSpec(on=date(2026, 10, 30))),  # final report waiting since 25/11
                ("STC", DeadlineSpec(on=date(2026, 10, 30))),  # another agency's, 18 late
                ("SKHDT", DeadlineSpec(on=date(2026, 11, 12))),  # 9: SKHDT has no critical task
            ],
        )
        roles = dict(
            zip(
                ("late18", "extended", "late10", "late9", "late6", "confirmed", "submitted"),
                codes,
                strict=False,
            )
        )
        clock = rt.clock
        lifecycle.request_extension(
            s,
            roles["extended"],
            on=date(2026, 10, 14),
            new_deadline=date(2026, 11, 5),
            reason="Chờ ý kiến của bộ",
            actor=OFFICE,
            clock=clock,
        )
        lifecycle.decide_extension(
            s, roles["extended"], on=date(2026, 10, 14), approve=True, actor=OFFICE, clock=clock
        )
        for code, day in ((roles["confirmed"], date(2026, 11, 20)), (roles["submitted"], AS_OF)):
            lifecycle.report(
                s, code, on=day, text="Đã hoàn thành", final=True, actor=OFFICE, clock=clock
            )
        lifecycle.confirm(s, roles["confirmed"], on=date(2026, 11, 23), actor=OFFICE, clock=clock)
    return {"late26": late26, **roles}


def test_letter_lists_only_open_tasks_ten_working_days_late_longest_first(rt: Runtime) -> None:
    codes = _province(rt)
    with rt.unit_of_work() as s:
        letter = reminder_letter(s, "sxd", as_of=AS_OF, sender=BINH_AN)
    assert letter.agency_code == "SXD"
    assert letter.agency_name == "Sở Xây dựng"
    assert [(t.code, t.working_days_late) for t in letter.tasks] == [
        (codes["late26"], 26),
        (codes["late18"], 18),
        (codes["extended"], 14),
        (codes["late10"], 10),
    ]
    extended = letter.tasks[2]
    assert (extended.deadline, extended.original_deadline) == (
        date(2026, 11, 5),
        date(2026, 10, 15),
    )
    assert extended.extended
    assert not letter.tasks[0].extended
    assert letter.tasks[0].leader == "Trần Quốc Bảo"  # the signer leads by default
    assert letter.tasks[1].leader == "Lê Thị Hồng"
    assert (letter.respond_within, letter.respond_by) == (5, date(2026, 12, 3))
    assert letter.threshold == 10


def test_a_letter_is_as_of_its_date(rt: Runtime) -> None:
    codes = _province(rt)
    # As of 25/11, 11/11 is 9 working days back (the 24th is a holiday); the final report of
    # 26/11 is not in yet, so that task is still waiting on the agency (ties: by code).
    with rt.unit_of_work() as s:
        letter = reminder_letter(s, "SXD", as_of=date(2026, 11, 25), sender=BINH_AN)
    assert [(t.code, t.working_days_late) for t in letter.tasks] == [
        (codes["late26"], 25),
        (codes["late18"], 17),
        (codes["submitted"], 17),
        (codes["extended"], 13),
    ]


def test_agency_without_critical_tasks_gets_no_letter(rt: Runtime) -> None:
    _province(rt)
    with rt.unit_of_work() as s, pytest.raises(NoCriticalTasks, match=r"SKHDT.*26/11/2026"):
        reminder_letter(s, "SKHDT", as_of=AS_OF, sender=BINH_AN)
    with rt.unit_of_work() as s, pytest.raises(NotFound, match="'KHONGCO'"):
        reminder_letter(s, "KHONGCO", as_of=AS_OF, sender=BINH_AN)


def _read(data: bytes) -> DocumentObject:
    return Document(BytesIO(data))


def _texts(table: Table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def test_docx_reads_back_cell_by_cell(rt: Runtime) -> None:
    codes = _province(rt)
    with rt.unit_of_work() as s:
        letter = reminder_letter(s, "SXD", as_of=AS_OF, sender=BINH_AN)
    doc = _read(render_letter(letter))
    header, tasks, closing = doc.tables
    assert _texts(header) == [
        [
            "UBND TỈNH BÌNH AN\nVĂN PHÒNG",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc",
        ],
        [
            "Số:      /VP-TH\nV/v đôn đốc thực hiện nhiệm vụ quá hạn",
            "Bình An, ngày … tháng … năm …",
        ],
    ]
    office_run = header.cell(0, 0).paragraphs[1].runs[0]
    assert office_run.bold
    assert office_run.underline
    motto = header.cell(0, 1).paragraphs
    assert motto[0].runs[0].bold
    assert motto[1].runs[0].underline
    assert header.cell(1, 1).paragraphs[0].runs[0].italic

    body = [p.text for p in doc.paragraphs if p.text]
    assert body[0] == "Kính gửi: Sở Xây dựng."
    assert "tính đến ngày 26/11/2026, Sở Xây dựng còn 04 nhiệm vụ" in body[1]
    assert all(codes[k] in body[1] for k in ("late26", "late18", "extended", "late10"))
    assert "từ 10 ngày làm việc trở lên" in body[1]
    assert "trong thời hạn 05 ngày làm việc, chậm nhất ngày 03/12/2026" in body[2]
    assert body[3].endswith("biết, thực hiện./.")

    assert _texts(tasks) == [
        [
            "STT",
            "Mã nhiệm vụ",
            "Nội dung",
            "Văn bản giao",
            "Thời hạn",
            "Số ngày làm việc quá hạn",
            "Lãnh đạo phụ trách",
        ],
        [
            "1",
            codes["late26"],
            LONG_CONTENT,
            "231/TB-UBND\nngày 28/09/2026",
            "20/10/2026",
            "26",
            "Trần Quốc Bảo",
        ],
        [
            "2",
            codes["late18"],
            "Nhiệm vụ số 1",
            "245/TB-UBND\nngày 01/10/2026",
            "30/10/2026",
            "18",
            "Lê Thị Hồng",
        ],
        [
            "3",
            codes["extended"],
            "Nhiệm vụ số 2",
            "245/TB-UBND\nngày 01/10/2026",
            "05/11/2026\n(gia hạn từ 15/10/2026)",
            "14",
            "Lê Thị Hồng",
        ],
        [
            "4",
            codes["late10"],
            "Nhiệm vụ số 3",
            "245/TB-UBND\nngày 01/10/2026",
            "11/11/2026",
            "10",
            "Lê Thị Hồng",
        ],
    ]
    left, right = closing.row_cells(0)
    assert left.text == (
        "Nơi nhận:\n- Như trên;\n- Lãnh đạo UBND tỉnh phụ trách (để b/c);\n- Lưu: VT, TH."
    )
    signature = [p.text for p in right.paragraphs if p.text]
    assert signature == ["CHÁNH VĂN PHÒNG", "Nguyễn Văn Bình"]


def test_docx_is_a4_times_new_roman_in_the_decree_sizes(rt: Runtime) -> None:
    _province(rt)
    with rt.unit_of_work() as s:
        doc = _read(render_letter(reminder_letter(s, "SXD", as_of=AS_OF, sender=BINH_AN)))
    section = doc.sections[0]
    sizes = (
        section.page_width,
        section.page_height,
        section.top_margin,
        section.bottom_margin,
        section.left_margin,
        section.right_margin,
    )
    # Stored in twentieths of a point, so millimetres come back to within a rounding.
    assert [round(x.mm) if x is not None else None for x in sizes] == [210, 297, 20, 20, 30, 20]
    normal = doc.styles["Normal"]
    assert normal.font.name == "Times New Roman"
    assert normal.font.size == Pt(14)
    runs = [r for p in doc.paragraphs for r in p.runs]
    runs += [
        r for t in doc.tables for row in t.rows for c in row.cells for p in c.paragraphs
        for r in p.runs
    ]  # fmt: skip
    assert all(r.font.name in (None, "Times New Roman") for r in runs)
    assert {r.font.size for r in runs if r.text} <= {Pt(11), Pt(12), Pt(13), Pt(14)}
    assert {r.font.size for p in doc.paragraphs for r in p.runs} == {Pt(14)}  # the letter's text
    assert all(unicodedata.is_normalized("NFC", r.text) for r in runs)


def _letter(who: Sender) -> ReminderLetter:
    task = CriticalTask(
        "NV26-0001",
        "Báo cáo tình hình giải ngân vốn đầu tư công",
        "12/CT-UBND",
        date(2026, 3, 2),
        date(2026, 3, 31),
        date(2026, 3, 31),
        12,
        "Lê Thị Hồng",
    )
    return ReminderLetter(
        date(2026, 4, 17), "STC", "Sở Tài chính", 10, (task,), 3, date(2026, 4, 22), who
    )


def test_a_deputy_signs_on_behalf_of_the_chief() -> None:
    doc = _read(render_letter(_letter(sender(OFFICE_NAME, chief=CHIEF, deputy="Hoàng Thị Mai"))))
    right = doc.tables[2].cell(0, 1)
    signature = [p.text for p in right.paragraphs if p.text]
    assert signature == ["KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG", "Hoàng Thị Mai"]
    assert all(p.runs[0].bold for p in right.paragraphs if p.text)


def test_default_office_name_leaves_the_place_to_fill_in() -> None:
    who = sender(Settings.model_fields["office_name"].default, chief=None)
    assert (who.parent, who.body, who.place, who.committee) == (
        "UBND TỈNH",
        "VĂN PHÒNG",
        "…",
        "UBND tỉnh",
    )
    doc = _read(render_letter(_letter(who)))
    assert _texts(doc.tables[0])[1][1] == "…, ngày … tháng … năm …"
    assert _texts(doc.tables[0])[0][0] == "UBND TỈNH\nVĂN PHÒNG"
    assert who.signatory.name == ""  # no office chief configured


@pytest.mark.parametrize(
    ("setting", "name"),
    [
        ("Nguyễn Văn Bình <chanhvp@binhan.gov.vn>", "Nguyễn Văn Bình"),
        ("Chánh Văn phòng <chanhvp@binhan.gov.vn>", ""),
        ("Chánh Văn phòng Nguyễn Văn Bình <chanhvp@binhan.gov.vn>", "Nguyễn Văn Bình"),
        ('"Chánh VP, Nguyễn Văn Bình" <chanhvp@binhan.gov.vn>', "Nguyễn Văn Bình"),
        ("Nguyễn Văn Bình", "Nguyễn Văn Bình"),
        ("chanhvp@binhan.gov.vn", ""),
        (None, ""),
    ],
)
def test_chief_name_is_the_person_in_the_setting(setting: str | None, name: str) -> None:
    assert chief_name(setting) == name


# The command line ---------------------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    """An empty directory for the letters (``tmp_path`` also holds the SQLite database)."""
    path = tmp_path / "out"
    path.mkdir()
    return path


@pytest.fixture
def cli(rt: Runtime) -> Iterator[dict[str, str]]:
    """The province above, behind the command line of an office with a name and a chief."""
    codes = _province(rt)
    settings = rt.settings.model_copy(update={"office_name": OFFICE_NAME, "office_chief": CHIEF})
    set_runtime(replace(rt, settings=settings))
    yield codes
    set_runtime(None)


def test_command_writes_the_letter(
    cli: dict[str, str], capsys: pytest.CaptureFixture[str], outdir: Path
) -> None:
    out = outdir / "cv-don-doc-SXD.docx"
    code, stdout, err = _run(capsys, "letter", "SXD", "--as-of", "26/11/2026", "--out", str(out))
    assert code == 0, err
    assert "Sở Xây dựng: 4 nhiệm vụ quá hạn, hạn báo cáo 03/12/2026" in stdout
    doc = Document(str(out))
    assert [row.cells[1].text for row in doc.tables[1].rows[1:]] == [
        cli["late26"],
        cli["late18"],
        cli["extended"],
        cli["late10"],
    ]
    assert doc.tables[0].cell(0, 0).text == "UBND TỈNH BÌNH AN\nVĂN PHÒNG"
    assert [p.text for p in doc.tables[2].cell(0, 1).paragraphs if p.text][-1] == "Nguyễn Văn Bình"
    assert sorted(p.name for p in outdir.iterdir()) == [out.name]  # no temporary file left


def test_command_respond_within_moves_the_answer_date(
    cli: dict[str, str], capsys: pytest.CaptureFixture[str], outdir: Path
) -> None:
    out = outdir / "cv.docx"
    code, stdout, err = _run(
        capsys, "letter", "SXD", "--as-of", "2026-11-26", "--out", str(out), "--respond-within", "2"
    )
    assert code == 0, err
    assert "hạn báo cáo 30/11/2026" in stdout  # 27/11, then Monday 30/11
    wanted = "trong thời hạn 02 ngày làm việc, chậm nhất ngày 30/11/2026"
    assert any(wanted in p.text for p in Document(str(out)).paragraphs)


def test_command_without_critical_tasks_prints_one_line_and_writes_nothing(
    cli: dict[str, str], capsys: pytest.CaptureFixture[str], outdir: Path
) -> None:
    out = outdir / "cv.docx"
    code, stdout, err = _run(capsys, "letter", "SKHDT", "--as-of", "26/11/2026", "--out", str(out))
    assert code == NoCriticalTasks.exit_code != 0
    assert stdout == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("Lỗi: đơn vị SKHDT (Sở Kế hoạch và Đầu tư) không có nhiệm vụ quá hạn")
    assert not any(outdir.iterdir())


def test_command_with_unknown_agency_says_so(
    cli: dict[str, str], capsys: pytest.CaptureFixture[str], outdir: Path
) -> None:
    out = outdir / "cv.docx"
    code, _, err = _run(capsys, "letter", "KHONGCO", "--as-of", "26/11/2026", "--out", str(out))
    assert code == NotFound.exit_code
    assert err.strip() == "Lỗi: không có đơn vị mã 'KHONGCO'"
    assert not any(outdir.iterdir())


def test_command_refuses_a_file_that_is_not_docx(
    cli: dict[str, str], capsys: pytest.CaptureFixture[str], outdir: Path
) -> None:
    code, _, err = _run(capsys, "letter", "SXD", "--out", str(outdir / "cv.pdf"))
    assert code == 2
    assert ".docx" in err
    assert not any(outdir.iterdir())
