"""The outbox: decided notices (one per idempotency key) and the messages that carry them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from directives.db.tables import Base, BigId

UNSENT_SQL = "status IN ('pending', 'failed', 'sending')"


class Notice(Base):
    """A decision that a rule fired for a task; the key makes a second decision a no-op.

    No foreign keys, by measure: PostgreSQL checks a key row by row, locking the referenced
    row, and on a first chase over a large register (95,000 notices) the checks against
    ``tasks`` and ``outbox_messages`` cost 5 of its seconds. The references hold by
    construction instead: a notice is only written by an INSERT … SELECT over the open tasks
    or for tasks of the same transaction, with the id of a message written in that transaction;
    nothing deletes a task or a message, and if one is deleted by hand, triggers (migration
    0008) delete the task's notices and clear the message's id. ``tests/test_invariants.py``
    checks that no notice lacks its task or message.
    """

    __tablename__ = "notices"
    __table_args__ = (
        # task_id first: the same index serves a task's timeline.
        UniqueConstraint("task_id", "rule", "deadline_key", "threshold", name="uq_notices_key"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule: Mapped[str] = mapped_column(String(20))
    task_id: Mapped[int] = mapped_column(BigId)
    # The message that carries it (None: nobody to send it to); a second message carrying the
    # same notice (an assignment's copy to a coordinating agency) is in ``message_notices``.
    message_id: Mapped[int | None] = mapped_column(BigId)
    # The effective deadline as ISO text ('' for a standing task): part of the key, never NULL,
    # because NULLs are distinct in unique constraints on both databases.
    deadline_key: Mapped[str] = mapped_column(String(10))
    threshold: Mapped[int] = mapped_column(Integer)
    decided_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxMessage(Base):
    """One email to one set of recipients; its payload renders the same bytes on every retry."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index(
            "ix_outbox_messages_due",
            "next_attempt_at",
            sqlite_where=text(UNSENT_SQL),
            postgresql_where=text(UNSENT_SQL),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    recipients: Mapped[list[str]] = mapped_column(JSON)  # every envelope address, to and cc
    delivered: Mapped[list[str]] = mapped_column(JSON, default=list)
    refused: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # address → 5xx reply
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending → sending → sent; failed (retry at next_attempt_at) → … → dead
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


# Messages carrying a notice besides its own ``Notice.message_id``: the copies.
message_notices = Table(
    "message_notices",
    Base.metadata,
    Column("message_id", ForeignKey("outbox_messages.id", ondelete="CASCADE"), primary_key=True),
    Column("notice_id", ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class DeliveryAttempt(Base):
    """One try at handing a message to the SMTP server (or writing it to a file)."""

    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(12))  # sent | partial | temporary | permanent
    code: Mapped[int | None] = mapped_column(Integer)
    reply: Mapped[str] = mapped_column(Text, default="")
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
