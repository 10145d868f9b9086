"""The register (``/tasks``) and the task page (``/tasks/{code}``) with its timeline.

An agency user sees only the tasks its agency leads or coordinates; any other task answers 404,
exactly as a task that does not exist, so a guessed code tells nothing.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from directives.clock import today
from directives.db.tables import Leader
from directives.errors import InvalidInput, NotFound
from directives.importing import parse_date
from directives.runtime import Runtime
from directives.services import queries, registry, timeline
from directives.web.agency_options import agency_names, agency_options
from directives.web.deps import DbDep, RuntimeDep, UserDep
from directives.web.mailbox import eml_name, mail_path
from directives.web.templating import render
from directives.workflow import Role, State

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,19}")
STATUS_CHOICES = [
    ("open", "Đang thực hiện"),
    ("overdue", "Quá hạn"),
    ("due_soon", "Sắp đến hạn"),
    ("within_term", "Trong hạn"),
    ("standing", "Thường xuyên"),
    ("done", "Đã hoàn thành"),
    ("done_late", "Hoàn thành quá hạn"),
    ("paused", "Tạm hoãn"),
    ("cancelled", "Đã hủy"),
    ("all", "Tất cả"),
]
_STATUSES = {value for value, _ in STATUS_CHOICES}


def as_of_day(value: str, rt: Runtime) -> date:
    """The ``as_of`` of a page: a date from the query string, else today."""
    if not value.strip():
        return today(rt.clock)
    try:
        return parse_date(value.strip())
    except ValueError as exc:
        raise InvalidInput(f"ngày {value!r} không hợp lệ: {exc}") from None


def _page_url(params: dict[str, str], page: int) -> str:
    kept = {k: v for k, v in params.items() if v}
    if page > 1:
        kept["page"] = str(page)
    return "/tasks" + ("?" + urlencode(kept) if kept else "")


def _wants_fragment(request: Request) -> bool:
    """An htmx request for the register alone (not a boosted page, not a history restore)."""
    h = request.headers
    return (
        h.get("HX-Request") == "true"
        and h.get("HX-Target") == "register"
        and "HX-History-Restore-Request" not in h
    )


@router.get("/tasks")
def register(
    request: Request,
    user: UserDep,
    db: DbDep,
    rt: RuntimeDep,
    status: Annotated[str, Query(max_length=20)] = "open",
    agency: Annotated[str, Query(max_length=20)] = "",
    leader: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    as_of: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The register as of a date: filters, most urgent first, coloured by standing."""
    if status not in _STATUSES:
        raise InvalidInput(f"tình trạng {status!r} không hợp lệ")
    day = as_of_day(as_of, rt)
    if user.role is Role.AGENCY:
        agency = user.agency or "-"  # only its own tasks, whatever the query string says
    result = queries.list_tasks(
        db,
        as_of=day,
        agency=agency or None,
        leader=leader or None,
        statuses=[] if status == "all" else [status],
        text=q or None,
        page=page,
        page_size=PAGE_SIZE,
    )
    pages = max(1, -(-result.total // PAGE_SIZE))
    params = {
        "status": status,
        "agency": agency if user.role is not Role.AGENCY else "",
        "leader": leader,
        "q": q,
        "as_of": as_of,
    }
    fragment = _wants_fragment(request)
    context: dict[str, object] = {
        "result": result,
        "pages": pages,
        "as_of": day,
        "filters": params,
        "agency_names": agency_names(db, {line.lead_agency for line in result.lines}),
        "prev_url": _page_url(params, page - 1) if page > 1 else "",
        "next_url": _page_url(params, page + 1) if page < pages else "",
    }
    if not fragment:  # the filter form is on the full page only; agencies for the office only
        office = user.role is not Role.AGENCY
        context |= {
            "status_choices": STATUS_CHOICES,
            "agency_options": agency_options(db, agency) if office else "",
            "leaders": sorted(registry.codes(db, Leader).values(), key=lambda x: x.code),
        }
    template = "tasks/_register.html" if fragment else "tasks/list.html"
    return render(request, template, context, headers={"Vary": "HX-Request"})


@router.get("/tasks/{code}")
def task_page(
    request: Request,
    code: str,
    user: UserDep,
    db: DbDep,
    rt: RuntimeDep,
    as_of: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """One task: what it is, where it stands, and its timeline with every notice sent."""
    missing = NotFound(f"không có nhiệm vụ mã {code[:20]!r}")
    if not CODE.fullmatch(code):
        raise missing
    day = as_of_day(as_of, rt)
    try:
        detail = queries.task_detail(db, code, as_of=day)
    except NotFound:
        raise missing from None
    task = detail.task
    if not user.sees_task(task.lead_agency.code, detail.coordinators):
        raise missing  # the same answer as a task that does not exist
    entries = timeline.task_timeline(db, task.id, as_of=day)
    mail_files: set[str] = set()
    if user.role is Role.SECRETARIAT:
        for entry in entries:
            for m in entry.messages:
                name = eml_name(m.message_id)
                if mail_path(rt.settings.mail_dir, name) is not None:
                    mail_files.add(name)
    return render(
        request,
        "tasks/detail.html",
        {
            "d": detail,
            "task": task,
            "state_label": State(task.state).label,
            "as_of": day,
            "entries": entries,
            "mail_files": mail_files,
            "eml_name": eml_name,
        },
    )
