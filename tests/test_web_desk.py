"""The secretariat's desk: the directive form, file import, decisions on tasks, the admin pages."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import func, select

from directives.db.tables import AuditEntry, CalendarOverride, Directive, Task, User
from directives.runtime import Runtime
from directives.services import lifecycle
from directives.services.calendar import load_calendar
from directives.workflow import Actor, Role
from tests.test_web import ACCOUNTS, MATRIX_ROLES, audit_actions, client, csrf_of, seed, signed_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

STC = Actor(Role.AGENCY, "stc", agency="STC")
SXD = Actor(Role.AGENCY, "sxd", agency="SXD")


def _post(browser: TestClient, path: str, data: Any = None, **kwargs: Any) -> httpx.Response:
    """Post a form with the session's CSRF token."""
    pairs = list(data.items()) if isinstance(data, dict) else list(data or [])
    form: dict[str, list[str]] = {"csrf_token": [csrf_of(browser, "/tasks")]}
    for key, value in pairs:
        form.setdefault(key, []).append(value)
    return browser.post(path, data=form, **kwargs)


def _status(browser: TestClient, path: str, data: Any = None) -> int:
    return _post(browser, path, data).status_code


def _count(rt: Runtime, model: type[Any]) -> int:
    with rt.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


DIRECTIVE = {
    "number": "245/TB-UBND",
    "issued_on": "2026-11-20",
    "kind": "conclusion_notice",
    "signer": "CT",
    "summary": "Kết luận của Chủ tịch UBND tỉnh về giải ngân vốn đầu tư công",
    "officer": "CV01",
    "rows": "2",
}


def test_directive_form_stores_two_tasks_one_with_n_working_days(rt: Runtime) -> None:
    seed(rt)
    office = signed_in(rt, "vanphong")
    page = office.get("/directives/new")
    assert 'hx-get="/directives/new/deadline?row=2"' in page.text
    shown = office.get(
        "/directives/new/deadline", params={"issued_on": "2026-11-20", "row": "2", "days_2": "5"}
    )
    with rt.unit_of_work() as s:
        expected = load_calendar(s).add(date(2026, 11, 20), 5)
    assert f"{expected:%d/%m/%Y}" in shown.text
    assert "<html" not in shown.text
    assert "phải từ 1" in office.get("/directives/new/deadline?row=1&days_1=0").text
    form = [*DIRECTIVE.items(), ("content_1", "Rà soát danh mục dự án chậm giải ngân"),
            ("lead_1", "SKHDT"), ("coord_1", "STC"), ("coord_1", "SXD"), ("mode_1", "date"),
            ("on_1", "2026-12-15"), ("content_2", "Báo cáo tình hình giải ngân"), ("lead_2", "STC"),
            ("mode_2", "days"), ("days_2", "5"), ("sector_2", "Tài chính")]  # fmt: skip
    r = _post(office, "/directives/new", form)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/tasks?status=all&q=245")
    landing = office.get(r.headers["location"])
    assert "Đã lưu văn bản 245/TB-UBND với 2 nhiệm vụ" in landing.text
    with rt.unit_of_work() as s:
        d = s.scalar(select(Directive).where(Directive.number == "245/TB-UBND"))
        assert d is not None
        first, second = sorted(d.tasks, key=lambda t: t.position)
        assert (first.lead_agency.code, sorted(a.code for a in first.coordinators)) == (
            "SKHDT",
            ["STC", "SXD"],
        )
        assert first.deadline == date(2026, 12, 15)
        assert (second.deadline_working_days, second.deadline) == (5, expected)
        assert (second.sector, second.officer.code if second.officer else None) == (
            "Tài chính",
            "CV01",
        )
    assert ("vanphong", "directive_created") in [(u, a) for u, a, _ in audit_actions(rt)]


def test_a_bad_directive_form_shows_every_error_by_its_field_and_stores_nothing(
    rt: Runtime,
) -> None:
    seed(rt)
    office = signed_in(rt, "vanphong")
    tasks_before = _count(rt, Task)
    bad = {**DIRECTIVE, "number": "không số", "issued_on": "2027-01-05", "summary": "",
           "content_1": "Việc thứ nhất", "lead_1": "", "mode_1": "days", "days_1": "0",
           "content_2": "", "lead_2": "STC"}  # fmt: skip
    r = _post(office, "/directives/new", bad)
    assert r.status_code == 422
    for message in ("Số ký hiệu không hợp lệ", "Ngày ban hành ở tương lai", "Cần nhập trích yếu",
                    "Chọn đơn vị chủ trì", "Số ngày làm việc phải từ 1",
                    "Cần nhập nội dung"):  # fmt: skip
        assert message in r.text, message
    assert "Việc thứ nhất" in r.text  # what was typed is kept
    # Values the form cannot check: the service reports them, still nothing is stored.
    unknown = {**DIRECTIVE, "number": "101/TB-UBND", "issued_on": "2026-10-01",
               "content_1": "Việc", "lead_1": "KHONGCO", "mode_1": "none"}  # fmt: skip
    r = _post(office, "/directives/new", unknown)
    assert r.status_code == 422
    assert "Văn bản số 101/TB-UBND năm 2026 đã có." in r.text
    assert "Không có đơn vị với mã này." in r.text
    more = _post(office, "/directives/new", {**DIRECTIVE, "action": "add_row"})
    assert (more.status_code, 'name="content_3"' in more.text) == (200, True)
    assert _count(rt, Task) == tasks_before
    assert _count(rt, Directive) == 1
    assert [a for _, a, _ in audit_actions(rt) if a != "login"] == []


HEADER = (
    "Số ký hiệu,Ngày ban hành,Loại văn bản,Người ký,Trích yếu,Nội dung nhiệm vụ,"
    "Đơn vị chủ trì,Thời hạn\n"
)


def test_import_shows_every_bad_row_and_stores_nothing(rt: Runtime) -> None:
    seed(rt)
    office = signed_in(rt, "vanphong")
    before = _count(rt, Task)
    bad = (
        HEADER + "12/TB-UBND,02/11/2026,tb,CT,Kết luận,Việc một,SXD,10 ngày làm việc\n"
        "12/TB-UBND,31/02/2026,tb,CT,Kết luận,Việc hai,STC,15/12/2026\n"
        "13/TB-UBND,02/11/2026,tb,CT,Kết luận,,STC,sớm\n"
    )
    r = _post(office, "/import", files={"file": ("giao-viec.csv", bad.encode(), "text/csv")})
    assert r.status_code == 422
    found = re.findall(
        r'<td data-label="Dòng">(\d+)</td>\s*<td data-label="Cột">([^<]+)</td>', r.text
    )
    assert ("3", "Ngày ban hành") in found
    assert ("4", "Nội dung nhiệm vụ") in found
    assert ("4", "Thời hạn") in found
    assert "ngày không hợp lệ" in r.text
    assert "không có dữ liệu nào được ghi" in r.text
    assert _count(rt, Task) == before
    wrong = _post(office, "/import", files={"file": ("giao-viec.txt", b"x", "text/plain")})
    assert (wrong.status_code, "chỉ nhận tệp .csv hoặc .xlsx" in wrong.text) == (422, True)
    good = HEADER + "12/TB-UBND,02/11/2026,tb,CT,Kết luận,Việc một,SXD,10 ngày làm việc\n"
    r = _post(office, "/import", files={"file": ("giao-viec.csv", good.encode(), "text/csv")})
    assert r.status_code == 303
    assert "Đã nhập 1 văn bản, 1 nhiệm vụ" in office.get(r.headers["location"]).text
    assert _count(rt, Task) == before + 1


def test_office_returns_then_confirms_and_decides_an_extension_on_a_leaders_behalf(
    rt: Runtime,
) -> None:
    w = seed(rt)
    day = date(2026, 11, 26)
    with rt.unit_of_work() as s:
        lifecycle.report(s, w.overdue, on=day, text="Xong", final=True, actor=SXD, clock=rt.clock)
        lifecycle.request_extension(
            s,
            w.due_soon,
            on=day,
            new_deadline=date(2026, 12, 10),
            reason="Chờ số liệu của Kho bạc",
            actor=STC,
            clock=rt.clock,
        )
    office = signed_in(rt, "vanphong")
    queue = office.get("/desk").text
    assert f'href="/desk/tasks/{w.overdue}"' in queue
    assert f'href="/desk/tasks/{w.due_soon}#gia-han"' in queue
    opened = office.get("/desk/open", params={"code": w.overdue.lower()})
    assert opened.headers["location"] == f"/desk/tasks/{w.overdue}"
    r = _post(office, f"/desk/tasks/{w.overdue}/return", {"reason": " "})
    assert (r.status_code, "Cần nêu lý do trả lại báo cáo" in r.text) == (422, True)
    assert _status(office, f"/desk/tasks/{w.overdue}/return", {"reason": "Thiếu phụ lục"}) == 303
    with rt.unit_of_work() as s:
        assert s.scalar(select(Task.state).where(Task.code == w.overdue)) == "returned"
        lifecycle.report(
            s, w.overdue, on=day, text="Bổ sung", final=True, actor=SXD, clock=rt.clock
        )
    assert _post(office, f"/desk/tasks/{w.overdue}/confirm").status_code == 303
    early = {"decision": "approve", "deadline": "2026-11-27", "leader": "PCT1"}
    r = _post(office, f"/desk/tasks/{w.due_soon}/extension", early)
    assert (r.status_code, "không sau thời hạn hiện tại" in r.text) == (422, True)
    data = {"decision": "approve", "deadline": "2026-12-07", "leader": "PCT1", "note": "Điện thoại"}
    r = _post(office, f"/desk/tasks/{w.due_soon}/extension", data)
    assert r.status_code == 303
    page = office.get(r.headers["location"]).text
    assert "Đã ghi ý kiến đồng ý gia hạn đến 07/12/2026." in page
    assert "Thay mặt Phó Chủ tịch UBND tỉnh Lê Thị Hồng: Điện thoại" in page
    assert "(ban đầu 30/11/2026)" in page
    assert _status(office, f"/desk/tasks/{w.within_term}/pause", {"reason": "Chờ quy hoạch"}) == 303
    assert _post(office, f"/desk/tasks/{w.within_term}/resume").status_code == 303
    assert _status(office, f"/desk/tasks/{w.within_term}/cancel", {"reason": "Thôi"}) == 303
    assert _post(office, f"/desk/tasks/{w.within_term}/resume").status_code == 409
    actions = [a for u, a, _ in audit_actions(rt) if u == "vanphong" and a != "login"]
    assert actions == ["return_report", "confirm_report", "extension_approved", "pause", "resume",
                       "cancel"]  # fmt: skip


def test_admin_pages_edit_the_calendar_agencies_leaders_and_users(rt: Runtime) -> None:
    w = seed(rt)
    office = signed_in(rt, "vanphong")
    r = _post(office, "/admin/calendar", {"day": "2026-11-30", "working": "0", "note": "QĐ 9/QĐ"})
    assert r.status_code == 303
    assert "1 nhiệm vụ đổi thời hạn" in office.get(r.headers["location"]).text  # the STC task
    with rt.unit_of_work() as s:
        assert s.scalar(select(Task.deadline).where(Task.code == w.due_soon)) == date(2026, 12, 1)
    assert _post(office, "/admin/calendar", {"day": "31/02/2026"}).status_code == 422
    assert _post(office, "/admin/calendar/remove", {"day": "2026-11-30"}).status_code == 303
    assert _count(rt, CalendarOverride) == 0
    agency = {"code": "sttt", "name": "Sở Thông tin và Truyền thông", "kind": "department",
              "focal_emails": "vanthu.sttt@binhan.gov.vn", "active": "1"}  # fmt: skip
    r = _post(office, "/admin/agencies", {**agency, "focal_emails": "không-phải-email"})
    assert (r.status_code, "không hợp lệ" in r.text) == (422, True)
    assert _post(office, "/admin/agencies", agency).status_code == 303
    assert "Sở Thông tin và Truyền thông" in office.get("/admin/agencies?edit=STTT").text
    leader = {"code": "CT2", "name": "Ngô Văn Nam", "title": "Chủ tịch", "role": "chairman",
              "email": "ct2@binhan.gov.vn"}  # fmt: skip
    r = _post(office, "/admin/leaders", leader)
    assert (r.status_code, "Đã có Chủ tịch (CT)" in r.text) == (422, True)
    r = _post(
        office, "/admin/leaders", {**leader, "role": "vice_chairman", "sectors": "Y tế\nGiáo dục"}
    )
    assert r.status_code == 303
    account = {"username": "sttt", "display_name": "Văn thư", "role": "agency", "unit": "STTT",
               "password": "mật-khẩu-đủ-dài"}  # fmt: skip
    assert _post(office, "/admin/users", {**account, "password": "ngắn"}).status_code == 422
    assert _post(office, "/admin/users", account).status_code == 303
    assert _status(office, "/admin/users/sttt/password", {"password": "mật-khẩu-mới-2026"}) == 303
    assert _post(office, "/admin/users/sttt/active", {"active": "0"}).status_code == 303
    assert _post(office, "/admin/users/vanphong/active", {"active": "0"}).status_code == 409
    with rt.unit_of_work() as s:
        assert s.scalar(select(User.active).where(User.username == "sttt")) is False
    done = [a for u, a, _ in audit_actions(rt) if u == "vanphong" and a != "login"]
    assert done == ["calendar_set", "calendar_remove", "agency_added", "leader_added",
                    "user_added", "password_reset", "user_locked"]  # fmt: skip
    with rt.unit_of_work() as s:
        assert "mật-khẩu" not in str(list(s.scalars(select(AuditEntry.detail))))


GETS = ["/directives/new", "/directives/new/deadline?row=1&days_1=3", "/import", "/desk",
        "/desk/open?code={overdue}", "/desk/tasks/{overdue}", "/admin", "/admin/calendar",
        "/admin/agencies", "/admin/leaders", "/admin/users"]  # fmt: skip
POSTS = ["/directives/new", "/import", "/desk/tasks/{overdue}/confirm",
         "/desk/tasks/{overdue}/return", "/desk/tasks/{due_soon}/extension",
         "/desk/tasks/{within_term}/pause", "/desk/tasks/{within_term}/resume",
         "/desk/tasks/{within_term}/cancel", "/admin/calendar", "/admin/calendar/remove",
         "/admin/agencies", "/admin/leaders", "/admin/users", "/admin/users/sxd/password",
         "/admin/users/sxd/active"]  # fmt: skip


@pytest.mark.parametrize("who", MATRIX_ROLES, ids=lambda w: w or "anonymous")
def test_authorization_matrix_of_the_desk(rt: Runtime, who: str | None) -> None:
    w = seed(rt)
    browser = signed_in(rt, who) if who else client(rt)
    office = who is not None and ACCOUNTS[who][0] is Role.SECRETARIAT
    for route in GETS:
        r = browser.get(route.format(**w.__dict__))
        expected = 303 if who is None or (office and "open" in route) else 200 if office else 403
        assert r.status_code == expected, (route, who)
    assert browser.get("/desk/tasks/NV99-9999").status_code == (
        404 if office else 303 if who is None else 403
    )
    before = (_count(rt, Task), audit_actions(rt))
    for route in POSTS:
        path = route.format(**w.__dict__)
        assert browser.post(path, data={"reason": "x"}).status_code == 403, (path, who)  # no token
        if who is not None and not office:
            assert _post(browser, path, {"reason": "x"}).status_code == 403, (path, who)
    assert (_count(rt, Task), audit_actions(rt)) == before
