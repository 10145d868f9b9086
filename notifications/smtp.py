"""SMTP delivery over reused aiosmtplib connections, with every reply classified per recipient.

A connection sends one message at a time; concurrency is several connections. Replies are sorted
into accepted, refused (5xx: permanent for that recipient) and deferred (4xx: try again later).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

SCHEMES = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}
DEFAULT_PORTS = {"plain": 25, "starttls": 587, "tls": 465}


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to connect, parsed from ``DIRECTIVES_SMTP_URL``."""

    host: str
    port: int
    mode: str  # plain | starttls | tls
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    cafile: str | None = None
    verify: bool = True

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 30.0) -> SmtpConfig:
        """Parse ``smtp://host:port``, ``smtp+starttls://user:pass@host:587``, ``smtps://…``.

        Query options: ``cafile=/path`` (trust this CA), ``verify=false`` (do not check the
        certificate), ``timeout=SECONDS``.
        """
        parts = urlsplit(url)
        mode = SCHEMES.get(parts.scheme)
        if mode is None or not parts.hostname:
            shown = parts._replace(netloc=parts.hostname or "").geturl()
            raise ValueError(
                f"SMTP URL {shown!r}: expected smtp://, smtp+starttls:// or smtps:// with a host"
            )
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[mode],
            mode=mode,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=float(query.get("timeout", [timeout])[0]),
            cafile=query.get("cafile", [None])[0],
            verify=query.get("verify", ["true"])[0].lower() not in ("false", "0", "no"),
        )

    def tls_context(self) -> ssl.SSLContext | None:
        """The TLS context for STARTTLS or implicit TLS."""
        if self.mode == "plain":
            return None
        ctx = ssl.create_default_context(cafile=self.cafile)
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


@dataclass(frozen=True)
class Delivery:
    """What one attempt achieved."""

    accepted: tuple[str, ...] = ()
    refused: dict[str, str] = field(default_factory=dict)  # 5xx per recipient
    deferred: dict[str, str] = field(default_factory=dict)  # 4xx per recipient
    error: str | None = None  # the whole attempt failed
    permanent: bool = False  # with ``error``: a 5xx for the whole message
    code: int | None = None
    duration_ms: int = 0


def _reply(code: int, message: str) -> str:
    return f"{code} {message}".strip()


class _Client(aiosmtplib.SMTP):
    """aiosmtplib's client, noting whether the message itself went out (DATA was begun)."""

    data_begun = False

    async def data(self, *args: Any, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        self.data_begun = True
        return await super().data(*args, **kwargs)


class SmtpConnection:
    """One SMTP session, opened on first use and reused for many messages."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._client: _Client | None = None
        self._sent_on_this_connection = 0
        self._answer_lost = False  # the last attempt sent the message and heard no answer

    async def _connect(self) -> _Client:
        cfg = self.config
        client = _Client(
            hostname=cfg.host,
            port=cfg.port,
            timeout=cfg.timeout,
            use_tls=cfg.mode == "tls",
            start_tls=cfg.mode == "starttls",
            tls_context=cfg.tls_context(),
            validate_certs=cfg.verify,
            username=cfg.username,
            password=cfg.password,
        )
        await client.connect()
        self._sent_on_this_connection = 0
        return client

    async def close(self) -> None:
        """Say QUIT if the server still listens; never raises."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if client.is_connected:
                await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()

    async def send(
        self, msg: EmailMessage | bytes, sender: str, recipients: Sequence[str]
    ) -> Delivery:
        """Hand ``msg`` to the server; an idle connection the server dropped is reopened once."""
        started = time.monotonic()
        reused = self._client is not None and self._sent_on_this_connection > 0
        result = await self._attempt(msg, sender, recipients)
        closed = result.error is not None and result.code in (None, 421) and not result.permanent
        if reused and closed and not self._answer_lost:
            # The server dropped or closed (421) a connection it had served before the message
            # went out: it was not accepted, so one more try on a fresh connection cannot double
            # it. Once DATA was begun, a timeout or a drop may hide an acceptance: that attempt
            # is settled as failed and retried later, the one window DESIGN.md allows.
            result = await self._attempt(msg, sender, recipients)
        ms = int((time.monotonic() - started) * 1000)
        return Delivery(
            result.accepted,
            result.refused,
            result.deferred,
            result.error,
            result.permanent,
            result.code,
            ms,
        )

    async def _attempt(
        self, msg: EmailMessage | bytes, sender: str, recipients: Sequence[str]
    ) -> Delivery:
        self._answer_lost = False
        try:
            if self._client is None or not self._client.is_connected:
                self._client = await self._connect()
            self._client.data_begun = False
            # Serialized once with the message's own policy (CRLF, 7-bit): what was built is
            # exactly what goes out, and aiosmtplib does not flatten it a second time.
            data = msg if isinstance(msg, bytes) else bytes(msg)
            errors, _ = await self._client.sendmail(sender, list(recipients), data)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return _split({r.recipient: (r.code, r.message) for r in exc.recipients}, recipients)
        except (
            aiosmtplib.SMTPSenderRefused,
            aiosmtplib.SMTPDataError,
            aiosmtplib.SMTPResponseException,
        ) as exc:
            await self._drop()
            return Delivery(
                error=_reply(exc.code, exc.message), permanent=500 <= exc.code < 600, code=exc.code
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            self._answer_lost = self._client is not None and self._client.data_begun
            await self._drop()
            return Delivery(error=f"{type(exc).__name__}: {exc}")
        self._sent_on_this_connection += 1
        return _split({a: (r.code, r.message) for a, r in errors.items()}, recipients)

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


def _split(problems: dict[str, tuple[int, str]], recipients: Sequence[str]) -> Delivery:
    refused = {a: _reply(c, m) for a, (c, m) in problems.items() if 500 <= c < 600}
    deferred = {a: _reply(c, m) for a, (c, m) in problems.items() if not 500 <= c < 600}
    accepted = tuple(a for a in recipients if a not in problems)
    return Delivery(accepted=accepted, refused=refused, deferred=deferred)
