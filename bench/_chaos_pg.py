"""A private PostgreSQL cluster for the chaos suite, which it may stop and restart at will.

The shared server on 5432 serves other tests, so the suite never restarts it: it makes its own
cluster with ``initdb`` in a temporary folder, on a free port, with its socket in that folder.
As root, PostgreSQL refuses to run, so every server command runs as the ``postgres`` user
(``runuser``) and the folder is handed to that user. ``fsync=off``: only the server process is
ever killed here, never the machine, so what it wrote is still in the kernel's page cache.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

# fast: a clean restart; immediate: no shutdown checkpoint, crash recovery on start;
# down: stopped (fast) for a second before it starts again.
RESTART_MODES = ("fast", "immediate", "down")


def _bindir() -> Path | None:
    wanted = os.environ.get("DIRECTIVES_CHAOS_PG_BIN")
    if wanted:
        return Path(wanted)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(found[0]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unavailable() -> str | None:
    """None when a private cluster can be made here, else why not."""
    bindir = _bindir()
    if bindir is None or not (bindir / "initdb").exists():
        return "no PostgreSQL server binaries (initdb) under /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a 'postgres' user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root without runuser to start the server as 'postgres'"
    return None


class PrivateCluster:
    """``initdb``, ``pg_ctl start/stop/restart`` and databases on a cluster of our own."""

    def __init__(self) -> None:
        why = unavailable()
        if why is not None:
            raise RuntimeError(why)
        self.bindir = _bindir() or Path()
        self.root = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.restarts: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._as_server(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        self.start()

    def _as_server(self, program: str, *args: str) -> None:
        argv = [str(self.bindir / program), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}")

    def _ctl(self, *args: str) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=60"
        )
        log = str(self.root / "server.log")
        self._as_server("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", *args)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._ctl("start")

    def restart(self, mode: str) -> float:
        """Restart in one of ``RESTART_MODES``; returns the seconds it was away."""
        if mode not in RESTART_MODES:
            raise ValueError(f"restart mode {mode!r}: expected one of {RESTART_MODES}")
        started = time.monotonic()
        self._ctl("stop", "-m", "fast" if mode == "down" else mode)
        if mode == "down":
            time.sleep(1.0)
        self._ctl("start")
        self.restarts.append(mode)
        return time.monotonic() - started

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this cluster."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """A new database (a copy of ``template`` if given); returns its URL."""
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with engine.connect() as conn:
            copy = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        engine.dispose()
        return self.url(name)

    def close(self) -> None:
        """Stop the server and remove its folder."""
        with contextlib.suppress(RuntimeError):  # already down
            self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)
