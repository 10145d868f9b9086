"""Jinja2 templates of the web app: the environment, filters, the shared context and flashes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from directives.clock import VN
from directives.timeliness import Standing
from directives.web.nav import nav_for
from directives.web.security import CSRF_FIELD, csrf_token

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")


def vn_date(value: date | datetime | None, empty: str = "—") -> str:
    """``26/11/2026`` (a datetime in Hanoi time, with hours and minutes)."""
    if value is None:
        return empty
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite drops the offset; the system clock writes UTC
            value = value.replace(tzinfo=UTC)
        return value.astimezone(VN).strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


def vn_number(value: int | float) -> str:
    """``1.551``: Vietnamese digit grouping."""
    return f"{value:,}".replace(",", ".")


def when(standing: Standing) -> str:
    """``quá 12 ngày`` / ``còn 3 ngày`` (working days), or nothing."""
    if standing.days_late is not None:
        return f"quá {standing.days_late} ngày"
    if standing.days_left is not None:
        return f"còn {standing.days_left} ngày"
    return ""


def _static_version() -> str:
    """A digest of the static files' sizes and times: changes whenever one of them does."""
    h = hashlib.sha256()
    for path in sorted(STATIC.iterdir()):
        st = path.stat()
        h.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:10]


def flash(request: Request, message: str, kind: str = "info") -> None:
    """Queue a message for the next page this session renders (kinds: info, success, error)."""
    queued = list(request.session.get("flash", []))
    queued.append([kind, message])
    request.session["flash"] = queued[-5:]


def _pop_flashes(request: Request) -> list[tuple[str, str]]:
    queued = request.session.pop("flash", None) or []
    return [(str(k), str(m)) for k, m in queued]


def _shared(request: Request) -> dict[str, Any]:
    """What every template sees: the user, the nav bar, the CSRF token, flashes, the office."""
    user = getattr(request.state, "user", None)
    rt = request.app.state.rt
    return {
        "user": user,
        "nav": nav_for(user.role if user else None),
        "current_path": request.url.path,
        "csrf_token": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "flashes": _pop_flashes(request),
        "office_name": rt.settings.office_name,
    }


def make_templates() -> Jinja2Templates:
    """The template set: autoescaped, strict about undefined names, with the filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["vn_date"] = vn_date
    env.filters["vn_number"] = vn_number
    env.filters["when"] = when
    version = _static_version()
    env.globals["static_url"] = lambda path: f"/static/{path}?v={version}"
    return Jinja2Templates(env=env, context_processors=[_shared])


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render template ``name`` with the shared context."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, name, dict(context or {}), status_code=status_code, headers=headers
    )
