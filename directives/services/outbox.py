"""The outbox: record notices under their idempotency key, enqueue messages, claim and settle them.

Decide, persist, deliver. A job decides which notices are due and calls ``record_notices``: the
unique key (rule, task, effective deadline, threshold) turns a second decision into a no-op, so only
new notices come back, and only those are put into messages. The dispatcher claims due messages
with one statement (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a single ``UPDATE … RETURNING`` on
SQLite), sends them, and settles each with ``record_attempt`` in its own transaction.

The one window: a crash after the server accepted a message and before ``record_attempt``
committed leaves the row ``sending``; when its claim expires (``CLAIM_LEASE``) it is sent again,
with the same Message-ID, so a receiving system can tell the copy.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from directives.db.outbox_tables import DeliveryAttempt, Notice, OutboxMessage, message_notices
from directives.errors import Conflict, NotFound

CLAIM_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)


@dataclass(frozen=True)
class Decision:
    """A rule that fired for a task as of a day."""

    rule: str
    task_id: int
    deadline: date | None
    threshold: int

    @property
    def key(self) -> tuple[str, int, str, int]:
        """The idempotency key as stored."""
        return (self.rule, self.task_id, _deadline_key(self.deadline), self.threshold)


def _deadline_key(deadline: date | None) -> str:
    return deadline.isoformat() if deadline else ""


def record_notices(
    session: Session, decisions: Sequence[Decision], *, decided_on: date, now: datetime
) -> dict[tuple[str, int, str, int], int]:
    """Insert the decisions not yet recorded; returns the new ones' ids by key."""
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    new: dict[tuple[str, int, str, int], int] = {}
    for start in range(0, len(decisions), 500):
        rows = [
            {
                "rule": d.rule,
                "task_id": d.task_id,
                "deadline_key": _deadline_key(d.deadline),
                "threshold": d.threshold,
                "decided_on": decided_on,
                "created_at": now,
            }
            for d in decisions[start : start + 500]
        ]
        stmt = (
            make_insert(Notice)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["rule", "task_id", "deadline_key", "threshold"])
            .returning(
                Notice.id, Notice.rule, Notice.task_id, Notice.deadline_key, Notice.threshold
            )
        )
        for notice_id, rule, task_id, key, threshold in session.execute(stmt):
            new[(rule, task_id, key, threshold)] = notice_id
    return new


@dataclass(frozen=True)
class Mail:
    """One message to enqueue: kind, people as (name, address), template data, notices carried."""

    kind: str
    to: Sequence[tuple[str, str]]
    context: dict[str, Any]
    notice_ids: Sequence[int]
    cc: Sequence[tuple[str, str]] = ()
    reply_to: tuple[str, str] | None = None


def enqueue(session: Session, mails: Iterable[Mail], *, sender: str, now: datetime) -> list[int]:
    """Write messages (status pending, due now) and link them to their notices; returns ids."""
    name, address = parseaddr(sender)
    domain = address.partition("@")[2] or "directives.local"
    ids: list[int] = []
    for mail in mails:
        recipients = _dedupe([a for _, a in mail.to] + [a for _, a in mail.cc])
        if not recipients:
            continue
        message_id = f"<{secrets.token_hex(8)}.{now:%Y%m%d}@{domain}>"
        payload = {
            "kind": mail.kind,
            "sender": {"name": name, "email": address},
            "to": [{"name": n, "email": a} for n, a in mail.to],
            "cc": [{"name": n, "email": a} for n, a in mail.cc],
            "reply_to": (
                {"name": mail.reply_to[0], "email": mail.reply_to[1]} if mail.reply_to else None
            ),
            "message_id": message_id,
            "notice_ids": list(mail.notice_ids),
            "context": mail.context,
        }
        row = OutboxMessage(
            kind=mail.kind,
            message_id=message_id,
            recipients=recipients,
            delivered=[],
            refused={},
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(row)
        session.flush()
        if mail.notice_ids:
            session.execute(
                insert(message_notices),
                [{"message_id": row.id, "notice_id": n} for n in mail.notice_ids],
            )
        ids.append(row.id)
    return ids


def _dedupe(addresses: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for a in addresses:
        seen.setdefault(a.strip().lower(), a.strip())
    return list(seen.values())


@dataclass(frozen=True)
class Claimed:
    """A message won by this dispatcher: what to send and to whom (still undelivered)."""

    id: int
    payload: dict[str, Any]
    pending: list[str]
    attempts: int


def claim(session: Session, *, now: datetime, worker: str, limit: int = 200) -> list[Claimed]:
    """Take up to ``limit`` due messages; expired claims of a crashed dispatcher are retaken."""
    due = or_(
        and_(OutboxMessage.status.in_(("pending", "failed")), OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at <= now - CLAIM_LEASE),
    )
    pick = select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(pick.scalar_subquery()))
        .values(
            status="sending", claimed_at=now, claimed_by=worker, attempts=OutboxMessage.attempts + 1
        )
        .returning(
            OutboxMessage.id,
            OutboxMessage.payload,
            OutboxMessage.recipients,
            OutboxMessage.delivered,
            OutboxMessage.refused,
            OutboxMessage.attempts,
        )
        .execution_options(synchronize_session=False)
    )
    out = []
    for mid, payload, recipients, delivered, refused, attempts in session.execute(stmt):
        done = {a.lower() for a in delivered} | {a.lower() for a in refused}
        out.append(
            Claimed(mid, payload, [a for a in recipients if a.lower() not in done], attempts)
        )
    return sorted(out, key=lambda c: c.id)


@dataclass(frozen=True)
class Result:
    """What one attempt achieved, recipient by recipient."""

    accepted: Sequence[str] = ()
    refused: dict[str, str] | None = None  # permanent (5xx) per recipient
    deferred: dict[str, str] | None = None  # temporary (4xx) per recipient
    error: str | None = None  # the whole attempt failed (connection, 4xx or 5xx reply)
    permanent: bool = False  # with ``error``: a 5xx for the whole message
    code: int | None = None
    duration_ms: int = 0


def backoff(attempts: int) -> timedelta:
    """Exponential: 1, 2, 4 … minutes after the n-th failed attempt, at most six hours."""
    factor: int = 1 << max(0, min(attempts - 1, 20))
    return min(BACKOFF_FIRST * factor, BACKOFF_CAP)


def record_attempt(
    session: Session,
    message_id: int,
    result: Result,
    *,
    now: datetime,
    worker: str,
    max_attempts: int = MAX_ATTEMPTS,
) -> str:
    """Settle a claimed message after an attempt; returns its new status."""
    msg = session.get(OutboxMessage, message_id, with_for_update=True)
    if msg is None:
        raise NotFound(f"không có thư số {message_id}")
    if msg.status != "sending" or msg.claimed_by != worker:
        # Our claim expired and another dispatcher retook it: record the attempt, leave the state.
        _log(session, msg, result, now, "stale")
        return msg.status
    delivered = _dedupe([*msg.delivered, *result.accepted])
    refused = {**msg.refused, **(result.refused or {})}
    done = {a.lower() for a in delivered} | {a.lower() for a in refused}
    remaining = [a for a in msg.recipients if a.lower() not in done]
    msg.delivered, msg.refused = delivered, refused
    if result.error is not None and result.permanent:
        msg.status, msg.last_error = "dead", result.error
        outcome = "permanent"
    elif not remaining:
        msg.status = "sent" if delivered else "dead"
        msg.sent_at = now if delivered else None
        msg.last_error = None if delivered else "mọi người nhận đều bị từ chối"
        outcome = "sent" if not refused else "partial"
    else:
        reason = result.error or "; ".join(f"{a}: {r}" for a, r in (result.deferred or {}).items())
        msg.last_error = reason
        if msg.attempts >= max_attempts:
            msg.status = "dead"
        else:
            msg.status, msg.next_attempt_at = "failed", now + backoff(msg.attempts)
        outcome = "temporary"
    msg.claimed_by = None
    _log(session, msg, result, now, outcome)
    return msg.status


def _log(session: Session, msg: OutboxMessage, result: Result, now: datetime, outcome: str) -> None:
    reply = result.error or "; ".join(
        f"{a}: {r}" for a, r in {**(result.refused or {}), **(result.deferred or {})}.items()
    )
    session.add(
        DeliveryAttempt(
            message_id=msg.id,
            at=now,
            duration_ms=result.duration_ms,
            outcome=outcome,
            code=result.code,
            reply=reply[:2000],
            recipients=list(result.accepted),
        )
    )


def retry(session: Session, message_id: int, *, now: datetime) -> OutboxMessage:
    """Make a failed or dead message due now again (its delivered recipients are not resent)."""
    msg = session.get(OutboxMessage, message_id)
    if msg is None:
        raise NotFound(f"không có thư số {message_id}")
    if msg.status not in ("failed", "dead"):
        raise Conflict(f"thư số {message_id} đang ở trạng thái {msg.status}, không gửi lại")
    msg.status, msg.next_attempt_at, msg.attempts = "pending", now, 0
    return msg
