"""The scheduled jobs as plain functions taking ``as_of`` and ``dry_run``, returning a summary.

Prefect flows (``flows.prefect_flows``) and the embedded scheduler run these same functions.
Every job consults the working calendar: on a rest day it does nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from email.utils import parseaddr
from typing import Any

from sqlalchemy.orm import Session

from directives.clock import today
from directives.gcpause import paused_gc
from directives.policy import load_policy
from directives.reminders import CHASE_RULES, ESCALATION_RULES
from directives.runtime import Runtime
from directives.services.calendar import ensure_index
from directives.services.decide import decide, decide_with_lines, lock_deciders
from directives.services.mailing import Grouping, MailSettings, notify_due


@dataclass
class JobSummary:
    """What a job did (or, with ``dry_run``, would do)."""

    job: str
    as_of: date
    dry_run: bool
    working_day: bool
    notices: Counter[str] = field(default_factory=Counter)
    messages: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for printing and for Prefect's logs."""
        return {
            "job": self.job,
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "working_day": self.working_day,
            "notices": dict(self.notices),
            "messages": self.messages,
            **self.extra,
        }


@contextmanager
def _job_day(
    rt: Runtime, job: str, as_of: date | None, dry_run: bool
) -> Iterator[tuple[Session, JobSummary]]:
    """The job's day (default today in Hanoi), a unit of work, and whether the day is worked."""
    day = as_of or today(rt.clock)
    with rt.unit_of_work() as s:
        yield s, JobSummary(job, day, dry_run, ensure_index(s).is_working(day))


def _decide_and_enqueue(
    rt: Runtime, job: str, rules: tuple[str, ...], as_of: date | None, dry_run: bool
) -> JobSummary:
    policy = load_policy(rt.settings.policy_file)
    chief = parseaddr(rt.settings.office_chief) if rt.settings.office_chief else None
    with paused_gc(), _job_day(rt, job, as_of, dry_run) as (s, summary):
        if not summary.working_day:
            return summary
        now = rt.clock.now()
        if dry_run:
            new = decide(s, summary.as_of, policy, rules)
            summary.notices.update(rule for rule, _, _, _ in new)
            return summary
        lock_deciders(s)
        mail = MailSettings.from_settings(rt.settings)
        cal = ensure_index(s)
        grouped = Grouping()  # as the rows stream in, while the database computes the next
        new, lines = decide_with_lines(
            s, summary.as_of, policy, rules, cal=cal, app_url=mail.app_url, on_row=grouped.add
        )
        summary.notices.update(rule for rule, _, _, _ in new)
        summary.messages = len(
            notify_due(
                s,
                new,
                day=summary.as_of,
                now=now,
                mail=mail,
                office_chief=chief if chief and chief[1] else None,
                task_rows=lines,
                cal=cal,
                grouped=grouped,
            )
        )
    return summary


def chase(rt: Runtime, *, as_of: date | None = None, dry_run: bool = False) -> JobSummary:
    """Assignment resends, due-soon and deadline-day reminders, overdue chases, nudges."""
    return _decide_and_enqueue(rt, "chase", CHASE_RULES, as_of, dry_run)


def escalate(rt: Runtime, *, as_of: date | None = None, dry_run: bool = False) -> JobSummary:
    """Escalations: to the agency head at level 1, to the leader in charge at level 2."""
    return _decide_and_enqueue(rt, "escalate", ESCALATION_RULES, as_of, dry_run)


def dispatch(rt: Runtime, *, as_of: date | None = None, dry_run: bool = False) -> JobSummary:
    """Deliver the due messages of the outbox (not on a rest day)."""
    from sqlalchemy import func, select

    from directives.db.outbox_tables import OutboxMessage
    from flows.dispatch import dispatch as deliver

    with _job_day(rt, "dispatch", as_of, dry_run) as (s, summary):
        if not summary.working_day:
            return summary
        if dry_run:
            due = s.scalar(
                select(func.count()).where(
                    OutboxMessage.status.in_(("pending", "failed")),
                    OutboxMessage.next_attempt_at <= rt.clock.now(),
                )
            )
            summary.extra["due"] = due or 0
            return summary
    summary.extra.update(deliver(rt).as_dict())
    return summary


def recurring(rt: Runtime, *, as_of: date | None = None, dry_run: bool = False) -> JobSummary:
    """Add the current period's occurrence of every periodic task (report by the 20th, …)."""
    from directives.services.recurring import create_due
    from directives.workflow import Actor, Role

    with _job_day(rt, "recurring", as_of, dry_run) as (s, summary):
        if summary.working_day:
            created = create_due(
                s,
                summary.as_of,
                actor=Actor(Role.SYSTEM, "định kỳ"),
                clock=rt.clock,
                mail=MailSettings.from_settings(rt.settings),
                dry_run=dry_run,
            )
            summary.extra["tasks_created"] = len(created)
    return summary


def digest(rt: Runtime, *, as_of: date | None = None, dry_run: bool = False) -> JobSummary:
    """Each leader's weekly digest, on the first working day of the week, when it says something."""
    from directives.services.digest import enqueue_digests

    with _job_day(rt, "digest", as_of, dry_run) as (s, summary):
        if summary.working_day:
            leaders = enqueue_digests(
                s,
                summary.as_of,
                now=rt.clock.now(),
                mail=MailSettings.from_settings(rt.settings),
                dry_run=dry_run,
            )
            summary.extra["leaders"] = leaders
            summary.messages = 0 if dry_run else len(leaders)
    return summary


def programme(rt: Runtime, *, as_of: date | None = None, dry_run: bool = False) -> JobSummary:
    """The work programme's status: the month in progress from the 25th, and the previous
    month's final status (frozen as a snapshot) from the first working day of the next."""
    from directives.services.programme import enqueue_statuses

    with _job_day(rt, "programme", as_of, dry_run) as (s, summary):
        if summary.working_day:
            runs = enqueue_statuses(
                s,
                summary.as_of,
                now=rt.clock.now(),
                mail=MailSettings.from_settings(rt.settings),
                dry_run=dry_run,
            )
            summary.extra["statuses"] = [r.as_dict() for r in runs]
            summary.messages = 0 if dry_run else sum(len(r.recipients) for r in runs)
    return summary


JOBS = {
    "chase": chase,
    "escalate": escalate,
    "dispatch": dispatch,
    "recurring": recurring,
    "digest": digest,
    "programme": programme,
}
