"""After ``bench.load``: was any notice lost or doubled, and was every message sent once?

Before the users start, ``snapshot`` records what a fresh decision says is due on the day
(``directives.services.decide.decide`` for the chase's and the escalation's rules: every
notice due and not yet recorded). The users only take steps that can make a notice stop being
due (acknowledge, report, submit, confirm), never start one (no extension is decided, no
report returned), so after the run:

- lost: a notice still due and not recorded (a fresh ``decide`` after the run must find
  nothing), or one due at the start and never recorded although no user touched its task;
- doubled: a key (task, rule, deadline, threshold) twice, two notices of one rule and deadline
  for a task on the day (only the latest threshold is sent), a notice recorded that was not due
  at the start, a notice listed by two messages;
- the outbox: every notice of the run carried by a message that lists it, every message of the
  run sent, and the SMTP sink given each Message-ID once and exactly as many as were sent.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from directives.db.engine import make_engine, make_session_factory
from directives.db.outbox_tables import Notice, OutboxMessage
from directives.db.tables import Task
from directives.policy import Policy
from directives.reminders import CHASE_RULES, ESCALATION_RULES
from directives.services.decide import decide

RULES = tuple(CHASE_RULES) + tuple(ESCALATION_RULES)
Key = tuple[str, int, str, int]  # rule, task id, deadline key, threshold


@dataclass
class Before:
    """What was due on the day before the run, and where the tables stood."""

    due: set[Key]
    max_notice: int
    max_message: int
    seconds: float


def snapshot(url: str, as_of: date) -> Before:
    """The notices due on ``as_of`` and not recorded, as a fresh decision finds them."""
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        with make_session_factory(engine)() as s:
            due = set(decide(s, as_of, Policy(), RULES))
            max_notice = s.scalar(select(func.coalesce(func.max(Notice.id), 0))) or 0
            max_message = s.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0))) or 0
    finally:
        engine.dispose()
    return Before(due, max_notice, max_message, time.perf_counter() - started)


def check(
    url: str, as_of: date, before: Before, touched: set[str], delivered: dict[str, int]
) -> dict[str, Any]:
    """The figures of the check; ``ok`` when nothing was lost or doubled."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            still_due = decide(s, as_of, Policy(), RULES)
            notices = s.execute(
                select(
                    Notice.id,
                    Notice.rule,
                    Notice.task_id,
                    Notice.deadline_key,
                    Notice.threshold,
                    Notice.message_id,
                ).where(Notice.id > before.max_notice)
            ).all()
            touched_ids = set(s.scalars(select(Task.id).where(Task.code.in_(touched))))
            duplicate_keys = s.scalar(
                select(func.count()).select_from(
                    select(Notice.task_id)
                    .group_by(Notice.task_id, Notice.rule, Notice.deadline_key, Notice.threshold)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            twice_on_the_day = s.scalar(
                select(func.count()).select_from(
                    select(Notice.task_id)
                    .where(Notice.decided_on == as_of)
                    .group_by(Notice.task_id, Notice.rule, Notice.deadline_key)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            messages = s.execute(
                select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.payload).where(
                    OutboxMessage.id > before.max_message
                )
            ).all()
    finally:
        engine.dispose()
    keys = {(rule, task, key, th) for _, rule, task, key, th, _ in notices if rule in RULES}
    missing = before.due - keys
    listed = Counter(n for _, _, payload in messages for n in payload.get("notice_ids", []))
    lists = {m: set(payload.get("notice_ids", [])) for m, _, payload in messages}
    statuses = Counter(status for _, status, _ in messages)
    sent = statuses.get("sent", 0)
    figures: dict[str, Any] = {
        "due_before": len(before.due),
        "decide_before_s": round(before.seconds, 1),
        "recorded": len(notices),
        "recorded_by_rule": dict(Counter(rule for _, rule, *_ in notices)),
        "not_recorded_task_touched": len(missing)
        - len([k for k in missing if k[1] not in touched_ids]),
        "touched_tasks": len(touched_ids),
        "lost": {
            "still_due_after": len(still_due),
            "due_never_recorded_untouched": len([k for k in missing if k[1] not in touched_ids]),
            "without_message": sum(1 for n in notices if n[5] is None),
            "not_listed_by_its_message": sum(
                1 for n in notices if n[5] is not None and n[0] not in lists.get(n[5], set())
            ),
            "messages_not_sent": len(messages) - sent,
            "sent_not_received": max(0, sent - delivered.get("distinct", 0)),
        },
        "doubled": {
            "duplicate_keys": duplicate_keys or 0,
            "two_of_a_series_on_the_day": twice_on_the_day or 0,
            "recorded_not_due_before": len(keys - before.due),
            "listed_by_two_messages": sum(1 for c in listed.values() if c > 1),
            "received_twice": delivered.get("accepted", 0) - delivered.get("distinct", 0),
        },
        "messages": len(messages),
        "message_statuses": dict(statuses),
        "smtp_sink": delivered,
    }
    figures["ok"] = not any(figures["lost"].values()) and not any(figures["doubled"].values())
    return figures


def describe(c: dict[str, Any]) -> str:
    """The check in a few lines."""
    lost = ", ".join(f"{k} {v}" for k, v in c["lost"].items())
    doubled = ", ".join(f"{k} {v}" for k, v in c["doubled"].items())
    return "\n".join(
        [
            f"notices: {c['due_before']:,} due before the run (fresh decide, "
            f"{c['decide_before_s']} s), {c['recorded']:,} recorded {c['recorded_by_rule']}; "
            f"{c['not_recorded_task_touched']:,} not recorded because a user acted on the task "
            f"first ({c['touched_tasks']:,} tasks acted on)",
            f"outbox: {c['messages']:,} messages {c['message_statuses']}; SMTP sink "
            f"{c['smtp_sink']}",
            f"lost: {lost}",
            f"doubled: {doubled}",
            "check: " + ("OK, nothing lost or doubled" if c["ok"] else "FAILED"),
        ]
    )
