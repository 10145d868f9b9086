"""Moving a task through its life over the API: the same services as the CLI, each audited.

Every route first finds the task as the caller may see it (404 otherwise), then lets the
lifecycle service check the role, the state and the date (403, 409, 422).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel
from sqlalchemy import select

from directives.db.tables import Extension
from directives.errors import Conflict, NotFound
from directives.services import lifecycle
from directives.web.api.auth import Api, ApiDep
from directives.web.api.fields import calendar_bounds
from directives.web.api.inputs import (
    ApproveIn,
    ExtensionIn,
    NoteIn,
    OnIn,
    PauseIn,
    ReasonIn,
    ReportIn,
)
from directives.web.api.outputs import (
    ExtensionOut,
    ReportOut,
    TaskOut,
    errors,
    extension_out,
    report_out,
)
from directives.web.api.tasks import CodePath, current
from directives.workflow import Action

router = APIRouter(tags=["Xử lý nhiệm vụ"], responses=errors(400, 401, 403, 404, 409, 422))

ExtensionId = Annotated[int, Path(ge=1, le=2**53, description="Số của đề nghị gia hạn.")]


def _detail(body: BaseModel | None, on: date) -> dict[str, Any]:
    """What the audit trail keeps of a request: its fields, long texts cut short."""
    fields = body.model_dump(mode="json", exclude_none=True) if body is not None else {}
    fields["on"] = on.isoformat()
    return {k: v[:200] if isinstance(v, str) else v for k, v in fields.items()}


def _on(api: Api, body: OnIn | None) -> date:
    return body.on if body is not None and body.on is not None else api.today


def _pending(api: Api, task_id: int, code: str, extension_id: int) -> Extension:
    ext = api.db.scalar(
        select(Extension).where(Extension.id == extension_id, Extension.task_id == task_id)
    )
    if ext is None:
        raise NotFound(f"nhiệm vụ {code} không có đề nghị gia hạn số {extension_id}")
    if ext.status != "pending":
        raise Conflict(f"đề nghị gia hạn số {extension_id} của nhiệm vụ {code} đã được quyết định")
    return ext


@router.post("/tasks/{code}/acknowledge", summary="Xác nhận đã nhận", operation_id="acknowledge")
def acknowledge(
    api: ApiDep, code: CodePath, body: Annotated[OnIn | None, Body()] = None
) -> TaskOut:
    """Đơn vị chủ trì xác nhận đã nhận nhiệm vụ."""
    task, on = api.task(code), _on(api, body)
    lifecycle.acknowledge(api.db, task.code, on=on, actor=api.caller.actor, clock=api.rt.clock)
    api.audit(Action.ACKNOWLEDGE, target=task.code, **_detail(body, on))
    return current(api, task.code)


@router.post(
    "/tasks/{code}/reports", status_code=201, summary="Báo cáo", operation_id="report_progress"
)
def report(api: ApiDep, code: CodePath, body: ReportIn) -> ReportOut:
    """Báo cáo tiến độ; với ``final`` là báo cáo kết quả, chờ Văn phòng xác nhận."""
    task, on = api.task(code), _on(api, body)
    entry = lifecycle.report(
        api.db,
        task.code,
        on=on,
        text=body.text,
        percent=body.percent,
        final=body.final,
        document_ref=body.document_ref,
        actor=api.caller.actor,
        clock=api.rt.clock,
    )
    api.db.flush()
    action = Action.SUBMIT if body.final else Action.REPORT
    api.audit(action, target=task.code, report=entry.id, **_detail(body, on))
    return report_out(entry)


@router.post("/tasks/{code}/confirm", summary="Xác nhận hoàn thành", operation_id="confirm")
def confirm(api: ApiDep, code: CodePath, body: Annotated[NoteIn | None, Body()] = None) -> TaskOut:
    """Văn phòng xác nhận hoàn thành theo báo cáo kết quả đang chờ."""
    task, on = api.task(code), _on(api, body)
    note = body.note if body is not None else None
    lifecycle.confirm(
        api.db, task.code, on=on, note=note, actor=api.caller.actor, clock=api.rt.clock
    )
    api.audit(Action.CONFIRM, target=task.code, **_detail(body, on))
    return current(api, task.code)


@router.post("/tasks/{code}/return", summary="Trả lại báo cáo", operation_id="return_report")
def return_report(api: ApiDep, code: CodePath, body: ReasonIn) -> TaskOut:
    """Văn phòng trả lại báo cáo kết quả, yêu cầu thực hiện lại."""
    task, on = api.task(code), _on(api, body)
    lifecycle.return_report(
        api.db, task.code, on=on, reason=body.reason, actor=api.caller.actor, clock=api.rt.clock
    )
    api.audit(Action.RETURN, target=task.code, **_detail(body, on))
    return current(api, task.code)


@router.post(
    "/tasks/{code}/extensions",
    status_code=201,
    summary="Đề nghị gia hạn",
    operation_id="request_extension",
)
def request_extension(api: ApiDep, code: CodePath, body: ExtensionIn) -> ExtensionOut:
    """Đơn vị chủ trì đề nghị gia hạn; đề nghị sau khi quá hạn được đánh dấu."""
    task, on = api.task(code), _on(api, body)
    ext = lifecycle.request_extension(
        api.db,
        task.code,
        on=on,
        new_deadline=body.new_deadline,
        reason=body.reason,
        actor=api.caller.actor,
        clock=api.rt.clock,
    )
    api.db.flush()
    api.audit(Action.REQUEST_EXTENSION, target=task.code, extension=ext.id, **_detail(body, on))
    return extension_out(ext)


@router.post(
    "/tasks/{code}/extensions/{extension_id}/approve",
    summary="Đồng ý gia hạn",
    operation_id="approve_extension",
)
def approve_extension(
    api: ApiDep,
    code: CodePath,
    extension_id: ExtensionId,
    body: Annotated[ApproveIn | None, Body()] = None,
) -> ExtensionOut:
    """Lãnh đạo (hoặc Văn phòng thay mặt) đồng ý gia hạn; thời hạn ban đầu vẫn được giữ."""
    task, on = api.task(code), _on(api, body)
    _pending(api, task.id, task.code, extension_id)
    with calendar_bounds():
        ext = lifecycle.decide_extension(
            api.db,
            task.code,
            on=on,
            approve=True,
            deadline=body.deadline if body is not None else None,
            note=body.note if body is not None else None,
            actor=api.caller.actor,
            clock=api.rt.clock,
        )
    api.audit(Action.APPROVE_EXTENSION, target=task.code, extension=ext.id, **_detail(body, on))
    return extension_out(ext)


@router.post(
    "/tasks/{code}/extensions/{extension_id}/reject",
    summary="Không đồng ý gia hạn",
    operation_id="reject_extension",
)
def reject_extension(
    api: ApiDep,
    code: CodePath,
    extension_id: ExtensionId,
    body: Annotated[NoteIn | None, Body()] = None,
) -> ExtensionOut:
    """Lãnh đạo (hoặc Văn phòng thay mặt) không đồng ý gia hạn."""
    task, on = api.task(code), _on(api, body)
    _pending(api, task.id, task.code, extension_id)
    ext = lifecycle.decide_extension(
        api.db,
        task.code,
        on=on,
        approve=False,
        note=body.note if body is not None else None,
        actor=api.caller.actor,
        clock=api.rt.clock,
    )
    api.audit(Action.REJECT_EXTENSION, target=task.code, extension=ext.id, **_detail(body, on))
    return extension_out(ext)


@router.post("/tasks/{code}/pause", summary="Tạm hoãn", operation_id="pause")
def pause(api: ApiDep, code: CodePath, body: Annotated[PauseIn | None, Body()] = None) -> TaskOut:
    """Tạm hoãn nhiệm vụ; được tính riêng cho đến khi tiếp tục."""
    task, on = api.task(code), _on(api, body)
    reason = body.reason if body is not None else ""
    lifecycle.pause(
        api.db, task.code, on=on, reason=reason, actor=api.caller.actor, clock=api.rt.clock
    )
    api.audit(Action.PAUSE, target=task.code, **_detail(body, on))
    return current(api, task.code)


@router.post("/tasks/{code}/resume", summary="Tiếp tục", operation_id="resume")
def resume(api: ApiDep, code: CodePath, body: Annotated[OnIn | None, Body()] = None) -> TaskOut:
    """Tiếp tục nhiệm vụ đang tạm hoãn, ở trạng thái trước khi hoãn."""
    task, on = api.task(code), _on(api, body)
    lifecycle.resume(api.db, task.code, on=on, actor=api.caller.actor, clock=api.rt.clock)
    api.audit(Action.RESUME, target=task.code, **_detail(body, on))
    return current(api, task.code)


@router.post("/tasks/{code}/cancel", summary="Hủy nhiệm vụ", operation_id="cancel")
def cancel(api: ApiDep, code: CodePath, body: ReasonIn) -> TaskOut:
    """Hủy nhiệm vụ; nhiệm vụ đã hủy được tính riêng."""
    task, on = api.task(code), _on(api, body)
    lifecycle.cancel(
        api.db, task.code, on=on, reason=body.reason, actor=api.caller.actor, clock=api.rt.clock
    )
    api.audit(Action.CANCEL, target=task.code, **_detail(body, on))
    return current(api, task.code)
