"""The task workflow: states, actions, which state each action leads to, and who may take it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from directives.errors import PermissionDenied, TransitionNotAllowed


class State(enum.StrEnum):
    """The recorded workflow state of a task."""

    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    CONFIRMED = "confirmed"
    PAUSED = "paused"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        """The Vietnamese name shown to users."""
        return _STATE_LABELS[self]


_STATE_LABELS = {
    State.ASSIGNED: "Đã giao",
    State.ACKNOWLEDGED: "Đã nhận",
    State.IN_PROGRESS: "Đang thực hiện",
    State.SUBMITTED: "Chờ xác nhận",
    State.RETURNED: "Thực hiện lại",
    State.CONFIRMED: "Hoàn thành",
    State.PAUSED: "Tạm hoãn",
    State.CANCELLED: "Đã hủy",
}

OPEN_STATES = frozenset(
    {State.ASSIGNED, State.ACKNOWLEDGED, State.IN_PROGRESS, State.SUBMITTED, State.RETURNED}
)
WORKING_STATES = frozenset({State.ASSIGNED, State.ACKNOWLEDGED, State.IN_PROGRESS, State.RETURNED})


class Action(enum.StrEnum):
    """Everything that can happen to a task after it is assigned."""

    ACKNOWLEDGE = "acknowledge"
    REPORT = "report"
    SUBMIT = "submit"
    CONFIRM = "confirm"
    RETURN = "return"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REJECT_EXTENSION = "reject_extension"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"

    @property
    def label(self) -> str:
        """The Vietnamese verb shown to users."""
        return _ACTION_LABELS[self]


_ACTION_LABELS = {
    Action.ACKNOWLEDGE: "xác nhận đã nhận",
    Action.REPORT: "báo cáo tiến độ",
    Action.SUBMIT: "báo cáo kết quả",
    Action.CONFIRM: "xác nhận hoàn thành",
    Action.RETURN: "trả lại yêu cầu thực hiện lại",
    Action.REQUEST_EXTENSION: "đề nghị gia hạn",
    Action.APPROVE_EXTENSION: "đồng ý gia hạn",
    Action.REJECT_EXTENSION: "không đồng ý gia hạn",
    Action.PAUSE: "tạm hoãn",
    Action.RESUME: "tiếp tục",
    Action.CANCEL: "hủy",
}


class Role(enum.StrEnum):
    """Who is acting."""

    SECRETARIAT = (
        "secretariat"  # the office (Văn phòng UBND), may act on an agency's or leader's behalf
    )
    AGENCY = "agency"  # a user of one agency
    LEADER = "leader"  # the chairman or a vice-chairman
    SYSTEM = "system"  # an import or a scheduled job


@dataclass(frozen=True)
class Actor:
    """The person or system taking an action; ``agency`` / ``leader`` are codes for those roles."""

    role: Role
    name: str = ""
    agency: str | None = None
    leader: str | None = None

    def describe(self) -> str:
        """A short label for the event log."""
        parts = [self.role.value, self.agency or self.leader or "", self.name]
        return ":".join(p for p in parts if p)


# Action → (states it may start from, state it leads to; None = the state does not change).
TRANSITIONS: dict[Action, tuple[frozenset[State], State | None]] = {
    Action.ACKNOWLEDGE: (frozenset({State.ASSIGNED}), State.ACKNOWLEDGED),
    Action.REPORT: (WORKING_STATES, State.IN_PROGRESS),
    Action.SUBMIT: (WORKING_STATES, State.SUBMITTED),
    Action.CONFIRM: (frozenset({State.SUBMITTED}), State.CONFIRMED),
    Action.RETURN: (frozenset({State.SUBMITTED}), State.RETURNED),
    Action.REQUEST_EXTENSION: (WORKING_STATES, None),
    Action.APPROVE_EXTENSION: (OPEN_STATES | {State.PAUSED}, None),
    Action.REJECT_EXTENSION: (OPEN_STATES | {State.PAUSED}, None),
    Action.PAUSE: (OPEN_STATES, State.PAUSED),
    Action.RESUME: (frozenset({State.PAUSED}), None),  # back to the state before the pause
    Action.CANCEL: (OPEN_STATES | {State.PAUSED}, State.CANCELLED),
}

_AGENCY_ACTIONS = {Action.ACKNOWLEDGE, Action.REPORT, Action.SUBMIT, Action.REQUEST_EXTENSION}
_LEADER_ACTIONS = {
    Action.APPROVE_EXTENSION,
    Action.REJECT_EXTENSION,
    Action.PAUSE,
    Action.RESUME,
    Action.CANCEL,
}


def next_state(action: Action, current: State, *, task_code: str) -> State | None:
    """The state ``action`` leads to from ``current``; raises when the workflow forbids it."""
    allowed_from, to = TRANSITIONS[action]
    if current not in allowed_from:
        raise TransitionNotAllowed(
            f"nhiệm vụ {task_code} đang ở trạng thái “{current.label}”, không thể {action.label}"
        )
    return to


def check_permission(
    action: Action,
    actor: Actor,
    *,
    task_code: str,
    lead_agency: str,
    coordinating_agencies: frozenset[str] = frozenset(),
    leader: str | None,
    chairman: str | None = None,
) -> None:
    """Raise PermissionDenied unless ``actor`` may take ``action`` on this task.

    The secretariat and the system may record anything (the office acts on behalf of agencies and
    leaders who answer by phone). An agency acts only on its own tasks: the lead agency takes every
    agency action, a coordinating agency may only report progress. A leader decides only on tasks
    in their charge, and the chairman on every task.
    """
    if actor.role in (Role.SECRETARIAT, Role.SYSTEM):
        return
    if actor.role is Role.AGENCY and action in _AGENCY_ACTIONS:
        if actor.agency == lead_agency:
            return
        if action is Action.REPORT and actor.agency in coordinating_agencies:
            return
    leads = actor.leader is not None and actor.leader in (leader, chairman)
    if actor.role is Role.LEADER and action in _LEADER_ACTIONS and leads:
        return
    raise PermissionDenied(
        f"{actor.describe()} không có quyền {action.label} đối với nhiệm vụ {task_code}"
    )


EVENT_LABELS = {
    "assigned": "Giao nhiệm vụ",
    "acknowledged": "Đơn vị xác nhận đã nhận",
    "progress": "Báo cáo tiến độ",
    "submitted": "Báo cáo kết quả",
    "confirmed": "Văn phòng xác nhận hoàn thành",
    "returned": "Trả lại, yêu cầu thực hiện lại",
    "extension_requested": "Đề nghị gia hạn",
    "extension_approved": "Đồng ý gia hạn",
    "extension_rejected": "Không đồng ý gia hạn",
    "paused": "Tạm hoãn",
    "resumed": "Tiếp tục thực hiện",
    "cancelled": "Hủy nhiệm vụ",
}
