"""The app's routers; a new page adds its module here (and a link in ``web.nav``)."""

from __future__ import annotations

from fastapi import APIRouter

from directives.web.routes import auth, home, mail, tasks

ROUTERS: list[APIRouter] = [home.router, auth.router, tasks.router, mail.router]
