"""The Prefect flows run the jobs, under one session-scoped prefect_test_harness."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import func, select

from directives.db.outbox_tables import Notice, OutboxMessage
from directives.runtime import Runtime
from tests.test_replay import SYSTEM, _load


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_chase_escalate_and_dispatch_flows_run_the_jobs(
    rt: Runtime, prefect_harness: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from directives.services.history import apply_history
    from flows.prefect_flows import chase_flow, dispatch_flow, escalate_flow

    by_day = _load(rt)
    with rt.unit_of_work() as s:
        apply_history(
            s, [r for d in sorted(by_day) for r in by_day[d]], actor=SYSTEM, clock=rt.clock
        )
    monkeypatch.setenv("DIRECTIVES_DATABASE_URL", rt.settings.resolved_database_url)
    monkeypatch.setenv("DIRECTIVES_VAR_DIR", str(rt.settings.var_dir))
    day = date(2026, 11, 26)
    dry = chase_flow(as_of=day, dry_run=True)
    assert dry["notices"]["chase"] == 37
    with rt.unit_of_work() as s:
        assert s.scalar(select(func.count(Notice.id))) == 0  # a dry run writes nothing
    assert chase_flow(as_of=day)["messages"] > 0
    assert escalate_flow(as_of=day)["notices"]["escalate2"] > 0
    assert chase_flow(as_of=day)["notices"] == {}  # a second run the same day: nothing new
    delivered = dispatch_flow(as_of=day)
    with rt.unit_of_work() as s:
        total = s.scalar(select(func.count(OutboxMessage.id)))
    assert delivered["sent"] == total
    assert len(list(rt.settings.mail_dir.glob("*.eml"))) == total
    assert chase_flow(as_of=date(2026, 11, 28))["working_day"] is False  # a Saturday
