"""Request dependencies: the runtime, a unit of work, the signed-in user and role guards.

Routes declare what they need with the ``Annotated`` aliases (``DbDep``, ``UserDep``,
``SecretariatDep`` …); a page for other roles builds its guard with ``require(...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session, selectinload

from directives.db.tables import User
from directives.runtime import Runtime
from directives.services import audit, users
from directives.workflow import Actor, Role


class LoginRequired(Exception):
    """No signed-in user (or the session ended): the page asks to sign in."""


class Forbidden(Exception):
    """The signed-in user's role may not open this page."""


@dataclass(frozen=True)
class WebUser:
    """The signed-in user, detached from the database session that loaded it."""

    id: int
    username: str
    display_name: str
    role: Role
    agency: str | None = None  # the agency's code, for an agency user
    agency_name: str | None = None
    leader: str | None = None  # the leader's code, for a leader

    @property
    def actor(self) -> Actor:
        """The workflow actor this user acts as."""
        return Actor(self.role, self.username, agency=self.agency, leader=self.leader)

    @property
    def role_label(self) -> str:
        """The role in Vietnamese."""
        return ROLE_LABELS[self.role]

    def sees_task(self, lead_agency: str, coordinators: list[str] | frozenset[str]) -> bool:
        """True if this user may read a task led or coordinated by these agencies."""
        if self.role is not Role.AGENCY:
            return True
        return self.agency is not None and (
            self.agency == lead_agency or self.agency in coordinators
        )


ROLE_LABELS = {
    Role.SECRETARIAT: "Văn phòng",
    Role.AGENCY: "Đơn vị",
    Role.LEADER: "Lãnh đạo",
    Role.SYSTEM: "Hệ thống",
}


def get_runtime(request: Request) -> Runtime:
    """The runtime the app was built with."""
    rt: Runtime = request.app.state.rt
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_db(rt: RuntimeDep) -> Iterator[Session]:
    """A unit of work for the request: committed if the route returns, rolled back if it raises."""
    with rt.unit_of_work() as session:
        yield session


# scope="function": the unit of work commits when the route returns, before the answer is sent.
# FastAPI's default ("request") commits after the response went out, so a process killed between
# the two answered 200 for a change it never stored (found by bench/chaos.py).
DbDep = Annotated[Session, Depends(get_db, scope="function")]


def client_ip(request: Request) -> str:
    """The client's address (uvicorn resolves X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else ""


def load_user(session: Session, request: Request) -> WebUser | None:
    """The user of the request's session, if it is valid; clears a stale session."""
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        return None
    user = session.get(User, uid, options=[selectinload(User.agency), selectinload(User.leader)])
    if user is None or not user.active or request.session.get("stamp") != users.session_stamp(user):
        request.session.clear()
        return None
    return WebUser(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        agency=user.agency.code if user.agency else None,
        agency_name=user.agency.name if user.agency else None,
        leader=user.leader.code if user.leader else None,
    )


def current_user(request: Request, db: DbDep) -> WebUser:
    """The signed-in user; raises LoginRequired (→ the login page, or 401 under /api)."""
    user = load_user(db, request)
    if user is None:
        raise LoginRequired()
    request.state.user = user
    return user


UserDep = Annotated[WebUser, Depends(current_user)]


def require(*roles: Role) -> Callable[..., WebUser]:
    """A dependency that lets only ``roles`` through (403 for the others)."""

    def guard(user: UserDep) -> WebUser:
        if user.role not in roles:
            raise Forbidden()
        return user

    return guard


SecretariatDep = Annotated[WebUser, Depends(require(Role.SECRETARIAT))]
OfficeOrLeaderDep = Annotated[WebUser, Depends(require(Role.SECRETARIAT, Role.LEADER))]


def audit_change(
    request: Request,
    db: Session,
    user: WebUser | None,
    action: str,
    *,
    target: str = "",
    detail: dict[str, Any] | None = None,
    username: str | None = None,
    role: str | None = None,
) -> None:
    """Record a change in the audit trail, in the request's unit of work."""
    audit.record(
        db,
        username=username if username is not None else (user.username if user else ""),
        role=role if role is not None else (user.role.value if user else ""),
        action=action,
        target=target,
        detail=detail,
        ip=client_ip(request),
        clock=get_runtime(request).clock,
    )
