"""The embedded scheduler: APScheduler 3 runs the same jobs on the same schedules, in-process.

One live scheduler per database: it holds a PostgreSQL advisory lock on its own connection, or a
file lock beside the SQLite file, for as long as it runs. A second one waits or exits with a
clear message. Triggers carry the timezone; a run that is late (the machine slept, the process
restarted) still runs within ``MISFIRE_GRACE`` and late runs are coalesced into one, instead of
APScheduler's default of silently skipping anything more than one second late.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import text
from sqlalchemy.engine import make_url

from directives.errors import Conflict
from directives.runtime import Runtime
from flows import jobs
from flows.schedule import SCHEDULES, TIMEZONE

MISFIRE_GRACE = 3600  # seconds: a job up to an hour late still runs (once)
LOCK_ID = 0x4449_5245_4354  # "DIRECT": the advisory lock key of the scheduler
log = logging.getLogger("directives.scheduler")


def trigger(cron: str) -> CronTrigger:
    """The APScheduler trigger of a cron expression, in Asia/Ho_Chi_Minh."""
    return CronTrigger.from_crontab(cron, timezone=ZoneInfo(TIMEZONE))


def add_jobs(scheduler: BaseScheduler, rt: Runtime) -> None:
    """Register every job of ``SCHEDULES`` on ``scheduler``."""
    for s in SCHEDULES:
        run: Callable[..., Any] = jobs.JOBS[s.job]
        scheduler.add_job(
            _logged,
            trigger(s.cron),
            args=(s.job, run, rt),
            id=s.slug,
            name=s.description,
            misfire_grace_time=MISFIRE_GRACE,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )


def _logged(name: str, run: Callable[..., jobs.JobSummary], rt: Runtime) -> None:
    try:
        log.info("%s: %s", name, run(rt).as_dict())
    except Exception:  # a failing run is logged; the scheduler keeps the next ones
        log.exception("%s failed", name)


@contextmanager
def single_scheduler(rt: Runtime, *, wait: bool = False) -> Iterator[None]:
    """Hold the one-scheduler-per-database lock for the block; raise Conflict if taken."""
    url = rt.engine.url
    if url.get_backend_name() == "postgresql":
        with rt.engine.connect() as conn:
            if wait:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_ID})
            elif not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_ID}).scalar():
                raise Conflict("một bộ lập lịch khác đang chạy trên cơ sở dữ liệu này")
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_ID})
                conn.commit()
        return
    database = make_url(str(url)).database or "directives.sqlite3"
    lock_path = Path(database).with_suffix(".scheduler.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise Conflict(
                f"một bộ lập lịch khác đang chạy trên cơ sở dữ liệu này (khóa {lock_path})"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_forever(rt: Runtime, *, wait: bool = False) -> None:
    """Run the embedded scheduler in the foreground until interrupted."""
    with single_scheduler(rt, wait=wait):
        scheduler = BlockingScheduler(timezone=ZoneInfo(TIMEZONE))
        add_jobs(scheduler, rt)
        log.info("scheduler started with %d jobs", len(SCHEDULES))
        scheduler.start()
