"""The API's value types: bounded dates, codes, clean text; each one refuses bad input with 422.

The bounds keep every value inside what the engine can compute with (the working calendar
spans 1990–2100) and what the databases can store (PostgreSQL refuses NUL in text, and no
driver can encode a lone surrogate), so a bad value is a 422, never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated

from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import AfterValidator, Field, StringConstraints

from directives.calendar import CalendarRangeError
from directives.errors import InvalidInput

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2098, 12, 31)  # + the longest working-day deadline stays inside the calendar
MAX_WORKING_DAYS = 250  # about a year
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$"
TASK_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}$"


def _clean(value: str) -> str:
    if _BAD_CHARS.search(value):
        raise ValueError("có ký tự điều khiển hoặc ký tự không hợp lệ")
    return value


def _in_range(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"ngày phải trong khoảng {FIRST_DAY:%d/%m/%Y}–{LAST_DAY:%d/%m/%Y}")
    return value


def _upper(value: str) -> str:
    return value.upper()


# Free text refuses control characters (tab and new line allowed) and lone surrogates. It comes
# after any StringConstraints: ``Annotated[str, StringConstraints(…), Clean]`` (placed before
# them, it makes pydantic strip without checking the length).
Clean = AfterValidator(_clean)
# A calendar date, ISO 8601 (YYYY-MM-DD), within the years the engine works with.
Day = Annotated[date, AfterValidator(_in_range), Field(examples=["2026-11-26"])]
# The code of an agency, a leader or an officer (upper-cased: ``sxd`` is ``SXD``).
Code = Annotated[
    str,
    StringConstraints(pattern=CODE_PATTERN, max_length=20),
    AfterValidator(_upper),
    Field(examples=["SXD"]),
]


@contextmanager
def calendar_bounds() -> Iterator[None]:
    """Turn a date past the working calendar's span into the engine's InvalidInput (422)."""
    try:
        yield
    except CalendarRangeError as exc:
        raise InvalidInput(f"ngày nằm ngoài lịch làm việc: {exc}") from None


def refuse_unknown_query(request: Request) -> None:
    """422 for a query parameter the operation does not declare."""
    # ``?stauts=overdue`` must not quietly list every task, as a misspelt body key must not
    # quietly make a standing task (the bodies refuse unknown keys too).
    route = request.scope.get("route")
    known = (
        {f.alias for f in route.dependant.query_params} if isinstance(route, APIRoute) else set()
    )
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise InvalidInput(f"tham số không hợp lệ: {shown}")
