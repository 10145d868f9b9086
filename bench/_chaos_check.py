"""The end of a chaos trial: what the SMTP server got against what the rules owe, and the
database's own invariants.

Deliveries are counted per (kind, tasks listed, recipient): what the rules owe
(``_chaos_scenario.expected_messages``) against the distinct Message-IDs that reached each
recipient. A (Message-ID, recipient) that arrived more than once is a double; every copy but the
last must sit in the one window the README allows ("Mail: decide, persist, deliver"), or
it counts as outside it:

- it came during a dispatcher run that did not finish (killed, or stopped by its database:
  restarted PostgreSQL, full disk), or one whose attempt on that message the database logged as
  a temporary failure with no SMTP reply (a timeout or a dropped connection while waiting for the
  server's answer to the end of the message);
- the database never recorded that delivery in that run (an attempt of the run's clock naming
  the recipient);
- that run left at most ``WINDOW_PER_CONNECTION`` such messages per SMTP connection (README.md:
  the one going out, and the one before it, whose outcome is being written meanwhile);
- the copy is the same message (same Message-ID, same text).
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.pool import NullPool

from bench._chaos_scenario import Expectation, Plan
from bench._chaos_smtp import Receipt
from directives.db.outbox_tables import DeliveryAttempt, Notice, OutboxMessage, message_notices
from directives.db.tables import Directive, Task, TaskEvent

# README, "The one window": the message going out, and the one before it whose outcome is being
# written while the next goes out.
WINDOW_PER_CONNECTION = 2


def engine(url: str) -> Engine:
    """An engine that holds no connection between uses (the server may be restarted)."""
    return create_engine(url, poolclass=NullPool)


@dataclass(frozen=True)
class DispatchRun:
    """One dispatcher process: its tag, its clock and whether it finished."""

    tag: str
    now: datetime
    finished: bool


@dataclass
class Delivery:
    """The figures of a trial's mail: messages (distinct Message-IDs) and deliveries (a
    message to one recipient). A lost message is one owed whose every recipient did not get
    it; a doubled message is one that some recipient got more than once."""

    messages_expected: int = 0
    messages_received: int = 0
    messages_lost: int = 0
    messages_unexpected: int = 0
    messages_doubled_within_window: int = 0
    messages_doubled_outside_window: int = 0
    copies_within_window: int = 0  # (run, message) pairs: a message twice in it counts twice
    deliveries_expected: int = 0
    deliveries_received: int = 0
    deliveries_lost: int = 0
    deliveries_unexpected: int = 0
    deliveries_doubled_within_window: int = 0
    deliveries_doubled_outside_window: int = 0
    violations: list[str] = field(default_factory=list)
    window_runs: dict[str, int] = field(default_factory=dict)  # run → messages in its window


Attempt = tuple[datetime, str, list[str], int | None]


def _attempts(eng: Engine) -> dict[str, list[Attempt]]:
    """Every logged attempt by Message-ID: (clock of its run, outcome, accepted, reply code)."""
    out: dict[str, list[Attempt]] = defaultdict(list)
    with eng.connect() as conn:
        rows = conn.execute(
            select(
                OutboxMessage.message_id,
                DeliveryAttempt.at,
                DeliveryAttempt.outcome,
                DeliveryAttempt.recipients,
                DeliveryAttempt.code,
            ).join(OutboxMessage, OutboxMessage.id == DeliveryAttempt.message_id)
        )
        for message_id, at, outcome, accepted, code in rows:
            out[message_id].append((at, outcome, [a.lower() for a in accepted], code))
    return out


def _same_moment(stored: datetime, clock: datetime) -> bool:
    """Whether a stored time is the run's clock: SQLite gives back the wall time it was given
    (naive), PostgreSQL an aware instant."""
    if stored.tzinfo is None:
        return stored in (clock.replace(tzinfo=None), clock.astimezone(UTC).replace(tzinfo=None))
    return stored == clock


def deliveries(
    received: Sequence[Receipt],
    expectation: Expectation,
    runs: Sequence[DispatchRun],
    eng: Engine,
    *,
    connections: int,
) -> Delivery:
    """Compare what arrived with what is owed, and place every double (see the docstring)."""
    result = Delivery()
    owed = Counter((m.kind, m.codes, r) for m in expectation.messages for r in sorted(m.recipients))
    owed_messages = Counter((m.kind, m.codes, m.recipients) for m in expectation.messages)
    result.messages_expected = len(expectation.messages)
    result.deliveries_expected = sum(owed.values())
    by_pair: dict[tuple[str, str], list[Receipt]] = defaultdict(list)
    for receipt in received:
        if receipt.run is None:
            result.violations.append(f"{receipt.message_id} arrived with no dispatcher running")
        for rcpt in receipt.recipients:
            by_pair[(receipt.message_id, rcpt)].append(receipt)
    got = Counter((rs[0].kind, rs[0].codes, rcpt) for (_, rcpt), rs in by_pair.items())
    whole: dict[str, tuple[str, frozenset[str], set[str]]] = {}
    for (mid, rcpt), rs in by_pair.items():
        whole.setdefault(mid, (rs[0].kind, rs[0].codes, set()))[2].add(rcpt)
    got_messages = Counter((k, c, frozenset(r)) for k, c, r in whole.values())
    result.messages_received = len(whole)
    result.messages_lost = sum((owed_messages - got_messages).values())
    result.messages_unexpected = sum((got_messages - owed_messages).values())
    result.deliveries_received = sum(got.values())
    result.deliveries_lost = sum((owed - got).values())
    result.deliveries_unexpected = sum((got - owed).values())
    for kind, codes, rcpt in list((owed - got).elements())[:5]:
        result.violations.append(f"lost: {kind} to {rcpt} listing {sorted(codes)[:4]}")
    for kind, codes, rcpt in list((got - owed).elements())[:5]:
        result.violations.append(f"not owed by the rules: {kind} to {rcpt} {sorted(codes)[:4]}")
    _place_doubles(result, by_pair, runs, _attempts(eng), connections)
    return result


def _place_doubles(
    result: Delivery,
    by_pair: dict[tuple[str, str], list[Receipt]],
    runs: Sequence[DispatchRun],
    attempts: dict[str, list[Attempt]],
    connections: int,
) -> None:
    """Every copy but the last of a (Message-ID, recipient): in the window or outside it."""
    by_tag = {r.tag: r for r in runs}
    window: dict[str, set[str]] = defaultdict(set)
    within: set[str] = set()
    outside: set[str] = set()
    for (mid, rcpt), copies in by_pair.items():
        if len({c.text for c in copies}) > 1:
            result.violations.append(f"{mid}: a copy differs from the original")
        for copy in copies[:-1]:
            run = by_tag.get(copy.run or "")
            logged = [a for a in attempts.get(mid, []) if run and _same_moment(a[0], run.now)]
            recorded = any(rcpt in accepted for _, _, accepted, _ in logged)
            unanswered = any(o == "temporary" and code is None for _, o, _, code in logged)
            if run is not None and not recorded and (not run.finished or unanswered):
                result.deliveries_doubled_within_window += 1
                window[run.tag].add(mid)
                within.add(mid)
            else:
                result.deliveries_doubled_outside_window += 1
                outside.add(mid)
                result.violations.append(
                    f"double outside the window: {mid} to {rcpt} in run {copy.run} "
                    f"(finished={run.finished if run else None}, recorded={recorded})"
                )
    result.messages_doubled_within_window = len(within - outside)
    result.messages_doubled_outside_window = len(outside)
    result.copies_within_window = sum(len(mids) for mids in window.values())
    for tag, mids in window.items():
        result.window_runs[tag] = len(mids)
        if len(mids) > WINDOW_PER_CONNECTION * connections:
            result.violations.append(
                f"run {tag} left {len(mids)} messages in the window, more than "
                f"{WINDOW_PER_CONNECTION} for each of its {connections} connections"
            )


def invariants(eng: Engine, plan: Plan, expectation: Expectation) -> list[str]:
    """What must hold in the database at the end of any trial, however it was treated."""
    bad: list[str] = []
    with eng.connect() as conn:
        tasks = {
            i: (code, directive, acked)
            for i, code, directive, acked in conn.execute(
                select(Task.id, Task.code, Task.directive_id, Task.acknowledged_on)
            )
        }
        events = Counter((t, k) for t, k in conn.execute(select(TaskEvent.task_id, TaskEvent.kind)))
        directives = dict(conn.execute(select(Directive.id, Directive.number)).all())
        notices = conn.execute(
            select(
                Notice.id,
                Notice.rule,
                Notice.task_id,
                Notice.deadline_key,
                Notice.threshold,
                Notice.message_id,
            )
        ).all()
        copies = conn.execute(select(message_notices)).all()
        messages = {
            i: (kind, status, recipients, delivered, payload)
            for i, kind, status, recipients, delivered, payload in conn.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.kind,
                    OutboxMessage.status,
                    OutboxMessage.recipients,
                    OutboxMessage.delivered,
                    OutboxMessage.payload,
                )
            )
        }
        logged = conn.execute(select(DeliveryAttempt.message_id, DeliveryAttempt.recipients)).all()
        if eng.dialect.name == "sqlite":
            check = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
            if check != "ok":
                bad.append(f"SQLite integrity_check: {check}")
    bad += _task_checks(tasks, events, directives, plan)
    bad += _notice_checks(tasks, notices, copies, messages, expectation)
    bad += _outbox_checks(messages, logged)
    return bad


def _task_checks(
    tasks: dict[int, tuple[str, int, Any]],
    events: Counter[tuple[int, str]],
    directives: dict[int, str],
    plan: Plan,
) -> list[str]:
    bad = []
    planned = {t.code: t for t in plan.tasks if t.code is not None}
    codes = {code for code, _, _ in tasks.values()}
    if codes != set(planned) or len(codes) != len(tasks):
        bad.append(
            f"tasks: {len(tasks)} stored, {len(planned)} planned; missing "
            f"{sorted(set(planned) - codes)[:5]}, extra {sorted(codes - set(planned))[:5]}"
        )
    for task_id, (code, _, acked) in tasks.items():
        if events[(task_id, "assigned")] != 1:
            bad.append(f"task {code} has {events[(task_id, 'assigned')]} assignment events")
        if acked is not None and events[(task_id, "acknowledged")] != 1:
            bad.append(f"task {code} acknowledged without its event")
        plan_task = planned.get(code)
        if plan_task is not None and acked != plan_task.ack_on:
            bad.append(f"task {code} acknowledged on {acked}, planned {plan_task.ack_on}")
    with_tasks = {directive for _, directive, _ in tasks.values()}
    for directive_id, number in directives.items():
        if directive_id not in with_tasks:
            bad.append(f"directive {number} has no task")
    per_directive = Counter(number for number in directives.values())
    if any(n > 1 for n in per_directive.values()):
        bad.append(f"directives stored twice: {[n for n, c in per_directive.items() if c > 1]}")
    return bad


def _notice_checks(
    tasks: dict[int, tuple[str, int, Any]],
    notices: Sequence[Any],
    copies: Sequence[Any],
    messages: dict[int, tuple[str, str, list[str], list[str], dict[str, Any]]],
    expectation: Expectation,
) -> list[str]:
    bad = []
    keys = set()
    listed = {i: set(m[4].get("notice_ids", [])) for i, m in messages.items()}
    carried: set[int] = set()
    for notice_id, rule, task_id, deadline_key, threshold, message_id in notices:
        if task_id not in tasks:
            bad.append(f"notice {notice_id} ({rule}) without its task {task_id}")
            continue
        keys.add((rule, tasks[task_id][0], deadline_key, threshold))
        if message_id is None or message_id not in messages:
            bad.append(f"notice {notice_id} ({rule}) without its message {message_id}")
        elif notice_id not in listed[message_id]:
            bad.append(f"message {message_id} does not list its notice {notice_id}")
        carried.add(message_id)
    for message_id, notice_id in copies:
        carried.add(message_id)
        if notice_id not in listed.get(message_id, set()):
            bad.append(f"message {message_id} does not list the notice {notice_id} it copies")
    if len(keys) != len(notices):
        bad.append(f"{len(notices) - len(keys)} notices recorded twice under one key")
    if keys != expectation.notices:
        missing, extra = expectation.notices - keys, keys - expectation.notices
        bad.append(
            f"notices differ from the rules: {len(missing)} missing {sorted(missing)[:3]}, "
            f"{len(extra)} extra {sorted(extra)[:3]}"
        )
    for message_id in set(messages) - carried:
        bad.append(f"message {message_id} ({messages[message_id][0]}) carries no notice")
    return bad


def _outbox_checks(
    messages: dict[int, tuple[str, str, list[str], list[str], dict[str, Any]]],
    logged: Sequence[Any],
) -> list[str]:
    bad = []
    accepted: Counter[tuple[int, str]] = Counter(
        (message_id, a.lower()) for message_id, recipients in logged for a in recipients
    )
    for message_id, (kind, status, recipients, delivered, _) in messages.items():
        if status != "sent":
            bad.append(f"message {message_id} ({kind}) left {status}")
        if {a.lower() for a in delivered} != {a.lower() for a in recipients}:
            bad.append(f"message {message_id} delivered to {delivered} of {recipients}")
        for a in recipients:
            if accepted[(message_id, a.lower())] != 1:
                n = accepted[(message_id, a.lower())]
                bad.append(f"message {message_id} recorded as accepted by {a} {n} times")
    return bad


def file_state(eng: Engine, numbers: set[str]) -> str:
    """``none``, ``all`` or ``partial``: how much of an import file's directives is stored."""
    with eng.connect() as conn:
        stored = conn.scalar(
            select(func.count()).select_from(Directive).where(Directive.number.in_(numbers))
        )
    return "none" if not stored else "all" if stored == len(numbers) else "partial"


def acks_state(eng: Engine, codes: set[str]) -> str:
    """``none``, ``all`` or ``partial``: how much of a history file's acknowledgements is stored."""
    with eng.connect() as conn:
        done = conn.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.code.in_(codes), Task.acknowledged_on.is_not(None))
        )
    return "none" if not done else "all" if done == len(codes) else "partial"


def sqlite_ok(path: str) -> bool:
    """Whether a SQLite file opens and passes its integrity check (used after a full disk)."""
    with sqlite3.connect(path) as conn:
        return bool(conn.execute("PRAGMA quick_check").fetchone()[0] == "ok")
