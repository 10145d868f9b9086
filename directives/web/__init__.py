"""The web app: the secretariat's desk, the agencies' inbox, the leaders' pages, a JSON API.

Adding a page:

- a router module in ``routes/`` (``APIRouter(include_in_schema=False)`` for HTML pages), listed
  in ``routes.ROUTERS``; a nav link in ``nav.NAV`` (and ``nav.HOME`` for a role's home page);
- a template that extends ``base.html``, rendered with ``templating.render``;
- who may open it: ``deps.UserDep`` (any signed-in user), ``deps.SecretariatDep``,
  ``deps.OfficeOrLeaderDep`` or ``Depends(deps.require(...))``; a task an agency does not lead or
  coordinate answers 404 (``WebUser.sees_task``);
- every form that posts includes ``csrf_input(csrf_field, csrf_token)`` from ``_macros.html``
  (htmx requests send the token as ``X-CSRF-Token``, see ``static/app.js``); the check itself
  is app-wide (``security.verify_csrf``), so no route can forget it;
- every change calls ``deps.audit_change`` in the request's unit of work (``deps.DbDep``);
- errors: raise the engine's ``DirectivesError`` family; ``errors.py`` maps them to 404/403/
  409/422 pages, or JSON under ``/api/``.
"""

from __future__ import annotations

from directives.web.app import create_app

__all__ = ["create_app"]
