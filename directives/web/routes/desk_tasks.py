"""The secretariat's work on tasks: the queue of what waits for it, and the decisions it records.

The office confirms or returns final reports, records a leader's extension decision given by
phone or on paper (the leader named in the note, the office as the actor), and pauses, resumes
or cancels tasks. Every decision goes through ``lifecycle`` and is audited.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from directives.db.tables import Leader
from directives.errors import Conflict, InvalidInput
from directives.runtime import Runtime
from directives.services import lifecycle, registry, timeline, web_support
from directives.services.calendar import load_calendar
from directives.web.deps import DbDep, RuntimeDep, SecretariatDep, WebUser, audit_change
from directives.web.mailbox import eml_name, mail_path
from directives.web.routes import attachments
from directives.web.routes._common import FieldError, day_of, today_of, visible_task
from directives.web.templating import flash, render
from directives.workflow import OPEN_STATES, State

router = APIRouter(include_in_schema=False)

TextForm = Annotated[str, Form(max_length=10_000)]


@router.get("/desk")
def queue(request: Request, user: SecretariatDep, db: DbDep) -> Response:
    """What waits for the office: final reports to confirm, extension requests to decide."""
    return render(
        request,
        "desk/queue.html",
        {
            "reports": web_support.pending_reports(db),
            "extensions": web_support.pending_extensions(db),
        },
    )


@router.get("/desk/open")
def open_task(user: SecretariatDep, code: Annotated[str, Query(max_length=20)] = "") -> Response:
    """The office's page of the task whose code was typed in the queue's box."""
    return RedirectResponse(f"/desk/tasks/{quote(code.strip().upper(), safe='')}", status_code=303)


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
    entries = timeline.task_timeline(db, task.id, as_of=day)
    mail_files = {
        eml_name(m.message_id)
        for e in entries
        for m in e.messages
        if mail_path(rt.settings.mail_dir, eml_name(m.message_id)) is not None
    }
    state = State(task.state)
    context: dict[str, Any] = {
        "d": detail,
        "task": task,
        "state": state.value,
        "state_label": state.label,
        "as_of": day,
        "entries": entries,
        "mail_files": mail_files,
        "eml_name": eml_name,
        "pending_report": web_support.pending_report_of(db, task.id),
        "pending_ext": web_support.pending_extension_of(db, task.id),
        "can_pause": state in OPEN_STATES,
        "can_cancel": state in OPEN_STATES or state is State.PAUSED,
        "leaders": sorted(registry.codes(db, Leader).values(), key=lambda x: x.code),
        "default_leader": (task.leader.code if task.leader else registry.chairman_code(db)) or "",
        "files": attachments.list_files(rt.settings, task.code),
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, "desk/task.html", context, status_code=status_code)


@router.get("/desk/tasks/{code}")
def task_page(
    request: Request, code: str, user: SecretariatDep, db: DbDep, rt: RuntimeDep
) -> Response:
    """A task with the office's decisions: confirm, return, extension, pause, cancel."""
    return _page(request, db, rt, user, code)


def _done(request: Request, code: str, message: str) -> Response:
    flash(request, message, "success")
    return RedirectResponse(f"/desk/tasks/{code}", status_code=303)


def _refused(
    request: Request,
    db: Session,
    rt: Runtime,
    user: WebUser,
    code: str,
    form: str,
    exc: InvalidInput | Conflict | FieldError,
    values: dict[str, str] | None = None,
) -> Response:
    message = exc.message if isinstance(exc, FieldError) else str(exc)
    status = 409 if isinstance(exc, Conflict) else 422
    errors = {form: message[:1].upper() + message[1:]}
    return _page(request, db, rt, user, code, errors=errors, values=values, status_code=status)


@router.post("/desk/tasks/{code}/confirm")
def confirm(
    request: Request,
    code: str,
    user: SecretariatDep,
    db: DbDep,
    rt: RuntimeDep,
    note: TextForm = "",
) -> Response:
    """Confirm the pending final report: the task is done as of the report's date."""
    task = visible_task(db, user, code, as_of=today_of(rt)).task
    try:
        lifecycle.confirm(
            db,
            task.code,
            on=today_of(rt),
            actor=user.actor,
            clock=rt.clock,
            note=note.strip() or None,
        )
    except (InvalidInput, Conflict) as exc:
        return _refused(request, db, rt, user, task.code, "confirm", exc)
    audit_change(request, db, user, "confirm_report", target=task.code, detail={"note": note[:200]})
    return _done(request, task.code, "Đã xác nhận hoàn thành nhiệm vụ.")


@router.post("/desk/tasks/{code}/return")
def return_report(
    request: Request,
    code: str,
    user: SecretariatDep,
    db: DbDep,
    rt: RuntimeDep,
    reason: TextForm = "",
) -> Response:
    """Return the pending final report, with the reason; the agency must carry on."""
    task = visible_task(db, user, code, as_of=today_of(rt)).task
    try:
        lifecycle.return_report(
            db, task.code, on=today_of(rt), reason=reason, actor=user.actor, clock=rt.clock
        )
    except (InvalidInput, Conflict) as exc:
        return _refused(request, db, rt, user, task.code, "return", exc, {"reason": reason})
    audit_change(
        request, db, user, "return_report", target=task.code, detail={"reason": reason[:200]}
    )
    return _done(request, task.code, "Đã trả lại báo cáo, yêu cầu đơn vị thực hiện lại.")


def _granted(db: Session, value: str, current: date | None) -> date:
    """The deadline to grant; refused here, before any change, if it is not later."""
    granted = day_of(value, "extension")
    assert granted is not None
    rolled = load_calendar(db).roll_forward(granted)
    if current is not None and rolled <= current:
        raise FieldError(
            "extension",
            f"Thời hạn mới {rolled:%d/%m/%Y} không sau thời hạn hiện tại {current:%d/%m/%Y}.",
        )
    return granted


@router.post("/desk/tasks/{code}/extension")
def decide_extension(
    request: Request,
    code: str,
    user: SecretariatDep,
    db: DbDep,
    rt: RuntimeDep,
    decision: Annotated[str, Form(max_length=10)] = "",
    deadline: Annotated[str, Form(max_length=10)] = "",
    leader: Annotated[str, Form(max_length=20)] = "",
    note: TextForm = "",
) -> Response:
    """Record a leader's decision on the pending extension request, on the leader's behalf."""
    task = visible_task(db, user, code, as_of=today_of(rt)).task
    values = {"deadline": deadline, "note": note}
    try:
        if decision not in ("approve", "reject"):
            raise FieldError("extension", "Chọn đồng ý hoặc không đồng ý gia hạn.")
        who = registry.codes(db, Leader).get(leader.strip().upper())
        if who is None:
            raise FieldError("extension", "Chọn lãnh đạo đã quyết định.")
        approve = decision == "approve"
        granted = _granted(db, deadline, task.deadline) if approve and deadline else None
        said = f"Thay mặt {who.title} {who.name}" + (f": {note.strip()}" if note.strip() else "")
        ext = lifecycle.decide_extension(
            db,
            task.code,
            on=today_of(rt),
            approve=approve,
            actor=user.actor,
            clock=rt.clock,
            deadline=granted,
            note=said,
        )
    except (FieldError, InvalidInput, Conflict) as exc:
        return _refused(request, db, rt, user, task.code, "extension", exc, values)
    audit_change(
        request,
        db,
        user,
        f"extension_{ext.status}",
        target=task.code,
        detail={"on_behalf_of": who.code, "deadline": ext.granted_deadline, "note": note[:200]},
    )
    if approve:
        message = f"Đã ghi ý kiến đồng ý gia hạn đến {ext.granted_deadline:%d/%m/%Y}."
    else:
        message = "Đã ghi ý kiến không đồng ý gia hạn."
    return _done(request, task.code, message)


@router.post("/desk/tasks/{code}/pause")
def pause(
    request: Request,
    code: str,
    user: SecretariatDep,
    db: DbDep,
    rt: RuntimeDep,
    reason: TextForm = "",
) -> Response:
    """Pause the task (tạm hoãn), with the reason."""
    task = visible_task(db, user, code, as_of=today_of(rt)).task
    try:
        if not reason.strip():
            raise FieldError("pause", "Cần nêu lý do tạm hoãn.")
        lifecycle.pause(
            db, task.code, on=today_of(rt), reason=reason, actor=user.actor, clock=rt.clock
        )
    except (FieldError, InvalidInput, Conflict) as exc:
        return _refused(request, db, rt, user, task.code, "pause", exc)
    audit_change(request, db, user, "pause", target=task.code, detail={"reason": reason[:200]})
    return _done(request, task.code, "Đã tạm hoãn nhiệm vụ.")


@router.post("/desk/tasks/{code}/resume")
def resume(
    request: Request, code: str, user: SecretariatDep, db: DbDep, rt: RuntimeDep
) -> Response:
    """Take the paused task up again."""
    task = visible_task(db, user, code, as_of=today_of(rt)).task
    try:
        lifecycle.resume(db, task.code, on=today_of(rt), actor=user.actor, clock=rt.clock)
    except (InvalidInput, Conflict) as exc:
        return _refused(request, db, rt, user, task.code, "resume", exc)
    audit_change(request, db, user, "resume", target=task.code)
    return _done(request, task.code, "Đã cho tiếp tục thực hiện nhiệm vụ.")


@router.post("/desk/tasks/{code}/cancel")
def cancel(
    request: Request,
    code: str,
    user: SecretariatDep,
    db: DbDep,
    rt: RuntimeDep,
    reason: TextForm = "",
) -> Response:
    """Cancel the task, with the reason."""
    task = visible_task(db, user, code, as_of=today_of(rt)).task
    try:
        lifecycle.cancel(
            db, task.code, on=today_of(rt), reason=reason, actor=user.actor, clock=rt.clock
        )
    except (InvalidInput, Conflict) as exc:
        return _refused(request, db, rt, user, task.code, "cancel", exc)
    audit_change(request, db, user, "cancel", target=task.code, detail={"reason": reason[:200]})
    return _done(request, task.code, "Đã hủy nhiệm vụ.")
