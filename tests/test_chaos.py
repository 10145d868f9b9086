"""Crash and restart, end to end, at CI size: the machinery of ``bench/chaos.py`` on fixed faults.

Real processes (``directives import``, ``history import``, ``serve``, ``run chase|escalate|
dispatch``), a real SMTP server and a private PostgreSQL cluster the trial may restart (the
shared server on 5432 is never touched). Every figure asserted is what the rules owe, computed
from the plan (``bench/_chaos_scenario.py``), never what the engine did: the messages the SMTP
server must see (exactly), the doubles the one window of the README allows (with one SMTP
connection: at least the message a strike caught, at most two per interrupted run, the one going
out and the one whose outcome was being written), and the database's invariants.

The strikes land the moment the process holds its database connection (``spread=0``), so the
transaction is under way: what a kill must leave behind is then known. The long run
(``python -m bench.chaos``) strikes at random moments instead.

The full disk is a tmpfs of 48 MB mounted under the SQLite file; where mounting is refused (no
CAP_SYS_ADMIN), the processes started while the disk is "full" get RLIMIT_FSIZE at the size of
the database files instead (``bench/_chaos_disk.py``), which SQLite reports as an I/O error.

The last two tests pin, in-process and fast, the two bugs the chaos run found: a message resent
at once after its answer timed out, and an API answer sent before its change was committed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from starlette.types import Message, Receive, Scope, Send

from bench._chaos_pg import unavailable
from bench._chaos_smtp import ChaosSmtp
from bench.chaos import ChaosEnv, TrialConfig, run_trial
from directives.db.outbox_tables import DeliveryAttempt, OutboxMessage
from directives.runtime import Runtime
from directives.web import create_app
from flows.dispatch import dispatch
from tests.conftest import UNDER_CI
from tests.test_api import TWO_TASKS, make_token
from tests.test_dispatch import enqueue, later
from tests.test_web import TestClient, seed

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

MONDAY = "2026-11-23"


@pytest.fixture(scope="module")
def chaos_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosEnv]:
    """Templates for the trials, and a private PostgreSQL cluster when one can be made here."""
    why = unavailable()
    if why is not None and UNDER_CI:
        pytest.fail(f"CI requires a private PostgreSQL cluster for the chaos suite: {why}")
    env = ChaosEnv(tmp_path_factory.mktemp("chaos") / "shared", postgres=why is None)
    yield env
    env.close()


def _strikes(result: dict[str, Any], fault: str) -> list[dict[str, Any]]:
    return [s for s in result["strikes"] if s["fault"] == fault]


def test_processes_killed_and_postgres_restarted_lose_nothing_and_double_only_in_the_window(
    chaos_env: ChaosEnv, tmp_path: Path
) -> None:
    if chaos_env.cluster is None:
        pytest.skip(f"no private PostgreSQL cluster: {unavailable()}")
    cfg = TrialConfig(
        seed=11,
        backend="postgres",
        tasks=30,
        pushes=2,
        api_acks=2,
        days=1,
        connections=1,
        spread=0.0,
        rest_days=0.0,
        faults={
            "import": ["kill"],
            "history": ["kill"],
            "web": ["kill"],
            f"chase {MONDAY}": ["kill"],
            f"escalate {MONDAY}": ["pg-restart:immediate"],
            f"dispatch {MONDAY}": ["kill-accept", "kill-accept", "pg-restart:fast"],
        },
    )
    result = run_trial(chaos_env, cfg, tmp_path / "trial")
    assert result["violations"] == []
    mail = result["messages"]
    assert mail["messages_received"] == mail["messages_expected"] > 0
    assert mail["deliveries_received"] == mail["deliveries_expected"]
    assert mail["messages_lost"] == mail["deliveries_lost"] == 0
    assert mail["messages_unexpected"] == mail["deliveries_unexpected"] == 0
    assert mail["messages_doubled_outside_window"] == 0
    # Each kill at an acceptance leaves that message in the window, and perhaps the one before
    # it (its outcome was being written); a restart that stopped a run may leave two more.
    accepted = _strikes(result, "kill-accept")
    assert [s["phase"] for s in accepted] == ["in the window"] * 2
    restarts = _strikes(result, "pg-restart:fast")
    stopped = 2 + sum(1 for s in restarts if s.get("phase") == "failed")
    assert 2 <= mail["copies_within_window"] <= 2 * stopped
    # Killed inside their transaction, the import, the replay and the decision left nothing.
    phases = {s["step"].split()[0]: s["phase"] for s in _strikes(result, "kill")}
    assert phases["import"] == phases["history"] == phases["chase"] == "rolled back"
    assert phases["web"] in ("mid-request", "between requests")
    assert result["web"]["starts"] == 2  # started again; its scheduler lock came back
    assert [s["fault"] for s in result["strikes"] if s["target"] == "postgres"] == [
        "pg-restart:immediate",
        "pg-restart:fast",
    ]


def test_flapping_smtp_and_a_full_disk_lose_nothing_and_double_only_in_the_window(
    chaos_env: ChaosEnv, tmp_path: Path
) -> None:
    cfg = TrialConfig(
        seed=12,
        backend="sqlite",
        tasks=30,
        pushes=0,  # no web app: the first test has it
        api_acks=0,
        days=1,
        connections=1,
        spread=0.0,
        smtp_timeout=1.5,
        flaps_from_start=True,
        rest_days=0.0,
        faults={
            "import": ["disk-full-before"],
            "history": ["disk-full"],
            f"dispatch {MONDAY}": [
                "flap:refuse",
                "flap:421",
                "flap:451-rcpt",
                "flap:451-data",
                "flap:stall",
                "disk-full",
            ],
        },
    )
    result = run_trial(chaos_env, cfg, tmp_path / "trial")
    assert result["violations"] == []
    assert [f["mode"] for f in result["smtp_flaps"]] == [
        "refuse",
        "421",
        "451-rcpt",
        "451-data",
        "stall",
    ]
    mail = result["messages"]
    assert mail["messages_received"] == mail["messages_expected"] > 0
    assert mail["deliveries_received"] == mail["deliveries_expected"]
    assert mail["messages_lost"] == mail["deliveries_lost"] == 0
    assert mail["messages_unexpected"] == mail["deliveries_unexpected"] == 0
    assert mail["messages_doubled_outside_window"] == 0
    # The full disk: a clear error and nothing stored, then a rerun that stores it all.
    events = {e["step"].split()[0]: e for e in result["disk_full"]}
    assert events["import"]["outcome"] == "failed cleanly"
    assert events["import"]["state"] == "none"
    assert events["history"]["outcome"] == "failed cleanly"
    assert events["history"]["state"] == "none"
    # The window: the stalled answer (the message before it was written before it went out),
    # and, if the full disk stopped the run (it can only stop it at writing outcomes: the claims
    # come first), the message accepted then and perhaps the one before it.
    stopped = events["dispatch"]["outcome"] == "failed cleanly"
    assert 1 + stopped <= mail["copies_within_window"] <= 1 + 2 * stopped


def test_a_message_whose_answer_never_came_is_not_sent_again_in_the_same_run(rt: Runtime) -> None:
    """Found by the chaos run: a timeout after DATA on a reused connection was retried at once
    on a fresh one, so the server got the message twice and the database logged one clean
    delivery. Now the attempt is settled as failed (no reply code) and retried later."""
    smtp = ChaosSmtp().start()
    try:
        rt.settings = rt.settings.model_copy(
            update={"smtp_url": smtp.url, "smtp_timeout": 0.5, "smtp_connections": 1}
        )
        assert enqueue(rt) == 4

        def stall_the_second(count: int) -> None:
            if count == 2:  # sent on the connection the first one used: a reused connection
                smtp.flap("stall", stall_seconds=1.5)

        smtp.begin_run("first", stall_the_second)
        assert dispatch(rt).as_dict()["failed"] == 1
        smtp.end_run()
        assert sorted(Counter(r.message_id for r in smtp.received).values()) == [1, 1, 1, 1]
        smtp.flap(None)
        smtp.begin_run("second")
        assert dispatch(rt, now=later(rt, 1)).as_dict()["sent"] == 1
        smtp.end_run()
        counts = Counter(r.message_id for r in smtp.received)
        assert sorted(counts.values()) == [1, 1, 1, 2]  # the window: the same Message-ID again
        (copied,) = [m for m, n in counts.items() if n == 2]
        with rt.unit_of_work() as s:
            logged = s.execute(
                select(DeliveryAttempt.outcome, DeliveryAttempt.code)
                .join(OutboxMessage, OutboxMessage.id == DeliveryAttempt.message_id)
                .where(OutboxMessage.message_id == copied)
                .order_by(DeliveryAttempt.id)
            ).all()
        assert [tuple(row) for row in logged] == [("temporary", None), ("sent", None)]
    finally:
        smtp.stop()


def test_an_api_change_is_committed_before_its_answer_is_sent(rt: Runtime) -> None:
    """Found by the chaos run: the request's unit of work was committed after the answer went
    out (FastAPI runs a ``yield`` dependency's exit after the response by default), so the web
    app killed in between had answered 200 for an acknowledgement it never stored."""
    seed(rt)
    auth = make_token(rt, "secretariat", "qlvb")
    app = create_app(rt)
    order: list[str] = []
    event.listen(rt.sessions, "after_commit", lambda _session: order.append("commit"))

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                order.append("answer")
            await send(message)

        await app(scope, receive, sending)

    answer = TestClient(recording).post("/api/directives", json=TWO_TASKS, headers=auth)
    assert answer.status_code == 201
    assert order[-1] == "answer"
    assert "commit" in order
