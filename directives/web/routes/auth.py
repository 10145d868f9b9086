"""Signing in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from directives.services import users
from directives.web.deps import DbDep, RuntimeDep, audit_change, client_ip, load_user
from directives.web.security import LoginLimiter, new_csrf_token
from directives.web.templating import flash, render

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """A local path to go to after signing in; anything else (another site) becomes ``/``."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(c in value for c in "\r\n\\") or ":" in value.split("?", 1)[0]:
        return "/"
    return value


def _limiter(request: Request) -> LoginLimiter:
    limiter: LoginLimiter = request.app.state.login_limiter
    return limiter


@router.get("/login")
def login_page(request: Request, db: DbDep, next: str = "/") -> Response:
    """The sign-in form (a signed-in user goes straight on)."""
    if load_user(db, request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "username": "", "error": ""})


@router.post("/login")
def login(
    request: Request,
    db: DbDep,
    rt: RuntimeDep,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials; throttled per user name and address."""
    ip = client_ip(request)
    now = rt.clock.now()
    _limiter(request).check(username, ip, now)
    user = users.authenticate(db, username, password, clock=rt.clock)
    if user is None:
        _limiter(request).failed(username, ip, now)
        audit_change(
            request, db, None, "login_failed", username=users.normalize_username(username)[:60]
        )
        return render(
            request,
            "login.html",
            {
                "next": safe_next(next),
                "username": username,
                "error": "Tên đăng nhập hoặc mật khẩu không đúng.",
            },
            status_code=401,
        )
    _limiter(request).succeeded(username, ip)
    request.session.clear()  # a fresh session: nothing from before signing in carries over
    request.session["uid"] = user.id
    request.session["stamp"] = users.session_stamp(user)
    new_csrf_token(request)
    audit_change(request, db, None, "login", username=user.username, role=user.role)
    flash(request, f"Xin chào {user.display_name}.", "success")
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, db: DbDep) -> Response:
    """End the session."""
    user = load_user(db, request)
    if user is not None:
        audit_change(request, db, user, "logout")
    request.session.clear()
    flash(request, "Bạn đã đăng xuất.", "info")
    return RedirectResponse("/login", status_code=303)
