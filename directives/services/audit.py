"""The audit trail: who changed what, when and from where (one row per change)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from directives.clock import Clock
from directives.db.tables import AuditEntry


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def record(
    session: Session,
    *,
    username: str,
    role: str,
    action: str,
    clock: Clock,
    target: str = "",
    ip: str = "",
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the audit trail, in the caller's transaction."""
    entry = AuditEntry(
        at=clock.now(),
        username=username[:60],
        role=role[:20],
        action=action[:60],
        target=target[:200],
        detail=_plain(dict(detail or {})),
        ip=ip[:45],
    )
    session.add(entry)
    return entry


def recent(
    session: Session, *, limit: int = 100, username: str | None = None, target: str | None = None
) -> list[AuditEntry]:
    """The latest entries, newest first, optionally for one user or one target."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if username is not None:
        stmt = stmt.where(AuditEntry.username == username)
    if target is not None:
        stmt = stmt.where(AuditEntry.target == target)
    return list(session.scalars(stmt))
