"""Reports benchmark: the period report and every leader's weekly digest over 1,000,000 tasks.

The population is the chase benchmark's (``bench.chase.FILL``: five years of tasks, 10% open), on
PostgreSQL, with sectors given to the vice-chairmen and their tasks and pending extension requests
added, so that a vice-chairman's scope is a mix of "in charge" and "in my sectors". Measured, each
the median of ``--repeat`` runs in a fresh session:

- the period report of the year to date (``build_period_report``) and its XLSX and HTML renderings;
- the period report of a quarter;
- every leader's digest data in one pass (``digest_contexts``), and the messages built from it
  (templates and the two charts drawn), which is what the digest job does before enqueuing.

    .venv/bin/python -m bench.reports --tasks 1000000 --open 100000
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.chase import FILL, _database, _drop
from directives.clock import FixedClock
from directives.db import migrate
from directives.db.engine import make_engine, make_session_factory
from directives.runtime import Runtime
from directives.services.calendar import ensure_index
from directives.services.digest import digest_contexts
from directives.services.mailing import MailSettings
from directives.services.reports import build_period_report, parse_period
from directives.settings import Settings

AS_OF = date(2026, 11, 26)
DIGEST_DAY = date(2026, 11, 23)  # a Monday: the first working day of its week
NOW = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)
SECTORS = ("Kinh tế", "Xây dựng", "Nông nghiệp", "Văn hóa - Xã hội")

# Sectors for leaders 2..5 and for every task; 2,000 pending extension requests on open tasks.
EXTRA = """
UPDATE leaders SET sectors = json_build_array(
    (ARRAY['Kinh tế','Xây dựng','Nông nghiệp','Văn hóa - Xã hội'])[id - 1])
WHERE id > 1;
UPDATE tasks SET sector = (ARRAY['Kinh tế','Xây dựng','Nông nghiệp','Văn hóa - Xã hội',
    'Nội vụ'])[1 + id % 5];
INSERT INTO extensions (task_id, requested_on, requested_deadline, previous_deadline, reason,
    after_deadline, status)
SELECT id, DATE '2026-11-20', deadline + 30, deadline, 'Chờ ý kiến của Bộ', false, 'pending'
FROM tasks WHERE state IN ('assigned', 'acknowledged') AND deadline IS NOT NULL
    AND id % 50 = 0 LIMIT 2000;
UPDATE tasks SET has_extensions = true WHERE id IN (SELECT task_id FROM extensions);
ANALYZE
"""


def _median(run: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3), round(max(times), 3), result


def main() -> None:
    """Fill, measure, print and save."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--url", help="measure a database filled earlier (kept), instead of a fresh one"
    )
    args = parser.parse_args()
    url, name = (args.url, None) if args.url else _database()
    out: dict[str, Any] = {"tasks": args.tasks, "open": args.open, "backend": "postgresql"}
    try:
        engine = make_engine(url)
        migrate.upgrade(engine)
        started = time.perf_counter()
        params = {"tasks": args.tasks, "open": args.open, "directives": args.tasks // 10}
        if name is not None:
            with engine.begin() as conn:
                for statement in (*FILL.split(";\n"), *EXTRA.split(";\n")):
                    if statement.strip():
                        conn.execute(text(statement), params)
            out["fill_seconds"] = round(time.perf_counter() - started, 1)
        settings = Settings(database_url=url, var_dir=Path("/tmp/bench-reports-var"))
        rt = Runtime(settings, engine, make_session_factory(engine), FixedClock(NOW))
        with rt.unit_of_work() as s:
            ensure_index(s)
        mail = MailSettings("Văn phòng UBND tỉnh <vanphong@binhan.gov.vn>", "Văn phòng UBND tỉnh")

        def period(spec: str) -> Callable[[], Any]:
            def run() -> Any:
                with rt.unit_of_work() as s:
                    return build_period_report(s, parse_period(spec), as_of=AS_OF)

            return run

        seconds, worst, report = _median(period("2026"), args.repeat)
        out["period_year"] = {"seconds": seconds, "max": worst, "rows": len(report.tasks.rows)}
        from directives.reports.period import ReportFormat, render

        for fmt in (ReportFormat.XLSX, ReportFormat.HTML):
            seconds, worst, data = _median(
                functools.partial(render, report, fmt, office="Văn phòng UBND tỉnh"), args.repeat
            )
            out[f"period_year_{fmt.value}"] = {"seconds": seconds, "bytes": len(data)}
        seconds, worst, _ = _median(period("2026-Q3"), args.repeat)
        out["period_quarter"] = {"seconds": seconds, "max": worst}

        def digests() -> dict[str, Any]:
            with rt.unit_of_work() as s:
                return digest_contexts(s, DIGEST_DAY, mail)

        seconds, worst, contexts = _median(digests, args.repeat)
        out["digest_all_leaders"] = {
            "seconds": seconds,
            "max": worst,
            "leaders": len(contexts),
            "with_something_to_say": sum(c is not None for c in contexts.values()),
        }
        from notifications import charts
        from notifications.message import build
        from notifications.model import outgoing_from_json

        def messages() -> int:
            # As the dispatcher does: the stored JSON back to an Outgoing (charts drawn), built.
            # Each run starts with no chart drawn, as a dispatch run does: the same chart (two
            # leaders of the same sectors) is drawn once in a run, not once for the benchmark.
            charts.clear_cache()
            size = 0
            for code, ctx in contexts.items():
                if ctx is None:
                    continue
                person = {"name": code, "email": f"{code.lower()}@binhan.gov.vn"}
                payload = {
                    "kind": "weekly_digest",
                    "to": [person],
                    "cc": [],
                    "reply_to": None,
                    "sender": {"name": "Văn phòng UBND tỉnh", "email": "vanphong@binhan.gov.vn"},
                    "message_id": f"<digest-{code.lower()}@binhan.gov.vn>",
                    "notice_ids": [],
                    "context": json.loads(json.dumps(ctx, ensure_ascii=False)),
                }
                size += len(bytes(build(outgoing_from_json(payload), date=NOW)))
            return size

        seconds, worst, size = _median(messages, args.repeat)
        specs = [json.dumps(c, sort_keys=True) for x in contexts.values() if x for c in x["charts"]]
        out["digest_messages_built"] = {
            "seconds": seconds,
            "max": worst,
            "bytes": size,
            "charts": len(specs),
            "charts_drawn": len(set(specs)),
        }
        out["digest_total_seconds"] = round(
            out["digest_all_leaders"]["seconds"] + out["digest_messages_built"]["seconds"], 3
        )
        rt.close()
    finally:
        if name is not None:
            _drop(name)
    out["command"] = " ".join(["python", "-m", "bench.reports", *sys.argv[1:]])
    out["machine"] = {"nproc": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps(out, ensure_ascii=False, indent=2))
    target = Path(__file__).with_name("results")
    target.mkdir(exist_ok=True)
    (target / "reports.json").write_text(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
