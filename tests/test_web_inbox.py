"""The agency inbox, report uploads and email links: an agency only ever reaches its own tasks."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer

from directives import links
from directives.clock import FixedClock
from directives.links import secret_key
from directives.runtime import Runtime
from directives.services import queries
from directives.workflow import Role
from tests.test_web import (
    ACCOUNTS,
    MATRIX_ROLES,
    PASSWORD,
    audit_actions,
    client,
    csrf_of,
    seed,
    signed_in,
)

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def _post(
    browser: TestClient, path: str, data: dict[str, str] | None = None, **kwargs: Any
) -> httpx.Response:
    """Post a form with the session's CSRF token (the browser is signed in)."""
    token = csrf_of(browser, "/tasks")
    return browser.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


def _state(rt: Runtime, code: str) -> str:
    with rt.unit_of_work() as s:
        return queries.task_detail(s, code, as_of=rt.clock.now().date()).task.state


def test_inbox_lists_the_agencys_own_tasks_most_urgent_first(rt: Runtime) -> None:
    w = seed(rt)
    page = signed_in(rt, "sxd").get("/inbox")
    assert page.status_code == 200
    assert "Hộp việc của Sở Xây dựng" in page.text
    listed = re.findall(r'href="/inbox/([A-Z0-9-]+)"', page.text)
    assert listed == [w.overdue, w.due_soon]  # leads one, coordinates the other; overdue first
    assert "Phối hợp" in page.text
    assert client(rt).get("/").status_code == 303
    assert signed_in(rt, "stc").get("/").headers["location"] == "/inbox"


def test_agency_acknowledges_reports_and_submits_with_a_document_then_office_confirms(
    rt: Runtime,
) -> None:
    w = seed(rt)
    sxd = signed_in(rt, "sxd")
    page = sxd.get(f"/inbox/{w.overdue}")
    assert f'action="/inbox/{w.overdue}/acknowledge"' in page.text
    assert _post(sxd, f"/inbox/{w.overdue}/acknowledge").status_code == 303
    r = _post(sxd, f"/inbox/{w.overdue}/progress", {"text": "Đã rà soát 3/5 khu", "percent": "60"})
    assert r.status_code == 303
    assert "Đã gửi báo cáo tiến độ." in sxd.get(r.headers["location"]).text
    files = {"document": ("Báo cáo kết quả.pdf", PDF, "application/pdf")}
    data = {"text": "Đã hoàn thành rà soát", "document_number": "45/BC-SXD"}
    r = _post(sxd, f"/inbox/{w.overdue}/final", data, files=files)
    assert r.status_code == 303, r.text
    assert _state(rt, w.overdue) == "submitted"
    stored = list((rt.settings.var_dir / "uploads" / w.overdue).glob("*.pdf"))
    assert len(stored) == 1
    assert stored[0].read_bytes() == PDF
    link = re.search(
        rf'href="(/tasks/{w.overdue}/files/[^"]+)"', sxd.get(f"/inbox/{w.overdue}").text
    )
    assert link, "the agency sees its document"
    download = sxd.get(link.group(1))
    assert download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''B%C3%A1o%20c%C3%A1o" in download.headers["content-disposition"]
    assert download.headers["x-content-type-options"] == "nosniff"
    assert signed_in(rt, "stc").get(link.group(1)).status_code == 404
    office = signed_in(rt, "vanphong")
    assert office.get(link.group(1)).status_code == 200
    desk = office.get(f"/desk/tasks/{w.overdue}")
    assert "Báo cáo kết quả chờ xác nhận" in desk.text
    assert "45/BC-SXD" in desk.text
    r = _post(office, f"/desk/tasks/{w.overdue}/confirm", {"note": "Đạt yêu cầu"})
    assert r.status_code == 303
    assert _state(rt, w.overdue) == "confirmed"
    actions = [(u, a) for u, a, _ in audit_actions(rt) if a not in ("login",)]
    assert actions == [
        ("sxd", "acknowledge"),
        ("sxd", "report_progress"),
        ("sxd", "submit_final_report"),
        ("vanphong", "confirm_report"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bao-cao.exe", PDF, "chỉ nhận"),
        ("bao-cao.pdf", PNG, "không đúng định dạng .pdf"),
        ("bao-cao.docx", b"PK\x03\x04" + b"\x00" * 40, "không đúng định dạng .docx"),
        ("bao-cao.png", PDF, "không đúng định dạng .png"),
        ("bao-cao.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "quá lớn"),
        ("bao-cao.pdf", b"", "rỗng"),
    ],
    ids=["exe", "png-as-pdf", "zip-as-docx", "pdf-as-png", "too-big", "empty"],
)
def test_uploads_of_the_wrong_type_or_size_are_refused_and_nothing_is_stored(
    rt: Runtime, name: str, content: bytes, reason: str
) -> None:
    w = seed(rt)
    sxd = signed_in(rt, "sxd")
    files = {"document": (name, content, "application/octet-stream")}
    r = _post(sxd, f"/inbox/{w.overdue}/final", {"text": "Xong"}, files=files)
    assert r.status_code == 422
    assert reason in r.text
    assert "Xong" in r.text  # what was typed is kept
    assert _state(rt, w.overdue) == "assigned"
    assert not (rt.settings.var_dir / "uploads").exists()


def test_a_word_document_with_its_parts_is_accepted(rt: Runtime) -> None:
    w = seed(rt)
    sxd = signed_in(rt, "sxd")
    files = {"document": ("ket-qua.docx", _docx(), "application/octet-stream")}
    assert _post(sxd, f"/inbox/{w.overdue}/final", {"text": "Xong"}, files=files).status_code == 303


def test_a_coordinating_agency_may_only_report_progress(rt: Runtime) -> None:
    w = seed(rt)
    sxd = signed_in(rt, "sxd")  # coordinates the STC-led task
    page = sxd.get(f"/inbox/{w.due_soon}").text
    assert f'action="/inbox/{w.due_soon}/progress"' in page
    for action in ("acknowledge", "final", "extension"):
        assert f'action="/inbox/{w.due_soon}/{action}"' not in page
    files = {"document": ("a.pdf", PDF, "application/pdf")}
    assert _post(sxd, f"/inbox/{w.due_soon}/acknowledge").status_code == 403
    assert _post(sxd, f"/inbox/{w.due_soon}/final", {"text": "x"}, files=files).status_code == 403
    data = {"new_deadline": "2026-12-31", "reason": "Chờ số liệu"}
    assert _post(sxd, f"/inbox/{w.due_soon}/extension", data).status_code == 403
    assert _state(rt, w.due_soon) == "assigned"
    assert (
        _post(sxd, f"/inbox/{w.due_soon}/progress", {"text": "Đã gửi số liệu"}).status_code == 303
    )
    assert _state(rt, w.due_soon) == "in_progress"


def test_bad_report_values_are_shown_on_the_page_and_change_nothing(rt: Runtime) -> None:
    w = seed(rt)
    stc = signed_in(rt, "stc")
    r = _post(stc, f"/inbox/{w.due_soon}/progress", {"text": "Một phần", "percent": "150"})
    assert (r.status_code, "phải từ 0 đến 100" in r.text) == (422, True)
    r = _post(stc, f"/inbox/{w.due_soon}/extension", {"new_deadline": "2026-11-20", "reason": "x"})
    assert (r.status_code, "không sau thời hạn hiện tại" in r.text) == (422, True)
    assert _state(rt, w.due_soon) == "assigned"
    assert [a for _, a, _ in audit_actions(rt) if a != "login"] == []


POSTS = ["acknowledge", "progress", "final", "extension"]


def test_another_agencys_task_answers_404_for_every_page_and_action(rt: Runtime) -> None:
    w = seed(rt)
    stc = signed_in(rt, "stc")  # neither leads nor coordinates the overdue task
    for code in (w.overdue, w.overdue.lower(), w.standing, "NV99-9999"):
        assert stc.get(f"/inbox/{code}").status_code in (404,), code
        for action in POSTS:
            files = {"document": ("a.pdf", PDF, "application/pdf")} if action == "final" else None
            data = {"text": "x", "new_deadline": "2026-12-31", "reason": "x"}
            r = _post(stc, f"/inbox/{code}/{action}", data, files=files)
            assert r.status_code == 404, (code, action, r.status_code)
    theirs = stc.get(f"/inbox/{w.overdue}").text.replace(w.overdue, "X")
    assert theirs == stc.get("/inbox/NV99-9999").text.replace("NV99-9999", "X")
    assert _state(rt, w.overdue) == "assigned"


def _token(rt: Runtime, code: str, agency: str, purpose: str = "open") -> str:
    return links.task_path(rt.settings, code, agency, purpose, now=rt.clock.now())


def test_a_mail_link_opens_the_task_for_its_recipient_after_login(rt: Runtime) -> None:
    w = seed(rt)
    path = _token(rt, w.overdue, "SXD", "acknowledge")
    anonymous = client(rt)
    r = anonymous.get(path)
    assert r.headers["location"].startswith("/login?next=%2Fl%2F")
    login = {"username": "sxd", "password": PASSWORD, "csrf_token": csrf_of(anonymous)}
    r = anonymous.post("/login", data={**login, "next": path})
    assert r.headers["location"] == path
    r = anonymous.get(path)
    assert (r.status_code, r.headers["location"]) == (303, f"/inbox/{w.overdue}#xac-nhan")
    assert "link_opened" in [a for _, a, _ in audit_actions(rt)]
    with_url = rt.settings.model_copy(update={"app_url": "https://chidao.binhan.gov.vn/"})
    full = links.task_link(with_url, w.overdue, "SXD", now=rt.clock.now())
    assert full.startswith("https://chidao.binhan.gov.vn/l/")
    assert links.task_link(rt.settings, w.overdue, "SXD") == ""  # no app URL: no links


def test_mail_links_for_another_agency_task_or_purpose_tampered_or_expired_are_refused(
    rt: Runtime,
) -> None:
    w = seed(rt)
    sxd = signed_in(rt, "sxd")
    key = secret_key(rt.settings)
    open_salt = URLSafeTimedSerializer(key, salt="directives.task-link.open")
    bad_purpose = open_salt.dumps({"t": w.overdue, "a": "SXD", "e": "", "p": "report"})
    unknown_purpose = URLSafeTimedSerializer(key, salt="directives.task-link.reset").dumps(
        {"t": w.overdue, "a": "SXD", "e": "", "p": "reset"}
    )
    good = _token(rt, w.overdue, "SXD")
    refused = {
        "another agency": (_token(rt, w.overdue, "STC"), 403),
        "another task": (_token(rt, w.standing, "SXD"), 403),
        "wrong purpose": ("/l/" + bad_purpose, 403),
        "unknown purpose": ("/l/" + unknown_purpose, 403),
        "tampered": (good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"), 403),
        "garbage": ("/l/" + "x" * 700, 403),
    }
    for why, (path, status) in refused.items():
        r = sxd.get(path)
        assert r.status_code == status, (why, r.status_code)
        assert "Không mở được liên kết" in r.text, why
    assert signed_in(rt, "stc").get(good).status_code == 403  # a forwarded email opens nothing
    assert signed_in(rt, "vanphong").get(good).status_code == 403
    assert sxd.get(good).status_code == 303
    assert isinstance(rt.clock, FixedClock)
    rt.clock = FixedClock(rt.clock.instant + timedelta(days=31))
    expired = sxd.get(good)
    assert expired.status_code == 410
    assert "Liên kết đã hết hạn" in expired.text
    refusals = [a for _, a, _ in audit_actions(rt) if a == "link_refused"]
    assert len(refusals) == len(refused) + 3


def _expected(route: str, who: str | None) -> int:
    """Agency pages: an agency's own task 200, another's 404; other roles 403; anonymous 303."""
    if who is None:
        return 303
    role, agency = ACCOUNTS[who]
    if route.startswith("/tasks/"):  # a document: whoever may see the task
        return 200 if role is not Role.AGENCY or agency == "SXD" else 404
    if role is not Role.AGENCY:
        return 403
    if route == "/inbox":
        return 200
    return (
        200
        if (route, agency) in {("overdue", "SXD"), ("due_soon", "SXD"), ("due_soon", "STC")}
        else 404
    )


@pytest.mark.parametrize("who", MATRIX_ROLES, ids=lambda w: w or "anonymous")
def test_authorization_matrix_of_the_inbox(rt: Runtime, who: str | None) -> None:
    w = seed(rt)
    sxd = signed_in(rt, "sxd")
    files = {"document": ("a.pdf", PDF, "application/pdf")}
    assert _post(sxd, f"/inbox/{w.overdue}/final", {"text": "x"}, files=files).status_code == 303
    (name,) = [p.name for p in (rt.settings.var_dir / "uploads" / w.overdue).glob("*.pdf")]
    browser = signed_in(rt, who) if who else client(rt)
    routes = {"/inbox": "/inbox", "overdue": f"/inbox/{w.overdue}",
              "due_soon": f"/inbox/{w.due_soon}", "standing": f"/inbox/{w.standing}",
              "/tasks/": f"/tasks/{w.overdue}/files/{name}"}  # fmt: skip
    for key, path in routes.items():
        r = browser.get(path)
        assert r.status_code == _expected(key, who), (path, who, r.status_code)
    for action in POSTS:  # without the token: refused before anything else
        assert browser.post(f"/inbox/{w.due_soon}/{action}").status_code == 403
    if who is not None and ACCOUNTS[who][0] is not Role.AGENCY:
        token = csrf_of(browser, "/tasks")
        r = browser.post(f"/inbox/{w.due_soon}/progress", data={"text": "x", "csrf_token": token})
        assert r.status_code == 403
