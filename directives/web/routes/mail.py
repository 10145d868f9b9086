"""The mail viewer: the messages the engine wrote to ``var/mail/`` (no SMTP server configured).

For the office only. The HTML part is served on its own address with a CSP that allows no
script at all and makes it a sandboxed, unique origin, and shown in a sandboxed iframe.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from directives.errors import NotFound
from directives.web.deps import RuntimeDep, SecretariatDep
from directives.web.mailbox import list_mail, mail_path, read_mail
from directives.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# For the e-mail's own HTML: inline styles and data: images only, never a script, and a
# sandbox so that even opened directly it has no access to the app's origin.
MAIL_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"
)


def _missing(name: str) -> NotFound:
    return NotFound(f"không có thư {name[:80]!r}")


@router.get("/mail")
def mail_list(
    request: Request,
    user: SecretariatDep,
    rt: RuntimeDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The newest messages first."""
    folder = rt.settings.mail_dir
    items, total = list_mail(folder, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        request,
        "mail/list.html",
        {
            "items": items,
            "total": total,
            "page": page,
            "pages": pages,
            "folder": str(folder),
            "smtp": bool(rt.settings.smtp_url),
        },
    )


@router.get("/mail/{name}")
def mail_show(request: Request, name: str, user: SecretariatDep, rt: RuntimeDep) -> Response:
    """One message: its headers, its text, its HTML in a sandboxed frame."""
    path = mail_path(rt.settings.mail_dir, name)
    if path is None:
        raise _missing(name)
    return render(request, "mail/detail.html", {"mail": read_mail(path)})


@router.get("/mail/{name}/html")
def mail_html(name: str, user: SecretariatDep, rt: RuntimeDep) -> Response:
    """The message's HTML part alone, for the iframe of the message page."""
    path = mail_path(rt.settings.mail_dir, name)
    view = read_mail(path) if path is not None else None
    if view is None or view.html is None:
        raise _missing(name)
    return HTMLResponse(
        view.html,
        headers={
            "Content-Security-Policy": MAIL_CSP,
            "X-Frame-Options": "SAMEORIGIN",
        },
    )
