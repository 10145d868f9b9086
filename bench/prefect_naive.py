"""Prefect benchmark: the chase as a newcomer writes it (one ``@task`` per item) against ours.

The database comes from ``bench.national`` with ``--tasks`` tasks (default 12,000, which leaves
about 1,000 open), built twice from the same seed so that each side starts equal.

Baseline: a flow that lists the open tasks, then submits one Prefect task per open task; each task
opens a session, loads its task through the ORM with its facts, decides in Python
(``directives.reminders.due_notices``), and adds a notice and a message of its own, then commits.
Ours: ``flows.prefect_flows.chase_flow``: one flow run whose one task runs ``flows.jobs.chase``
(one decision statement, messages grouped by agency, written in batches).

Both run on a temporary local Prefect (``prefect_test_harness``: a throwaway API server and
database), whose start-up is not timed.

    .venv/bin/python -m bench.prefect_naive --backend sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, task
from sqlalchemy import func, select

from bench import national
from directives.db.engine import make_engine, make_session_factory
from directives.db.outbox_tables import Notice, OutboxMessage
from directives.db.tables import OPEN_STATES_SQL, Task
from directives.policy import Policy
from directives.reminders import CHASE_RULES, due_notices
from directives.services import queries
from directives.services.calendar import load_calendar

AS_OF = national.AS_OF
NOW = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)


@task(name="remind-one")
def remind_one(url: str, task_id: int) -> int:
    """Decide and enqueue the reminders of one task; how many notices."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            cal = load_calendar(s)
            t = s.get(Task, task_id)
            assert t is not None
            facts = queries.load_facts(s, [t])
            view = queries.open_task_as_of(t, facts[t.id], AS_OF, cal)
            if view is None:
                return 0
            n = 0
            for rule, threshold in due_notices(view, AS_OF, cal, Policy()):
                if rule not in CHASE_RULES:
                    continue
                emails = list(t.lead_agency.focal_emails)
                message = OutboxMessage(
                    kind=rule,
                    message_id=f"<{uuid.uuid4().hex}@binhan.gov.vn>",
                    recipients=emails,
                    delivered=[],
                    refused={},
                    payload={"kind": rule, "to": emails, "task": t.code},
                    status="pending",
                    attempts=0,
                    next_attempt_at=NOW,
                    created_at=NOW,
                )
                s.add(message)
                s.flush()
                s.add(
                    Notice(
                        rule=rule,
                        task_id=t.id,
                        deadline_key=view.deadline.isoformat() if view.deadline else "",
                        threshold=threshold,
                        decided_on=AS_OF,
                        created_at=NOW,
                        message_id=message.id,
                    )
                )
                n += 1
            s.commit()
            return n
    finally:
        engine.dispose()


@flow(name="chase-naive")
def chase_naive(url: str) -> int:
    """One task per open task."""
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        ids = list(s.scalars(select(Task.id).where(Task.state.in_(_open_states()))))
    engine.dispose()
    futures = [remind_one.submit(url, i) for i in ids]
    return sum(f.result() for f in futures)


def _open_states() -> tuple[str, ...]:
    inside = OPEN_STATES_SQL.split("(", 1)[1].rsplit(")", 1)[0]
    return tuple(p.strip().strip("'") for p in inside.split(","))


def _count(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        out = {
            "open_tasks": s.scalar(
                select(func.count(Task.id)).where(Task.state.in_(_open_states()))
            )
            or 0,
            "notices": s.scalar(select(func.count(Notice.id))) or 0,
            "messages": s.scalar(select(func.count(OutboxMessage.id))) or 0,
        }
    engine.dispose()
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Build two equal databases, run both flows on the harness, print JSON."""
    p = argparse.ArgumentParser(
        prog="python -m bench.prefect_naive",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--tasks", type=int, default=12_000)
    p.add_argument("--seed", type=int, default=2026)
    args = p.parse_args(argv)
    from prefect.testing.utilities import prefect_test_harness

    out: dict[str, Any] = {"backend": args.backend, "tasks": args.tasks}
    with tempfile.TemporaryDirectory(prefix="bench-prefect-") as tmp:
        urls = {}
        try:
            for side in ("baseline", "ours"):
                urls[side] = national.create_database(args.backend, Path(tmp))[0]
                national.build(urls[side], args.tasks, args.seed)
            out["items"] = _count(urls["baseline"])["open_tasks"]
            started = time.perf_counter()
            harness = prefect_test_harness(server_startup_timeout=120)
            harness.__enter__()
            try:
                out["harness_start_seconds"] = round(time.perf_counter() - started, 1)
                started = time.perf_counter()
                chase_naive(urls["baseline"])
                out["baseline"] = {
                    "seconds": round(time.perf_counter() - started, 2),
                    **_count(urls["baseline"]),
                }
                os.environ["DIRECTIVES_DATABASE_URL"] = urls["ours"]
                os.environ["DIRECTIVES_VAR_DIR"] = str(Path(tmp) / "var")
                from flows.prefect_flows import chase_flow

                started = time.perf_counter()
                chase_flow(as_of=AS_OF)
                out["ours"] = {
                    "seconds": round(time.perf_counter() - started, 2),
                    **_count(urls["ours"]),
                }
            finally:
                try:
                    harness.__exit__(None, None, None)
                except Exception as e:
                    out["harness_shutdown_error"] = repr(e)[:300]
        finally:
            for url in urls.values():
                national.drop_database(url)
    out["ratio"] = round(out["baseline"]["seconds"] / out["ours"]["seconds"], 1)
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
