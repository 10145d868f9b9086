"""``directives serve`` as a real process, and an API client that retries as a sender must.

The web app runs with its embedded scheduler on (the one-process default), so killing it kills
the scheduler too, and a restarted app must take the scheduler's lock back: its banner says
whether it did. Its clock is a Sunday: the office enters the week's directives, and the embedded
scheduler, which fires on the wall clock, finds a rest day and does nothing (the jobs that matter
run as ``directives run`` processes on the harness's clock).

The client pushes directives (``POST /api/directives``, idempotent on number and year: a push
whose answer was lost answers 409 with the codes the first one got) and acknowledges tasks. It
retries a refused connection (after starting the app again if it died) and a 5xx (the database
was away), and treats "already done" as done; the database is checked at the end either way.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import httpx

from bench._chaos_procs import Launcher, kill_group
from bench._chaos_smtp import free_port

SCHEDULER_ON = "Bộ lập lịch nhúng: đang chạy"
READY_TIMEOUT = 60.0
RECOVERY_TIMEOUT = 30.0


@dataclass
class WebApp:
    """The ``serve`` process, started again after each death."""

    launcher: Launcher
    now: datetime
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    scheduler_refused: int = 0  # starts whose banner did not say the scheduler runs
    logs: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        """The app's address."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start ``directives serve`` and wait until it listens."""
        log = f"{self.launcher.launches:03d}-serve"
        args = ["serve", "--port", str(self.port), "--no-sample", "--scheduler"]
        self.proc = self.launcher.popen(args, self.now, log)
        self.logs.append(log)
        self.starts += 1
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}: {self._err()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"serve did not listen within {READY_TIMEOUT:.0f} s")
        if SCHEDULER_ON not in self._out():
            self.scheduler_refused += 1

    def _out(self) -> str:
        return (self.launcher.folder / f"{self.logs[-1]}.out").read_text(errors="replace")

    def _err(self) -> str:
        return (self.launcher.folder / f"{self.logs[-1]}.err").read_text(errors="replace")[-500:]

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the app (and its scheduler thread with it)."""
        proc = self.proc  # the client may start a new one meanwhile
        if proc is not None:
            kill_group(proc)
            proc.wait()

    def stop(self) -> None:
        """Stop the app the ordinary way (SIGTERM), or kill it if it hangs."""
        if self.alive():
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Call:
    """One API operation as the client saw it."""

    what: str
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    connection_errors: int = 0
    server_errors: int = 0
    interrupted: bool = False  # a connection error while this call was in flight


class Client:
    """Calls the API with a token, retrying until the operation has an answer."""

    def __init__(self, app: WebApp, token: str, *, on_death: Callable[[], None]) -> None:
        self.app = app
        self.on_death = on_death
        self.http = httpx.Client(
            base_url=app.base, headers={"Authorization": f"Bearer {token}"}, timeout=30.0
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def push(self, body: dict[str, Any]) -> Call:
        """Push a directive: 201 or 409 with its codes."""
        return self._call(f"push {body['number']}", "/api/directives", body, (201, 409))

    def acknowledge(self, code: str, on: date) -> Call:
        """Acknowledge a task as the office: 200, or 409 if it already was."""
        path = f"/api/tasks/{code}/acknowledge"
        return self._call(f"ack {code}", path, {"on": on.isoformat()}, (200, 409))

    def _call(self, what: str, path: str, body: dict[str, Any], done: tuple[int, ...]) -> Call:
        call = Call(what)
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                answer = self.http.post(path, json=body)
            except httpx.TransportError as exc:
                call.connection_errors += 1
                # Refused: the app was down before we asked; anything else: it died meanwhile.
                call.interrupted |= not isinstance(exc, httpx.ConnectError)
                if not self.app.alive():
                    self.on_death()
                else:
                    time.sleep(0.05)
                continue
            if answer.status_code >= 500:
                call.server_errors += 1
                time.sleep(0.1)
                continue
            call.status, call.body = answer.status_code, answer.json()
            if answer.status_code not in done:
                raise RuntimeError(f"{what}: {answer.status_code} {answer.text[:300]}")
            return call
        raise RuntimeError(f"{what}: no answer within {RECOVERY_TIMEOUT:.0f} s")


def strike_later(delay: float, action: Callable[[], None]) -> threading.Timer:
    """Run ``action`` in ``delay`` seconds, from another thread (while a request is in flight)."""
    timer = threading.Timer(delay, action)
    timer.daemon = True
    timer.start()
    return timer
