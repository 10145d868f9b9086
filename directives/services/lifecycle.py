"""Moving a task through its life: every transition checks the actor, the state and the date."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from directives.clock import Clock, today
from directives.db.tables import Extension, ProgressReport, Task, TaskEvent, TaskPause
from directives.errors import Conflict, InvalidInput, NotFound
from directives.services._events import record
from directives.services.calendar import load_calendar
from directives.services.registry import chairman_code
from directives.workflow import Action, Actor, State, check_permission, next_state


def load_task(session: Session, code: str, *, lock: bool = False) -> Task:
    """The task with ``code`` (row-locked on PostgreSQL when ``lock``)."""
    stmt = (
        select(Task)
        .where(Task.code == code.strip().upper())
        .options(selectinload(Task.coordinators))
    )
    if lock:
        stmt = stmt.with_for_update(of=Task)
    task = session.scalar(stmt)
    if task is None:
        raise NotFound(f"không có nhiệm vụ mã {code!r}")
    return task


def _begin(
    session: Session, code: str, action: Action, *, on: date, actor: Actor, clock: Clock
) -> tuple[Task, State | None]:
    """Load and lock the task, check permission, state and date; return it and its next state."""
    task = load_task(session, code, lock=True)
    check_permission(
        action,
        actor,
        task_code=task.code,
        lead_agency=task.lead_agency.code,
        coordinating_agencies=frozenset(a.code for a in task.coordinators),
        leader=task.leader.code if task.leader else None,
        chairman=chairman_code(session),
    )
    to = next_state(action, State(task.state), task_code=task.code)
    if on < task.assigned_on:
        raise InvalidInput(
            f"ngày {on:%d/%m/%Y} trước ngày giao nhiệm vụ {task.code} ({task.assigned_on:%d/%m/%Y})"
        )
    if on > today(clock):
        raise InvalidInput(f"ngày {on:%d/%m/%Y} ở tương lai")
    last = session.scalar(select(func.max(TaskEvent.on)).where(TaskEvent.task_id == task.id))
    if last is not None and on < last:
        raise InvalidInput(
            f"ngày {on:%d/%m/%Y} trước sự kiện gần nhất của nhiệm vụ {task.code} ({last:%d/%m/%Y})"
        )
    return task, to


def acknowledge(session: Session, code: str, *, on: date, actor: Actor, clock: Clock) -> Task:
    """The lead agency confirms it received the task."""
    task, to = _begin(session, code, Action.ACKNOWLEDGE, on=on, actor=actor, clock=clock)
    task.state, task.acknowledged_on = State.ACKNOWLEDGED.value, on
    assert to is State.ACKNOWLEDGED
    record(session, task, "acknowledged", on=on, actor=actor, clock=clock)
    return task


def report(
    session: Session,
    code: str,
    *,
    on: date,
    text: str,
    actor: Actor,
    clock: Clock,
    percent: int | None = None,
    final: bool = False,
    document_ref: str | None = None,
) -> ProgressReport:
    """A progress report, or (``final``) the report that asks the office to confirm completion."""
    action = Action.SUBMIT if final else Action.REPORT
    task, to = _begin(session, code, action, on=on, actor=actor, clock=clock)
    if percent is not None and not 0 <= percent <= 100:
        raise InvalidInput(f"tỷ lệ hoàn thành phải từ 0 đến 100, không phải {percent}")
    if final and not (document_ref or "").strip() and not text.strip():
        raise InvalidInput(f"báo cáo kết quả nhiệm vụ {task.code} cần nội dung hoặc số văn bản")
    if task.acknowledged_on is None:
        # A report is proof of receipt: record it so the acknowledgement chase stops.
        task.acknowledged_on = on
        record(
            session,
            task,
            "acknowledged",
            on=on,
            actor=actor,
            clock=clock,
            note="ngầm định qua báo cáo",
            implied=True,
        )
    by_agency = task.lead_agency_id
    if actor.agency and actor.agency != task.lead_agency.code:
        by_agency = next(a.id for a in task.coordinators if a.code == actor.agency)
    entry = ProgressReport(
        task_id=task.id,
        on=on,
        text=text.strip(),
        percent=100 if final and percent is None else percent,
        document_ref=(document_ref or "").strip() or None,
        final=final,
        outcome="pending" if final else "progress",
        by_agency_id=by_agency,
    )
    session.add(entry)
    assert to is not None
    task.state, task.last_report_on = to.value, on
    if final:
        task.submitted_on = on
    record(
        session,
        task,
        "submitted" if final else "progress",
        on=on,
        actor=actor,
        clock=clock,
        note=text.strip() or None,
        percent=entry.percent,
        document_ref=entry.document_ref,
    )
    return entry


def _pending_report(session: Session, task: Task) -> ProgressReport:
    found = session.scalar(
        select(ProgressReport)
        .where(ProgressReport.task_id == task.id, ProgressReport.outcome == "pending")
        .order_by(ProgressReport.id.desc())
    )
    if found is None:
        raise Conflict(f"nhiệm vụ {task.code} không có báo cáo kết quả chờ xác nhận")
    return found


def confirm(
    session: Session, code: str, *, on: date, actor: Actor, clock: Clock, note: str | None = None
) -> Task:
    """The office confirms the pending final report: the task is done as of the report's date."""
    task, _ = _begin(session, code, Action.CONFIRM, on=on, actor=actor, clock=clock)
    entry = _pending_report(session, task)
    entry.outcome, entry.decided_on = "confirmed", on
    task.state, task.completed_on, task.confirmed_on = State.CONFIRMED.value, entry.on, on
    record(
        session,
        task,
        "confirmed",
        on=on,
        actor=actor,
        clock=clock,
        note=note,
        completed_on=entry.on,
        report_id=entry.id,
    )
    return task


def return_report(
    session: Session, code: str, *, on: date, reason: str, actor: Actor, clock: Clock
) -> Task:
    """The office returns the pending final report; it will not count as completion."""
    if not reason.strip():
        raise InvalidInput("cần nêu lý do trả lại báo cáo")
    task, _ = _begin(session, code, Action.RETURN, on=on, actor=actor, clock=clock)
    entry = _pending_report(session, task)
    entry.outcome, entry.decided_on = "returned", on
    task.state, task.submitted_on = State.RETURNED.value, None
    record(
        session,
        task,
        "returned",
        on=on,
        actor=actor,
        clock=clock,
        note=reason.strip(),
        report_id=entry.id,
    )
    return task


def request_extension(
    session: Session,
    code: str,
    *,
    on: date,
    new_deadline: date,
    reason: str,
    actor: Actor,
    clock: Clock,
) -> Extension:
    """The lead agency asks for a later deadline; asked after the deadline, it is flagged."""
    task, _ = _begin(session, code, Action.REQUEST_EXTENSION, on=on, actor=actor, clock=clock)
    if task.deadline is None:
        raise Conflict(
            f"nhiệm vụ {task.code} là nhiệm vụ thường xuyên, không có thời hạn để gia hạn"
        )
    if not reason.strip():
        raise InvalidInput("cần nêu lý do đề nghị gia hạn")
    if new_deadline <= task.deadline:
        raise InvalidInput(
            f"thời hạn đề nghị {new_deadline:%d/%m/%Y} không sau thời hạn hiện tại "
            f"{task.deadline:%d/%m/%Y}"
        )
    if _pending_extension(session, task) is not None:
        raise Conflict(f"nhiệm vụ {task.code} đã có đề nghị gia hạn đang chờ quyết định")
    ext = Extension(
        task_id=task.id,
        requested_on=on,
        requested_deadline=new_deadline,
        previous_deadline=task.deadline,
        reason=reason.strip(),
        after_deadline=on > task.deadline,
        status="pending",
    )
    session.add(ext)
    record(
        session,
        task,
        "extension_requested",
        on=on,
        actor=actor,
        clock=clock,
        note=reason.strip(),
        requested_deadline=new_deadline,
        after_deadline=ext.after_deadline,
    )
    return ext


def _pending_extension(session: Session, task: Task) -> Extension | None:
    return session.scalar(
        select(Extension).where(Extension.task_id == task.id, Extension.status == "pending")
    )


def decide_extension(
    session: Session,
    code: str,
    *,
    on: date,
    approve: bool,
    actor: Actor,
    clock: Clock,
    deadline: date | None = None,
    note: str | None = None,
) -> Extension:
    """A leader (or the office on their behalf) approves or rejects the pending request."""
    action = Action.APPROVE_EXTENSION if approve else Action.REJECT_EXTENSION
    task, _ = _begin(session, code, action, on=on, actor=actor, clock=clock)
    ext = _pending_extension(session, task)
    if ext is None:
        raise Conflict(f"nhiệm vụ {task.code} không có đề nghị gia hạn đang chờ quyết định")
    ext.decided_on, ext.decided_by, ext.decision_note = on, actor.describe(), note
    if approve:
        granted = load_calendar(session).roll_forward(deadline or ext.requested_deadline)
        if task.deadline is not None and granted <= task.deadline:
            raise InvalidInput(f"thời hạn mới {granted:%d/%m/%Y} không sau thời hạn hiện tại")
        ext.status, ext.granted_deadline = "approved", granted
        task.deadline, task.has_extensions = granted, True
        record(
            session,
            task,
            "extension_approved",
            on=on,
            actor=actor,
            clock=clock,
            note=note,
            deadline=granted,
            previous_deadline=ext.previous_deadline,
        )
    else:
        ext.status = "rejected"
        record(session, task, "extension_rejected", on=on, actor=actor, clock=clock, note=note)
    return ext


def pause(
    session: Session, code: str, *, on: date, reason: str, actor: Actor, clock: Clock
) -> Task:
    """Suspend a task (tạm hoãn); it is counted apart until resumed."""
    task, _ = _begin(session, code, Action.PAUSE, on=on, actor=actor, clock=clock)
    session.add(TaskPause(task_id=task.id, paused_on=on))
    task.state_before_pause, task.state = task.state, State.PAUSED.value
    task.has_pauses = True
    record(session, task, "paused", on=on, actor=actor, clock=clock, note=reason.strip() or None)
    return task


def resume(session: Session, code: str, *, on: date, actor: Actor, clock: Clock) -> Task:
    """Take a paused task up again in the state it was in."""
    task, _ = _begin(session, code, Action.RESUME, on=on, actor=actor, clock=clock)
    open_pause = session.scalar(
        select(TaskPause).where(TaskPause.task_id == task.id, TaskPause.resumed_on.is_(None))
    )
    assert open_pause is not None
    open_pause.resumed_on = on
    task.state, task.state_before_pause = task.state_before_pause or State.ASSIGNED.value, None
    record(session, task, "resumed", on=on, actor=actor, clock=clock)
    return task


def cancel(
    session: Session, code: str, *, on: date, reason: str, actor: Actor, clock: Clock
) -> Task:
    """Withdraw a task; cancelled tasks are counted apart."""
    if not reason.strip():
        raise InvalidInput("cần nêu lý do hủy nhiệm vụ")
    task, _ = _begin(session, code, Action.CANCEL, on=on, actor=actor, clock=clock)
    task.state, task.cancelled_on = State.CANCELLED.value, on
    record(session, task, "cancelled", on=on, actor=actor, clock=clock, note=reason.strip())
    return task
