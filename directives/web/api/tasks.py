"""Reading tasks: the register (``GET /api/tasks``) and one task with its history."""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import StringConstraints

from directives.services import queries
from directives.timeliness import Grid
from directives.web.api.auth import Api, ApiDep
from directives.web.api.fields import TASK_CODE_PATTERN, Clean, Code, Day, calendar_bounds
from directives.web.api.outputs import TaskOut, TaskPageOut, errors, line_out, task_out
from directives.workflow import Role

router = APIRouter(tags=["Nhiệm vụ"])


class StatusFilter(enum.StrEnum):
    """A status of the register: a grid value, or the groups ``open`` and ``done``."""

    OPEN = "open"
    DONE = "done"
    WITHIN_TERM = Grid.WITHIN_TERM.value
    DUE_SOON = Grid.DUE_SOON.value
    OVERDUE = Grid.OVERDUE.value
    STANDING = Grid.STANDING.value
    DONE_EARLY = Grid.DONE_EARLY.value
    DONE_ON_THE_DAY = Grid.DONE_ON_THE_DAY.value
    DONE_LATE = Grid.DONE_LATE.value
    DONE_NO_DEADLINE = Grid.DONE_NO_DEADLINE.value
    PAUSED = Grid.PAUSED.value
    CANCELLED = Grid.CANCELLED.value


CodePath = Annotated[
    str,
    Path(
        pattern=TASK_CODE_PATTERN,
        max_length=20,
        description="Mã nhiệm vụ.",
        examples=["NV26-0001"],
    ),
]
AsOfQuery = Annotated[Day | None, Query(description="Tính đến ngày; mặc định hôm nay.")]


@router.get(
    "/tasks",
    responses=errors(401, 422),
    summary="Sổ theo dõi nhiệm vụ",
    operation_id="list_tasks",
)
def list_tasks(
    api: ApiDep,
    as_of: AsOfQuery = None,
    status: Annotated[
        list[StatusFilter] | None,
        Query(
            max_length=12,
            description="Tình trạng (lặp lại được): open, done, overdue, due_soon, within_term, "
            "standing, done_early, done_on_the_day, done_late, done_no_deadline, paused, "
            "cancelled. Bỏ trống: tất cả.",
        ),
    ] = None,
    agency: Annotated[
        Code | None, Query(description="Đơn vị chủ trì hoặc phối hợp (đơn vị chỉ thấy mình).")
    ] = None,
    leader: Annotated[Code | None, Query(description="Lãnh đạo phụ trách.")] = None,
    q: Annotated[
        Annotated[str, StringConstraints(max_length=200), Clean] | None,
        Query(description="Tìm trong mã, nội dung, số văn bản."),
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TaskPageOut:
    """Nhiệm vụ đã giao đến ngày ``as_of``, khẩn cấp nhất trước.

    Tài khoản hoặc token của đơn vị chỉ thấy nhiệm vụ đơn vị mình chủ trì hoặc phối hợp, dù
    tham số ``agency`` ghi gì.
    """
    day = as_of or api.today
    if api.caller.role is Role.AGENCY:
        agency = api.caller.agency
    with calendar_bounds():
        result = queries.list_tasks(
            api.db,
            as_of=day,
            agency=agency,
            leader=leader,
            statuses=[s.value for s in status or []],
            text=q,
            page=page,
            page_size=page_size,
        )
    return TaskPageOut(
        as_of=day,
        total=result.total,
        page=page,
        page_size=page_size,
        items=[line_out(line) for line in result.lines],
    )


@router.get(
    "/tasks/{code}",
    responses=errors(401, 404, 422),
    summary="Một nhiệm vụ và diễn biến",
    operation_id="get_task",
)
def get_task(api: ApiDep, code: CodePath, as_of: AsOfQuery = None) -> TaskOut:
    """Nhiệm vụ, tình trạng tính đến ngày ``as_of`` và toàn bộ diễn biến đến ngày đó."""
    task = api.task(code)
    return current(api, task.code, as_of)


def current(api: Api, code: str, as_of: date | None = None) -> TaskOut:
    """The task as the API shows it, as of ``as_of`` (default today)."""
    day = as_of or api.today
    with calendar_bounds():
        return task_out(queries.task_detail(api.db, code, as_of=day), day)
