"""A real SMTP server for tests (aiosmtpd on loopback) with faults that can be switched on.

It records what it accepted, parsed, so a test can count deliveries per Message-ID and decode
every message. STARTTLS uses a certificate made for the test (trustme); AUTH takes one login.
"""

from __future__ import annotations

import asyncio
import email
import socket
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "vanphong", "mật-khẩu-thử"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    """One accepted message: the envelope recipients and the parsed message."""

    recipients: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class Faults:
    """Switches for misbehaviour; each is read when the matching command arrives."""

    rcpt_codes: dict[str, str] = field(default_factory=dict)  # address → "451 …" / "550 …"
    mail_reply: str | None = None  # e.g. "421 4.3.2 service not available" (and close)
    close_after: int | None = None  # drop the connection after this many messages on it
    data_delay: float = 0.0  # seconds to wait before answering DATA (counted on answer)
    ehlo_delay: float = 0.0  # seconds before answering EHLO (nothing is accepted)


class Recorder:
    """The aiosmtpd handler: faults in, accepted messages out."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.received: list[Received] = []
        self._lock = threading.Lock()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        if self.faults.ehlo_delay:
            await asyncio.sleep(self.faults.ehlo_delay)
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        count = getattr(session, "accepted_here", 0)  # per connection; id() can be reused
        if self.faults.mail_reply or (
            self.faults.close_after is not None and count >= self.faults.close_after
        ):
            reply = self.faults.mail_reply or "421 4.4.2 closing connection"
            asyncio.get_running_loop().call_soon(server.transport.close)
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        code = self.faults.rcpt_codes.get(address.lower())
        if code:
            return code
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.faults.data_delay:
            await asyncio.sleep(self.faults.data_delay)
        raw = bytes(envelope.original_content or envelope.content)
        parsed = email.message_from_bytes(raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.received.append(Received(list(envelope.rcpt_tos), parsed, raw))
        session.accepted_here = getattr(session, "accepted_here", 0) + 1
        return "250 2.0.0 accepted"

    def by_message_id(self) -> Counter[str]:
        """How many times each Message-ID arrived."""
        with self._lock:
            return Counter(str(r.message["Message-ID"]) for r in self.received)

    def deliveries(self) -> Counter[tuple[str, str]]:
        """How many times each (Message-ID, recipient) pair arrived."""
        with self._lock:
            return Counter(
                (str(r.message["Message-ID"]), rcpt.lower())
                for r in self.received
                for rcpt in r.recipients
            )


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that can be started, stopped and started again."""

    def __init__(self, *, tls: ssl.SSLContext | None = None, port: int | None = None) -> None:
        self.handler = Recorder()
        self.port = port or free_port()
        self.tls = tls
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        """How the engine should reach it (credentials and CA given by the caller)."""
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        """Listen (again) on the same port."""
        kwargs: dict[str, Any] = {}
        if self.tls is not None:
            kwargs = {
                "tls_context": self.tls,
                "require_starttls": True,
                "authenticator": _authenticate,
                "auth_required": True,
                "auth_require_tls": True,
            }
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            ready_timeout=10,
            **kwargs,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening; connections in progress are closed."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, n: int, timeout: float = 30.0) -> None:
        """Block until ``n`` messages have arrived (for tests driving another process)."""
        deadline = time.monotonic() + timeout
        while len(self.handler.received) < n and time.monotonic() < deadline:
            time.sleep(0.01)
