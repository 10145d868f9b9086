"""The links in delivered emails: signed at dispatch, bound to the task, the agency and a purpose.

Each test enqueues through the services and jobs, delivers with the real dispatcher (to .eml
files, or to a real SMTP server), reads the links back out of both parts of the email, and
follows them in the web app as the agency's clerk and as someone else. SQLite and PostgreSQL.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from directives import links
from directives.db.outbox_tables import OutboxMessage
from directives.runtime import Runtime
from directives.services import outbox
from directives.web import create_app
from flows import jobs
from flows.dispatch import LinkSigner, dispatch, render_bytes
from notifications.files import eml_name
from tests.conftest import SAMPLE_DAY
from tests.smtp_server import SmtpServer
from tests.test_web import TestClient, login, seed  # (TestClient: imported without the warning)

APP_URL = "https://chidao.binhan.gov.vn"
SXD_MAIL = "vanthu.sxd@binhan.gov.vn"
LINK = re.compile(r'<a href="([^"]+)"[^>]*>([A-Z0-9-]+)</a>')
ROW = re.compile(r"^\d+\. ([A-Z0-9-]+) – ")
TEXT_LINK = re.compile(r"^\s+Xem và cập nhật: (\S+)$")


@pytest.fixture
def linked(rt: Runtime) -> Runtime:
    """The runtime of an installation whose web app is at APP_URL (so emails carry links)."""
    rt.settings = rt.settings.model_copy(update={"app_url": APP_URL})
    return rt


@dataclass(frozen=True)
class Delivered:
    """One delivered message: its kind, first recipient, stored context and parsed email."""

    kind: str
    to: str
    context: dict[str, Any]
    message: EmailMessage

    def links(self) -> dict[str, str]:
        """Task code → link, the same in the HTML part and in the text part."""
        html = self.message.get_body(("html",))
        text = self.message.get_body(("plain",))
        assert html is not None
        assert text is not None
        in_html = {code: href for href, code in LINK.findall(html.get_content())}
        in_text: dict[str, str] = {}
        code = ""
        for line in text.get_content().splitlines():
            if row := ROW.match(line):
                code = row.group(1)
            elif found := TEXT_LINK.match(line):
                in_text[code] = found.group(1)
        assert in_html == in_text
        return in_html


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _outbox(rt: Runtime) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, Message-ID, payload) of every message in the outbox."""
    columns = (OutboxMessage.kind, OutboxMessage.message_id, OutboxMessage.payload)
    with rt.unit_of_work() as s:
        return [(k, m, p) for k, m, p in s.execute(select(*columns))]


def _from_files(rt: Runtime) -> list[Delivered]:
    """Every message the dispatcher wrote to var/mail, with what the outbox holds of it."""
    return [
        Delivered(
            kind,
            payload["to"][0]["email"],
            payload["context"],
            _parse((rt.settings.mail_dir / eml_name(message_id)).read_bytes()),
        )
        for kind, message_id, payload in _outbox(rt)
    ]


def _one(delivered: list[Delivered], kind: str, to: str, **context: Any) -> Delivered:
    (found,) = [
        d
        for d in delivered
        if d.kind == kind and d.to == to and all(d.context.get(k) == v for k, v in context.items())
    ]
    return found


def _claim(rt: Runtime, link: str) -> links.LinkClaim:
    assert link.startswith(APP_URL + "/l/"), link
    return links.read_token(rt.settings, link.rpartition("/")[2], now=rt.clock.now())


def _browser(rt: Runtime, username: str | None = None) -> TestClient:
    """A browser on the app at APP_URL (https: its session cookie is Secure), maybe signed in."""
    browser = TestClient(create_app(rt), base_url=APP_URL, follow_redirects=False)
    if username is not None:
        assert login(browser, username).status_code == 303
    return browser


def _follow(browser: TestClient, link: str) -> tuple[int, str]:
    """Open an emailed link: the status and where it leads."""
    r = browser.get(urlsplit(link).path)
    return r.status_code, r.headers.get("location", "")


def test_assignment_links_open_the_acknowledgement_for_the_agency_and_no_one_else(
    linked: Runtime,
) -> None:
    rt = linked
    w = seed(rt, mail=True)
    assert dispatch(rt).statuses["sent"] == 5  # four lead agencies, one coordinator (SXD)
    delivered = _from_files(rt)
    lead = _one(delivered, "assigned", SXD_MAIL, coordinating=False)
    (link,) = lead.links().values()
    assert list(lead.links()) == [w.overdue]
    assert _claim(rt, link) == links.LinkClaim(w.overdue, "SXD", SXD_MAIL, "acknowledge")
    assert _follow(_browser(rt, "sxd"), link) == (303, f"/inbox/{w.overdue}#xac-nhan")
    assert _follow(_browser(rt, "stc"), link)[0] == 403  # a forwarded email opens nothing
    status, login_page = _follow(_browser(rt), link)
    assert (status, login_page.split("?")[0]) == (303, "/login")
    # SXD coordinates STC's task: its copy links that task for SXD, only to open it.
    copy = _one(delivered, "assigned", SXD_MAIL, coordinating=True)
    assert list(copy.links()) == [w.due_soon]
    claim = _claim(rt, copy.links()[w.due_soon])
    assert (claim.agency, claim.purpose) == ("SXD", "open")
    assert _follow(_browser(rt, "sxd"), copy.links()[w.due_soon]) == (303, f"/inbox/{w.due_soon}")
    stc = _one(delivered, "assigned", "vanthu.stc@binhan.gov.vn", coordinating=False)
    assert _claim(rt, stc.links()[w.due_soon]).agency == "STC"


def test_chase_links_open_the_report_form_over_smtp(linked: Runtime) -> None:
    rt = linked
    w = seed(rt)
    server = SmtpServer().start()
    try:
        rt.settings = rt.settings.model_copy(update={"smtp_url": server.url, "smtp_timeout": 5.0})
        jobs.chase(rt, as_of=SAMPLE_DAY)
        assert dispatch(rt).statuses["sent"] >= 2
        received = {str(r.message["Message-ID"]): r.message for r in server.handler.received}
    finally:
        server.stop()
    delivered = [
        Delivered(kind, payload["to"][0]["email"], payload["context"], received[message_id])
        for kind, message_id, payload in _outbox(rt)
    ]
    chase = _one(delivered, "overdue", SXD_MAIL)
    link = chase.links()[w.overdue]
    assert _claim(rt, link) == links.LinkClaim(w.overdue, "SXD", SXD_MAIL, "report")
    assert _follow(_browser(rt, "sxd"), link) == (303, f"/inbox/{w.overdue}#bao-cao")
    assert _follow(_browser(rt, "stc"), link)[0] == 403
    again = _one(delivered, "assigned_again", SXD_MAIL)  # not acknowledged yet: sent again
    assert _claim(rt, again.links()[w.overdue]).purpose == "acknowledge"
    soon = _one(delivered, "due_soon", "vanthu.stc@binhan.gov.vn")
    assert _claim(rt, soon.links()[w.due_soon]) == links.LinkClaim(
        w.due_soon, "STC", "vanthu.stc@binhan.gov.vn", "report"
    )


def test_escalation_to_the_agency_head_links_for_the_agency_but_not_to_the_leader(
    linked: Runtime,
) -> None:
    rt = linked
    w = seed(rt)
    jobs.escalate(rt, as_of=SAMPLE_DAY)
    dispatch(rt)
    delivered = _from_files(rt)
    head = _one(delivered, "escalate_head", "giamdoc.sxd@binhan.gov.vn")
    claim = _claim(rt, head.links()[w.overdue])
    assert (claim.agency, claim.email, claim.purpose) == ("SXD", head.to, "open")
    leader = _one(delivered, "escalate_leader", "pct1@binhan.gov.vn")
    assert leader.links() == {w.overdue: f"{APP_URL}/tasks/{w.overdue}"}  # the office's page


def _render(rt: Runtime, payload: dict[str, Any], now: datetime) -> bytes:
    """What the dispatcher sends for ``payload``: signed with a fresh signer, then built."""
    data = render_bytes(LinkSigner(rt.settings)(payload), now)
    assert isinstance(data, bytes), data
    return data


def test_a_claimed_message_renders_the_same_bytes_every_time(linked: Runtime) -> None:
    rt = linked
    seed(rt, mail=True)
    now = rt.clock.now()
    with rt.unit_of_work() as s:
        claimed = outbox.claim(s, now=now, worker="test", limit=10)
    first = [_render(rt, c.payload, now) for c in claimed]
    assert [_render(rt, c.payload, now) for c in claimed] == first
    assert all(b"/l/" in data and b"/tasks/" not in data for data in first)
    # A retry two days later: another Date header, the same links (stamped when enqueued).
    retried = [_render(rt, c.payload, now + timedelta(days=2)) for c in claimed]
    assert retried != first
    links_of = [Delivered("", "", {}, _parse(data)).links() for data in first]
    assert [Delivered("", "", {}, _parse(data)).links() for data in retried] == links_of


def test_messages_without_a_spec_or_an_app_url_keep_their_links(linked: Runtime) -> None:
    rt = linked
    w = seed(rt, mail=True)
    with rt.unit_of_work() as s:
        (payload,) = [
            p
            for p in s.scalars(select(OutboxMessage.payload))
            if p["to"][0]["email"] == SXD_MAIL and not p["context"]["coordinating"]
        ]
    sign = LinkSigner(rt.settings)
    old = {**payload, "context": {k: v for k, v in payload["context"].items() if k != "links"}}
    assert sign(old) == old  # enqueued before links were signed: the office's page
    unset = LinkSigner(rt.settings.model_copy(update={"app_url": ""}))
    assert unset(payload) == payload
    # A row of another agency's task keeps its link; the agency's own row is signed.
    other = {**payload["context"]["tasks"][0], "code": w.due_soon, "lead_agency": "Sở Tài chính"}
    rows = [*payload["context"]["tasks"], other]
    mixed = {**payload, "context": {**payload["context"], "tasks": rows}}
    own, kept = sign(mixed)["context"]["tasks"]
    assert own["link"].startswith(APP_URL + "/l/")
    assert kept == other


def test_a_message_whose_spec_is_damaged_dies_alone(linked: Runtime) -> None:
    rt = linked
    seed(rt, mail=True)
    with rt.unit_of_work() as s:
        damaged = next(
            m for m in s.scalars(select(OutboxMessage)) if m.payload["to"][0]["email"] == SXD_MAIL
        )
        context = damaged.payload["context"]
        damaged.payload = {
            **damaged.payload,
            "context": {**context, "links": {**context["links"], "purpose": "reset"}},
        }
        damaged_id = damaged.id
    summary = dispatch(rt)
    assert (summary.statuses["dead"], summary.statuses["sent"]) == (1, 4)
    with rt.unit_of_work() as s:
        dead = s.get(OutboxMessage, damaged_id)
        assert dead is not None
        assert dead.status == "dead"
        assert (dead.last_error or "").startswith("không ký được liên kết trong thư")
