"""Prefect benchmark: the chase as a newcomer writes it (one ``@task`` per item) against ours.

The database comes from ``bench.national`` with ``--tasks`` tasks (default 12,000, which leaves
about 1,200 open), built twice from the same seed; the two are checked to be identical (a hash of
every task row and the counts of their events and extensions) before anything runs.

Both sides do the same work, deciding and enqueueing, and must end with the same rows:

- baseline: a flow that lists the open tasks, then submits one Prefect task per open task (on a
  thread pool of ``--workers`` threads, 8 by default: Prefect's default pool has no bound, a
  thread and a connection per task, which exhausts PostgreSQL's connections and starves
  SQLite's writers); each opens its own engine and session, loads its task through the ORM
  with its facts, decides in Python (``directives.reminders.due_notices``, less the notices
  already recorded) and returns its notices; one last task enqueues them with
  ``mailing.notify_due``, the code ours uses, so that the messages are the same: one per kind
  and agency (the design's "one email per recipient per run"), with the same contents.
- ours: ``flows.prefect_flows.chase_flow``: one flow run whose one task runs ``flows.jobs.chase``
  (one decision statement, then the same ``notify_due``).

The output gives each side's notices (by rule) and messages (by kind), and ``equivalent``: the
notice keys (rule, task, deadline, threshold) and the messages (kind, recipients, notices carried)
are the same in both databases. Both use the same clock (``NOW``) and policy (the default).

Each side runs in a child process of its own with a fresh ``prefect_test_harness`` (a throwaway
API server and SQLite database in a subprocess), started and warmed up with a trivial flow run
before the clock starts. Sharing one harness and one process made the second side pay for the
first: after a flow of a thousand task runs the harness server goes on recording their events
for tens of seconds, with both cores busy, and the client's log and event threads in the process
go on sending them, holding the GIL (ours was timed at 18 to 74 s that way, against 4 s alone).

    .venv/bin/python -m bench.prefect_naive --backend sqlite [--tasks 12000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner
from sqlalchemy import func, select, text

from bench import national
from directives.db.engine import make_engine, make_session_factory
from directives.db.outbox_tables import Notice, OutboxMessage
from directives.db.tables import OPEN_STATES_SQL, Task
from directives.policy import Policy
from directives.reminders import CHASE_RULES, due_notices
from directives.services import queries
from directives.services.calendar import load_calendar
from directives.services.mailing import MailSettings, notify_due
from directives.services.outbox import NoticeKey
from directives.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
AS_OF = national.AS_OF
NOW = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)
SIDES = ("baseline", "ours")
# Prefect's default thread pool has no bound: a thread and a connection per open task, which
# exhausted PostgreSQL's 100 connections and starved SQLite's writers past the busy timeout.
WORKERS = 8


# ------------------------------------------------------------------------------------------------
# The newcomer's flow


@task(name="decide-one")
def decide_one(url: str, task_id: int) -> list[NoticeKey]:
    """The chase notices due for one task and not yet recorded."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            cal = load_calendar(s)
            t = s.get(Task, task_id)
            assert t is not None
            facts = queries.load_facts(s, [t])
            view = queries.open_task_as_of(t, facts[t.id], AS_OF, cal)
            if view is None:
                return []
            recorded = {
                (rule, key, threshold)
                for rule, key, threshold in s.execute(
                    select(Notice.rule, Notice.deadline_key, Notice.threshold).where(
                        Notice.task_id == t.id
                    )
                )
            }
            key = view.deadline.isoformat() if view.deadline else ""
            return [
                (rule, t.id, key, threshold)
                for rule, threshold in due_notices(view, AS_OF, cal, Policy())
                if rule in CHASE_RULES and (rule, key, threshold) not in recorded
            ]
    finally:
        engine.dispose()


@task(name="enqueue")
def enqueue(url: str, var_dir: str, notices: list[NoticeKey]) -> int:
    """Record the notices with their messages, as ``flows.jobs.chase`` does; how many messages."""
    settings = Settings(database_url=url, var_dir=Path(var_dir), now=NOW)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s, s.begin():
            ids = notify_due(
                s, notices, day=AS_OF, now=NOW, mail=MailSettings.from_settings(settings)
            )
            return len(ids)
    finally:
        engine.dispose()


@flow(name="chase-naive")
def chase_naive(url: str, var_dir: str) -> dict[str, int]:
    """One task run per open task, then one to enqueue what they decided."""
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        ids = list(s.scalars(select(Task.id).where(Task.state.in_(_open_states()))))
    engine.dispose()
    futures = [decide_one.submit(url, i) for i in ids]
    notices = [key for f in futures for key in f.result()]
    return {"notices": len(notices), "messages": enqueue(url, var_dir, notices)}


@task(name="warm-up")
def _warm_task() -> int:
    return 1


@flow(name="warm-up")
def _warm_up() -> int:
    """A trivial flow run: the server's and the client's first-use costs, before timing."""
    return _warm_task()


def _open_states() -> tuple[str, ...]:
    inside = OPEN_STATES_SQL.split("(", 1)[1].rsplit(")", 1)[0]
    return tuple(p.strip().strip("'") for p in inside.split(","))


# ------------------------------------------------------------------------------------------------
# Reading the databases


def fingerprint(url: str) -> dict[str, Any]:
    """A hash of every task row, and the counts of the rows the chase reads beside them."""
    engine = make_engine(url)
    digest = hashlib.sha256()
    try:
        with engine.connect() as conn:
            for row in conn.execute(select(Task.__table__).order_by(Task.id)):
                digest.update(repr(tuple(row)).encode())
            counts = {
                table: conn.scalar(text(f"SELECT count(*) FROM {table}"))
                for table in ("tasks", "task_events", "extensions", "agencies", "notices")
            }
    finally:
        engine.dispose()
    return {"tasks_sha256": digest.hexdigest()[:16], **counts}


def outcome(url: str) -> dict[str, Any]:
    """Open tasks, notices by rule, messages by kind, and what identifies them (for comparing)."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            open_tasks = s.scalar(select(func.count()).where(Task.state.in_(_open_states())))
            notices = [tuple(r) for r in s.execute(select(
                Notice.rule, Notice.task_id, Notice.deadline_key, Notice.threshold
            ))]  # fmt: skip
            carried = Counter(
                s.scalars(select(Notice.message_id).where(Notice.message_id.is_not(None)))
            )
            messages = [
                (kind, tuple(sorted(recipients or ())), carried[mid])
                for mid, kind, recipients in s.execute(
                    select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.recipients)
                )
            ]
    finally:
        engine.dispose()
    return {
        "open_tasks": open_tasks or 0,
        "notices": len(notices),
        "notices_by_rule": dict(sorted(Counter(n[0] for n in notices).items())),
        "messages": len(messages),
        "messages_by_kind": dict(sorted(Counter(m[0] for m in messages).items())),
        "_notice_keys": sorted(notices),
        "_messages": sorted(messages),
    }


# ------------------------------------------------------------------------------------------------
# One side, in a child process


def run_side(side: str, url: str, var_dir: Path, workers: int) -> dict[str, Any]:
    """Start a harness, warm it up, then time one side's flow run on ``url``."""
    os.environ["DIRECTIVES_DATABASE_URL"] = url
    os.environ["DIRECTIVES_VAR_DIR"] = str(var_dir)
    os.environ["DIRECTIVES_NOW"] = NOW.isoformat()  # the clock the baseline uses too
    from prefect.testing.utilities import prefect_test_harness

    from flows.prefect_flows import chase_flow

    out: dict[str, Any] = {}
    started = time.perf_counter()
    harness = prefect_test_harness(server_startup_timeout=120)
    harness.__enter__()
    try:
        _warm_up()
        out["harness_start_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        naive = side == "baseline"
        if naive:
            runner = cast(Any, ThreadPoolTaskRunner(max_workers=workers))
            result = chase_naive.with_options(task_runner=runner)(url, str(var_dir))
        else:
            result = chase_flow(as_of=AS_OF)
        out["seconds"] = round(time.perf_counter() - started, 2)
        out["flow_result"] = result
    finally:
        try:
            harness.__exit__(None, None, None)
        except Exception as e:  # the harness's own shutdown noise; the figures stand
            out["harness_shutdown_error"] = repr(e)[:300]
    return out


def _child(side: str, url: str, var_dir: Path, workers: int, timeout: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("r", suffix=".json") as result:
        cmd = [sys.executable, "-m", "bench.prefect_naive", "--side", side, "--url", url]
        cmd += ["--var-dir", str(var_dir), "--result", result.name, "--workers", str(workers)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{side} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        value: dict[str, Any] = json.loads(Path(result.name).read_text())
        return value


def main(argv: Sequence[str] | None = None) -> None:
    """Build two equal databases, run each side in its own child and harness, print JSON."""
    p = argparse.ArgumentParser(
        prog="python -m bench.prefect_naive",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--tasks", type=int, default=12_000)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--workers", type=int, default=WORKERS, help="the baseline's threads")
    p.add_argument("--timeout", type=float, default=1800, help="seconds allowed per side")
    p.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--var-dir", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.side:
        got = run_side(args.side, args.url, args.var_dir, args.workers)
        args.result.write_text(json.dumps(got, ensure_ascii=False, default=str))
        return

    out: dict[str, Any] = {"backend": args.backend, "tasks": args.tasks, "workers": args.workers}
    with tempfile.TemporaryDirectory(prefix="bench-prefect-") as tmp:
        urls: dict[str, str] = {}
        try:
            prints = {}
            for side in SIDES:
                urls[side] = national.create_database(args.backend, Path(tmp))[0]
                national.build(urls[side], args.tasks, args.seed)
                prints[side] = fingerprint(urls[side])
            if prints["baseline"] != prints["ours"]:
                raise SystemExit(f"the two databases differ: {prints}")
            out["database"] = prints["ours"]
            before = outcome(urls["ours"])
            out["items"] = before["open_tasks"]
            results = {}
            for side in SIDES:
                var = Path(tmp) / f"var-{side}"
                run = _child(side, urls[side], var, args.workers, args.timeout)
                results[side] = outcome(urls[side])
                shown = {k: v for k, v in results[side].items() if not k.startswith("_")}
                out[side] = {"seconds": run.pop("seconds"), **shown, **run}
        finally:
            for url in urls.values():
                national.drop_database(url)
    out["baseline"]["task_runs"] = out["items"] + 1
    out["ours"]["task_runs"] = 1
    b, o = results["baseline"], results["ours"]
    out["equivalent"] = {
        "same_notices": b["_notice_keys"] == o["_notice_keys"],
        "same_messages": b["_messages"] == o["_messages"],
    }
    out["ratio"] = round(out["baseline"]["seconds"] / out["ours"]["seconds"], 1)
    out["command"] = " ".join(["python", "-m", "bench.prefect_naive", *(argv or sys.argv[1:])])
    print(json.dumps(out, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
