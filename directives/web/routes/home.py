"""The front door: ``/`` sends each role to its home page; ``/healthz`` for monitoring."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from directives.web.deps import DbDep, RuntimeDep, load_user
from directives.web.nav import HOME

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, db: DbDep) -> Response:
    """The signed-in user's home page, or the sign-in form."""
    user = load_user(db, request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME[user.role], status_code=303)


@router.get("/healthz")
def healthz(rt: RuntimeDep) -> Response:
    """200 when the database answers, 503 when it does not (no login needed, no data shown)."""
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
