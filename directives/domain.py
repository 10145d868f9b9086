"""Plain value types of the domain: kinds, priorities, deadline specifications, roles."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date


class DirectiveKind(enum.StrEnum):
    """The kind of a leader's document (loại văn bản chỉ đạo)."""

    CONCLUSION_NOTICE = "conclusion_notice"  # thông báo kết luận
    DIRECTIVE = "directive"  # chỉ thị
    OFFICIAL_LETTER = "official_letter"  # công văn
    DECISION = "decision"  # quyết định
    INSTRUCTION = "instruction"  # ý kiến chỉ đạo

    @property
    def label(self) -> str:
        """The Vietnamese name shown to users."""
        return _KIND_LABELS[self]


_KIND_LABELS = {
    DirectiveKind.CONCLUSION_NOTICE: "Thông báo kết luận",
    DirectiveKind.DIRECTIVE: "Chỉ thị",
    DirectiveKind.OFFICIAL_LETTER: "Công văn",
    DirectiveKind.DECISION: "Quyết định",
    DirectiveKind.INSTRUCTION: "Ý kiến chỉ đạo",
}


class Priority(enum.StrEnum):
    """How urgent a task is (độ khẩn)."""

    NORMAL = "normal"  # thường
    URGENT = "urgent"  # khẩn
    VERY_URGENT = "very_urgent"  # thượng khẩn
    FLASH = "flash"  # hỏa tốc

    @property
    def label(self) -> str:
        """The Vietnamese name shown to users."""
        return {
            "normal": "Thường",
            "urgent": "Khẩn",
            "very_urgent": "Thượng khẩn",
            "flash": "Hỏa tốc",
        }[self.value]


class AgencyKind(enum.StrEnum):
    """What sort of body an agency is."""

    DEPARTMENT = "department"  # sở, ngành
    BOARD = "board"  # ban
    DISTRICT = "district"  # UBND huyện, thị xã, thành phố
    OFFICE = "office"  # văn phòng
    OTHER = "other"

    @property
    def label(self) -> str:
        """The Vietnamese name shown to users."""
        return {
            "department": "Sở, ngành",
            "board": "Ban",
            "district": "UBND cấp huyện",
            "office": "Văn phòng",
            "other": "Khác",
        }[self.value]


class LeaderRole(enum.StrEnum):
    """Chairman sees everything; a vice-chairman sees the sectors in their charge."""

    CHAIRMAN = "chairman"
    VICE_CHAIRMAN = "vice_chairman"


@dataclass(frozen=True)
class DeadlineSpec:
    """A deadline as written: a date, or N working days from the issue date; neither → standing."""

    on: date | None = None
    working_days: int | None = None
    recurrence: str | None = None  # e.g. "monthly:20": see directives.recurrence

    def __post_init__(self) -> None:
        given = [x for x in (self.on, self.working_days, self.recurrence) if x is not None]
        if len(given) > 1:
            raise ValueError("a deadline is a date, a number of working days or a recurrence")
        if self.working_days is not None and self.working_days < 1:
            raise ValueError(f"working days must be at least 1, got {self.working_days}")

    @property
    def standing(self) -> bool:
        """True for a task with no deadline (nhiệm vụ thường xuyên)."""
        return self.on is None and self.working_days is None and self.recurrence is None

    def text(self) -> str:
        """How the deadline reads in Vietnamese."""
        if self.recurrence is not None:
            from directives.recurrence import Recurrence

            unit, _, day = self.recurrence.partition(":")
            return Recurrence(unit, int(day)).text()
        if self.on is not None:
            return self.on.strftime("%d/%m/%Y")
        if self.working_days is not None:
            return f"{self.working_days} ngày làm việc"
        return "Thường xuyên"
