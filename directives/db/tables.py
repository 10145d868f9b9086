"""SQLAlchemy 2 tables. A task row projects its event log, updated in the same transaction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Constraint names are fixed so that migrations and models agree on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only autoincrements INTEGER keys
OPEN_STATES_SQL = "state IN ('assigned', 'acknowledged', 'in_progress', 'submitted', 'returned')"


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class Agency(Base):
    """A body that carries out tasks (sở, ban, UBND huyện, …)."""

    __tablename__ = "agencies"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    focal_emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    head_name: Mapped[str | None] = mapped_column(String(200))
    head_email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Leader(Base):
    """The chairman or a vice-chairman of the provincial committee."""

    __tablename__ = "leaders"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254))
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)


class Officer(Base):
    """A specialist of the office who follows tasks (chuyên viên theo dõi)."""

    __tablename__ = "officers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))


class Directive(Base):
    """A signed document from a leader; its number is unique within its year."""

    __tablename__ = "directives"
    __table_args__ = (UniqueConstraint("number", "year", name="uq_directives_number_year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(60))
    year: Mapped[int] = mapped_column(SmallInteger)
    issued_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(30))
    signer_id: Mapped[int] = mapped_column(ForeignKey("leaders.id"))
    summary: Mapped[str] = mapped_column(Text)
    source_ref: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    tasks: Mapped[list[Task]] = relationship(back_populates="directive", order_by="Task.position")
    signer: Mapped[Leader] = relationship()


class Task(Base):
    """One thing an agency must do. Dated columns project the event log for fast queries."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index(
            "ix_tasks_open_deadline",
            "deadline",
            sqlite_where=text(OPEN_STATES_SQL),
            postgresql_where=text(OPEN_STATES_SQL),
        ),
        # The decision's open tasks: no confirmation, or one after the day (migration 0009).
        Index("ix_tasks_confirmed_on", "confirmed_on"),
        Index("ix_tasks_agency_state_deadline", "lead_agency_id", "state", "deadline"),
        Index("ix_tasks_leader_state_deadline", "leader_id", "state", "deadline"),
        Index("ix_tasks_directive_position", "directive_id", "position", unique=True),
        # An index, not a constraint: SQLite adds it without rebuilding the table.
        Index("uq_tasks_series_period", "series_id", "period", unique=True),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    directive_id: Mapped[int] = mapped_column(ForeignKey("directives.id"))
    position: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    lead_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("leaders.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    sector: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    source_ref: Mapped[str | None] = mapped_column(String(300))
    # The deadline as written: a date, or N working days from the issue date; neither = standing.
    stated_deadline: Mapped[date | None] = mapped_column(Date)
    deadline_working_days: Mapped[int | None] = mapped_column(Integer)
    # Computed from the statement and the calendar (rest days roll forward); recomputed when the
    # calendar changes. ``deadline`` is the effective one: the latest approved extension, else this.
    # A periodic task: its rule (e.g. "monthly:20"), the series it belongs to (the first task's
    # id) and the period it is for ("2026-11"); the recurring job adds the next occurrences.
    recurrence: Mapped[str | None] = mapped_column(String(30))
    series_id: Mapped[int | None] = mapped_column(BigId)
    period: Mapped[str | None] = mapped_column(String(10))
    original_deadline: Mapped[date | None] = mapped_column(Date)
    deadline: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20))
    state_before_pause: Mapped[str | None] = mapped_column(String(20))
    assigned_on: Mapped[date] = mapped_column(Date)
    acknowledged_on: Mapped[date | None] = mapped_column(Date)
    last_report_on: Mapped[date | None] = mapped_column(Date)
    submitted_on: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    confirmed_on: Mapped[date | None] = mapped_column(Date)
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    has_extensions: Mapped[bool] = mapped_column(Boolean, default=False)
    has_pauses: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    directive: Mapped[Directive] = relationship(back_populates="tasks")
    lead_agency: Mapped[Agency] = relationship(foreign_keys=[lead_agency_id])
    leader: Mapped[Leader | None] = relationship()
    officer: Mapped[Officer | None] = relationship()
    coordinators: Mapped[list[Agency]] = relationship(secondary="task_coordinators")


class TaskCoordinator(Base):
    """A coordinating agency of a task (đơn vị phối hợp)."""

    __tablename__ = "task_coordinators"
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True, index=True)


class TaskEvent(Base):
    """The append-only history of a task: every action, with the date it took effect."""

    __tablename__ = "task_events"
    __table_args__ = (Index("ix_task_events_task_id_id", "task_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ProgressReport(Base):
    """A progress or final report from an agency; a final one waits for the office's decision."""

    __tablename__ = "progress_reports"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    on: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    percent: Mapped[int | None] = mapped_column(SmallInteger)
    document_ref: Mapped[str | None] = mapped_column(String(200))
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    # progress | pending | confirmed | returned
    outcome: Mapped[str] = mapped_column(String(12))
    decided_on: Mapped[date | None] = mapped_column(Date)
    by_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))


class Extension(Base):
    """A request for a later deadline and its decision; the original deadline is kept."""

    __tablename__ = "extensions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    requested_on: Mapped[date] = mapped_column(Date)
    requested_deadline: Mapped[date] = mapped_column(Date)
    previous_deadline: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    after_deadline: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(10))  # pending | approved | rejected
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    granted_deadline: Mapped[date | None] = mapped_column(Date)
    decision_note: Mapped[str | None] = mapped_column(Text)


class TaskPause(Base):
    """An interval during which a task was paused (tạm hoãn)."""

    __tablename__ = "task_pauses"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    paused_on: Mapped[date] = mapped_column(Date)
    resumed_on: Mapped[date | None] = mapped_column(Date)


class CalendarOverride(Base):
    """A day the office declares off (working=False) or worked (working=True)."""

    __tablename__ = "calendar_overrides"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(300), default="")


class CalendarDay(Base):
    """The working-day index: for every day, the working days up to it (``wd`` is a subtraction).

    Derived from the calendar in force and rebuilt whenever it changes (see ``calendar_index``).
    """

    __tablename__ = "calendar_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    working: Mapped[bool] = mapped_column(Boolean)


class EngineMeta(Base):
    """Small facts about the database itself, e.g. which calendar the index was built from."""

    __tablename__ = "engine_meta"
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class CodeCounter(Base):
    """The next number of each task-code series (one per year), taken under a row lock."""

    __tablename__ = "code_counters"
    scope: Mapped[str] = mapped_column(String(20), primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer)


class ProgrammeItem(Base):
    """An item of a month's work programme: what an agency must submit to the Committee, and when.

    Its state is derived from its dates (``directives.programme.state_as_of``). Postponing an item
    to a later month closes it here (``postponed_on``) and opens a new item there that points back
    (``carried_from_id``), so each month keeps what it promised and the chain keeps the history.
    """

    __tablename__ = "programme_items"
    __table_args__ = (Index("ix_programme_items_month_position", "month", "position"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    month: Mapped[date] = mapped_column(Date)  # the first day of the month
    position: Mapped[int] = mapped_column(Integer)  # STT within the month
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("leaders.id"), index=True)
    planned_on: Mapped[date] = mapped_column(Date)
    entered_on: Mapped[date] = mapped_column(Date)
    submitted_on: Mapped[date | None] = mapped_column(Date)
    document_number: Mapped[str | None] = mapped_column(String(60))
    postponed_on: Mapped[date | None] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date)
    carried_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme_items.id"), unique=True
    )
    note: Mapped[str | None] = mapped_column(Text)

    agency: Mapped[Agency] = relationship()
    leader: Mapped[Leader | None] = relationship()
    events: Mapped[list[ProgrammeEvent]] = relationship(
        back_populates="item", order_by="ProgrammeEvent.id"
    )


class ProgrammeEvent(Base):
    """The append-only history of a programme item."""

    __tablename__ = "programme_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("programme_items.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # entered|submitted|postponed|carried_in|removed
    on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    item: Mapped[ProgrammeItem] = relationship(back_populates="events")


class ProgrammeSnapshot(Base):
    """A month's status as compiled on a day: ``interim`` (the 25th) or ``final`` (frozen)."""

    __tablename__ = "programme_snapshots"
    __table_args__ = (
        UniqueConstraint("month", "stage", name="uq_programme_snapshots_month_stage"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(10))  # interim | final
    as_of: Mapped[date] = mapped_column(Date)  # the day the figures are as of
    compiled_on: Mapped[date] = mapped_column(Date)
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class User(Base):
    """A person who signs in to the web app: the office, an agency's clerk or a leader.

    ``role`` is ``secretariat``, ``agency`` (with ``agency_id``) or ``leader`` (with
    ``leader_id``); the password is kept only as an argon2 hash.
    """

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("leaders.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    agency: Mapped[Agency | None] = relationship()
    leader: Mapped[Leader | None] = relationship()


class AuditEntry(Base):
    """Who changed what, and when: one row per change made through the web app or the CLI."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_at", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    username: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(45), default="")


class ApiToken(Base):
    """A token for a system that calls the JSON API (e.g. the document-management system).

    Only the SHA-256 of the token is kept; the token itself is shown once, when it is made. It
    acts with ``role`` like a user: ``secretariat``, ``agency`` (with ``agency_id``) or
    ``leader`` (with ``leader_id``). A revoked token stays listed, for the audit trail.
    """

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("leaders.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    agency: Mapped[Agency | None] = relationship()
    leader: Mapped[Leader | None] = relationship()
