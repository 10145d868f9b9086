"""Web users: accounts with argon2-hashed passwords, and the workflow actor each one acts as."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from directives.clock import Clock
from directives.db.tables import Agency, Leader, User
from directives.errors import Conflict, InvalidInput, NotFound
from directives.services import registry
from directives.workflow import Actor, Role

ROLES = (Role.SECRETARIAT, Role.AGENCY, Role.LEADER)
# OWASP ASVS 4 V2.1.1–2.1.2: at least 12 characters, at least 64 allowed; longer than 128 is
# refused, which also keeps one argon2 hash from being made to cost what an attacker likes.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,59}")

_hasher = PasswordHasher()
_dummy_hash: str | None = None


def normalize_username(username: str) -> str:
    """The stored form of a user name: trimmed, lower case."""
    return username.strip().lower()


def hash_password(password: str) -> str:
    """The argon2 hash of ``password``; refuses one shorter than ``MIN_PASSWORD_LENGTH`` or
    longer than ``MAX_PASSWORD_LENGTH``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"mật khẩu dài quá {MAX_PASSWORD_LENGTH} ký tự")
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _unknown_user_hash() -> str:
    """A hash to check against when the user does not exist, so both cases take as long."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("không có người dùng này")
    return _dummy_hash


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: Role | str,
    clock: Clock,
    password: str | None = None,
    password_hash: str | None = None,
    agency: str | None = None,
    leader: str | None = None,
) -> User:
    """Add an account; an agency user names its agency, a leader user the leader's code."""
    name = normalize_username(username)
    if not _USERNAME.fullmatch(name):
        raise InvalidInput(
            f"tên đăng nhập {username!r} không hợp lệ: 2–60 ký tự a–z, 0–9, dấu chấm, gạch"
        )
    try:
        r = Role(role)
    except ValueError:
        r = Role.SYSTEM
    if r not in ROLES:
        raise InvalidInput(f"vai trò {role!r} không hợp lệ; dùng secretariat, agency hoặc leader")
    if (r is Role.AGENCY) != bool(agency) or (r is Role.LEADER) != bool(leader):
        raise InvalidInput(
            f"vai trò {r.value}: người dùng đơn vị cần --agency, lãnh đạo cần --leader, "
            "văn phòng không cần cả hai"
        )
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict(f"tên đăng nhập {name!r} đã có")
    if password_hash is None:
        password_hash = hash_password(password or "")
    user = User(
        username=name,
        display_name=display_name.strip() or name,
        password_hash=password_hash,
        role=r.value,
        agency=registry.by_code(session, Agency, agency) if agency else None,
        leader=registry.by_code(session, Leader, leader) if leader else None,
        active=True,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    """The account named ``username``; raises NotFound."""
    user = session.scalar(select(User).where(User.username == normalize_username(username)))
    if user is None:
        raise NotFound(f"không có người dùng {username!r}")
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """Replace a user's password (every session signed in with the old one ends)."""
    user = get_user(session, username)
    user.password_hash = hash_password(password)
    return user


def set_active(session: Session, username: str, active: bool) -> User:
    """Lock or unlock an account."""
    user = get_user(session, username)
    user.active = active
    return user


def authenticate(session: Session, username: str, password: str, *, clock: Clock) -> User | None:
    """The active user with these credentials, or None; an unknown name costs as much time."""
    if len(password) > MAX_PASSWORD_LENGTH:  # never valid: not worth a hash
        return None
    user = session.scalar(select(User).where(User.username == normalize_username(username)))
    if user is None:
        _verify(_unknown_user_hash(), password)
        return None
    if not _verify(user.password_hash, password) or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = clock.now()
    return user


def list_users(session: Session) -> list[User]:
    """Every account, by role then user name."""
    stmt = (
        select(User)
        .options(selectinload(User.agency), selectinload(User.leader))
        .order_by(User.role, User.username)
    )
    return list(session.scalars(stmt))


def actor_for(user: User) -> Actor:
    """The workflow actor a signed-in user acts as."""
    role = Role(user.role)
    return Actor(
        role,
        user.username,
        agency=user.agency.code if role is Role.AGENCY and user.agency else None,
        leader=user.leader.code if role is Role.LEADER and user.leader else None,
    )


def session_stamp(user: User) -> str:
    """A short digest of the password hash: a session carries it, so a new password ends it."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


# The sample province's demo accounts, all with ``DEMO_PASSWORD`` (documented in the README).
DEMO_PASSWORD = "binhan-2026-demo"


@dataclass(frozen=True)
class DemoUser:
    """A demo account: user name, role and the agency or leader code it belongs to."""

    username: str
    role: Role
    code: str | None = None


DEMO_USERS = (
    DemoUser("vanphong", Role.SECRETARIAT),
    DemoUser("skhdt", Role.AGENCY, "SKHDT"),
    DemoUser("stnmt", Role.AGENCY, "STNMT"),
    DemoUser("sxd", Role.AGENCY, "SXD"),
    DemoUser("ubndtp", Role.AGENCY, "UBNDTP"),
    DemoUser("ct", Role.LEADER, "CT"),
    DemoUser("pct1", Role.LEADER, "PCT1"),
)


def create_demo_users(session: Session, *, clock: Clock) -> list[DemoUser]:
    """Create the demo accounts whose agency or leader exists and whose name is free."""
    taken = set(session.scalars(select(User.username)))
    agencies = registry.codes(session, Agency)
    leaders = registry.codes(session, Leader)
    shared_hash: str | None = None  # one argon2 run for all: they share the demo password
    made = []
    for demo in DEMO_USERS:
        if demo.username in taken:
            continue
        if demo.role is Role.AGENCY:
            agency = agencies.get(demo.code or "")
            if agency is None:
                continue
            display = f"Văn thư {agency.name}"
        elif demo.role is Role.LEADER:
            leader = leaders.get(demo.code or "")
            if leader is None:
                continue
            display = f"{leader.title} {leader.name}"
        else:
            display = "Chuyên viên Văn phòng UBND tỉnh"
        shared_hash = shared_hash or hash_password(DEMO_PASSWORD)
        create_user(
            session,
            username=demo.username,
            display_name=display,
            role=demo.role,
            clock=clock,
            password_hash=shared_hash,
            agency=demo.code if demo.role is Role.AGENCY else None,
            leader=demo.code if demo.role is Role.LEADER else None,
        )
        made.append(demo)
    return made


def demo_logins(session: Session) -> list[tuple[str, str]]:
    """(user name, display name) of the demo accounts that still have the demo password."""
    names = [d.username for d in DEMO_USERS]
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(names)))}
    still_demo: dict[str, bool] = {}  # by hash: the demo accounts share one
    out = []
    for name in names:
        user = users.get(name)
        if user is None or not user.active:
            continue
        if user.password_hash not in still_demo:
            still_demo[user.password_hash] = _verify(user.password_hash, DEMO_PASSWORD)
        if still_demo[user.password_hash]:
            out.append((name, user.display_name))
    return out
