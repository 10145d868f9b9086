"""Browser journeys: the real app under uvicorn, driven through Debian's Chromium by Playwright.

Each journey is what people do on the pages, in their own browser contexts (their own cookies):
the secretariat enters a directive, an agency's clerk follows the emailed link, reports with a
PDF, the office confirms and the leader's dashboard counts the task as done on time; an agency
asks for an extension and the leader grants it on the dashboard. SQLite only (the route tests
cover PostgreSQL); no embedded scheduler. A full-page screenshot of each journey's last page is
kept under ``test-artifacts/browser/``.

Without ``/usr/bin/chromium`` or the ``playwright`` package the tests are skipped with the
reason, except under CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import email
import importlib.util
import re
import shutil
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from directives.clock import FixedClock
from directives.db.engine import make_engine, make_session_factory
from directives.db.tables import Agency
from directives.domain import DeadlineSpec
from directives.runtime import Runtime
from directives.services import users
from directives.services.calendar import load_calendar
from directives.settings import Settings
from directives.web import create_app
from flows import jobs
from tests.builders import issue, seed_registry
from tests.conftest import SAMPLE_DAY, UNDER_CI

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"
TIMEOUT_MS = 10_000
PASSWORD = users.DEMO_PASSWORD
PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


def _unavailable() -> str | None:
    """None when the browser tests can run, else why not."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@dataclass(frozen=True)
class Server:
    """The running app: its address, its runtime, and the task seeded for the extension journey."""

    url: str
    rt: Runtime
    extension_task: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, thread: threading.Thread, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the uvicorn thread stopped before answering /healthz")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url}/healthz did not answer within {seconds:.0f}s")


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app under uvicorn on a free port, on a fresh SQLite database, at 26/11/2026 09:00."""
    why = _unavailable()
    if why is not None:
        if UNDER_CI:
            pytest.fail(f"CI requires the browser tests: {why}")
        pytest.skip(why)
    import uvicorn

    folder = tmp_path_factory.mktemp("browser")
    db_file = folder / "directives.sqlite3"
    shutil.copy(sqlite_template, db_file)  # migrated, working-day index built
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=f"sqlite:///{db_file}",
        var_dir=folder / "var",
        app_url=url,
        secret_key="browser-journeys-" + "k" * 40,
    )
    engine = make_engine(settings.database_url)
    rt = Runtime(settings, engine, make_session_factory(engine), FixedClock.on(SAMPLE_DAY))
    with rt.unit_of_work() as s:
        seed_registry(s)
        users.create_demo_users(s, clock=rt.clock)  # vanphong, sxd, ubndtp, ct, pct1… (demo pw)
        (extension_task,) = issue(
            s,
            rt.clock,
            number="88/TB-UBND",
            issued_on=date(2026, 11, 2),
            tasks=[("UBNDTP", DeadlineSpec(on=date(2026, 12, 10)))],
            leader="PCT1",
        )
    config = uvicorn.Config(
        create_app(rt), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="uvicorn-browser-tests", daemon=True)
    thread.start()
    try:
        _wait_healthy(url, thread)
        yield Server(url, rt, extension_task)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        rt.close()


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Browser]:
    """Debian's Chromium, headless (``playwright install`` is not needed)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser: Browser, server: Server) -> Iterator[Any]:
    """``open_page()``: a page in a new browser context (one person's browser)."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(
            base_url=server.url,
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        return page

    yield make
    for context in contexts:
        context.close()


def _sign_in(page: Page, username: str) -> None:
    """Fill the login form (already on it, or opened here) and send it."""
    if "/login" not in page.url:
        page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{username} could not sign in"


def _flash(page: Page, text: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator(".flash").filter(has_text=text)).to_be_visible()


def _screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.is_file(), f"no screenshot written at {path}"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert path.stat().st_size > 10_000, f"{path} is too small to be a full page"
    return path


def _tile(page: Page, label: str) -> int:
    """The number on the dashboard's tile ``label``."""
    shown = page.locator(".tile").filter(has_text=label).locator(".tile-n").inner_text()
    return int(re.sub(r"\D", "", shown) or "0")


def _agency_email(rt: Runtime, code: str) -> str:
    with rt.unit_of_work() as s:
        agency = s.scalar(select(Agency).where(Agency.code == code))
        assert agency is not None
        emails = agency.focal_emails or []
        return str(emails[0]) if emails else ""


def _emailed_link(rt: Runtime, task_code: str, to: str) -> str:
    """The link of ``task_code`` in the one email ``to`` received about it (var/mail/*.eml)."""
    found = []
    for path in sorted(rt.settings.mail_dir.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        assert isinstance(msg, EmailMessage)
        html = msg.get_body(("html",))
        if to in str(msg["To"]) and html is not None:
            anchor = rf'<a href="([^"]+)"[^>]*>{re.escape(task_code)}</a>'
            found += re.findall(anchor, html.get_content())
    assert len(found) == 1, found
    return str(found[0])


def test_journey_directive_to_report_to_confirmation_counts_as_done_on_time(
    server: Server, open_page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    rt = server.rt
    # 1. The secretariat enters a directive with two tasks.
    office = open_page()
    _sign_in(office, "vanphong")
    office.goto("/directives/new")
    expect(office.get_by_role("heading", name="Nhập văn bản chỉ đạo")).to_be_visible()
    office.get_by_label("Số, ký hiệu").fill("245/TB-UBND")
    office.get_by_label("Ngày ban hành").fill("2026-11-20")
    office.get_by_label("Loại văn bản").select_option(label="Thông báo kết luận")
    office.get_by_label("Người ký").select_option(label="Chủ tịch UBND tỉnh Trần Quốc Bảo")
    office.get_by_label("Chuyên viên theo dõi").select_option(label="Phạm Minh Châu")
    office.get_by_label("Trích yếu").fill("Kết luận của Chủ tịch UBND tỉnh về quy hoạch đô thị")
    first = office.get_by_role("group", name="Nhiệm vụ 1", exact=True)
    first.get_by_label("Nội dung nhiệm vụ").fill("Rà soát quy hoạch khu đô thị phía Đông")
    first.get_by_label("Đơn vị chủ trì").select_option("SXD")
    first.get_by_label("Đơn vị phối hợp").select_option(["STC"])
    first.get_by_role("radio", name="Đến ngày").check()
    first.get_by_label("Thời hạn của nhiệm vụ 1").fill("2026-12-15")
    # Another task row: the button sends the form back with one more row, keeping what was typed.
    rows_before = office.locator("fieldset.task-entry").count()
    office.get_by_role("button", name="+ Thêm một nhiệm vụ").click()
    expect(office.locator("fieldset.task-entry")).to_have_count(rows_before + 1)
    first = office.get_by_role("group", name="Nhiệm vụ 1", exact=True)
    expect(first.get_by_label("Nội dung nhiệm vụ")).to_have_value(
        "Rà soát quy hoạch khu đô thị phía Đông"
    )
    expect(first.get_by_label("Thời hạn của nhiệm vụ 1")).to_have_value("2026-12-15")
    second = office.get_by_role("group", name="Nhiệm vụ 2", exact=True)
    second.get_by_label("Nội dung nhiệm vụ").fill("Báo cáo nhu cầu vốn đầu tư năm 2027")
    second.get_by_label("Đơn vị chủ trì").select_option("SKHDT")
    second.get_by_role("radio", name=re.compile(r"^Trong")).check()
    second.get_by_label("Số ngày làm việc của nhiệm vụ 2").fill("5")
    with rt.unit_of_work() as s:
        five_days = load_calendar(s).add(date(2026, 11, 20), 5)
    # htmx shows the date the calendar makes while typing.
    expect(office.locator("#computed-2")).to_contain_text(f"{five_days:%d/%m/%Y}")
    office.get_by_role("button", name="Lưu văn bản và giao nhiệm vụ").click()
    _flash(office, "Đã lưu văn bản 245/TB-UBND với 2 nhiệm vụ")
    saved = office.locator(".flash").filter(has_text="Đã lưu văn bản").inner_text()
    codes = re.findall(r"([A-Z0-9]+-\d+) \(hạn (\d\d/\d\d/\d{4})\)", saved)
    assert [d for _, d in codes] == ["15/12/2026", f"{five_days:%d/%m/%Y}"], saved
    task_code = codes[0][0]  # SXD leads it

    # The leader's dashboard before: nothing of SXD's is done yet.
    leader = open_page()
    _sign_in(leader, "ct")
    leader.goto("/dashboard")
    done_before = _tile(leader, "Hoàn thành đúng hạn")
    sxd_row = leader.get_by_role("row").filter(has_text="Sở Xây dựng")
    expect(sxd_row.locator('td[data-label="Hoàn thành đúng hạn"]')).to_have_text("0")

    # 2. The day's dispatch delivers the assignment (as .eml files: no SMTP server here), and
    # SXD's clerk opens the emailed link: through the login page and back to the task.
    assert jobs.dispatch(rt, as_of=SAMPLE_DAY).extra["sent"] >= 1
    link = _emailed_link(rt, task_code, _agency_email(rt, "SXD"))
    assert link.startswith(server.url + "/l/"), link
    clerk = open_page()
    clerk.goto(link)
    assert "/login" in clerk.url
    _sign_in(clerk, "sxd")
    assert clerk.url == f"{server.url}/inbox/{task_code}#xac-nhan", clerk.url
    expect(clerk.get_by_text("Rà soát quy hoạch khu đô thị phía Đông").first).to_be_visible()
    clerk.get_by_role("button", name="Xác nhận đã nhận").click()
    _flash(clerk, "Đã xác nhận nhận nhiệm vụ.")
    report = tmp_path / "bao-cao-ket-qua.pdf"
    report.write_bytes(PDF)
    clerk.get_by_label("Kết quả thực hiện").fill("Đã rà soát xong 5 khu đô thị, có báo cáo kèm.")
    clerk.get_by_label("Số văn bản báo cáo (nếu có)").fill("412/BC-SXD")
    clerk.get_by_label("Văn bản đính kèm").set_input_files(report)
    clerk.get_by_role("button", name="Gửi báo cáo kết quả").click()
    _flash(clerk, "Đã gửi báo cáo kết quả; chờ Văn phòng xác nhận.")
    pending = clerk.locator(".flash-info").filter(has_text="đang chờ Văn phòng xác nhận")
    expect(pending).to_contain_text("26/11/2026")

    # 3. The secretariat confirms the report from its queue.
    office.goto("/desk")
    office.get_by_role("link", name=task_code, exact=True).click()
    expect(office.get_by_text("412/BC-SXD").first).to_be_visible()
    office.get_by_role("button", name="Xác nhận hoàn thành").click()
    _flash(office, "Đã xác nhận hoàn thành nhiệm vụ.")
    expect(office.get_by_role("button", name="Xác nhận hoàn thành")).to_have_count(0)

    # 4. The leader's dashboard now counts it as done on time.
    leader.reload()
    assert _tile(leader, "Hoàn thành đúng hạn") == done_before + 1
    sxd_row = leader.get_by_role("row").filter(has_text="Sở Xây dựng")
    expect(sxd_row.locator('td[data-label="Hoàn thành đúng hạn"]')).to_have_text("1")
    _screenshot(leader, "journey1-dashboard-done-on-time.png")


def test_journey_extension_requested_then_granted_on_the_dashboard(
    server: Server, open_page: Any
) -> None:
    from playwright.sync_api import expect

    code = server.extension_task  # UBNDTP leads it, PCT1 is in charge, due 10/12/2026
    clerk = open_page()
    _sign_in(clerk, "ubndtp")
    assert clerk.url.endswith("/inbox"), clerk.url
    clerk.get_by_role("link", name=code, exact=True).click()
    clerk.get_by_label("Đề nghị gia hạn đến ngày").fill("2027-01-15")
    clerk.get_by_label("Lý do").fill("Chờ kết quả khảo sát hiện trạng của đơn vị tư vấn.")
    clerk.get_by_role("button", name="Gửi đề nghị gia hạn").click()
    _flash(clerk, "Đã gửi đề nghị gia hạn; chờ lãnh đạo quyết định.")

    leader = open_page()
    _sign_in(leader, "pct1")
    leader.goto("/dashboard")
    card = leader.locator("article.extension").filter(has_text=code)
    expect(card).to_contain_text("15/01/2027")
    card.get_by_role("radio", name=re.compile(r"^Đồng ý gia hạn")).check()
    card.get_by_label(f"Thời hạn mới của {code}").fill("2027-01-08")
    card.get_by_label("Ý kiến (không bắt buộc)").fill("Đồng ý, gia hạn ngắn hơn đề nghị.")
    card.get_by_role("button", name="Gửi quyết định").click()
    _flash(leader, f"{code}: đã đồng ý gia hạn đến 08/01/2027.")
    expect(leader.locator("article.extension").filter(has_text=code)).to_have_count(0)

    clerk.reload()
    expect(clerk.locator("dd").filter(has_text="08/01/2027")).to_contain_text("ban đầu 10/12/2026")
    clerk.goto("/inbox")
    row = clerk.get_by_role("row").filter(has_text=code)
    expect(row.locator('td[data-label="Thời hạn"]')).to_have_text("08/01/2027")
    clerk.get_by_role("link", name=code, exact=True).click()
    _screenshot(clerk, "journey2-extension-granted.png")
