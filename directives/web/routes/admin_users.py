"""Web accounts, for the office: list, add, reset a password, lock or unlock.

Passwords never reach the audit trail; a new password ends the sessions signed in with the old
one (``users.session_stamp``). The office cannot lock its own account from here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from directives.db.tables import Agency, Leader
from directives.errors import Conflict, InvalidInput, NotFound
from directives.services import registry, users
from directives.web.deps import DbDep, RuntimeDep, SecretariatDep, audit_change
from directives.web.templating import flash, render
from directives.workflow import Role

router = APIRouter(include_in_schema=False)

ROLE_CHOICES = [
    (Role.SECRETARIAT.value, "Văn phòng"),
    (Role.AGENCY.value, "Đơn vị"),
    (Role.LEADER.value, "Lãnh đạo"),
]
Short = Annotated[str, Form(max_length=200)]
Password = Annotated[str, Form(max_length=1000)]


def _page(
    request: Request,
    db: Session,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "accounts": users.list_users(db),
        "roles": ROLE_CHOICES,
        "agencies": sorted(registry.codes(db, Agency).values(), key=lambda a: a.code),
        "leaders": sorted(registry.codes(db, Leader).values(), key=lambda x: x.code),
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, "admin/users.html", context, status_code=status_code)


@router.get("/admin/users")
def users_page(request: Request, user: SecretariatDep, db: DbDep) -> Response:
    """Every account, with the forms to add one and to manage each."""
    return _page(request, db)


@router.post("/admin/users")
def add_user(
    request: Request,
    user: SecretariatDep,
    db: DbDep,
    rt: RuntimeDep,
    username: Short = "",
    display_name: Short = "",
    role: Short = "",
    unit: Short = "",
    password: Password = "",
) -> Response:
    """Add an account: an agency user names its agency, a leader user the leader."""
    values = {"username": username, "display_name": display_name, "role": role, "unit": unit}
    try:
        made = users.create_user(
            db,
            username=username,
            display_name=display_name,
            role=role,
            clock=rt.clock,
            password=password,
            agency=unit if role == Role.AGENCY.value else None,
            leader=unit if role == Role.LEADER.value else None,
        )
    except (InvalidInput, Conflict, NotFound) as exc:
        message = str(exc)
        return _page(
            request,
            db,
            errors={"add": message[:1].upper() + message[1:] + "."},
            values=values,
            status_code=422,
        )
    audit_change(
        request,
        db,
        user,
        "user_added",
        target=made.username,
        detail={"role": made.role, "unit": unit.upper()},
    )
    flash(request, f"Đã thêm tài khoản {made.username}.", "success")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{name}/password")
def reset_password(
    request: Request, name: str, user: SecretariatDep, db: DbDep, password: Password = ""
) -> Response:
    """Give an account a new password (its open sessions end)."""
    try:
        changed = users.set_password(db, name, password)
    except InvalidInput as exc:
        message = str(exc)
        return _page(
            request, db, errors={name: message[:1].upper() + message[1:] + "."}, status_code=422
        )
    audit_change(request, db, user, "password_reset", target=changed.username)
    flash(request, f"Đã đặt mật khẩu mới cho {changed.username}.", "success")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{name}/active")
def set_active(
    request: Request,
    name: str,
    user: SecretariatDep,
    db: DbDep,
    active: Annotated[str, Form(max_length=1)] = "0",
) -> Response:
    """Lock (active=0) or unlock (active=1) an account."""
    if users.normalize_username(name) == user.username:
        return _page(
            request, db, errors={name: "Không thể tự khóa tài khoản đang dùng."}, status_code=409
        )
    changed = users.set_active(db, name, active == "1")
    audit_change(
        request,
        db,
        user,
        "user_unlocked" if changed.active else "user_locked",
        target=changed.username,
    )
    flash(
        request,
        f"Đã {'mở khóa' if changed.active else 'khóa'} tài khoản {changed.username}.",
        "success",
    )
    return RedirectResponse("/admin/users", status_code=303)
