"""The web app's pages: the register, the task page and its timeline, the mail viewer, accounts."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from directives.cli._common import set_runtime
from directives.db.tables import Agency
from directives.runtime import Runtime
from directives.services import lifecycle, users
from directives.web.mailbox import eml_name, mail_path
from directives.workflow import Actor, Role
from tests.test_cli import EXAMPLES, run
from tests.test_web import World, client, login, seed, signed_in

SXD = Actor(Role.AGENCY, "sxd", agency="SXD")


def rows(html: str) -> dict[str, str]:
    """Task code → the grid class of its row in the register."""
    found = re.findall(r'<tr class="row grid-([a-z_]+)">\s*<td data-label="Mã"><a href="/tasks/'
                       r'([A-Z0-9-]+)">', html)  # fmt: skip
    return {code: grid for grid, code in found}


def test_register_colours_each_row_by_where_the_task_stands(rt: Runtime) -> None:
    w = seed(rt)
    page = signed_in(rt, "vanphong").get("/tasks", params={"status": "all"})
    assert page.status_code == 200
    assert rows(page.text) == {
        w.overdue: "overdue",
        w.due_soon: "due_soon",
        w.standing: "standing",
        w.within_term: "within_term",
    }
    assert next(iter(rows(page.text))) == w.overdue  # most urgent first
    assert "Tính đến 26/11/2026" in page.text
    css = signed_in(rt, "ct").get("/static/app.css").text
    for grid, colour in [("overdue", "--red"), ("due_soon", "--orange"), ("standing", "#9ca3af")]:
        assert re.search(rf"tr\.grid-{grid}[^{{]*\{{[^}}]*{re.escape(colour)}", css), grid


def test_register_filters_by_status_agency_leader_text_and_date(rt: Runtime) -> None:
    w = seed(rt)
    browser = signed_in(rt, "ct")

    def codes(**params: str) -> set[str]:
        r = browser.get("/tasks", params=params)
        assert r.status_code == 200, r.text
        return set(rows(r.text))

    assert codes(status="overdue") == {w.overdue}
    assert codes(status="open", agency="SXD") == {w.overdue, w.due_soon}  # leads or coordinates
    assert codes(status="all", leader="CT") == set()
    assert codes(status="all", leader="PCT1") == set(w.__dict__.values())
    assert codes(status="all", q="quy hoạch") == {w.overdue}
    assert codes(status="all", q="101/TB") == set(w.__dict__.values())
    assert codes(status="all", q=w.standing.lower()) == {w.standing}
    assert codes(status="overdue", as_of="2026-11-05") == set()  # not yet late then
    assert codes(status="due_soon", as_of="05/11/2026") == {w.overdue}
    assert browser.get("/tasks", params={"status": "bogus"}).status_code == 422
    assert browser.get("/tasks", params={"as_of": "31/02/2026"}).status_code == 422
    assert browser.get("/tasks", params={"page": "0"}).status_code == 422
    empty = browser.get("/tasks", params={"status": "all", "page": "2"})
    assert "Không có nhiệm vụ nào khớp" in empty.text


def test_agency_users_see_only_their_own_tasks_whatever_the_query_says(rt: Runtime) -> None:
    w = seed(rt)
    browser = signed_in(rt, "sxd")
    page = browser.get("/tasks", params={"status": "all", "agency": "STC"})
    assert set(rows(page.text)) == {w.overdue, w.due_soon}
    assert 'name="agency"' not in page.text  # no agency filter to try
    assert "Nhiệm vụ của Sở Xây dựng" in page.text
    assert page.text.count("Đơn vị phối hợp</span>") == 1  # SXD only coordinates the STC task
    assert set(rows(signed_in(rt, "skhdt").get("/tasks?status=all").text)) == {w.standing}


def test_agency_filter_lists_every_agency_and_follows_changes_to_the_registry(
    rt: Runtime,
) -> None:
    w = seed(rt)
    office = signed_in(rt, "vanphong")

    def options(**params: str) -> tuple[list[tuple[str, str, str]], str]:
        page = office.get("/tasks", params=params)
        assert page.status_code == 200, page.text
        box = re.search(r'<select name="agency">(.*?)</select>', page.text, re.S)
        assert box, "the office has an agency filter"
        found = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', box[1])
        return found, page.text

    first, _ = options(status="all", agency="sxd")  # any case
    assert first == [
        ("", "", "Tất cả đơn vị"),
        ("SKHDT", "", "SKHDT · Sở Kế hoạch và Đầu tư"),
        ("STC", "", "STC · Sở Tài chính"),
        ("SXD", " selected", "SXD · Sở Xây dựng"),
        ("UBNDTP", "", "UBNDTP · UBND thành phố Bình An"),
    ]
    # Changed outside this app (the CLI, another worker): the next page lists what is there now.
    with rt.unit_of_work() as s:
        sxd = s.scalar(select(Agency).where(Agency.code == "SXD"))
        assert sxd is not None
        sxd.name = "Sở Xây dựng <Quy hoạch & Kiến trúc>"
        s.add(Agency(code="SGTVT", name="Sở Giao thông vận tải", kind="department"))
    after, html = options(status="all")
    assert [code for code, _, _ in after] == ["", "SGTVT", "SKHDT", "STC", "SXD", "UBNDTP"]
    assert ("SXD", "", "SXD · Sở Xây dựng &lt;Quy hoạch &amp; Kiến trúc&gt;") in after
    assert not any(selected for _, selected, _ in after)
    assert f'href="/tasks/{w.overdue}">' in html
    assert '<abbr title="Sở Xây dựng &lt;Quy hoạch &amp; Kiến trúc&gt;">SXD</abbr>' in html
    unknown, _ = options(agency='"><b>')
    assert not any(selected for _, selected, _ in unknown)


def test_an_htmx_filter_gets_only_the_register(rt: Runtime) -> None:
    seed(rt)
    browser = signed_in(rt, "vanphong")
    r = browser.get(
        "/tasks?status=overdue", headers={"HX-Request": "true", "HX-Target": "register"}
    )
    assert r.text.lstrip().startswith('<section id="register"')
    assert "<html" not in r.text
    assert "HX-Request" in r.headers["vary"]
    full = browser.get("/tasks", headers={"HX-Request": "true", "HX-History-Restore-Request": "1"})
    assert "<html" in full.text


def _history(rt: Runtime, w: World) -> None:
    with rt.unit_of_work() as s:
        lifecycle.acknowledge(s, w.overdue, on=date(2026, 10, 2), actor=SXD, clock=rt.clock)
        lifecycle.report(
            s, w.overdue, on=date(2026, 10, 20), text="Đã rà soát 3/5 khu", percent=60,
            actor=SXD, clock=rt.clock,
        )  # fmt: skip
        lifecycle.request_extension(
            s, w.overdue, on=date(2026, 11, 2), new_deadline=date(2026, 11, 20),
            reason="Chờ ý kiến của Bộ Xây dựng", actor=SXD, clock=rt.clock,
        )  # fmt: skip


def test_task_page_shows_the_timeline_with_every_notice_and_its_delivery(rt: Runtime) -> None:
    from flows.dispatch import dispatch

    w = seed(rt, mail=True)
    _history(rt, w)
    dispatch(rt)  # no SMTP URL: the messages become .eml files under var/mail
    office = signed_in(rt, "vanphong")
    page = office.get(f"/tasks/{w.overdue}")
    assert page.status_code == 200
    text = page.text
    for expected in [
        "Giao nhiệm vụ",
        "Thời hạn 10/11/2026",
        "Đơn vị xác nhận đã nhận",
        "Báo cáo tiến độ",
        "Đã rà soát 3/5 khu",
        "Tiến độ 60%",
        "Đề nghị gia hạn",
        "Đề nghị đến 20/11/2026",
        "Thư giao nhiệm vụ",
        "Đã gửi",
        "vanthu.sxd@binhan.gov.vn",
        "Đơn vị SXD (sxd)",
    ]:
        assert expected in text, expected
    order = [text.index(s) for s in ("Giao nhiệm vụ", "Báo cáo tiến độ", "Thư giao nhiệm vụ")]
    assert order == sorted(order)
    link = re.search(r'href="(/mail/[^"]+\.eml)"', text)
    assert link, "the office can open the message sent"
    assert office.get(link.group(1)).status_code == 200
    agency_view = signed_in(rt, "sxd").get(f"/tasks/{w.overdue}")
    assert "Thư giao nhiệm vụ" in agency_view.text
    assert "/mail/" not in agency_view.text  # the mail viewer is the office's


def _eml(rt: Runtime, name: str) -> str:
    msg = EmailMessage()
    msg["Subject"] = "<script>alert('tiêu đề')</script> Đôn đốc"
    msg["From"], msg["To"] = "vp@localhost", "sxd@localhost"
    msg["Date"] = "Thu, 26 Nov 2026 09:00:00 +0700"
    msg.set_content("Kính gửi <b>Sở Xây dựng</b>")
    msg.add_alternative(
        '<p onclick="x()">Kính gửi</p><script>alert(1)</script><img src="cid:bieudo">',
        subtype="html",
    )
    msg.get_payload()[1].add_related(b"\x89PNG\r\n", "image", "png", cid="<bieudo>")  # type: ignore[index]
    folder = rt.settings.mail_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(bytes(msg))
    return name


def test_mail_viewer_shows_messages_escaped_and_their_html_sandboxed(rt: Runtime) -> None:
    seed(rt)
    name = _eml(rt, "abc.20261126_localhost.eml")
    office = signed_in(rt, "vanphong")
    listing = office.get("/mail")
    assert f'href="/mail/{name}"' in listing.text
    assert "&lt;script&gt;" in listing.text
    assert "<script>alert" not in listing.text
    page = office.get(f"/mail/{name}")
    assert "Kính gửi &lt;b&gt;Sở Xây dựng&lt;/b&gt;" in page.text
    assert f'<iframe class="mail-frame" sandbox src="/mail/{name}/html"' in page.text
    html = office.get(f"/mail/{name}/html")
    csp = html.headers["content-security-policy"]
    assert "sandbox" in csp
    assert "script-src" not in csp
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'self'" in csp
    assert 'src="data:image/png;base64,' in html.text  # the chart travels inside the page


def test_mail_viewer_refuses_anything_but_a_message_in_its_folder(rt: Runtime) -> None:
    seed(rt)
    _eml(rt, "abc.eml")
    office = signed_in(rt, "vanphong")
    secret = (rt.settings.var_dir / "secret_key").read_text().strip()
    for name in ["...eml", ".hidden.eml", "secret_key", "..%2Fsecret_key", "%2e%2e%2fsecret_key",
                 "a%00.eml", "khong-co.eml", "abc.eml%2F..%2F..%2Fsecret_key"]:  # fmt: skip
        for path in (f"/mail/{name}", f"/mail/{name}/html"):
            r = office.get(path)
            assert r.status_code == 404, (path, r.status_code)
            assert secret not in r.text


def test_mail_names_are_files_directly_in_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    (tmp_path / "secret_key").write_text("bí mật")
    (folder / "ok.eml").write_text("Subject: x\n\nx")
    (folder / "link.eml").symlink_to(tmp_path / "secret_key")
    assert mail_path(folder, "ok.eml") == (folder / "ok.eml").resolve()
    for name in ["..", "../secret_key", "/etc/passwd", "a/../ok.eml", "link.eml", "ok.EML.txt",
                 ".ok.eml", "ok.eml/", "ok..eml", "ok.eml\x00"]:  # fmt: skip
        assert mail_path(folder, name) is None, name


def test_mail_names_follow_the_file_mailer() -> None:
    from notifications.files import eml_name as written

    for message_id in ["<a1b2.20261126@binhan.gov.vn>", "<x/y+z@host>", "plain"]:
        assert eml_name(message_id) == written(message_id)


def test_users_command_adds_lists_and_changes_passwords(
    rt: Runtime, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(rt)
    set_runtime(rt)
    try:
        monkeypatch.setattr("sys.stdin", io.StringIO("mật-khẩu-đủ-dài\n"))
        add = ["users", "add", "stc2", "--role", "agency", "--agency", "STC"]
        code, out, err = run(capsys, *add, "--name", "Văn thư Sở Tài chính", "--password-stdin")
        assert code == 0, err
        assert "Đã thêm tài khoản stc2" in out
        code, out, _ = run(capsys, "users", "list", "--format", "json")
        listed = {u["username"]: u for u in json.loads(out)}
        assert (listed["stc2"]["unit"], listed["stc2"]["role"]) == ("STC", "agency")
        code, _, err = run(capsys, "users", "add", "x1", "--role", "agency", "--password-stdin")
        assert code == 2
        assert "--agency" in err
        monkeypatch.setattr("sys.stdin", io.StringIO("ngắn\n"))
        code, _, err = run(capsys, "users", "passwd", "stc2", "--password-stdin")
        assert code == 2
        assert "ít nhất 12 ký tự" in err
        monkeypatch.setattr("sys.stdin", io.StringIO("mật-khẩu-mới-2026\n"))
        assert run(capsys, "users", "passwd", "stc2", "--password-stdin")[0] == 0
        with rt.unit_of_work() as s:
            assert users.authenticate(s, "STC2", "mật-khẩu-mới-2026", clock=rt.clock)
            assert users.authenticate(s, "stc2", "mật-khẩu-đủ-dài", clock=rt.clock) is None
    finally:
        set_runtime(None)


def test_sample_load_creates_the_demo_accounts_once(
    rt: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    set_runtime(rt)
    try:
        code, out, err = run(capsys, "sample", "load", str(EXAMPLES))
        assert code == 0, err
        assert "Tài khoản dùng thử: vanphong, skhdt, stnmt, sxd, ubndtp, ct, pct1." in out
    finally:
        set_runtime(None)
    with rt.unit_of_work() as s:
        assert [u for u, _ in users.demo_logins(s)] == [d.username for d in users.DEMO_USERS]
        assert users.create_demo_users(s, clock=rt.clock) == []
    browser = client(rt)
    assert login(browser, "sxd", users.DEMO_PASSWORD).status_code == 303
    assert "Nhiệm vụ của Sở Xây dựng" in browser.get("/tasks").text
