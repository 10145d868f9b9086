"""The chaos suite's SMTP server: aiosmtpd on loopback that records every message it accepts,
which dispatcher run sent it, and can flap.

Flap modes, each for as long as the harness leaves it on:

- ``refuse``: the listener is stopped, so connections are refused;
- ``421``: ``421`` to MAIL FROM, and the connection is closed;
- ``451-rcpt``: ``451`` to RCPT TO for about half of the addresses (the others are accepted, so
  a message is delivered in parts);
- ``451-data``: ``451`` at the end of DATA; the message is not accepted;
- ``stall``: the next message is accepted (recorded) but its answer comes after the client gave
  up waiting, which the README counts in the at-least-once window like a crash; one message only,
  then the server answers normally again.

A hook called on each accepted message, before the ``250`` answer, lets the harness strike at
that exact moment (kill the dispatcher, fill the disk, start a flap).
"""

from __future__ import annotations

import asyncio
import email
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller

FLAP_MODES = ("refuse", "421", "451-rcpt", "451-data", "stall")
TASK_CODE = re.compile(r"\b(?:CX-\d{4}|NV\d{2}-\d{4,})\b")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Receipt:
    """One accepted message, as the server saw it."""

    at: float  # time.monotonic()
    run: str | None  # the dispatcher run the harness had marked as current at MAIL FROM
    message_id: str
    kind: str
    recipients: tuple[str, ...]  # envelope, lower case
    codes: frozenset[str]  # task codes named in the text part
    text: str  # the text part, to compare a copy with its original


def _parse(raw: bytes) -> tuple[str, str, frozenset[str], str]:
    parsed = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    codes = frozenset(TASK_CODE.findall(text))
    return str(parsed["Message-ID"]), str(parsed["X-Directives-Kind"]), codes, text


@dataclass
class _State:
    flap: str | None = None
    stall_seconds: float = 0.0
    stalls_left: int = 0
    data_delay: float = 0.0
    run: str | None = None
    hook: Callable[[int], None] | None = None  # called with the run's count of accepted
    per_run: dict[str, int] = field(default_factory=dict)


class ChaosSmtp:
    """The server; ``received`` lists every accepted message in order."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Receipt] = []
        self.hook_errors: list[str] = []
        self.flap_log: list[tuple[str, str | None]] = []  # (mode, run it began in)
        self.state = _State()
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        """``DIRECTIVES_SMTP_URL`` for the engine."""
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> ChaosSmtp:
        """Listen (again) on the same port."""
        if self._controller is None:
            self._controller = Controller(
                _Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=10
            )
            self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are refused until ``start``)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def begin_run(self, run: str, hook: Callable[[int], None] | None = None) -> None:
        """Attribute what arrives from now on to dispatcher ``run``; ``hook`` sees each one."""
        with self._lock:
            self.state.run, self.state.hook = run, hook
            self.state.per_run[run] = 0

    def end_run(self) -> None:
        """No dispatcher is running: anything arriving now is unattributed."""
        with self._lock:
            self.state.run, self.state.hook = None, None

    def flap(self, mode: str | None, *, stall_seconds: float = 0.0) -> None:
        """Begin flapping in ``mode``, or (None) come back to normal."""
        if mode is not None and mode not in FLAP_MODES:
            raise ValueError(f"flap mode {mode!r}: expected one of {FLAP_MODES}")
        with self._lock:
            if mode is not None:
                self.flap_log.append((mode, self.state.run))
            self.state.flap, self.state.stall_seconds = mode, stall_seconds
            self.state.stalls_left = 1 if mode == "stall" else 0
        if mode == "refuse":
            self.stop()
        else:
            self.start()

    def _accept(
        self, raw: bytes, recipients: list[str], run: str | None
    ) -> tuple[int, Callable[[int], None] | None]:
        """Record a message accepted from ``run``; the run's count so far and its hook, if it
        is the current run."""
        message_id, kind, codes, text = _parse(raw)
        with self._lock:
            self.received.append(
                Receipt(
                    time.monotonic(),
                    run,
                    message_id,
                    kind,
                    tuple(r.lower() for r in recipients),
                    codes,
                    text,
                )
            )
            if run is None or run != self.state.run:
                return 0, None
            count = self.state.per_run[run] = self.state.per_run[run] + 1
            return count, self.state.hook


class _Handler:
    """aiosmtpd's hooks (named by aiosmtpd), reading the server's flap state."""

    def __init__(self, server: ChaosSmtp) -> None:
        self.server = server

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.server.state.flap == "421":
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.3.2 service not available, closing connection"
        # The run is the one sending now: DATA may be read after that process died (its last
        # bytes were in flight), and must still count as that run's.
        session.chaos_run = self.server.state.run
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        # The same half of the addresses every time: a stable hash, not Python's salted one.
        if self.server.state.flap == "451-rcpt" and zlib.crc32(address.lower().encode()) % 2:
            return "451 4.2.1 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        state = self.server.state
        if state.flap == "451-data":
            return "451 4.3.0 temporary failure, try again later"
        if state.data_delay:
            await asyncio.sleep(state.data_delay)
        raw = bytes(envelope.original_content or envelope.content)
        run = getattr(session, "chaos_run", None)
        count, hook = self.server._accept(raw, list(envelope.rcpt_tos), run)
        if hook is not None and count:
            try:
                hook(count)  # may kill the dispatcher before it hears the answer
            except Exception as exc:  # the harness's fault, not the server's answer
                self.server.hook_errors.append(f"{type(exc).__name__}: {exc}")
        if state.flap == "stall" and state.stalls_left > 0:
            state.stalls_left -= 1
            await asyncio.sleep(state.stall_seconds)
        return "250 2.0.0 accepted"
