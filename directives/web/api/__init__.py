"""The JSON API under ``/api``, for the document-management system and other programs.

Its OpenAPI schema is ``/api/openapi.json``. Who may call it and what each caller sees is in
``auth``; the routes: ``tasks`` (the register, a task), ``transitions`` (acknowledge, report,
confirm …), ``directives`` (pushing a directive in), ``reference`` (figures, agencies, leaders).
Every error is ``{"detail": "…"}`` in Vietnamese: 400, 401, 403, 404, 409 or 422, never a 500
for bad input. Every change goes through the same services as the CLI and is audited.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from directives.web.api import directives, reference, tasks, transitions
from directives.web.api.fields import refuse_unknown_query

router = APIRouter(prefix="/api", dependencies=[Depends(refuse_unknown_query)])
for _module in (tasks, transitions, directives, reference):
    router.include_router(_module.router)

__all__ = ["router"]
