"""Two processes running chase and dispatch at once on PostgreSQL send no message twice."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from directives.clock import FixedClock
from directives.db.engine import make_engine, make_session_factory
from directives.db.outbox_tables import Notice, OutboxMessage
from directives.db.tables import CalendarDay, EngineMeta
from directives.runtime import Runtime
from directives.services.calendar import INDEX_KEY, ensure_index
from directives.services.history import apply_history
from directives.settings import Settings
from tests.conftest import SAMPLE_DAY, _truncate_all
from tests.smtp_server import SmtpServer
from tests.test_replay import SYSTEM, _load


@pytest.fixture
def pg_rt(pg_url: str, tmp_path: Path) -> Iterator[Runtime]:
    _truncate_all(pg_url)
    engine = make_engine(pg_url)
    rt = Runtime(
        Settings(database_url=pg_url, var_dir=tmp_path / "var"),
        engine,
        make_session_factory(engine),
        FixedClock.on(SAMPLE_DAY),
    )
    yield rt
    rt.close()


def test_two_processes_chasing_and_dispatching_together_send_each_message_once(
    pg_rt: Runtime, tmp_path: Path
) -> None:
    by_day = _load(pg_rt)
    with pg_rt.unit_of_work() as s:
        apply_history(
            s, [r for d in sorted(by_day) for r in by_day[d]], actor=SYSTEM, clock=pg_rt.clock
        )
    smtp = SmtpServer().start()
    smtp.handler.faults.data_delay = 0.005
    try:
        env = {
            **os.environ,
            "DIRECTIVES_DATABASE_URL": pg_rt.settings.resolved_database_url,
            "DIRECTIVES_SMTP_URL": smtp.url,
            "DIRECTIVES_VAR_DIR": str(tmp_path / "var"),
            "DIRECTIVES_NOW": pg_rt.clock.now().isoformat(),
        }
        script = (
            "from directives.cli import main\n"
            "for job in ('chase', 'escalate', 'dispatch', 'chase', 'dispatch'):\n"
            "    try:\n"
            "        main(['run', job, '--as-of', '2026-11-26'])\n"
            "    except SystemExit as e:\n"
            "        assert not e.code, e.code\n"
        )
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        for p in procs:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err.decode()
        with pg_rt.unit_of_work() as s:
            notices = s.scalar(select(func.count(Notice.id)))
            messages = s.scalar(select(func.count(OutboxMessage.id)))
            unsent = s.scalar(
                select(func.count(OutboxMessage.id)).where(OutboxMessage.status != "sent")
            )
        assert notices
        assert messages
        assert unsent == 0
        received = smtp.handler.by_message_id()
        assert len(received) == messages
        assert set(received.values()) == {1}
        assert set(smtp.handler.deliveries().values()) == {1}
    finally:
        smtp.stop()


def test_two_transactions_finding_the_calendar_index_stale_rebuild_it_once(
    pg_rt: Runtime,
) -> None:
    """Two workers' first jobs on a new database both find the working-day index missing: the
    second waits for the first's rebuild, then finds it built, instead of failing on its rows."""
    with pg_rt.unit_of_work() as s:
        s.execute(delete(EngineMeta).where(EngineMeta.key == INDEX_KEY))
        s.execute(delete(CalendarDay))
    first = pg_rt.sessions()
    ensure_index(first)  # rebuilt, not committed yet
    outcome: list[BaseException | int] = []

    def second() -> None:
        try:
            with pg_rt.unit_of_work() as s:
                ensure_index(s)
                outcome.append(int(s.scalar(select(func.count()).select_from(CalendarDay)) or 0))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=1)
    assert thread.is_alive()  # waiting for the first rebuild
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], int)
    assert outcome[0] > 40_000
