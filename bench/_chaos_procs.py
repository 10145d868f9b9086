"""Real ``directives`` processes for the chaos suite, each struck at a random moment if asked.

Every command is the installed ``directives`` script in its own process group, with the trial's
``DIRECTIVES_*`` environment and a clock of its own (``DIRECTIVES_NOW``): the harness keeps a
virtual clock that moves ten minutes per run, as the dispatcher's cron does, so a claim left by
a killed dispatcher has expired when the next run comes. A strike (SIGKILL of the group, a
PostgreSQL restart, a full disk) is aimed at a random moment after the process opened its
database (the SQLite file among its descriptors, or a TCP connection to the server), uniform over
how long that command usually works once connected: start-up is import time, not chaos.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
RUN_TIMEOUT = 180.0


def directives_argv() -> list[str]:
    """How to start the ``directives`` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("directives")
    return [str(script)] if script.exists() else [sys.executable, "-m", "directives"]


class VirtualClock:
    """The time each process is told: 07:00 in Hanoi on its day, then ten minutes later each run."""

    STEP = timedelta(minutes=10)

    def __init__(self) -> None:
        self._next: dict[date, datetime] = {}

    def tick(self, day: date) -> datetime:
        """The next moment of ``day``."""
        now = self._next.get(day) or datetime.combine(day, clock_time(7, 0), HANOI)
        self._next[day] = now + self.STEP
        return now

    def at_least(self, day: date, moment: datetime) -> None:
        """Make the next tick of ``day`` no earlier than ``moment`` (something falls due then)."""
        current = self._next.get(day) or datetime.combine(day, clock_time(7, 0), HANOI)
        self._next[day] = max(current, moment.astimezone(HANOI))


@dataclass
class Target:
    """Where the processes keep their data: a SQLite file, or a PostgreSQL port."""

    sqlite_path: Path | None = None
    pg_port: int | None = None


def connected(pid: int, target: Target) -> bool:
    """Whether process ``pid`` has opened its database yet."""
    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return False  # gone, or a descriptor closed while we looked
    if target.sqlite_path is not None:
        path = str(target.sqlite_path)
        return any(link == path or link.startswith(path + "-") for link in links)
    inodes = {link[8:-1] for link in links if link.startswith("socket:[")}
    wanted = f":{target.pg_port:04X}"
    try:
        lines = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(
        parts[2].endswith(wanted) and parts[9] in inodes for parts in (x.split() for x in lines)
    )


@dataclass
class Outcome:
    """How one process ended."""

    label: str
    kind: str
    now: datetime
    rc: int
    struck: bool  # the strike happened while the process was alive
    stdout: str
    stderr: str
    seconds: float

    @property
    def last_error(self) -> str:
        """The last line the process wrote to stderr."""
        lines = [x for x in self.stderr.splitlines() if x.strip()]
        return lines[-1] if lines else ""


@dataclass
class Launcher:
    """Starts commands with the trial's environment; learns how long each kind works."""

    folder: Path
    env: dict[str, str]
    target: Target
    rng: random.Random
    spread: float = 1.0  # strike within this share of the usual working time (0: on connecting)
    preexec: Callable[[], Callable[[], None] | None] | None = None  # e.g. a file-size limit
    work: dict[str, float] = field(default_factory=dict)  # kind → seconds connected, averaged
    launches: int = 0

    def popen(self, args: list[str], now: datetime, log: str) -> subprocess.Popen[bytes]:
        """Start ``directives ARGS`` at ``now`` in its own process group."""
        env = {**self.env, "DIRECTIVES_NOW": now.isoformat()}
        self.launches += 1
        with (
            (self.folder / f"{log}.out").open("wb") as out,
            (self.folder / f"{log}.err").open("wb") as err,
        ):
            return subprocess.Popen(
                [*directives_argv(), *args],
                env=env,
                cwd=self.folder,
                stdout=out,
                stderr=err,
                start_new_session=True,
                preexec_fn=self.preexec() if self.preexec is not None else None,
            )

    def run(
        self,
        kind: str,
        args: list[str],
        now: datetime,
        *,
        strike: Callable[[], None] | None = None,
        on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
    ) -> Outcome:
        """Run to the end; ``strike`` once at a random moment after it connected, if alive."""
        log = f"{self.launches:03d}-{kind}"
        started = time.monotonic()
        proc = self.popen(args, now, log)
        if on_start is not None:
            on_start(proc)
        struck = False
        connected_at: float | None = None
        delay = self.rng.uniform(0.0, self.work.get(kind, 0.6)) * self.spread
        while proc.poll() is None and time.monotonic() - started < RUN_TIMEOUT:
            if connected_at is None and connected(proc.pid, self.target):
                connected_at = time.monotonic()
            if (
                strike is not None
                and connected_at is not None
                and time.monotonic() >= connected_at + delay
            ):
                if proc.poll() is None:
                    strike()
                    struck = True
                strike = None
            time.sleep(0.003)
        if proc.poll() is None:
            kill_group(proc)
            raise RuntimeError(f"{kind} {args} still running after {RUN_TIMEOUT:.0f} s")
        rc = proc.wait()
        if not struck and rc == 0 and connected_at is not None:
            worked = time.monotonic() - connected_at
            self.work[kind] = 0.7 * self.work.get(kind, worked) + 0.3 * worked
        return Outcome(
            label=log,
            kind=kind,
            now=now,
            rc=rc,
            struck=struck,
            stdout=(self.folder / f"{log}.out").read_text(errors="replace"),
            stderr=(self.folder / f"{log}.err").read_text(errors="replace"),
            seconds=time.monotonic() - started,
        )


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and its children (its group), as an OOM killer or a power cut would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
