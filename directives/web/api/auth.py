"""Who calls the API: a token (``Authorization: Bearer …``) or a signed-in browser session.

A request that carries an ``Authorization`` header is judged by that header alone: a valid,
unrevoked token, else 401, never a fall-back to the cookie. That is what makes it safe for
``security.verify_csrf`` to exempt Bearer requests: the exemption never lends the cookie's
authority. A browser session may read; it changes things only with the CSRF header, as pages do.

An agency caller sees only the tasks its agency leads or coordinates; any other task answers 404,
word for word as a task that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from directives.clock import today
from directives.db.tables import Task
from directives.errors import NotFound, PermissionDenied
from directives.runtime import Runtime
from directives.services import api_tokens, audit, lifecycle
from directives.web.deps import DbDep, RuntimeDep, client_ip, load_user
from directives.web.security import uses_bearer_token
from directives.workflow import Actor, Role

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description=(
        "Token do Văn phòng cấp bằng lệnh `directives tokens add TÊN --role …`; gửi kèm "
        "tiêu đề `Authorization: Bearer <token>`. Trình duyệt đã đăng nhập dùng cookie phiên."
    ),
)


@dataclass(frozen=True)
class Caller:
    """The token or user behind a request, in the terms of the workflow."""

    name: str  # the user name, or ``api:NAME`` for a token
    role: Role
    via: str  # "token" or "session"
    agency: str | None = None
    leader: str | None = None

    @property
    def actor(self) -> Actor:
        """The workflow actor this caller acts as."""
        return Actor(self.role, self.name, agency=self.agency, leader=self.leader)

    def sees(self, lead_agency: str, coordinators: list[str]) -> bool:
        """True unless an agency caller asks about another agency's task."""
        if self.role is not Role.AGENCY:
            return True
        return self.agency is not None and (
            self.agency == lead_agency or self.agency in coordinators
        )


def unauthorized(message: str) -> HTTPException:
    """401 with the challenge a client expects."""
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def get_caller(
    request: Request,
    db: DbDep,
    rt: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Caller:
    """The caller, by token if the request has an Authorization header, else by session."""
    if "authorization" in request.headers:
        if credentials is None or not uses_bearer_token(request):
            raise unauthorized("Tiêu đề Authorization phải có dạng: Bearer <token>.")
        token = api_tokens.authenticate(db, credentials.credentials, clock=rt.clock)
        if token is None:
            raise unauthorized("Token không hợp lệ hoặc đã bị thu hồi.")
        actor = api_tokens.actor_for(token)
        return Caller(actor.name, actor.role, "token", agency=actor.agency, leader=actor.leader)
    user = load_user(db, request)
    if user is None:
        raise unauthorized("Cần đăng nhập hoặc gửi token (Authorization: Bearer <token>).")
    return Caller(user.username, user.role, "session", agency=user.agency, leader=user.leader)


@dataclass(frozen=True)
class Api:
    """What every API route needs: the request, its unit of work, the runtime, the caller."""

    request: Request
    db: Session
    rt: Runtime
    caller: Caller

    @property
    def today(self) -> date:
        """Today in Hanoi, by the runtime's clock."""
        return today(self.rt.clock)

    def require(self, *roles: Role, doing: str) -> None:
        """403 unless the caller has one of ``roles``."""
        if self.caller.role not in roles:
            raise PermissionDenied(f"{self.caller.actor.describe()} không được {doing}")

    def task(self, code: str) -> Task:
        """The task ``code`` if the caller may see it; else 404, as for a task that is not."""
        missing = NotFound(f"không có nhiệm vụ mã {code.strip().upper()[:20]!r}")
        try:
            task = lifecycle.load_task(self.db, code)
        except NotFound:
            raise missing from None
        if not self.caller.sees(task.lead_agency.code, [a.code for a in task.coordinators]):
            raise missing
        return task

    def audit(self, action: str, *, target: str, **detail: Any) -> None:
        """Record the change in the audit trail, in the request's unit of work."""
        audit.record(
            self.db,
            username=self.caller.name,
            role=self.caller.role.value,
            action=action,
            target=target,
            detail={**detail, "via": self.caller.via},
            ip=client_ip(self.request),
            clock=self.rt.clock,
        )


def get_api(
    request: Request, db: DbDep, rt: RuntimeDep, caller: Annotated[Caller, Depends(get_caller)]
) -> Api:
    """The API context of a request."""
    return Api(request, db, rt, caller)


ApiDep = Annotated[Api, Depends(get_api)]
