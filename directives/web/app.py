"""The app factory: one FastAPI app per runtime, with its middleware, routes and handlers."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware

from directives.links import secret_key
from directives.runtime import Runtime
from directives.web import errors
from directives.web.gate import RequestGate, capacity
from directives.web.nul_guard import refuse_nul
from directives.web.routes import ROUTERS
from directives.web.security import BodyLimit, LoginLimiter, SecurityHeaders, verify_csrf
from directives.web.templating import make_templates

STATIC = Path(__file__).with_name("static")
SESSION_COOKIE = "directives_session"
SESSION_MAX_AGE = 12 * 3600  # a working day: sign in again the next morning


def create_app(rt: Runtime, *, login_limiter: LoginLimiter | None = None) -> FastAPI:
    """The web app over ``rt``; every unsafe request must carry the session's CSRF token.

    No request's text may hold a NUL character (``nul_guard``), checked after the CSRF token.
    """
    app = FastAPI(
        title="Theo dõi nhiệm vụ — API",
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
        dependencies=[Depends(verify_csrf), Depends(refuse_nul)],
    )
    app.state.rt = rt
    app.state.templates = make_templates()
    app.state.login_limiter = login_limiter or LoginLimiter()
    https = rt.settings.app_url.lower().startswith("https://")
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key(rt.settings),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=https,
    )
    app.add_middleware(BodyLimit)  # before the session and the CSRF check read anything
    app.add_middleware(RequestGate, limit=capacity(rt.engine))  # no more at work than connections
    app.add_middleware(SecurityHeaders, https=https)  # outermost: also on error pages
    errors.install(app)
    # Compressed: htmx is 50 kB raw, 16 kB gzipped. Pages are not compressed, since they carry
    # the CSRF token next to text a visitor can choose (BREACH).
    app.mount("/static", GZipMiddleware(StaticFiles(directory=STATIC)), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app
