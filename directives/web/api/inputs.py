"""What the API accepts: a directive with its tasks, and the body of each transition.

Unknown keys are refused (a misspelt ``deadine`` must not silently make a standing task).
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from directives.domain import DeadlineSpec, DirectiveKind, Priority
from directives.services import intake
from directives.web.api.fields import MAX_WORKING_DAYS, Clean, Code, Day

_STRICT = ConfigDict(extra="forbid")
Number = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), Clean
]
Content = Annotated[str, StringConstraints(min_length=1, max_length=intake.MAX_CONTENT), Clean]
Report = Annotated[str, StringConstraints(max_length=intake.MAX_CONTENT), Clean]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000), Clean]
Note = Annotated[str, StringConstraints(max_length=2000), Clean]
Ref = Annotated[str, StringConstraints(max_length=300), Clean]
DocumentRef = Annotated[str, StringConstraints(max_length=200), Clean]
Sector = Annotated[str, StringConstraints(max_length=100), Clean]


class TaskIn(BaseModel):
    """One task of a directive; a deadline as a date, or N working days, or none (standing)."""

    model_config = _STRICT

    content: Content = Field(examples=["Rà soát, hoàn thiện quy hoạch khu đô thị mới phía Bắc"])
    lead_agency: Code = Field(description="Mã đơn vị chủ trì.")
    coordinating_agencies: list[Code] = Field(
        default_factory=list, max_length=30, description="Mã các đơn vị phối hợp."
    )
    deadline: Day | None = Field(None, description="Thời hạn (ngày); bỏ trống nếu thường xuyên.")
    working_days: int | None = Field(
        None,
        ge=1,
        le=MAX_WORKING_DAYS,
        description="Thời hạn tính bằng ngày làm việc kể từ ngày ban hành (thay cho deadline).",
    )
    leader: Code | None = Field(None, description="Lãnh đạo phụ trách; mặc định: người ký.")
    officer: Code | None = Field(None, description="Chuyên viên theo dõi.", examples=["CV01"])
    sector: Sector | None = Field(None, examples=["Xây dựng"])
    priority: Priority = Priority.NORMAL
    source_ref: Ref | None = None

    @model_validator(mode="after")
    def _one_deadline(self) -> Self:
        if self.deadline is not None and self.working_days is not None:
            raise ValueError("chỉ ghi một trong hai: deadline hoặc working_days")
        return self

    def to_new_task(self) -> intake.NewTask:
        """The intake service's value."""
        return intake.NewTask(
            content=self.content,
            lead_agency=self.lead_agency,
            coordinating_agencies=tuple(self.coordinating_agencies),
            deadline=DeadlineSpec(on=self.deadline, working_days=self.working_days),
            leader=self.leader,
            officer=self.officer,
            sector=self.sector,
            priority=self.priority,
            source_ref=self.source_ref,
        )


class DirectiveIn(BaseModel):
    """A signed directive and the tasks it assigns; its number is unique within its year."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "number": "245/TB-UBND",
                    "issued_on": "2026-11-02",
                    "kind": "conclusion_notice",
                    "signer": "PCT1",
                    "summary": "Kết luận của Phó Chủ tịch UBND tỉnh về quy hoạch đô thị",
                    "source_ref": "QLVB-2026-011245",
                    "tasks": [
                        {
                            "content": "Rà soát quy hoạch khu đô thị mới phía Bắc",
                            "lead_agency": "SXD",
                            "coordinating_agencies": ["STC"],
                            "deadline": "2026-12-15",
                        },
                        {
                            "content": "Báo cáo tiến độ giải ngân vốn đầu tư công",
                            "lead_agency": "STC",
                            "working_days": 10,
                        },
                    ],
                }
            ]
        },
    )

    number: Number = Field(description="Số, ký hiệu văn bản.", examples=["245/TB-UBND"])
    issued_on: Day = Field(description="Ngày ban hành.")
    kind: DirectiveKind = Field(description="Loại văn bản.")
    signer: Code = Field(description="Mã lãnh đạo ký.", examples=["PCT1"])
    summary: Reason = Field(description="Trích yếu.")
    source_ref: Ref | None = Field(None, description="Mã văn bản trong hệ thống quản lý văn bản.")
    tasks: list[TaskIn] = Field(min_length=1, max_length=200)

    def to_new_directive(self) -> intake.NewDirective:
        """The intake service's value."""
        return intake.NewDirective(
            number=self.number,
            issued_on=self.issued_on,
            kind=self.kind,
            signer=self.signer,
            summary=self.summary,
            tasks=tuple(t.to_new_task() for t in self.tasks),
            source_ref=self.source_ref,
        )


class OnIn(BaseModel):
    """When it happened (default: today); never in the future, never before the last event."""

    model_config = _STRICT

    on: Day | None = Field(None, description="Ngày của sự việc; mặc định hôm nay.")


class ReportIn(OnIn):
    """A progress report, or with ``final`` the report that asks the office to confirm."""

    text: Report = Field("", examples=["Đã hoàn thành 70% khối lượng rà soát"])
    percent: int | None = Field(None, ge=0, le=100, examples=[70])
    final: bool = Field(False, description="Báo cáo kết quả (đề nghị xác nhận hoàn thành).")
    document_ref: DocumentRef | None = Field(None, examples=["123/SXD-QH"])


class NoteIn(OnIn):
    """A decision with an optional note."""

    note: Note | None = Field(None, examples=["Đạt yêu cầu"])


class ReasonIn(OnIn):
    """A decision that needs a reason."""

    reason: Reason = Field(examples=["Thiếu số liệu giải ngân quý IV"])


class PauseIn(OnIn):
    """Pausing a task (tạm hoãn); the reason is optional."""

    reason: Note = Field("", examples=["Chờ ý kiến của Bộ Xây dựng"])


class ExtensionIn(OnIn):
    """The lead agency asks for a later deadline."""

    new_deadline: Day = Field(description="Thời hạn đề nghị.", examples=["2027-01-15"])
    reason: Reason = Field(examples=["Chờ kết quả khảo sát địa chất"])


class ApproveIn(NoteIn):
    """Approving an extension; the granted deadline defaults to the one asked for."""

    deadline: Day | None = Field(None, description="Thời hạn được gia hạn; mặc định như đề nghị.")
