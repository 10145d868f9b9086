"""The app's routers; a new page adds its module here (and a link in ``web.nav``)."""

from __future__ import annotations

from fastapi import APIRouter

from directives.web.api import router as api_router
from directives.web.routes import (
    admin,
    admin_users,
    attachments,
    auth,
    dashboard,
    desk,
    desk_tasks,
    home,
    importer,
    inbox,
    mail,
    mail_links,
    tasks,
)

ROUTERS: list[APIRouter] = [home.router, auth.router, tasks.router, mail.router, api_router]
# The secretariat's desk and admin pages, the agencies' inbox, the leaders' dashboard, mail links.
ROUTERS += [
    desk.router,
    desk_tasks.router,
    importer.router,
    admin.router,
    admin_users.router,
    inbox.router,
    attachments.router,
    dashboard.router,
    mail_links.router,
]
