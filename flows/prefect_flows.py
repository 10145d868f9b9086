"""Prefect flows: one thin ``@flow`` per job, ``@task``s around the batches, retries declared.

Each flow builds the runtime from the environment (``DIRECTIVES_*``), runs the plain job of
``flows.jobs`` and returns its summary; no flow reads the clock itself: ``as_of`` defaults to
today in Asia/Ho_Chi_Minh inside the job.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger, task

from directives.runtime import Runtime
from flows import jobs


def _run(job: str, as_of: date | None, dry_run: bool) -> dict[str, Any]:
    rt = Runtime.from_settings()
    try:
        return jobs.JOBS[job](rt, as_of=as_of, dry_run=dry_run).as_dict()
    finally:
        rt.close()


@task(name="decide-and-enqueue")
def decide_and_enqueue(job: str, as_of: date | None, dry_run: bool) -> dict[str, Any]:
    """The decision over every open task, in one database statement, and the messages."""
    return _run(job, as_of, dry_run)


# SMTP is where transient failures live: retry the delivery batch; the outbox makes it safe.
@task(name="deliver", retries=3, retry_delay_seconds=[30, 120, 600])
def deliver(as_of: date | None, dry_run: bool) -> dict[str, Any]:
    """Hand the due messages to the SMTP server (or to .eml files)."""
    return _run("dispatch", as_of, dry_run)


@flow(name="chase")
def chase_flow(as_of: date | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Reminders, resends and overdue chases of the day."""
    summary = decide_and_enqueue("chase", as_of, dry_run)
    get_run_logger().info("chase: %s", summary)
    return summary


@flow(name="escalate")
def escalate_flow(as_of: date | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Escalations to agency heads and leaders."""
    summary = decide_and_enqueue("escalate", as_of, dry_run)
    get_run_logger().info("escalate: %s", summary)
    return summary


@flow(name="dispatch")
def dispatch_flow(as_of: date | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Delivery of the outbox."""
    summary = deliver(as_of, dry_run)
    get_run_logger().info("dispatch: %s", summary)
    return summary


@flow(name="recurring")
def recurring_flow(as_of: date | None = None, dry_run: bool = False) -> dict[str, Any]:
    """The new period's occurrence of every periodic task."""
    summary = decide_and_enqueue("recurring", as_of, dry_run)
    get_run_logger().info("recurring: %s", summary)
    return summary


@flow(name="digest")
def digest_flow(as_of: date | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Each leader's weekly digest (first working day of the week)."""
    summary = decide_and_enqueue("digest", as_of, dry_run)
    get_run_logger().info("digest: %s", summary)
    return summary


@flow(name="programme")
def programme_flow(as_of: date | None = None, dry_run: bool = False) -> dict[str, Any]:
    """The monthly work programme's status: interim from the 25th, final on the 1st."""
    summary = decide_and_enqueue("programme", as_of, dry_run)
    get_run_logger().info("programme: %s", summary)
    return summary


FLOWS = {
    "chase": chase_flow,
    "escalate": escalate_flow,
    "dispatch": dispatch_flow,
    "recurring": recurring_flow,
    "digest": digest_flow,
    "programme": programme_flow,
}
