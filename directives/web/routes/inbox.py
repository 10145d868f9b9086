"""The agency's inbox: its own tasks (as lead or coordinator), and what it can do on each.

The lead agency acknowledges, reports progress, submits the final report with its document and
asks for an extension; a coordinating agency only reports progress. The services enforce that;
the page shows only the allowed actions. Any task the agency neither leads nor coordinates
answers 404, for reading and for every action, exactly as a task that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from directives.errors import Conflict, InvalidInput
from directives.runtime import Runtime
from directives.services import lifecycle, queries, timeline, web_support
from directives.web.deps import DbDep, RuntimeDep, WebUser, audit_change, require
from directives.web.routes import attachments
from directives.web.routes._common import FieldError, required_day, today_of, visible_task
from directives.web.templating import flash, render
from directives.workflow import WORKING_STATES, Action, Role, State, check_permission

router = APIRouter(include_in_schema=False)

AgencyDep = Annotated[WebUser, Depends(require(Role.AGENCY))]
TextForm = Annotated[str, Form(max_length=10_000)]


@router.get("/inbox")
def inbox(request: Request, user: AgencyDep, db: DbDep, rt: RuntimeDep) -> Response:
    """The agency's open tasks, most urgent first."""
    day = today_of(rt)
    result = queries.list_tasks(
        db, as_of=day, agency=user.agency or "-", statuses=["open"], page_size=200
    )
    return render(request, "inbox/list.html", {"result": result, "as_of": day})


def allowed_actions(user: WebUser, detail: queries.TaskDetail, pending_ext: bool) -> set[str]:
    """The actions the page offers: those the workflow lets this agency take now."""
    task, state = detail.task, State(detail.task.state)
    lead = user.agency == task.lead_agency.code
    out: set[str] = set()
    if state in WORKING_STATES:
        out.add("progress")
        if lead:
            out.add("final")
            if task.deadline is not None and not pending_ext:
                out.add("extension")
    if lead and state is State.ASSIGNED:
        out.add("acknowledge")
    return out


def _page(
    request: Request,
    db: Session,
    rt: Runtime,
    user: WebUser,
    code: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    day = today_of(rt)
    detail = visible_task(db, user, code, as_of=day)
    task = detail.task
    pending_ext = web_support.pending_extension_of(db, task.id)
    context: dict[str, Any] = {
        "d": detail,
        "task": task,
        "state_label": State(task.state).label,
        "as_of": day,
        "entries": timeline.task_timeline(db, task.id, as_of=day),
        "mail_files": set(),
        "eml_name": lambda _m: "",
        "lead": user.agency == task.lead_agency.code,
        "actions": allowed_actions(user, detail, pending_ext is not None),
        "pending_ext": pending_ext,
        "pending_report": web_support.pending_report_of(db, task.id),
        "files": attachments.list_files(rt.settings, task.code),
        "accept": attachments.ACCEPT,
        "types_text": attachments.TYPES_TEXT,
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, "inbox/task.html", context, status_code=status_code)


@router.get("/inbox/{code}")
def task_page(request: Request, code: str, user: AgencyDep, db: DbDep, rt: RuntimeDep) -> Response:
    """One of the agency's tasks, with the forms of what it may do now."""
    return _page(request, db, rt, user, code)


def _done(request: Request, code: str, message: str) -> Response:
    flash(request, message, "success")
    return RedirectResponse(f"/inbox/{code}", status_code=303)


def _refused(
    request: Request,
    db: Session,
    rt: Runtime,
    user: WebUser,
    code: str,
    form: str,
    exc: InvalidInput | Conflict | FieldError,
    values: dict[str, str],
) -> Response:
    message = exc.message if isinstance(exc, FieldError) else str(exc)
    message = message[:1].upper() + message[1:]
    status = 409 if isinstance(exc, Conflict) else 422
    return _page(
        request, db, rt, user, code, errors={form: message}, values=values, status_code=status
    )


@router.post("/inbox/{code}/acknowledge")
def acknowledge(
    request: Request, code: str, user: AgencyDep, db: DbDep, rt: RuntimeDep
) -> Response:
    """The lead agency confirms it received the task."""
    task = visible_task(db, user, code, as_of=today_of(rt)).task
    lifecycle.acknowledge(db, task.code, on=today_of(rt), actor=user.actor, clock=rt.clock)
    audit_change(request, db, user, "acknowledge", target=task.code)
    return _done(request, task.code, "Đã xác nhận nhận nhiệm vụ.")


def _percent(value: str) -> int | None:
    if not value.strip():
        return None
    try:
        return int(value.strip().rstrip("%"))
    except ValueError:
        raise FieldError("progress", f"Tỷ lệ hoàn thành {value!r} không phải là số.") from None


@router.post("/inbox/{code}/progress")
def progress(
    request: Request,
    code: str,
    user: AgencyDep,
    db: DbDep,
    rt: RuntimeDep,
    text: TextForm = "",
    percent: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """A progress report (the lead agency or a coordinating one)."""
    task = visible_task(db, user, code, as_of=today_of(rt)).task
    values = {"progress_text": text, "percent": percent}
    try:
        if not text.strip():
            raise FieldError("progress", "Cần nêu nội dung đã thực hiện.")
        pct = _percent(percent)
        lifecycle.report(
            db,
            task.code,
            on=today_of(rt),
            text=text,
            percent=pct,
            actor=user.actor,
            clock=rt.clock,
        )
    except (FieldError, InvalidInput, Conflict) as exc:
        return _refused(request, db, rt, user, task.code, "progress", exc, values)
    audit_change(
        request,
        db,
        user,
        "report_progress",
        target=task.code,
        detail={"percent": pct, "text": text[:200]},
    )
    return _done(request, task.code, "Đã gửi báo cáo tiến độ.")


@router.post("/inbox/{code}/final")
def final_report(
    request: Request,
    code: str,
    user: AgencyDep,
    db: DbDep,
    rt: RuntimeDep,
    text: TextForm = "",
    document_number: Annotated[str, Form(max_length=100)] = "",
    document: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The final report with its document; the office then confirms or returns it."""
    day = today_of(rt)
    detail = visible_task(db, user, code, as_of=day)
    task = detail.task
    # Who may submit is settled before the file is even looked at.
    check_permission(
        Action.SUBMIT,
        user.actor,
        task_code=task.code,
        lead_agency=task.lead_agency.code,
        coordinating_agencies=frozenset(detail.coordinators),
        leader=None,
    )
    values = {"final_text": text, "document_number": document_number}
    try:
        ext, original = attachments.check_upload(document)
        ref = document_number.strip() or f"Tệp {original}"
        lifecycle.report(
            db,
            task.code,
            on=day,
            text=text,
            final=True,
            document_ref=ref[:200],
            actor=user.actor,
            clock=rt.clock,
        )
    except (InvalidInput, Conflict) as exc:
        return _refused(request, db, rt, user, task.code, "final", exc, values)
    assert document is not None
    meta = {
        "original": original,
        "uploaded_at": rt.clock.now().isoformat(),
        "by": user.username,
        "agency": user.agency or "",
        "report": "final",
        "on": day.isoformat(),
    }
    stored = attachments.store(rt.settings, task.code, document, ext, meta)
    audit_change(
        request,
        db,
        user,
        "submit_final_report",
        target=task.code,
        detail={
            "document_ref": ref[:200],
            "file": stored.name,
            "original": original,
            "size": stored.size,
        },
    )
    return _done(request, task.code, "Đã gửi báo cáo kết quả; chờ Văn phòng xác nhận.")


@router.post("/inbox/{code}/extension")
def request_extension(
    request: Request,
    code: str,
    user: AgencyDep,
    db: DbDep,
    rt: RuntimeDep,
    new_deadline: Annotated[str, Form(max_length=10)] = "",
    reason: TextForm = "",
) -> Response:
    """The lead agency asks for a later deadline, with a reason."""
    day = today_of(rt)
    task = visible_task(db, user, code, as_of=day).task
    values = {"new_deadline": new_deadline, "reason": reason}
    try:
        wanted = required_day(new_deadline, "extension")
        if not reason.strip():
            raise FieldError("extension", "Cần nêu lý do đề nghị gia hạn.")
        lifecycle.request_extension(
            db,
            task.code,
            on=day,
            new_deadline=wanted,
            reason=reason,
            actor=user.actor,
            clock=rt.clock,
        )
    except (FieldError, InvalidInput, Conflict) as exc:
        return _refused(request, db, rt, user, task.code, "extension", exc, values)
    audit_change(
        request,
        db,
        user,
        "request_extension",
        target=task.code,
        detail={"new_deadline": wanted, "reason": reason[:200]},
    )
    return _done(request, task.code, "Đã gửi đề nghị gia hạn; chờ lãnh đạo quyết định.")
