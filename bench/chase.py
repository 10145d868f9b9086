"""Chase benchmark: the decision and enqueue over 1,000,000 tasks (100,000 open) on PostgreSQL.

Ours: ``flows.jobs.chase``: one SELECT of the new notices over the working-day index, the task
rows read in one query, the messages, then the notices recorded with their messages' ids.
Baseline, in the same run and on the same data: what a cron script does: load the open tasks
through the ORM, decide in Python (``directives.reminders.due_notices``), add a notice row per
decision through the session, and a message per kind and agency with its rows built task by
task. The baseline's transaction is rolled back so ours starts equal.

    .venv/bin/python -m bench.chase --tasks 1000000 --open 100000
    .venv/bin/python -m bench.chase --tasks 100000 --open 10000 --profile   # where ours goes

Both are timed without tracing: ``--memory`` adds their peak Python memory (tracemalloc), at
the price of a baseline several times slower, so its seconds are not the benchmark's figures.
``--profile`` runs ours under cProfile and adds, under ``ours.profile``, the seconds spent in
each step: the decision (one SELECT), reading the task rows, writing the messages, recording
the notices, the rest of the enqueue (grouping, payloads); ``--top N`` also prints the N most
expensive functions to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import sys
import time
import tracemalloc
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import selectinload

from directives.clock import FixedClock
from directives.db import migrate
from directives.db.engine import make_engine, make_session_factory
from directives.db.outbox_tables import Notice, OutboxMessage
from directives.db.tables import Task
from directives.policy import Policy
from directives.reminders import CHASE_RULES, due_notices
from directives.runtime import Runtime
from directives.services import mailing, queries
from directives.services.calendar import ensure_index
from directives.settings import Settings
from flows import jobs

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
AS_OF = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)

FILL = """
INSERT INTO agencies (code, name, kind, focal_emails, head_name, head_email, active)
SELECT 'A' || g, 'Sở số ' || g, 'department', ('["vanthu' || g || '@binhan.gov.vn"]')::json,
       'Giám đốc ' || g, 'giamdoc' || g || '@binhan.gov.vn', true
FROM generate_series(1, 30) g;
INSERT INTO leaders (code, name, title, role, email, sectors)
SELECT 'L' || g, 'Lãnh đạo ' || g, CASE WHEN g = 1 THEN 'Chủ tịch UBND tỉnh'
       ELSE 'Phó Chủ tịch UBND tỉnh' END, CASE WHEN g = 1 THEN 'chairman' ELSE 'vice_chairman' END,
       'ld' || g || '@binhan.gov.vn', '[]'::json
FROM generate_series(1, 5) g;
INSERT INTO officers (code, name, email)
SELECT 'CV' || g, 'Chuyên viên ' || g, 'cv' || g || '@binhan.gov.vn' FROM generate_series(1, 8) g;
INSERT INTO directives (number, year, issued_on, kind, signer_id, summary, created_at)
SELECT g || '/TB-UBND', 2021 + (g % 6), DATE '2021-01-04' + ((g * 7) % 2150),
       'conclusion_notice', 1 + g % 5, 'Thông báo kết luận số ' || g, now()
FROM generate_series(1, :directives) g;
INSERT INTO tasks (code, directive_id, position, content, lead_agency_id, leader_id, officer_id,
    sector, priority, stated_deadline, original_deadline, deadline, state, assigned_on,
    acknowledged_on, last_report_on, completed_on, confirmed_on, has_extensions, has_pauses,
    created_at)
SELECT 'B' || g, 1 + (g - 1) / 10, 1 + (g - 1) % 10, 'Nhiệm vụ số ' || g, 1 + (k * 7) % 30,
    1 + k % 5, 1 + k % 8, NULL, 'normal', d.deadline, d.deadline, d.deadline,
    CASE WHEN d.open THEN (CASE WHEN k % 3 = 0 THEN 'assigned' ELSE 'acknowledged' END)
         ELSE 'confirmed' END,
    d.assigned,
    CASE WHEN d.open AND k % 3 = 0 THEN NULL ELSE d.assigned + 1 END,
    NULL,
    CASE WHEN d.open THEN NULL ELSE d.assigned + (g % 40) END,
    CASE WHEN d.open THEN NULL ELSE d.assigned + (g % 40) + 1 END,
    false, false, now()
FROM generate_series(1, :tasks) g
-- k numbers the open tasks (and spreads the others) so that openness, acknowledgement,
-- deadline and agency are not correlated through the same modulus.
CROSS JOIN LATERAL (SELECT g / (:tasks / :open) AS k) kk
CROSS JOIN LATERAL (
    SELECT (g % (:tasks / :open)) = 0 AS open,
           CASE WHEN (g % (:tasks / :open)) = 0 THEN DATE '2026-11-26' - ((k * 37) % 150)
                ELSE DATE '2021-01-04' + ((g * 13) % 2100) END AS assigned
) a
CROSS JOIN LATERAL (
    SELECT a.open, a.assigned,
           CASE WHEN k % 10 = 7 THEN NULL ELSE a.assigned + 5 + ((k * 11) % 120) END AS deadline
) d;
"""


def _database() -> tuple[str, str]:
    name = f"directives_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), name


def _drop(name: str) -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _baseline(rt: Runtime) -> tuple[float, int, int, int]:
    """What a cron script does, rolled back: load the open tasks through the ORM, decide in
    Python, then enqueue as such a script would: a notice row per decision through the
    session, one message per kind and agency whose rows are built task by task
    (``mailing.task_line``), and each notice pointed at its message."""
    policy = Policy()
    started = time.perf_counter()
    session = rt.sessions()
    try:
        cal = ensure_index(session)
        tasks = list(
            session.scalars(
                select(Task)
                .where(
                    Task.state.in_(
                        ("assigned", "acknowledged", "in_progress", "returned", "submitted")
                    )
                )
                .options(
                    selectinload(Task.lead_agency),
                    selectinload(Task.officer),
                    selectinload(Task.directive),
                )
            )
        )
        facts = queries.load_facts(session, tasks)
        decided: list[tuple[Notice, Task]] = []
        for t in tasks:
            task = queries.open_task_as_of(t, facts[t.id], AS_OF, cal)
            if task is None:
                continue
            deadline = task.deadline
            for rule, threshold in due_notices(task, AS_OF, cal, policy):
                if rule not in CHASE_RULES:
                    continue
                notice = Notice(
                    rule=rule,
                    task_id=t.id,
                    deadline_key=deadline.isoformat() if deadline else "",
                    threshold=threshold,
                    decided_on=AS_OF,
                    created_at=NOW,
                )
                session.add(notice)
                decided.append((notice, t))
        session.flush()
        groups: dict[tuple[str, int], list[tuple[Notice, Task]]] = defaultdict(list)
        for notice, t in decided:
            groups[(notice.rule, t.lead_agency_id)].append((notice, t))
        messages = []
        for (rule, _agency), members in groups.items():
            agency = members[0][1].lead_agency
            message = OutboxMessage(
                kind=rule,
                message_id=f"<{uuid.uuid4().hex}@binhan.gov.vn>",
                recipients=list(agency.focal_emails),
                delivered=[],
                refused={},
                payload={
                    "kind": rule,
                    "to": [{"name": agency.name, "email": e} for e in agency.focal_emails],
                    "notice_ids": [n.id for n, _ in members],
                    "context": {
                        "recipient": agency.name,
                        "tasks": [
                            mailing.task_line(t, AS_OF, cal, "https://chidao.binhan.gov.vn")
                            for _, t in members
                        ],
                    },
                },
                status="pending",
                attempts=0,
                next_attempt_at=NOW,
                created_at=NOW,
            )
            session.add(message)
            messages.append((message, members))
        session.flush()
        for message, members in messages:
            for notice, _ in members:
                notice.message_id = message.id
        session.flush()
        return time.perf_counter() - started, len(tasks), len(decided), len(messages)
    finally:
        session.rollback()
        session.close()


# step → the function whose cumulative time it is, as (file name ending, function name)
STEPS = {
    "decide": ("services/decide.py", "decide"),
    "read_task_rows": ("services/task_lines.py", "read_lines"),
    "insert_messages": ("services/outbox.py", "_insert_messages"),
    "record_notices": ("services/outbox.py", "record"),
    "enqueue_total": ("services/mailing.py", "notify_due"),
    "job_total": ("flows/jobs.py", "chase"),
}


def _settle(engine: Any, *tables: str) -> None:
    """Vacuum ``tables`` (none: nothing), then a checkpoint: each side starts from the same
    state, with no earlier work's writes still to flush and no full-page images owed."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if tables:
            conn.execute(text("VACUUM ANALYZE " + ", ".join(tables)))
        conn.execute(text("CHECKPOINT"))


def _trace(memory: bool) -> None:
    """Start tracing Python allocations afresh when ``memory`` is asked for."""
    if memory:
        tracemalloc.stop()
        tracemalloc.start()


def _traced(memory: bool) -> dict[str, int]:
    """The peak traced since ``_trace``, and stop tracing."""
    if not memory:
        return {}
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"peak_mib": round(peak / 2**20)}


def _steps(profiler: cProfile.Profile, top: int) -> dict[str, float]:
    """Cumulative seconds of each step of ``STEPS``; the ``top`` functions go to stderr."""
    stats = pstats.Stats(profiler, stream=sys.stderr)
    if top:
        stats.sort_stats("cumulative").print_stats(top)
    found: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        for step, (ending, function) in STEPS.items():
            if name == function and filename.endswith(ending):
                found[step] = found.get(step, 0.0) + cumulative
    return {step: round(found[step], 2) for step in STEPS if step in found}


def main() -> None:
    """Fill, measure both, print and save."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument(
        "--memory",
        action="store_true",
        help="also report peak Python memory (tracemalloc); this slows the ORM baseline "
        "several-fold, so the seconds and the ratio of such a run are not the benchmark's",
    )
    parser.add_argument("--profile", action="store_true", help="time each step of ours")
    parser.add_argument("--top", type=int, default=0, help="with --profile: print N functions")
    args = parser.parse_args()
    url, name = _database()
    out: dict[str, Any] = {"tasks": args.tasks, "open": args.open}
    try:
        engine = make_engine(url)
        migrate.upgrade(engine)
        started = time.perf_counter()
        with engine.begin() as conn:
            for statement in FILL.split(";\n"):
                if statement.strip():
                    conn.execute(
                        text(statement),
                        {"tasks": args.tasks, "open": args.open, "directives": args.tasks // 10},
                    )
        settings = Settings(database_url=url, var_dir=Path("/tmp/bench-chase-var"))
        rt = Runtime(settings, engine, make_session_factory(engine), FixedClock(NOW))
        with rt.unit_of_work() as s:
            ensure_index(s)
        # As autovacuum soon would after a bulk load (and as bench/register does): statistics,
        # hint bits and the visibility map set, so that neither side pays for the load.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        out["fill_seconds"] = round(time.perf_counter() - started, 1)
        _settle(engine)
        _trace(args.memory)
        seconds, loaded, decided, messages = _baseline(rt)
        out["baseline"] = {
            "seconds": round(seconds, 2),
            "open_loaded": loaded,
            "notices": decided,
            "messages": messages,
            **_traced(args.memory),
        }
        # The baseline's rolled-back rows are dead tuples in notices and outbox_messages and
        # their indexes: vacuumed, as autovacuum would, so that ours does not pay for them.
        _settle(engine, "notices", "outbox_messages")
        gc.collect()  # the baseline's 100,000 ORM objects, freed now rather than during ours
        _trace(args.memory)
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        summary = jobs.chase(rt, as_of=AS_OF)
        if profiler is not None:
            profiler.disable()
        ours = time.perf_counter() - started
        out["ours"] = {
            "seconds": round(ours, 2),
            "notices": summary.notices.total(),
            "messages": summary.messages,
            **_traced(args.memory),
        }
        if profiler is not None:
            out["ours"]["profile"] = _steps(profiler, args.top)
        started = time.perf_counter()
        again = jobs.chase(rt, as_of=AS_OF)
        out["ours_second_run"] = {
            "seconds": round(time.perf_counter() - started, 2),
            "notices": again.notices.total(),
        }
        out["ratio"] = round(seconds / ours, 1)
        rt.close()
    finally:
        _drop(name)
    out["command"] = " ".join(["python", "-m", "bench.chase", *sys.argv[1:]])
    out["machine"] = {"nproc": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps(out, ensure_ascii=False, indent=2))
    target = Path(__file__).with_name("results")
    target.mkdir(exist_ok=True)
    (target / "chase.json").write_text(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
