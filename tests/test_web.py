"""The web app's security: login, throttling, sessions, CSRF, headers and who may open what.

Every test runs on SQLite and on PostgreSQL (the ``rt`` fixture). ``test_web_pages`` reuses the
helpers here (``seed``, ``signed_in``, ``csrf_of``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from directives.clock import FixedClock
from directives.db.tables import AuditEntry
from directives.domain import DeadlineSpec, DirectiveKind
from directives.links import secret_key
from directives.runtime import Runtime
from directives.services import intake, users
from directives.services.mailing import MailSettings
from directives.settings import Settings
from directives.web import create_app
from directives.web.security import MAX_BODY_BYTES
from directives.workflow import Role
from tests.builders import OFFICE, seed_registry

with warnings.catch_warnings():  # until the test extra installs httpx2, which starlette prefers
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

PASSWORD = "mật-khẩu-thử-2026"
ACCOUNTS: dict[str, tuple[Role, str | None]] = {
    "vanphong": (Role.SECRETARIAT, None),
    "sxd": (Role.AGENCY, "SXD"),
    "stc": (Role.AGENCY, "STC"),
    "skhdt": (Role.AGENCY, "SKHDT"),
    "ct": (Role.LEADER, "CT"),
    "pct1": (Role.LEADER, "PCT1"),
}
_hash: list[str] = []  # one argon2 run for the whole session


@dataclass(frozen=True)
class World:
    """The codes of the seeded tasks, by how they stand on 26/11/2026."""

    overdue: str  # SXD leads
    due_soon: str  # STC leads, SXD coordinates
    standing: str  # SKHDT leads
    within_term: str  # UBNDTP leads


def seed(rt: Runtime, *, mail: bool = False) -> World:
    """Four agencies, two leaders, one directive of four tasks, and the accounts."""
    if not _hash:
        _hash.append(users.hash_password(PASSWORD))
    with rt.unit_of_work() as s:
        seed_registry(s)
        new = intake.NewTask
        (directive,) = intake.issue_directives(
            s,
            [
                intake.NewDirective(
                    number="101/TB-UBND",
                    issued_on=date(2026, 10, 1),
                    kind=DirectiveKind.CONCLUSION_NOTICE,
                    signer="PCT1",
                    summary="Kết luận của Phó Chủ tịch UBND tỉnh về quy hoạch đô thị",
                    tasks=(
                        new("Rà soát quy hoạch khu đô thị mới", "SXD", officer="CV01",
                            deadline=DeadlineSpec(on=date(2026, 11, 10))),
                        new("Báo cáo giải ngân vốn đầu tư công", "STC", ("SXD",),
                            deadline=DeadlineSpec(on=date(2026, 11, 30))),
                        new("Theo dõi giá vật liệu xây dựng", "SKHDT"),
                        new("Kiểm tra an toàn trường học", "UBNDTP",
                            deadline=DeadlineSpec(on=date(2026, 12, 31))),
                    ),
                )
            ],
            actor=OFFICE,
            clock=rt.clock,
            mail=MailSettings.from_settings(rt.settings) if mail else None,
        )  # fmt: skip
        for name, (role, code) in ACCOUNTS.items():
            users.create_user(
                s,
                username=name,
                display_name=f"Tài khoản {name}",
                role=role,
                clock=rt.clock,
                password_hash=_hash[0],
                agency=code if role is Role.AGENCY else None,
                leader=code if role is Role.LEADER else None,
            )
        codes = [t.code for t in sorted(directive.tasks, key=lambda t: t.position)]
    return World(*codes)


def client(rt: Runtime) -> TestClient:
    """A browser on a fresh app over ``rt``; redirects are not followed, so tests see them."""
    return TestClient(create_app(rt), follow_redirects=False)


def csrf_of(browser: TestClient, path: str = "/login") -> str:
    """The session's CSRF token, as a page hands it to its forms."""
    found = re.search(r'name="csrf-token" content="([^"]+)"', browser.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def login(browser: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Post the login form with the session's token."""
    data = {"username": username, "password": password, "csrf_token": csrf_of(browser)}
    return browser.post("/login", data=data)


def signed_in(rt: Runtime, username: str) -> TestClient:
    """A browser signed in as ``username``."""
    browser = client(rt)
    assert login(browser, username).status_code == 303
    return browser


def audit_actions(rt: Runtime) -> list[tuple[str, str, str]]:
    """(user name, action, address) of every audit entry, oldest first."""
    with rt.unit_of_work() as s:
        rows = s.execute(select(AuditEntry.username, AuditEntry.action, AuditEntry.ip))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_login_opens_the_role_home_with_an_httponly_lax_cookie(rt: Runtime) -> None:
    seed(rt)
    browser = client(rt)
    assert browser.get("/").headers["location"] == "/login"
    r = login(browser, "vanphong")
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http: a Secure cookie would never come back
    assert browser.get("/").headers["location"] == "/tasks"
    page = browser.get("/tasks")
    assert page.status_code == 200
    assert "Tài khoản vanphong" in page.text
    assert "Xin chào" in page.text
    assert ("vanphong", "login", "testclient") in audit_actions(rt)


def test_cookie_is_secure_and_hsts_sent_behind_https(rt: Runtime) -> None:
    seed(rt)
    settings = rt.settings.model_copy(update={"app_url": "https://chidao.binhan.gov.vn"})
    secure_rt = Runtime(settings, rt.engine, rt.sessions, rt.clock)
    browser = TestClient(create_app(secure_rt), base_url="https://testserver")
    r = browser.post(
        "/login",
        data={"username": "vanphong", "password": PASSWORD, "csrf_token": csrf_of(browser)},
        follow_redirects=False,
    )
    assert "secure" in r.headers["set-cookie"].lower()
    assert r.headers["strict-transport-security"].startswith("max-age=")


def test_login_lands_on_the_page_asked_for_but_never_on_another_site(rt: Runtime) -> None:
    seed(rt)
    browser = client(rt)
    first = browser.get("/tasks?status=overdue")
    assert first.headers["location"] == "/login?next=%2Ftasks%3Fstatus%3Doverdue"
    for target, lands in [("/tasks?status=overdue", "/tasks?status=overdue"),
                          ("//evil.example/x", "/"), ("https://evil.example", "/")]:  # fmt: skip
        fresh = client(rt)
        data = {"username": "sxd", "password": PASSWORD, "csrf_token": csrf_of(fresh)}
        r = fresh.post("/login", data={**data, "next": target})
        assert r.headers["location"] == lands


def test_wrong_password_and_unknown_user_get_the_same_refusal(rt: Runtime) -> None:
    seed(rt)
    browser = client(rt)
    wrong = login(browser, "vanphong", "không đúng")
    unknown = login(browser, "khongco", "không đúng")
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert "Tên đăng nhập hoặc mật khẩu không đúng." in r.text
    assert browser.get("/tasks").status_code == 303
    failed = [(u, a) for u, a, _ in audit_actions(rt) if a == "login_failed"]
    assert failed == [("vanphong", "login_failed"), ("khongco", "login_failed")]


def test_five_failures_lock_the_name_for_fifteen_minutes(rt: Runtime) -> None:
    seed(rt)
    browser = client(rt)
    for _ in range(5):
        assert login(browser, "sxd", "sai mật khẩu").status_code == 401
    locked = login(browser, "sxd")  # even the right password
    assert locked.status_code == 429
    assert "thử lại sau" in locked.text
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    same_app = TestClient(browser.app, follow_redirects=False)  # the limiter lives in the app
    assert login(same_app, "stc").status_code == 303  # another name from the same address
    assert isinstance(rt.clock, FixedClock)
    rt.clock = FixedClock(rt.clock.instant + timedelta(minutes=14))
    assert login(browser, "sxd").status_code == 429
    rt.clock = FixedClock(rt.clock.instant + timedelta(minutes=2))
    assert login(browser, "sxd").status_code == 303


def test_logout_ends_the_session_and_needs_the_token(rt: Runtime) -> None:
    seed(rt)
    browser = signed_in(rt, "sxd")
    assert browser.post("/logout").status_code == 403  # no token: still signed in
    assert browser.get("/tasks").status_code == 200
    token = csrf_of(browser, "/tasks")
    r = browser.post("/logout", headers={"X-CSRF-Token": token})
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    assert browser.get("/tasks").headers["location"].startswith("/login")
    assert [a for _, a, _ in audit_actions(rt)] == ["login", "logout"]


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(rt: Runtime) -> None:
    seed(rt)
    browser = client(rt)
    csrf_of(browser)  # the session exists and has a token; the forms below do not send it
    form = {"username": "vanphong", "password": PASSWORD}
    for data in (form, {**form, "csrf_token": "giả-mạo"}, {**form, "csrf_token": ""}):
        r = browser.post("/login", data=data)
        assert r.status_code == 403
        assert "mã chống giả mạo" in r.text
    other = client(rt)  # a token from another session is worth nothing here
    assert other.post("/login", data={**form, "csrf_token": csrf_of(client(rt))}).status_code == 403
    assert browser.get("/tasks").status_code == 303
    assert audit_actions(rt) == []


def test_a_body_over_the_limit_is_refused_before_anything_reads_it(rt: Runtime) -> None:
    seed(rt)
    browser = signed_in(rt, "vanphong")
    token = csrf_of(browser, "/import")
    big = b"x" * (MAX_BODY_BYTES + 1)
    declared = browser.post(
        "/import",
        files={"file": ("lon.csv", big, "text/csv")},
        data={"csrf_token": token},
    )
    assert declared.status_code == 413
    assert "tối đa 32 MB" in declared.text
    assert declared.headers["x-content-type-options"] == "nosniff"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        for _ in range(MAX_BODY_BYTES // (1024 * 1024) + 2):
            yield b"y" * (1024 * 1024)

    streamed = browser.post(
        "/import",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=b", "x-csrf-token": token},
    )
    assert streamed.status_code == 413
    api = browser.post(
        "/api/directives",
        content=chunks(),
        headers={"content-type": "application/json", "x-csrf-token": token},
    )
    assert api.status_code == 413
    assert api.json() == {"detail": "Nội dung gửi lên quá lớn: tối đa 32 MB."}
    # Under the limit the route answers as usual (here: a file type it does not accept).
    small = browser.post(
        "/import", files={"file": ("a.txt", b"abc", "text/plain")}, data={"csrf_token": token}
    )
    assert small.status_code == 422  # the form again, with the reason
    assert "chỉ nhận tệp .csv hoặc .xlsx" in small.text


def test_a_new_password_ends_the_sessions_signed_in_with_the_old_one(rt: Runtime) -> None:
    seed(rt)
    browser = signed_in(rt, "stc")
    with rt.unit_of_work() as s:
        users.set_password(s, "stc", "mật-khẩu-mới-2026")
    assert browser.get("/tasks").headers["location"].startswith("/login")
    with rt.unit_of_work() as s:
        users.set_active(s, "sxd", False)
    assert login(client(rt), "sxd").status_code == 401  # a locked account cannot sign in


def test_security_headers_on_pages_errors_and_static_files(rt: Runtime) -> None:
    browser = client(rt)
    for path, status in [("/login", 200), ("/khong-co", 404), ("/static/app.css", 200)]:
        r = browser.get(path)
        assert r.status_code == status, path
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
    assert browser.get("/login").headers["cache-control"] == "no-store"
    page = browser.get("/login").text
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts
    assert all(re.search(r'src="/static/[a-z.]+\.js\?v=', s) for s in scripts), scripts
    assert "cdn" not in page.lower()
    htmx = browser.get("/static/htmx.min.js")
    assert "htmx" in htmx.text[:200]
    assert htmx.headers["content-encoding"] == "gzip"  # static files only: pages hold the token
    assert "content-encoding" not in browser.get("/login").headers
    assert "Không có trang này." in browser.get("/khong-co").text


def test_the_session_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", secret_key=None)
    first = secret_key(settings)
    assert len(first) >= 40
    assert secret_key(settings) == first  # the same after a restart: sessions survive it
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert secret_key(Settings(var_dir=tmp_path, secret_key="k" * 40)) == "k" * 40


MATRIX_ROLES = [None, "vanphong", "sxd", "stc", "ct"]


def _expected(route: str, who: str | None) -> int:
    """The status each role gets on each route (303 = sent to the login page or home)."""
    public = {"/healthz": 200, "/api/openapi.json": 200}
    if route in public:
        return public[route]
    if route == "/login":
        return 200 if who is None else 303
    if who is None or route == "/":
        return 303
    if route.startswith("/mail"):
        return 200 if who == "vanphong" else 403
    owner = {"overdue": {"sxd"}, "due_soon": {"sxd", "stc"}, "standing": set()}
    for kind, agencies in owner.items():
        if route == f"/tasks/{{{kind}}}":
            return 200 if ACCOUNTS[who][0] is not Role.AGENCY or who in agencies else 404
    if route == "/tasks/NV99-9999":
        return 404
    return 200


ROUTES = [
    "/",
    "/login",
    "/healthz",
    "/api/openapi.json",
    "/tasks",
    "/tasks/{overdue}",
    "/tasks/{due_soon}",
    "/tasks/{standing}",
    "/tasks/NV99-9999",
    "/mail",
    "/mail/{eml}",
    "/mail/{eml}/html",
]


def _write_eml(folder: Path) -> str:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = "Thư thử", "vp@localhost", "sxd@localhost"
    msg.set_content("Nội dung")
    msg.add_alternative("<p>Nội dung</p>", subtype="html")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "thu-thu.eml").write_bytes(bytes(msg))
    return "thu-thu.eml"


@pytest.mark.parametrize("who", MATRIX_ROLES, ids=lambda w: w or "anonymous")
def test_authorization_matrix_every_route_for_every_role(rt: Runtime, who: str | None) -> None:
    world = seed(rt)
    eml = _write_eml(rt.settings.mail_dir)
    browser = signed_in(rt, who) if who else client(rt)
    values = {**world.__dict__, "eml": eml}
    for route in ROUTES:
        r = browser.get(route.format(**values))
        assert r.status_code == _expected(route, who), (route, who, r.status_code)
        if r.status_code == 303 and who is None and route not in ("/", "/login"):
            assert r.headers["location"].startswith("/login?next=")
    if who and ACCOUNTS[who][0] is Role.AGENCY:  # someone else's task looks like no task at all
        theirs = browser.get(f"/tasks/{world.standing}").text.replace(world.standing, "X")
        none = browser.get("/tasks/NV99-9999").text.replace("NV99-9999", "X")
        assert theirs == none
    for path in ("/login", "/logout"):  # no token: refused whoever asks
        assert browser.post(path, data={"username": "vanphong"}).status_code == 403
