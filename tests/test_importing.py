"""Import files: headers, cell formats, and every bad row reported with its Excel row number."""

from __future__ import annotations

import ast
import csv
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from directives import _tabular, importing
from directives.domain import AgencyKind, DeadlineSpec, DirectiveKind, LeaderRole, Priority
from directives.errors import ImportFileError, InvalidInput
from directives.importing import (
    normalize_header,
    parse_date,
    parse_deadline,
    read_agency_rows,
    read_leader_rows,
    read_officer_rows,
    read_task_rows,
)

HEADER = [
    "Số ký hiệu",
    "Ngày ban hành",
    "Loại văn bản",
    "Người ký",
    "Trích yếu",
    "Nội dung nhiệm vụ",
    "Đơn vị chủ trì",
    "Đơn vị phối hợp",
    "Thời hạn",
]
ENGLISH = [
    "directive_number",
    "directive_date",
    "directive_kind",
    "signer",
    "summary",
    "content",
    "lead_agency",
    "coordinating_agencies",
    "deadline",
]
BARE = [
    "so ky hieu",
    "NGAY BAN HANH",
    "Loai van ban",
    "Nguoi ky",
    "Trich yeu",
    "Noi dung nhiem vu",
    "Don vi chu tri",
    "Don vi phoi hop",
    "Thoi han",
]
SUMMARY = "Kết luận của Chủ tịch UBND tỉnh tại cuộc họp giao ban tháng 3"


def task(**changes: object) -> list[object]:
    """One valid task row in HEADER order, with some cells changed."""
    cells: dict[str, object] = {
        "directive_number": "245/TB-UBND",
        "directive_date": "05/03/2024",
        "directive_kind": "Thông báo kết luận",
        "signer": "CT",
        "summary": SUMMARY,
        "content": "Hoàn thành giải phóng mặt bằng dự án đường ven biển",
        "lead_agency": "SXD",
        "coordinating_agencies": "STC; SKHDT",
        "deadline": "30/06/2024",
    }
    cells.update(changes)
    return list(cells.values())


def write_csv(
    path: Path,
    header: Sequence[object],
    rows: Sequence[Sequence[object]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: Sequence[object], rows: Sequence[Sequence[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def refusal(read: Callable[[Path], object], path: Path) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        read(path)
    assert caught.value.source == path.name
    return caught.value


def problems(error: ImportFileError) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.reason) for e in error.errors]


# Headers


def test_vietnamese_headers_give_a_fully_parsed_task(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tasks.csv", HEADER, [task()])

    [row] = read_task_rows(path)

    assert row.row == 2
    assert row.directive_number == "245/TB-UBND"
    assert row.directive_date == date(2024, 3, 5)
    assert row.directive_kind is DirectiveKind.CONCLUSION_NOTICE
    assert row.signer == "CT"
    assert row.summary == SUMMARY
    assert row.lead_agency == "SXD"
    assert row.coordinating_agencies == ("STC", "SKHDT")
    assert row.deadline == DeadlineSpec(on=date(2024, 6, 30))
    assert (row.leader, row.officer, row.sector, row.source_ref, row.task_code) == (None,) * 5
    assert row.priority is Priority.NORMAL


@pytest.mark.parametrize("header", [ENGLISH, BARE], ids=["english", "no-diacritics"])
def test_english_keys_and_headers_without_diacritics_are_accepted(
    tmp_path: Path, header: list[str]
) -> None:
    path = write_csv(tmp_path / "tasks.csv", header, [task()])

    [row] = read_task_rows(path)

    assert row.directive_number == "245/TB-UBND"
    assert row.deadline.on == date(2024, 6, 30)


def test_alternative_headers_and_optional_columns_are_read(tmp_path: Path) -> None:
    header = [
        "  Số, ký hiệu ",
        "Ngày văn bản",
        "Loại văn bản",
        "Người ký",
        "Trích yếu",
        "Nội dung",
        "Cơ quan chủ trì",
        "Hạn xử lý",
        "Lãnh đạo chỉ đạo",
        "Chuyên viên",
        "Lĩnh vực",
        "Độ khẩn",
        "Trích dẫn",
        "Mã nhiệm vụ",
    ]
    cells = ["12/CT-UBND", "2024-01-15", "CT", "ct", "Trích yếu", "Nội dung", "sxd", ""]
    cells += ["pct1", "cv02", "Xây dựng", "Hoả tốc", "Mục 2.1", "ct-2024-001"]
    path = write_csv(tmp_path / "tasks.csv", header, [cells])

    [row] = read_task_rows(path)

    assert row.directive_kind is DirectiveKind.DIRECTIVE
    assert row.directive_date == date(2024, 1, 15)
    assert (row.signer, row.lead_agency, row.leader, row.officer) == ("CT", "SXD", "PCT1", "CV02")
    assert row.deadline.standing
    assert row.priority is Priority.FLASH
    assert (row.sector, row.source_ref, row.task_code) == ("Xây dựng", "Mục 2.1", "CT-2024-001")


def test_header_with_wrong_diacritics_is_an_unknown_column(tmp_path: Path) -> None:
    header = [*HEADER[:1], "Ngày bàn hành", *HEADER[2:]]
    path = write_csv(tmp_path / "tasks.csv", header, [task()])

    error = refusal(read_task_rows, path)

    assert problems(error) == [
        (1, "Ngày bàn hành", "cột không được hỗ trợ"),
        (1, "Ngày ban hành", "thiếu cột bắt buộc"),
    ]


def test_unknown_column_is_refused_with_its_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tasks.csv", [*HEADER, "Ghi chú"], [[*task(), "x"]])

    error = refusal(read_task_rows, path)

    [problem] = error.errors
    assert (problem.row, problem.column, problem.value) == (1, "Ghi chú", "Ghi chú")
    assert problem.reason == "cột không được hỗ trợ"


def test_missing_required_column_is_refused(tmp_path: Path) -> None:
    header = [h for h in HEADER if h != "Nội dung nhiệm vụ"]
    rows = [[c for h, c in zip(HEADER, task(), strict=True) if h != "Nội dung nhiệm vụ"]]
    path = write_csv(tmp_path / "tasks.csv", header, rows)

    error = refusal(read_task_rows, path)

    assert problems(error) == [(1, "Nội dung nhiệm vụ", "thiếu cột bắt buộc")]


def test_the_same_column_twice_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tasks.csv", [*HEADER, "Nội dung"], [[*task(), "x"]])

    error = refusal(read_task_rows, path)

    [(row, column, reason)] = problems(error)
    assert (row, column) == (1, "Nội dung")
    assert reason.startswith("cột bị trùng")


def test_optional_columns_may_be_absent(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tasks.csv", HEADER[:7], [task()[:7]])

    [row] = read_task_rows(path)

    assert row.coordinating_agencies == ()
    assert row.deadline == DeadlineSpec()


def test_normalize_header_ignores_case_spacing_and_unicode_form() -> None:
    decomposed = "Nga\u0300y  ban\nha\u0300nh "

    assert normalize_header(decomposed) == normalize_header("NGÀY BAN HÀNH") == "ngày ban hành"


# Reading files


def test_csv_with_utf8_bom_is_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tasks.csv", HEADER, [task()], encoding="utf-8-sig")

    [row] = read_task_rows(path)

    assert row.directive_number == "245/TB-UBND"


def test_semicolon_csv_is_read_even_with_a_comma_in_a_header(tmp_path: Path) -> None:
    header = ["Số, ký hiệu", *HEADER[1:]]
    path = write_csv(tmp_path / "tasks.csv", header, [task()], delimiter=";")

    [row] = read_task_rows(path)

    assert row.coordinating_agencies == ("STC", "SKHDT")


def test_tab_separated_csv_is_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tasks.csv", HEADER, [task()], delimiter="\t")

    assert read_task_rows(path)[0].lead_agency == "SXD"


def test_cp1258_csv_is_read_and_recomposed(tmp_path: Path) -> None:
    path = tmp_path / "tasks.csv"
    header = ",".join(ENGLISH[:7]).encode("ascii")
    # "Về việc": cp1258 writes ê and then a combining tone mark.
    summary = b"V\xea\xcc vi\xea\xf2c"
    row = b"245/TB-UBND,05/03/2024,TB,CT," + summary + b",N\xf4i dung,SXD"
    path.write_bytes(header + b"\r\n" + row + b"\r\n")

    [task_row] = read_task_rows(path)

    assert task_row.summary == "Về việc"


def test_file_neither_utf8_nor_cp1258_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tasks.csv"
    path.write_bytes(",".join(ENGLISH).encode() + b"\n\x81\x8d\n")

    with pytest.raises(InvalidInput, match="tệp không phải UTF-8"):
        read_task_rows(path)


def test_utf16_csv_from_excel_unicode_text_is_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tasks.csv", HEADER, [task()], delimiter="\t", encoding="utf-16")

    assert read_task_rows(path)[0].summary == SUMMARY


def test_multiline_cells_keep_one_row_number_per_record(tmp_path: Path) -> None:
    rows = [task(content="Dòng một\r\nDòng hai"), task(directive_date="1/13/2024")]
    path = write_csv(tmp_path / "tasks.csv", HEADER, rows)

    assert problems(refusal(read_task_rows, path)) == [(3, "Ngày ban hành", "ngày không hợp lệ")]


def test_missing_file_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="không tìm thấy tệp"):
        read_task_rows(tmp_path / "absent.csv")


@pytest.mark.parametrize("name", ["tasks.xls", "tasks.txt", "tasks"])
def test_other_file_kinds_are_refused_by_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("x")

    with pytest.raises(InvalidInput, match=re.escape(name)):
        read_task_rows(path)


def test_file_over_60_mb_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "tasks.csv"
    with path.open("wb") as out:
        out.truncate(61 * 1024 * 1024)  # sparse: no 61 MB written to disk

    with pytest.raises(InvalidInput, match="quá lớn"):
        read_task_rows(path)


def test_broken_xlsx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tasks.xlsx"
    path.write_bytes(b"not a zip")

    with pytest.raises(InvalidInput, match=r"tasks\.xlsx"):
        read_task_rows(path)


def test_xlsx_reads_date_cells_and_serial_numbers(tmp_path: Path) -> None:
    rows = [
        task(directive_date=date(2024, 3, 5), deadline=datetime(2024, 6, 30, 0, 0)),
        task(directive_number="246/TB-UBND", directive_date=45356, deadline=45473.0),
        task(directive_number="247/TB-UBND", deadline="10 ngày làm việc"),
    ]
    path = write_xlsx(tmp_path / "tasks.xlsx", HEADER, rows)

    first, second, third = read_task_rows(path)

    assert first.directive_date == second.directive_date == date(2024, 3, 5)
    assert first.deadline.on == second.deadline.on == date(2024, 6, 30)
    assert third.deadline == DeadlineSpec(working_days=10)


def test_xlsx_number_in_a_code_column_reads_as_its_digits(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "tasks.xlsx", HEADER, [task(lead_agency=101)])

    assert read_task_rows(path)[0].lead_agency == "101"


def test_equal_looking_cells_of_different_types_are_read_each_as_itself(tmp_path: Path) -> None:
    rows = [
        task(directive_number=f"{n}/TB-UBND", lead_agency=lead, coordinating_agencies="")
        for n, lead in ((1, True), (2, 1), (3, "1"), (4, True))
    ]
    path = write_xlsx(tmp_path / "tasks.xlsx", HEADER, rows)

    assert [r.lead_agency for r in read_task_rows(path)] == ["TRUE", "1", "1", "TRUE"]


def test_the_same_bad_cell_is_reported_on_every_row_that_has_it(tmp_path: Path) -> None:
    rows = [
        task(directive_number=f"{n}/TB-UBND", directive_date="31/02/2024", deadline="sớm")
        for n in (1, 2, 3)
    ]
    path = write_csv(tmp_path / "tasks.csv", HEADER, rows)

    found = problems(refusal(read_task_rows, path))

    assert [(row, column) for row, column, _ in found] == [
        (row, column) for row in (2, 3, 4) for column in ("Ngày ban hành", "Thời hạn")
    ]
    assert len({reason for _, column, reason in found if column == "Thời hạn"}) == 1


def test_serial_number_written_as_text_is_not_a_date(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tasks.csv", HEADER, [task(directive_date="45356")])

    error = refusal(read_task_rows, path)

    [(row, column, reason)] = problems(error)
    assert (row, column) == (2, "Ngày ban hành")
    assert reason.startswith("ngày không hợp lệ")


def test_xlsx_row_numbers_count_leading_blank_rows(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for column, header in enumerate(HEADER, start=2):
        sheet.cell(row=3, column=column, value=header)
    for column, value in enumerate(task(content=""), start=2):
        sheet.cell(row=5, column=column, value=value)
    workbook.save(tmp_path / "tasks.xlsx")

    error = refusal(read_task_rows, tmp_path / "tasks.xlsx")

    assert problems(error) == [(5, "Nội dung nhiệm vụ", "thiếu nội dung nhiệm vụ")]


# Deadlines


@pytest.mark.parametrize(
    ("text", "days"),
    [("10 ngày làm việc", 10), ("5 ngày", 5), ("7 NGLV", 7), ("3 working days", 3)],
)
def test_deadline_in_working_days(tmp_path: Path, text: str, days: int) -> None:
    path = write_csv(tmp_path / "tasks.csv", HEADER, [task(deadline=text)])

    assert read_task_rows(path)[0].deadline == DeadlineSpec(working_days=days)


@pytest.mark.parametrize("text", ["", "  ", "Thường xuyên", "thuong xuyen"])
def test_blank_or_standing_deadline_is_a_standing_task(tmp_path: Path, text: str) -> None:
    path = write_csv(tmp_path / "tasks.csv", HEADER, [task(deadline=text)])

    deadline = read_task_rows(path)[0].deadline

    assert deadline == DeadlineSpec()
    assert deadline.standing


def test_deadline_before_issue_date_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tasks.csv", HEADER, [task(deadline="04/03/2024")])

    error = refusal(read_task_rows, path)

    assert problems(error) == [(2, "Thời hạn", "thời hạn trước ngày ban hành")]


@pytest.mark.parametrize("text", ["0 ngày làm việc", "3651 ngày", "sớm", "quý II"])
def test_unreadable_deadline_is_refused(tmp_path: Path, text: str) -> None:
    path = write_csv(tmp_path / "tasks.csv", HEADER, [task(deadline=text)])

    [(row, column, _)] = problems(refusal(read_task_rows, path))

    assert (row, column) == (2, "Thời hạn")


def test_parse_deadline_checks_against_the_issue_date() -> None:
    issued = date(2024, 3, 5)

    assert parse_deadline("05/03/2024", issued) == DeadlineSpec(on=issued)
    assert parse_deadline("15 ngày làm việc", issued) == DeadlineSpec(working_days=15)
    with pytest.raises(ValueError, match="thời hạn trước ngày ban hành"):
        parse_deadline("2024-03-04", issued)


# Dates


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_parse_date_reads_back_dd_mm_yyyy_iso_and_d_m_yyyy(day: date) -> None:
    assert parse_date(day.strftime("%d/%m/%Y")) == day
    assert parse_date(day.isoformat()) == day
    assert parse_date(f" {day.day}/{day.month}/{day.year} ") == day


def test_impossible_date_is_reported(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tasks.csv", HEADER, [task(directive_date="31/02/2015")])

    error = refusal(read_task_rows, path)

    assert problems(error) == [(2, "Ngày ban hành", "ngày không hợp lệ")]
    assert error.errors[0].value == "31/02/2015"


@pytest.mark.parametrize("value", ["01/01/1989", "2101-01-01", "31/02/2015", "5.3.24", True, 0])
def test_parse_date_refuses_out_of_range_or_malformed_values(value: object) -> None:
    with pytest.raises(ValueError, match=r"ngày|năm"):
        parse_date(value)


def test_parse_date_reads_excel_serials_and_date_cells() -> None:
    assert parse_date(45356) == parse_date(45356.75) == date(2024, 3, 5)
    assert parse_date(datetime(2024, 3, 5, 9, 30)) == date(2024, 3, 5)


# Row errors


def test_empty_content_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tasks.csv", HEADER, [task(content="   ")])

    error = refusal(read_task_rows, path)

    assert problems(error) == [(2, "Nội dung nhiệm vụ", "thiếu nội dung nhiệm vụ")]


def test_every_bad_row_is_reported_with_excel_row_numbers(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        task(),
        task(directive_date="31/02/2015"),
        [""] * len(HEADER),
        task(directive_kind="nghị quyết", content=""),
        task(directive_number="245 TB-UBND", deadline="30/06/2024"),
    ]
    path = write_csv(tmp_path / "tasks.csv", HEADER, rows)

    error = refusal(read_task_rows, path)

    assert [(e.row, e.column) for e in error.errors] == [
        (3, "Ngày ban hành"),
        (5, "Loại văn bản"),
        (5, "Nội dung nhiệm vụ"),
        (6, "Số ký hiệu"),
    ]
    assert error.errors[3].reason == "số ký hiệu không hợp lệ"
    assert "không có dữ liệu nào được ghi" in str(error)


def test_blank_rows_are_skipped_without_shifting_row_numbers(tmp_path: Path) -> None:
    rows: list[list[object]] = [[], task(), ["", " "], task(directive_number="246/TB-UBND")]
    path = write_csv(tmp_path / "tasks.csv", HEADER, rows)

    assert [r.row for r in read_task_rows(path)] == [3, 5]


def test_cell_outside_the_headed_columns_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tasks.csv", HEADER, [[*task(), "", "lạc cột"]])

    error = refusal(read_task_rows, path)

    assert problems(error) == [(2, "cột K", "ô có dữ liệu nhưng cột không có tiêu đề")]


def test_twenty_megabyte_cell_gives_one_short_error_quickly(tmp_path: Path) -> None:
    huge = "A" * 20_000_000
    path = write_csv(tmp_path / "tasks.csv", HEADER, [task(summary=huge)])
    started = time.perf_counter()

    error = refusal(read_task_rows, path)

    assert time.perf_counter() - started < 5
    [problem] = error.errors
    assert (problem.row, problem.column) == (2, "Trích yếu")
    assert problem.reason == "ô quá dài (20.000.000 ký tự, tối đa 10.000)"
    assert len(str(problem.value)) < 200
    assert len(str(error)) < 500


def test_errors_stop_at_one_thousand(tmp_path: Path) -> None:
    rows = [task(content="") for _ in range(1500)]
    path = write_csv(tmp_path / "tasks.csv", HEADER, rows)

    error = refusal(read_task_rows, path)

    assert len(error.errors) == 1000
    assert error.errors[-1].row == 1001


@pytest.mark.parametrize("code", ["ab", "AB CD", "X" * 21, "Đ-01"])
def test_malformed_task_code_is_refused(tmp_path: Path, code: str) -> None:
    path = write_csv(tmp_path / "t.csv", [*HEADER, "Mã nhiệm vụ"], [[*task(), code]])

    [(row, column, reason)] = problems(refusal(read_task_rows, path))

    assert (row, column) == (2, "Mã nhiệm vụ")
    assert reason.startswith("mã nhiệm vụ")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Chỉ thị", DirectiveKind.DIRECTIVE),
        ("cong van", DirectiveKind.OFFICIAL_LETTER),
        ("QĐ", DirectiveKind.DECISION),
        ("qd", DirectiveKind.DECISION),
        ("YKCĐ", DirectiveKind.INSTRUCTION),
        ("Ý kiến chỉ đạo", DirectiveKind.INSTRUCTION),
        ("conclusion_notice", DirectiveKind.CONCLUSION_NOTICE),
    ],
)
def test_directive_kind_labels_and_abbreviations(
    tmp_path: Path, text: str, kind: DirectiveKind
) -> None:
    path = write_csv(tmp_path / "tasks.csv", HEADER, [task(directive_kind=text)])

    assert read_task_rows(path)[0].directive_kind is kind


# Cross-row and cross-column rules


def test_rows_of_one_directive_must_agree_on_its_details(tmp_path: Path) -> None:
    rows = [
        task(),
        task(content="Nhiệm vụ thứ hai", deadline=""),
        task(directive_date="06/03/2024", signer="PCT1", summary=f"  {SUMMARY} "),
        task(directive_kind="Công văn"),
    ]
    path = write_csv(tmp_path / "tasks.csv", HEADER, rows)

    error = refusal(read_task_rows, path)

    assert problems(error) == [
        (4, "Ngày ban hành", "khác với dòng 2 cùng số ký hiệu"),
        (4, "Người ký", "khác với dòng 2 cùng số ký hiệu"),
        (5, "Loại văn bản", "khác với dòng 2 cùng số ký hiệu"),
    ]


def test_same_number_in_another_year_is_another_directive(tmp_path: Path) -> None:
    rows = [task(), task(directive_date="10/01/2025", summary="Khác", deadline="")]
    path = write_csv(tmp_path / "tasks.csv", HEADER, rows)

    assert len(read_task_rows(path)) == 2


def test_coordinating_agencies_are_deduplicated_in_order(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", HEADER, [task(coordinating_agencies="stc, SKHDT;STC")])

    assert read_task_rows(path)[0].coordinating_agencies == ("STC", "SKHDT")


def test_lead_agency_cannot_also_coordinate(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", HEADER, [task(coordinating_agencies="STC, sxd")])

    [(row, column, reason)] = problems(refusal(read_task_rows, path))

    assert (row, column) == (2, "Đơn vị phối hợp")
    assert "SXD" in reason


# Agencies

AGENCY_HEADER = ["Mã đơn vị", "Tên đơn vị", "Loại", "Email đầu mối", "Thủ trưởng", "Hoạt động"]


def test_agency_rows_are_read(tmp_path: Path) -> None:
    rows = [
        ["sxd", "Sở Xây dựng", "Sở", "vt@sxd.gov.vn; VT@SXD.gov.vn;vt@sxd.gov.vn", "Ông A", "có"],
        ["UBND-HUYEN1", "UBND huyện Một", "huyện", "vp@h1.gov.vn", "", "không"],
        ["BQL", "Ban quản lý", "", "bql@x.vn", "", ""],
    ]
    path = write_csv(tmp_path / "agencies.csv", AGENCY_HEADER, rows)

    sxd, district, board = read_agency_rows(path)

    assert (sxd.code, sxd.kind, sxd.head_name) == ("SXD", AgencyKind.DEPARTMENT, "Ông A")
    assert sxd.active
    assert sxd.focal_emails == ("vt@sxd.gov.vn",)
    assert (district.kind, district.head_name, district.active) == (
        AgencyKind.DISTRICT,
        None,
        False,
    )
    assert (board.kind, board.active, board.head_email) == (AgencyKind.OTHER, True, None)


@pytest.mark.parametrize(
    "email",
    ["a@b.c\r\nBcc: x@y.z", "a b@c.vn", "<a@b.vn>", "Văn Thư <a@b.vn>", "ab.vn", "a@b", "a@@b.vn"],
)
def test_bad_emails_are_refused(tmp_path: Path, email: str) -> None:
    header = [*AGENCY_HEADER[:4], "Email thủ trưởng"]
    rows = [["SXD", "Sở Xây dựng", "", email, ""], ["STC", "Sở Tài chính", "", "a@b.vn", email]]
    path = write_csv(tmp_path / "agencies.csv", header, rows)

    error = refusal(read_agency_rows, path)

    assert [(e.row, e.column) for e in error.errors] == [
        (2, "Email đầu mối"),
        (3, "Email thủ trưởng"),
    ]
    assert all("email" in e.reason and "\n" not in e.reason for e in error.errors)


def test_duplicate_agency_codes_are_reported_on_the_later_row(tmp_path: Path) -> None:
    rows = [["SXD", "Sở Xây dựng", "", "a@b.vn"], ["STC", "Sở Tài chính", "", "c@d.vn"]]
    rows.append(["sxd", "Sở Xây dựng (trùng)", "", "e@f.vn"])
    path = write_csv(tmp_path / "agencies.csv", AGENCY_HEADER[:4], rows)

    error = refusal(read_agency_rows, path)

    assert problems(error) == [(4, "Mã đơn vị", "mã SXD trùng với dòng 2")]


def test_agency_without_a_focal_email_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", AGENCY_HEADER[:4], [["SXD", "Sở Xây dựng", "", " ; "]])

    [(row, column, reason)] = problems(refusal(read_agency_rows, path))

    assert (row, column, reason) == (2, "Email đầu mối", "thiếu email")


# Leaders and officers

LEADER_HEADER = ["Mã", "Họ và tên", "Chức danh", "Email", "Lĩnh vực phụ trách"]


def test_leader_role_follows_the_title_when_not_given(tmp_path: Path) -> None:
    rows = [
        ["CT", "Nguyễn Văn A", "Chủ tịch UBND tỉnh", "ct@x.vn", ""],
        ["PCT1", "Trần Thị B", "Phó Chủ tịch UBND tỉnh", "b@x.vn", "Xây dựng; Giao thông;"],
    ]
    path = write_csv(tmp_path / "leaders.csv", LEADER_HEADER, rows)

    chairman, vice = read_leader_rows(path)

    assert (chairman.role, chairman.sectors) == (LeaderRole.CHAIRMAN, ())
    assert (vice.role, vice.sectors) == (LeaderRole.VICE_CHAIRMAN, ("Xây dựng", "Giao thông"))


def test_two_chairmen_are_refused(tmp_path: Path) -> None:
    header = [*LEADER_HEADER, "Vai trò"]
    rows = [
        ["CT", "Nguyễn Văn A", "Chủ tịch UBND tỉnh", "a@x.vn", "", ""],
        ["PCT1", "Trần Thị B", "Phó Chủ tịch UBND tỉnh", "b@x.vn", "", "chủ tịch"],
        ["CT2", "Lê Văn C", "Chủ tịch", "c@x.vn", "", ""],
    ]
    path = write_csv(tmp_path / "leaders.csv", header, rows)

    error = refusal(read_leader_rows, path)

    assert [(e.row, e.column) for e in error.errors] == [(3, "Vai trò"), (4, "Chức danh")]
    assert all("dòng 2" in e.reason for e in error.errors)


def test_officers_are_read_and_need_an_email(tmp_path: Path) -> None:
    header = ["Mã", "Họ tên", "Email"]
    ok = write_csv(tmp_path / "ok.csv", header, [["cv01", "Phạm D", "d@x.vn"]])
    bad = write_csv(tmp_path / "bad.csv", header, [["CV01", "Phạm D", ""]])

    assert [(o.row, o.code, o.email) for o in read_officer_rows(ok)] == [(2, "CV01", "d@x.vn")]
    assert problems(refusal(read_officer_rows, bad)) == [(2, "Email", "thiếu email")]


def test_import_modules_use_only_the_standard_library_calamine_and_the_domain() -> None:
    allowed = {
        "python_calamine",
        "directives.errors",
        "directives.filecheck",  # standard library only: the guard against bombs
        "directives.gcpause",  # standard library only: the collector paused while reading
        "directives.domain",
        "directives._tabular",
        "directives.recurrence",
        "directives.programme",  # a pure rule module: the item kinds a programme file names
    }
    for module in (importing, _tabular):
        tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                stdlib = name.split(".")[0] in sys.stdlib_module_names
                assert stdlib or name in allowed, f"{module.__name__} imports {name}"


def test_rows_stopping_short_read_their_missing_optional_cells_as_blank(tmp_path: Path) -> None:
    header = [*HEADER, "Lĩnh vực", "Độ khẩn", "Nguồn"]
    rows = [task(), [*task(), "Xây dựng", "khẩn"], [*task(), "", "", "Mục 3"]]
    [first, second, third] = read_task_rows(write_csv(tmp_path / "short.csv", header, rows))
    assert (first.sector, first.priority, first.source_ref) == (None, Priority.NORMAL, None)
    assert (second.sector, second.priority, second.source_ref) == (
        "Xây dựng",
        Priority.URGENT,
        None,
    )
    assert (third.sector, third.priority, third.source_ref) == (None, Priority.NORMAL, "Mục 3")
    assert [r.row for r in (first, second, third)] == [2, 3, 4]


def test_a_file_of_only_a_header_has_no_rows(tmp_path: Path) -> None:
    assert read_task_rows(write_csv(tmp_path / "empty.csv", HEADER, [])) == []
