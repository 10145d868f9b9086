"""Helpers the page routes share: reading forms, dates and the task a user may see.

Forms are re-rendered with their errors when a service refuses a value. That is safe because
the services check everything before they change anything; the one check that comes after a
change (an extension granted no later than the deadline) is made here first.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from directives.clock import today
from directives.errors import NotFound
from directives.importing import parse_date
from directives.runtime import Runtime
from directives.services import queries
from directives.web.deps import WebUser
from directives.web.routes.tasks import CODE


async def form_data(request: Request) -> FormData:
    """The request's form (parsed once: the CSRF check has usually read it already)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


class FieldError(ValueError):
    """A bad form value: ``field`` names the input it belongs next to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def text(form: FormData, name: str, *, limit: int = 10_000) -> str:
    """A text field, trimmed; at most ``limit`` characters are kept."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def day_of(value: str, field: str, *, required: bool = True) -> date | None:
    """A date written ``YYYY-MM-DD`` (a date input) or ``DD/MM/YYYY``."""
    if not value.strip():
        if required:
            raise FieldError(field, "Cần nhập ngày.")
        return None
    try:
        return parse_date(value.strip())
    except ValueError as exc:
        raise FieldError(field, f"Ngày không hợp lệ: {exc}.") from None


def required_day(value: str, field: str) -> date:
    """A date that must be given."""
    day = day_of(value, field)
    assert day is not None
    return day


def today_of(rt: Runtime) -> date:
    """Today in Hanoi, by the app's clock."""
    return today(rt.clock)


def visible_task(db: Session, user: WebUser, code: str, *, as_of: date) -> queries.TaskDetail:
    """The task ``code`` if ``user`` may see it; any other answers as a task that does not exist."""
    missing = NotFound(f"không có nhiệm vụ mã {code[:20]!r}")
    if not CODE.fullmatch(code):
        raise missing
    try:
        detail = queries.task_detail(db, code, as_of=as_of)
    except NotFound:
        raise missing from None
    if not user.sees_task(detail.task.lead_agency.code, detail.coordinators):
        raise missing
    return detail
