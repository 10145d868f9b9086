"""Integration: a real `prefect server`, `prefect deploy --all` from prefect.yaml, a process worker.

The chase and dispatch deployments are triggered for a day and must leave the emails at an
aiosmtpd server. This is the scaling-out guide (docs/scaling-out.md) run as a test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from directives.db.outbox_tables import OutboxMessage
from directives.runtime import Runtime
from directives.services.history import apply_history
from tests.smtp_server import SmtpServer, free_port
from tests.test_replay import SYSTEM, _load

ROOT = Path(__file__).resolve().parents[1]
PREFECT = [sys.executable, "-m", "prefect"]


def _wait_healthy(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"prefect server at {url} did not become healthy")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture
def prefect_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A prefect server on loopback with its own home; stopped (whole process group) at the end."""
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_healthy(env["PREFECT_API_URL"])
        yield env
    finally:
        _stop(server)
        log.close()


def _prefect(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [*PREFECT, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_deployments_from_prefect_yaml_run_on_a_process_worker(
    rt: Runtime, prefect_env: dict[str, str], tmp_path: Path
) -> None:
    smtp = SmtpServer().start()
    worker: subprocess.Popen[bytes] | None = None
    log = (tmp_path / "worker.log").open("wb")
    try:
        by_day = _load(rt)
        with rt.unit_of_work() as s:
            apply_history(
                s, [r for d in sorted(by_day) for r in by_day[d]], actor=SYSTEM, clock=rt.clock
            )
        env = {
            **prefect_env,
            "DIRECTIVES_DATABASE_URL": rt.settings.resolved_database_url,
            "DIRECTIVES_SMTP_URL": smtp.url,
            "DIRECTIVES_VAR_DIR": str(tmp_path / "var"),
            "PWD": str(ROOT),
        }
        _prefect(env, "work-pool", "create", "directives", "--type", "process", "--overwrite")
        _prefect(env, "--no-prompt", "deploy", "--all")
        worker = subprocess.Popen(
            [*PREFECT, "worker", "start", "--pool", "directives"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for deployment in ("chase/chase", "dispatch/dispatch"):
            out = _prefect(
                env,
                "deployment",
                "run",
                deployment,
                "--param",
                "as_of=2026-11-26",
                "--watch",
                "--watch-timeout",
                "240",
                timeout=300,
            )
            assert "Completed" in out, out
        with rt.unit_of_work() as s:
            queued = s.scalar(select(func.count(OutboxMessage.id)))
            statuses = set(s.scalars(select(OutboxMessage.status)))
        assert queued
        assert statuses == {"sent"}
        assert len(smtp.handler.by_message_id()) == queued
        assert set(smtp.handler.by_message_id().values()) == {1}
    finally:
        if worker is not None:
            _stop(worker)
        log.close()
        smtp.stop()
