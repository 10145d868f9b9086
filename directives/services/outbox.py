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

import json
import re
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from itertools import accumulate, pairwise
from typing import Any, cast

import psycopg
from sqlalchemy import (
    Table,
    and_,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from directives.db.outbox_tables import DeliveryAttempt, Notice, OutboxMessage, message_notices
from directives.errors import Conflict, NotFound
from directives.services.aside import fetched_aside
from directives.services.bulk_insert import copy_field, copy_from, reserve, write_rows

CLAIM_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)


NoticeKey = tuple[str, int, str, int]
"""A notice's idempotency key as stored: (rule, task id, deadline key, threshold)."""


@dataclass(frozen=True)
class Decision:
    """A rule that fired for a task as of a day."""

    rule: str
    task_id: int
    deadline: date | None
    threshold: int

    @property
    def key(self) -> NoticeKey:
        """The idempotency key as stored."""
        return (self.rule, self.task_id, _deadline_key(self.deadline), self.threshold)


def _deadline_key(deadline: date | None) -> str:
    return deadline.isoformat() if deadline else ""


def record_notices(
    session: Session, decisions: Sequence[Decision], *, decided_on: date, now: datetime
) -> dict[NoticeKey, int]:
    """Insert the decisions not yet recorded; returns the new ones' ids by key.

    For notices decided before their messages are built (the assignment): ``enqueue`` then
    attaches them to the messages that carry them (``Mail.notice_ids``).
    """
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    if not decisions:
        return {}
    # One statement compiled once, its rows sent in batches (SQLAlchemy's insertmanyvalues):
    # a .values() of 500 rows was compiled anew each time, a tenth of a second apiece.
    stmt = (
        make_insert(Notice)
        .on_conflict_do_nothing(index_elements=["task_id", "rule", "deadline_key", "threshold"])
        .returning(Notice.id, Notice.rule, Notice.task_id, Notice.deadline_key, Notice.threshold)
    )
    rows = [
        {
            "rule": d.rule,
            "task_id": d.task_id,
            "deadline_key": _deadline_key(d.deadline),
            "threshold": d.threshold,
            "decided_on": decided_on,
            "created_at": now,
        }
        for d in decisions
    ]
    return {
        (rule, task_id, key, threshold): notice_id
        for notice_id, rule, task_id, key, threshold in session.execute(stmt, rows)
    }


_NOTICE_COLUMNS = (
    "id",
    "rule",
    "task_id",
    "deadline_key",
    "threshold",
    "message_id",
    "decided_on",
    "created_at",
)
_RECORDED_MEANWHILE = (
    "thông báo đã được một lượt chạy khác ghi nhận; lượt này không gửi gì, hãy chạy lại"
)
_NOT_COPYABLE = re.compile(r"[\t\n\r\\]")  # what COPY's text format would need escaped


# Rows (notices) or messages formatted at a time, then handed to the connection's writer.
COPY_CHUNK = 2000


def _copy_notices(
    session: Session,
    rows: Sequence[tuple[NoticeKey, int | None]],
    ids: Sequence[int],
    *,
    decided_on: date,
    now: datetime,
) -> None:
    """COPY ``rows`` into notices with ``ids`` (in the same order) (PostgreSQL), or Conflict on
    a key that is there already (the transaction is then aborted: the caller rolls back)."""
    tokens = {key[0] for key, _ in rows} | {key[2] for key, _ in rows}
    bad = next((t for t in tokens if _NOT_COPYABLE.search(t)), None)
    if bad is not None:  # rules are identifiers, keys ISO dates or '': never, but not silently
        raise ValueError(f"not a token: {bad!r}")
    tail = f"\t{decided_on.isoformat()}\t{now.isoformat()}\n"
    # In the unique key's order (task first), which keeps its insertions local.
    ordered = sorted(
        (key[1], key, message, notice_id)
        for (key, message), notice_id in zip(rows, ids, strict=True)
    )

    def chunks() -> Iterator[str]:
        for start in range(0, len(ordered), COPY_CHUNK):
            lines = []
            for task_id, key, message, notice_id in ordered[start : start + COPY_CHUNK]:
                rule, _, deadline_key, threshold = key
                carrier = r"\N" if message is None else str(message)  # \N: NULL in COPY's text
                lines.append(
                    f"{notice_id}\t{rule}\t{task_id}\t{deadline_key}\t{threshold}\t{carrier}{tail}"
                )
            yield "".join(lines)

    try:
        copy_from(
            session,
            "COPY notices (id, rule, task_id, deadline_key, threshold, message_id, "
            "decided_on, created_at) FROM STDIN",
            chunks(),
        )
    except psycopg.errors.UniqueViolation:
        raise Conflict(_RECORDED_MEANWHILE) from None


def record(
    session: Session,
    rows: Sequence[tuple[NoticeKey, int | None]],
    *,
    decided_on: date,
    now: datetime,
    ids: Sequence[int] | None = None,
) -> list[int]:
    """Record decided notices, each with the message carrying it (None: no one to send to).

    Every key must be new: the decision step read them as not recorded, under the lock that
    serializes deciders (``decide.lock_deciders``). If one was recorded meanwhile all the same,
    this raises Conflict, so that the caller's transaction, its messages included, rolls back
    rather than send a second copy. Returns the notices' ids in the order of ``rows``: ``ids``
    (reserved with ``bulk_insert.reserve`` when the caller needed them first), else new ones.
    """
    if not rows:
        return []
    if ids is None:
        ids = reserve(session, len(rows), "notices")
    if session.get_bind().dialect.name == "postgresql":
        # COPY: a first run over a large register records 100,000, and COPY writes them in
        # half the time of an INSERT … SELECT unnest. Every key is new (see above), so there is
        # no ON CONFLICT: a key recorded meanwhile violates the unique key, and that is the
        # Conflict.
        _copy_notices(session, rows, ids, decided_on=decided_on, now=now)
    else:
        # One executemany of plain tuples: a statement of 500 rows of VALUES cost SQLAlchemy a
        # tenth of a second to compile, every time (43 of 49 s of a national first chase).
        values = [
            (i, rule, task_id, key, threshold, message_id, decided_on, now)
            for i, ((rule, task_id, key, threshold), message_id) in zip(ids, rows, strict=True)
        ]
        try:
            write_rows(session, Notice, _NOTICE_COLUMNS, values)
        except IntegrityError:
            raise Conflict(_RECORDED_MEANWHILE) from None
    return list(ids)  # all of them or none: COPY and executemany either write every row or fail


@dataclass(frozen=True)
class Mail:
    """One message to enqueue: kind, people as (name, address), template data, notices carried.

    A message carries notices either already recorded (``notice_ids``: the assignment) or
    decided and recorded with it (``notices``: the keys of the scheduled jobs' decisions).
    ``task_json``, when given, is ``context["tasks"]`` as JSON texts, one per row, spliced into
    the payload as they are (``task_lines`` renders them in bulk); ``context`` then has no
    ``tasks`` of its own.
    """

    kind: str
    to: Sequence[tuple[str, str]]
    context: dict[str, Any]
    notice_ids: Sequence[int] = ()
    cc: Sequence[tuple[str, str]] = ()
    reply_to: tuple[str, str] | None = None
    key: str | None = None  # a stable name (e.g. a leader's digest of a week): enqueued once
    task_json: Sequence[str] | None = None
    notices: Sequence[NoticeKey] = ()


def enqueue(
    session: Session,
    mails: Iterable[Mail],
    *,
    sender: str,
    now: datetime,
    decided_on: date | None = None,
) -> list[int]:
    """Write messages (status pending, due now) with the notices they carry; returns their ids.

    A handful of statements whatever the number of messages: a lookup of the keyed ones, one
    multi-row INSERT of the messages, one of the notices decided with them (``Mail.notices``,
    recorded on ``decided_on``, each with its message's id; those of a message with no
    recipient are recorded all the same, with none), and, when notices are recorded here, the
    payloads, which name them, written once their ids are known.
    """
    name, address = parseaddr(sender)
    domain = address.partition("@")[2] or "directives.local"
    batch: list[tuple[Mail, str, list[str]]] = []
    unsent: list[NoticeKey] = []
    mails = list(mails)
    tokens = secrets.token_hex(8 * len(mails))  # one call: 8,000 messages made 8,000 syscalls
    stamp = now.strftime(".%Y%m%d")
    for n, mail in enumerate(mails):
        recipients = _dedupe([a for _, a in mail.to] + [a for _, a in mail.cc])
        if recipients:
            message_id = f"<{mail.key or tokens[16 * n : 16 * n + 16] + stamp}@{domain}>"
            batch.append((mail, message_id, recipients))
        else:
            unsent.extend(mail.notices)
    keyed = {m for mail, m, _ in batch if mail.key}
    if keyed:
        # Already enqueued (the unique Message-ID also refuses a racing copy), or twice here.
        seen = set(
            session.scalars(
                select(OutboxMessage.message_id).where(OutboxMessage.message_id.in_(keyed))
            )
        )
        kept = []
        for item in batch:
            if item[0].key:
                if item[1] in seen:
                    continue
                seen.add(item[1])
            kept.append(item)
        batch = kept
    deciding = [k for mail, _, _ in batch for k in mail.notices] + unsent
    if deciding and decided_on is None:
        raise ValueError("enqueue: notices decided with their messages need decided_on")
    if not batch:
        if unsent and decided_on is not None:
            record(session, [(k, None) for k in unsent], decided_on=decided_on, now=now)
        return []
    # The payloads list their notices' ids, so those are handed out first, in the order of
    # ``deciding``: a message's are the slice from its offset on.
    offsets = list(accumulate((len(mail.notices) for mail, _, _ in batch), initial=0))
    reserved = reserve(session, len(deciding), "notices")
    rows = (  # formatted as they are written (on PostgreSQL, while the previous ones travel)
        {
            "kind": mail.kind,
            "message_id": message_id,
            "recipients": recipients,
            "delivered": [],
            "refused": {},
            "payload_text": _payload_text(mail, name, address, message_id, reserved[start:end]),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for (mail, message_id, recipients), (start, end) in zip(
            batch, pairwise(offsets), strict=True
        )
    )
    ids = _insert_messages(session, len(batch), rows)
    if deciding and decided_on is not None:
        record(
            session,
            [(k, i) for i, (mail, _, _) in zip(ids, batch, strict=True) for k in mail.notices]
            + [(k, None) for k in unsent],
            decided_on=decided_on,
            now=now,
            ids=reserved,
        )
    _attach(session, [(i, mail.notice_ids) for i, (mail, _, _) in zip(ids, batch, strict=True)])
    return ids


def _payload_text(
    mail: Mail, name: str, address: str, message_id: str, recorded: Sequence[int] = ()
) -> str:
    """The payload as JSON text, with the pre-rendered task rows spliced in."""
    context = mail.context
    if mail.task_json is not None:
        context = {**context, "tasks": _MARKER}
    payload = {
        "kind": mail.kind,
        "sender": {"name": name, "email": address},
        "to": [{"name": n, "email": a} for n, a in mail.to],
        "cc": [{"name": n, "email": a} for n, a in mail.cc],
        "reply_to": (
            {"name": mail.reply_to[0], "email": mail.reply_to[1]} if mail.reply_to else None
        ),
        "message_id": message_id,
        "notice_ids": [*mail.notice_ids, *recorded],
        "context": context,
    }
    text = _UTF8.encode(payload)  # UTF-8 as task_lines writes its rows
    if mail.task_json is None:
        return text
    return text.replace(f'"{_MARKER}"', "[" + ", ".join(mail.task_json) + "]", 1)


# Where the task rows go in a payload's text: random, so no text of a payload can hold it.
_MARKER = f"tasks-{secrets.token_hex(16)}"
# json.dumps(..., ensure_ascii=False), without building an encoder per call.
_UTF8 = json.JSONEncoder(ensure_ascii=False)


def _insert_messages(session: Session, count: int, rows: Iterable[dict[str, Any]]) -> list[int]:
    """The ``count`` rows, their payloads JSON text already, their ids reserved first: on
    PostgreSQL one COPY, on SQLite one executemany."""
    if session.get_bind().dialect.name == "postgresql":
        return _copy_messages(session, count, rows)
    # SQLite: an executemany of plain tuples, the ids given in order from the table's largest
    # (see _insert_notices). An INSERT … RETURNING in the order of the rows ran one statement
    # per message: 8,000 of them in a national first chase.
    conn = session.connection()
    table = cast(Table, OutboxMessage.__table__)
    processors = {
        c: table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        for c in ("recipients", "delivered", "refused", "next_attempt_at", "created_at")
    }

    def bound(column: str, value: Any) -> Any:  # as the ORM would store it
        process = processors[column]
        return process(value) if process else value

    first = int(
        conn.exec_driver_sql("SELECT coalesce(max(id), 0) + 1 FROM outbox_messages").scalar_one()
    )
    ids = list(range(first, first + count))

    def chunks() -> Iterator[list[tuple[Any, ...]]]:
        chunk: list[tuple[Any, ...]] = []
        for i, row in zip(ids, rows, strict=True):
            chunk.append(
                (
                    i,
                    row["kind"],
                    row["message_id"],
                    row.get("subject", ""),
                    bound("recipients", row["recipients"]),
                    bound("delivered", row["delivered"]),
                    bound("refused", row["refused"]),
                    row["payload_text"],  # JSON text already
                    row["status"],
                    row["attempts"],
                    bound("next_attempt_at", row["next_attempt_at"]),
                    bound("created_at", row["created_at"]),
                )
            )
            if len(chunk) == COPY_CHUNK // 10:
                yield chunk
                chunk = []
        yield chunk

    # The rows (their payloads) are formatted by a thread while SQLite writes the previous
    # ones, which it does without the GIL.
    values = (v for chunk in fetched_aside(chunks()) for v in chunk)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(
            "INSERT INTO outbox_messages (id, kind, message_id, subject, recipients, delivered, "
            "refused, payload, status, attempts, next_attempt_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )
    except sqlite3.IntegrityError as exc:  # a keyed message enqueued meanwhile
        raise IntegrityError("INSERT INTO outbox_messages", None, exc) from None
    finally:
        cursor.close()
    return ids


def _copy_messages(session: Session, count: int, rows: Iterable[dict[str, Any]]) -> list[int]:
    """The messages by COPY, their ids reserved from the sequence first. A first chase at
    national scale writes 8,000 messages: an executemany with RETURNING took 2 s of it."""
    ids = reserve(session, count, "outbox_messages")

    def line(i: int, row: dict[str, Any]) -> str:
        fields = (
            row["kind"],
            row["message_id"],
            row.get("subject", ""),  # the ORM's default, which COPY does not apply
            json.dumps(row["recipients"]),
            json.dumps(row["delivered"]) if row["delivered"] else "[]",
            json.dumps(row["refused"]) if row["refused"] else "{}",
            row["payload_text"],
            row["status"],
        )
        escaped = "\t".join(copy_field(f) for f in fields)
        return (
            f"{i}\t{escaped}\t{row['attempts']:d}\t{row['next_attempt_at'].isoformat()}\t"
            f"{row['created_at'].isoformat()}\n"
        )

    def chunks() -> Iterator[str]:
        lines = []
        for i, row in zip(ids, rows, strict=True):
            lines.append(line(i, row))
            if len(lines) == COPY_CHUNK // 10:  # a message lists ten tasks or so
                yield "".join(lines)
                lines = []
        yield "".join(lines)

    try:
        copy_from(
            session,
            "COPY outbox_messages (id, kind, message_id, subject, recipients, delivered, refused, "
            "payload, status, attempts, next_attempt_at, created_at) FROM STDIN",
            chunks(),
        )
    except psycopg.errors.UniqueViolation as exc:  # a keyed message enqueued meanwhile
        raise IntegrityError("COPY outbox_messages", None, exc) from None
    return ids


def _attach(session: Session, carried: Sequence[tuple[int, Sequence[int]]]) -> None:
    """Attach recorded notices to the messages that carry them: the first message becomes the
    notice's own (``notices.message_id``); another one (the copy of an assignment to a
    coordinating agency) is listed in ``message_notices``. Core statements on the table: an
    ORM update would scan every object of the session (an import holds thousands)."""
    notices = cast(Table, Notice.__table__)
    for message_id, notice_ids in carried:
        if not notice_ids:
            continue
        taken = set(
            session.connection().scalars(
                update(notices)
                .where(notices.c.id.in_(notice_ids), notices.c.message_id.is_(None))
                .values(message_id=message_id)
                .returning(notices.c.id)
            )
        )
        copies = [n for n in notice_ids if n not in taken]
        if copies:
            session.execute(
                insert(message_notices),
                [{"message_id": message_id, "notice_id": n} for n in copies],
            )


def _dedupe(addresses: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for a in addresses:
        seen.setdefault(a.strip().lower(), a.strip())
    return list(seen.values())


@dataclass(frozen=True)
class Claimed:
    """A message won by this dispatcher: what to send, to whom, and its state when claimed."""

    id: int
    payload: dict[str, Any]
    recipients: list[str]
    delivered: list[str]
    refused: dict[str, str]
    attempts: int

    @property
    def pending(self) -> list[str]:
        """The recipients not yet delivered to nor refused."""
        done = {a.lower() for a in self.delivered} | {a.lower() for a in self.refused}
        return [a for a in self.recipients if a.lower() not in done]


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
    out = [Claimed(*row) for row in session.execute(stmt)]
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
    claimed: Claimed,
    result: Result,
    *,
    now: datetime,
    worker: str,
    max_attempts: int = MAX_ATTEMPTS,
) -> str:
    """Settle a claimed message after an attempt; returns its new status.

    One guarded UPDATE (still claimed by ``worker``) and one INSERT: the dispatcher settles every
    message in its own transaction, so this is kept to the two statements it needs.
    """
    delivered = _dedupe([*claimed.delivered, *result.accepted])
    refused = {**claimed.refused, **(result.refused or {})}
    done = {a.lower() for a in delivered} | {a.lower() for a in refused}
    remaining = [a for a in claimed.recipients if a.lower() not in done]
    values: dict[str, Any] = {"delivered": delivered, "refused": refused, "claimed_by": None}
    if result.error is not None and result.permanent:
        values |= {"status": "dead", "last_error": result.error}
        outcome = "permanent"
    elif not remaining:
        values |= {
            "status": "sent" if delivered else "dead",
            "sent_at": now if delivered else None,
            "last_error": None if delivered else "mọi người nhận đều bị từ chối",
        }
        outcome = "sent" if not refused else "partial"
    else:
        deferred = "; ".join(f"{a}: {r}" for a, r in (result.deferred or {}).items())
        values["last_error"] = result.error or deferred
        if claimed.attempts >= max_attempts:
            values["status"] = "dead"
        else:
            values |= {"status": "failed", "next_attempt_at": now + backoff(claimed.attempts)}
        outcome = "temporary"
    table = cast(Table, OutboxMessage.__table__)
    won = session.execute(
        update(table)
        .where(table.c.id == claimed.id, table.c.status == "sending", table.c.claimed_by == worker)
        .values(**values)
        .returning(table.c.id)
    ).first()
    if won is None:
        # Our claim expired and another dispatcher retook it: log the attempt, leave the state.
        outcome, values["status"] = "stale", "sending"
    _log(session, claimed.id, result, now, outcome)
    return str(values["status"])


def _log(session: Session, message_id: int, result: Result, now: datetime, outcome: str) -> None:
    reply = result.error or "; ".join(
        f"{a}: {r}" for a, r in {**(result.refused or {}), **(result.deferred or {})}.items()
    )
    session.execute(
        insert(cast(Table, DeliveryAttempt.__table__)).values(
            message_id=message_id,
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
