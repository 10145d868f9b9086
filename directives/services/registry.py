"""Agencies, leaders and officers: loaded from files, listed, looked up by code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from directives.db.tables import Agency, Leader, Officer
from directives.domain import LeaderRole
from directives.errors import Conflict, NotFound
from directives.importing import AgencyRow, LeaderRow, OfficerRow

T = TypeVar("T", Agency, Leader, Officer)

_WHAT = {Agency: "đơn vị", Leader: "lãnh đạo", Officer: "chuyên viên"}


def by_code(session: Session, model: type[T], code: str) -> T:
    """The record with ``code``; raises NotFound naming the code."""
    found = session.scalar(select(model).where(model.code == code.strip().upper()))
    if found is None:
        raise NotFound(f"không có {_WHAT[model]} mã {code!r}")
    return found


def codes(session: Session, model: type[T]) -> dict[str, T]:
    """Every record of ``model`` by code."""
    return {row.code: row for row in session.scalars(select(model))}


def upsert_agencies(session: Session, rows: Sequence[AgencyRow]) -> tuple[int, int]:
    """Insert new agencies and update known ones by code; returns (added, updated)."""
    known = codes(session, Agency)
    added = updated = 0
    for r in rows:
        values = dict(
            name=r.name,
            kind=r.kind.value,
            focal_emails=list(r.focal_emails),
            head_name=r.head_name,
            head_email=r.head_email,
            active=r.active,
        )
        if r.code in known:
            for key, value in values.items():
                setattr(known[r.code], key, value)
            updated += 1
        else:
            session.add(Agency(code=r.code, **values))
            added += 1
    session.flush()
    return added, updated


def upsert_leaders(session: Session, rows: Sequence[LeaderRow]) -> tuple[int, int]:
    """Insert or update leaders by code; at most one chairman overall."""
    known = codes(session, Leader)
    added = updated = 0
    for r in rows:
        values = dict(
            name=r.name, title=r.title, role=r.role.value, email=r.email, sectors=list(r.sectors)
        )
        if r.code in known:
            for key, value in values.items():
                setattr(known[r.code], key, value)
            updated += 1
        else:
            session.add(Leader(code=r.code, **values))
            added += 1
    session.flush()
    chairmen = session.scalars(select(Leader.code).where(Leader.role == LeaderRole.CHAIRMAN.value))
    found = sorted(chairmen)
    if len(found) > 1:
        raise Conflict(f"chỉ có một Chủ tịch, nhưng có {len(found)}: {', '.join(found)}")
    return added, updated


def upsert_officers(session: Session, rows: Sequence[OfficerRow]) -> tuple[int, int]:
    """Insert or update the office's specialists by code."""
    known = codes(session, Officer)
    added = updated = 0
    for r in rows:
        if r.code in known:
            known[r.code].name, known[r.code].email = r.name, r.email
            updated += 1
        else:
            session.add(Officer(code=r.code, name=r.name, email=r.email))
            added += 1
    session.flush()
    return added, updated


def chairman_code(session: Session) -> str | None:
    """The chairman's code, if one is loaded."""
    return session.scalar(select(Leader.code).where(Leader.role == LeaderRole.CHAIRMAN.value))
