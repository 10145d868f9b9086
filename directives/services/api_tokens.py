"""API tokens: for systems that call the JSON API, such as the document-management system.

A token is 32 random bytes, shown once when it is made; only its SHA-256 is stored, so a copy of
the database gives no working token. (A slow password hash is not needed: the token has 256 bits
of entropy, nothing to guess.) Each token acts in one scope, as a user does: the office, one
agency or one leader.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from directives.clock import Clock
from directives.db.tables import Agency, ApiToken, Leader
from directives.errors import Conflict, InvalidInput, NotFound
from directives.services import registry
from directives.workflow import Actor, Role

PREFIX = "dtk_"  # lets secret scanners and people recognise a leaked token
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,49}")
_TOKEN = re.compile(r"dtk_[A-Za-z0-9_-]{43}")
# last_used_at is written at most this often, so reads do not each take a write lock.
USE_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Scope:
    """What a token acts as: a role, with the agency's or leader's code for those roles."""

    role: Role
    code: str | None = None

    @classmethod
    def parse(cls, spec: str) -> Scope:
        """``secretariat``, ``agency:CODE`` or ``leader:CODE``."""
        role, _, code = spec.strip().partition(":")
        try:
            r = Role(role.strip().lower())
        except ValueError:
            r = Role.SYSTEM
        if r is Role.SYSTEM:
            raise InvalidInput(f"phạm vi {spec!r}: dùng secretariat, agency:MÃ hoặc leader:MÃ")
        if (r is Role.SECRETARIAT) == bool(code.strip()):
            raise InvalidInput(
                f"phạm vi {spec!r}: agency và leader cần mã sau dấu hai chấm, secretariat thì không"
            )
        return cls(r, code.strip().upper() or None)

    def __str__(self) -> str:
        return f"{self.role.value}:{self.code}" if self.code else self.role.value


def digest(token: str) -> str:
    """The stored form of a token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def scope_of(token: ApiToken) -> Scope:
    """The scope a stored token acts in."""
    role = Role(token.role)
    code = token.agency.code if token.agency else token.leader.code if token.leader else None
    return Scope(role, code)


def actor_for(token: ApiToken) -> Actor:
    """The workflow actor a token acts as (named ``api:NAME`` in the event log)."""
    scope = scope_of(token)
    return Actor(
        scope.role,
        f"api:{token.name}",
        agency=scope.code if scope.role is Role.AGENCY else None,
        leader=scope.code if scope.role is Role.LEADER else None,
    )


def create_token(
    session: Session, *, name: str, scope: Scope, clock: Clock
) -> tuple[ApiToken, str]:
    """Store a new token; returns it and the token text, which is never shown again."""
    clean = name.strip().lower()
    if not _NAME.fullmatch(clean):
        raise InvalidInput(f"tên token {name!r} không hợp lệ: 2–50 ký tự a–z, 0–9, dấu chấm, gạch")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == clean)) is not None:
        raise Conflict(f"token tên {clean!r} đã có")
    code = scope.code or ""
    agency = registry.by_code(session, Agency, code) if scope.role is Role.AGENCY else None
    leader = registry.by_code(session, Leader, code) if scope.role is Role.LEADER else None
    text = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=clean,
        token_hash=digest(text),
        role=scope.role.value,
        agency=agency,
        leader=leader,
        created_at=clock.now(),
    )
    session.add(token)
    session.flush()
    return token, text


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, revoked ones included, oldest first."""
    stmt = (
        select(ApiToken)
        .options(selectinload(ApiToken.agency), selectinload(ApiToken.leader))
        .order_by(ApiToken.id)
    )
    return list(session.scalars(stmt))


def revoke_token(session: Session, name_or_id: str, *, clock: Clock) -> ApiToken:
    """Revoke a token by name or id; it stops working at once. Revoking twice is refused."""
    key = name_or_id.strip()
    stmt = select(ApiToken)
    if key.isdigit() and len(key) < 10:
        stmt = stmt.where(ApiToken.id == int(key))
    else:
        stmt = stmt.where(ApiToken.name == key.lower())
    token = session.scalar(stmt)
    if token is None:
        raise NotFound(f"không có token {name_or_id!r}")
    if token.revoked_at is not None:
        raise Conflict(f"token {token.name!r} đã bị thu hồi")
    token.revoked_at = clock.now()
    return token


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # SQLite drops it


def authenticate(session: Session, text: str, *, clock: Clock) -> ApiToken | None:
    """The live token with this text, or None; notes when it was last used."""
    if not _TOKEN.fullmatch(text):
        return None
    token = session.scalar(
        select(ApiToken)
        .where(ApiToken.token_hash == digest(text))
        .options(selectinload(ApiToken.agency), selectinload(ApiToken.leader))
    )
    if token is None or token.revoked_at is not None:
        return None
    now = clock.now()
    if token.last_used_at is None or now - _aware(token.last_used_at) >= USE_RESOLUTION:
        token.last_used_at = now
    return token
