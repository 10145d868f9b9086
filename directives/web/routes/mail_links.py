"""``/l/{token}``: a link from an email opens the task for its recipient, or is refused.

The token is checked first (signature, purpose, age), then the signed-in user: it must be a user
of the agency the link was sent to, and that agency must still lead or coordinate the task.
Someone not signed in is sent to the login page and comes back here. Every refusal is a page
(403, or 410 for an expired link) and an audit entry; the refusal is returned, not raised, so
the entry is committed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from directives import links
from directives.errors import NotFound
from directives.web.deps import DbDep, RuntimeDep, WebUser, audit_change, load_user
from directives.web.routes._common import today_of, visible_task
from directives.web.templating import render
from directives.workflow import Role

router = APIRouter(include_in_schema=False)

_MESSAGES = {
    403: "Liên kết này không mở được nhiệm vụ cho tài khoản của bạn.",
    410: "Liên kết này đã hết hạn. Hãy đăng nhập và mở nhiệm vụ từ Hộp việc của đơn vị.",
}


def _refuse(
    request: Request,
    db: Session,
    user: WebUser | None,
    status: int,
    reason: str,
    claim: links.LinkClaim | None,
) -> Response:
    detail: dict[str, Any] = {"reason": reason}
    if claim is not None:
        detail |= {"agency": claim.agency, "purpose": claim.purpose}
    if user is not None:
        request.state.user = user  # the page shows who is signed in
    audit_change(
        request, db, user, "link_refused", target=claim.task if claim else "", detail=detail
    )
    title = "Liên kết đã hết hạn" if status == 410 else "Không mở được liên kết"
    return render(
        request,
        "links/refused.html",
        {"title": title, "message": _MESSAGES[status], "status": status},
        status_code=status,
    )


@router.get("/l/{token}")
def open_link(request: Request, token: str, db: DbDep, rt: RuntimeDep) -> Response:
    """Open the task a link names, for the agency it was sent to."""
    user = load_user(db, request)
    try:
        claim = links.read_token(rt.settings, token, now=rt.clock.now())
    except links.LinkRefused as exc:
        return _refuse(request, db, user, exc.status, exc.reason, exc.claim)
    if user is None:
        return RedirectResponse(f"/login?next={quote(f'/l/{token}', safe='')}", status_code=303)
    if user.role is not Role.AGENCY or user.agency != claim.agency:
        return _refuse(request, db, user, 403, "tài khoản không thuộc đơn vị nhận thư", claim)
    try:
        visible_task(db, user, claim.task, as_of=today_of(rt))
    except NotFound:
        return _refuse(request, db, user, 403, "đơn vị không chủ trì, phối hợp nhiệm vụ", claim)
    audit_change(
        request, db, user, "link_opened", target=claim.task, detail={"purpose": claim.purpose}
    )
    return RedirectResponse(claim.path, status_code=303)
