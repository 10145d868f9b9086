"""What the API returns: tasks, their history, new directives' codes, figures, reference lists.

Built from the services' values by the ``*_out`` functions here, so routes stay thin.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from directives.db.tables import Extension, ProgressReport, TaskEvent
from directives.domain import DirectiveKind
from directives.services.queries import TaskDetail, TaskLine
from directives.timeliness import Grid, Standing
from directives.workflow import EVENT_LABELS, State


class ErrorOut(BaseModel):
    """Every error: one sentence in Vietnamese."""

    detail: str = Field(examples=["Không có nhiệm vụ mã 'NV26-9999'."])


class FieldError(BaseModel):
    """One bad value of a directive."""

    field: str = Field(examples=["tasks.1.lead_agency"])
    message: str = Field(examples=["không có đơn vị với mã này"])


class InvalidOut(ErrorOut):
    """422: what is wrong; for a directive, each bad field with its reason."""

    errors: list[FieldError] = Field(default_factory=list)


_WHY = {
    400: "Không đọc được nội dung yêu cầu (cần JSON, mã hóa UTF-8).",
    401: "Thiếu token hoặc phiên đăng nhập, hoặc token đã bị thu hồi.",
    403: "Vai trò không được thực hiện thao tác này (hoặc phiên trình duyệt thiếu mã CSRF).",
    404: "Không có nhiệm vụ này, hoặc người gọi không được xem nhiệm vụ này.",
    409: "Trạng thái hiện tại không cho phép thao tác này.",
    422: "Dữ liệu không hợp lệ.",
}


def errors(*statuses: int, **models: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route's errors (``_409=DuplicateOut`` names a model)."""
    return {
        status: {
            "model": models.get(f"_{status}", InvalidOut if status == 422 else ErrorOut),
            "description": _WHY[status],
        }
        for status in statuses
    }


class DuplicateOut(ErrorOut):
    """409 on a repeated directive: the codes its tasks were given the first time."""

    number: str = Field(examples=["245/TB-UBND"])
    year: int = Field(examples=[2026])
    codes: list[str] = Field(examples=[["NV26-0012", "NV26-0013"]])


class CreatedOut(BaseModel):
    """201: the directive is stored; its tasks' codes, in the order given."""

    number: str = Field(examples=["245/TB-UBND"])
    year: int = Field(examples=[2026])
    codes: list[str] = Field(examples=[["NV26-0012", "NV26-0013"]])


class _Standing(BaseModel):
    state: State = Field(description="Trạng thái xử lý (ghi nhận).")
    state_label: str = Field(examples=["Đang thực hiện"])
    grid: Grid = Field(description="Tình trạng theo thời hạn, tính đến ngày as_of.")
    grid_label: str = Field(examples=["Quá hạn"])
    deadline: date | None = Field(None, description="Thời hạn có hiệu lực (sau gia hạn).")
    days_left: int | None = Field(None, description="Số ngày làm việc còn lại.")
    days_late: int | None = Field(None, description="Số ngày làm việc quá hạn.")


class TaskLineOut(_Standing):
    """A line of the register."""

    code: str = Field(examples=["NV26-0012"])
    content: str
    directive: str = Field(examples=["245/TB-UBND"])
    issued_on: date
    lead_agency: str = Field(examples=["SXD"])
    leader: str | None = Field(None, examples=["PCT1"])


class TaskPageOut(BaseModel):
    """A page of the register, most urgent first."""

    as_of: date
    total: int
    page: int
    page_size: int
    items: list[TaskLineOut]


class DirectiveOut(BaseModel):
    """The directive a task comes from."""

    number: str
    year: int
    issued_on: date
    kind: DirectiveKind
    kind_label: str = Field(examples=["Thông báo kết luận"])
    signer: str
    summary: str
    source_ref: str | None = None


class EventOut(BaseModel):
    """A line of the task's history."""

    on: date
    kind: str = Field(examples=["acknowledged"])
    label: str = Field(examples=["Đơn vị xác nhận đã nhận"])
    actor: str = Field(examples=["agency:SXD:sxd"])
    note: str | None = None


class ReportOut(BaseModel):
    """A progress or final report; a final one is pending until the office decides."""

    id: int
    on: date
    text: str
    percent: int | None = None
    final: bool
    outcome: str = Field(description="progress, pending, confirmed hoặc returned.")
    document_ref: str | None = None


class ExtensionOut(BaseModel):
    """A request for a later deadline and its decision."""

    id: int
    requested_on: date
    requested_deadline: date
    previous_deadline: date
    reason: str
    after_deadline: bool = Field(description="Đề nghị sau khi đã quá hạn.")
    status: str = Field(description="pending, approved hoặc rejected.")
    decided_on: date | None = None
    decided_by: str | None = None
    granted_deadline: date | None = None
    decision_note: str | None = None


class TaskOut(_Standing):
    """A task with its directive, where it stands and its whole history."""

    code: str = Field(examples=["NV26-0012"])
    content: str
    directive: DirectiveOut
    lead_agency: str
    coordinating_agencies: list[str]
    leader: str | None = None
    officer: str | None = None
    sector: str | None = None
    priority: str
    assigned_on: date
    original_deadline: date | None = None
    as_of: date
    events: list[EventOut]
    reports: list[ReportOut]
    extensions: list[ExtensionOut]


class FiguresOut(BaseModel):
    """The official grid's counts, with the on-time rate and the working days saved (%)."""

    completed: int
    early: int
    on_the_day: int
    late: int
    fell_due: int
    on_time: int
    working_days_used: int
    working_days_allowed: int
    open_within_term: int
    due_soon: int
    open_overdue: int
    overdue_over_30: int
    overdue_over_60: int
    overdue_over_120: int
    standing: int
    paused: int
    cancelled: int
    on_time_rate: float | None = Field(None, examples=[81.3])
    time_saved_pct: float | None = Field(None, examples=[46.0])


class AgencyFiguresOut(FiguresOut):
    """One agency's figures."""

    name: str = Field(examples=["Sở Xây dựng"])


class PeriodFiguresOut(FiguresOut):
    """The previous period of the same length."""

    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    from_: date = Field(alias="from")
    to: date


class StatsOut(PeriodFiguresOut):
    """The period's figures in total and per lead agency, and the change against the last."""

    by_agency: dict[str, AgencyFiguresOut]
    previous: PeriodFiguresOut
    change: dict[str, float | None] = Field(
        description="Kỳ này trừ kỳ trước, từng chỉ tiêu (null khi không xác định)."
    )


class AgencyOut(BaseModel):
    """An agency that carries out tasks."""

    code: str = Field(examples=["SXD"])
    name: str = Field(examples=["Sở Xây dựng"])
    kind: str = Field(examples=["department"])
    active: bool


class LeaderOut(BaseModel):
    """The chairman or a vice-chairman."""

    code: str = Field(examples=["PCT1"])
    name: str = Field(examples=["Lê Thị Hồng"])
    title: str = Field(examples=["Phó Chủ tịch UBND tỉnh"])
    role: str = Field(examples=["vice_chairman"])
    sectors: list[str] = Field(examples=[["Kinh tế tổng hợp", "Tài chính"]])


def _standing(state: str, st: Standing) -> dict[str, Any]:
    s = State(state)
    return {
        "state": s,
        "state_label": s.label,
        "grid": st.grid,
        "grid_label": st.grid.label,
        "deadline": st.deadline,
        "days_left": st.days_left,
        "days_late": st.days_late,
    }


def line_out(line: TaskLine) -> TaskLineOut:
    """A register line."""
    return TaskLineOut(
        code=line.code,
        content=line.content,
        directive=line.directive,
        issued_on=line.issued_on,
        lead_agency=line.lead_agency,
        leader=line.leader,
        **_standing(line.state, line.standing),
    )


def event_out(e: TaskEvent) -> EventOut:
    """A history line."""
    return EventOut(
        on=e.on, kind=e.kind, label=EVENT_LABELS.get(e.kind, e.kind), actor=e.actor, note=e.note
    )


def report_out(r: ProgressReport) -> ReportOut:
    """A report."""
    return ReportOut(
        id=r.id,
        on=r.on,
        text=r.text,
        percent=r.percent,
        final=r.final,
        outcome=r.outcome,
        document_ref=r.document_ref,
    )


def extension_out(x: Extension) -> ExtensionOut:
    """An extension request."""
    return ExtensionOut.model_validate(x, from_attributes=True)


def task_out(d: TaskDetail, as_of: date) -> TaskOut:
    """A task with its history as of ``as_of``."""
    t, directive = d.task, d.task.directive
    return TaskOut(
        code=t.code,
        content=t.content,
        directive=DirectiveOut(
            number=directive.number,
            year=directive.year,
            issued_on=directive.issued_on,
            kind=DirectiveKind(directive.kind),
            kind_label=DirectiveKind(directive.kind).label,
            signer=directive.signer.code,
            summary=directive.summary,
            source_ref=directive.source_ref,
        ),
        lead_agency=t.lead_agency.code,
        coordinating_agencies=d.coordinators,
        leader=t.leader.code if t.leader else None,
        officer=d.officer.code if d.officer else None,
        sector=t.sector,
        priority=t.priority,
        assigned_on=t.assigned_on,
        original_deadline=t.original_deadline,
        as_of=as_of,
        events=[event_out(e) for e in d.events],
        reports=[report_out(r) for r in d.reports],
        extensions=[extension_out(x) for x in d.extensions],
        **_standing(t.state, d.standing),
    )
