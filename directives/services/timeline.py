"""A task's timeline: its event log and every notice sent about it, with delivery status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from directives.db.outbox_tables import Notice, OutboxMessage, message_notices
from directives.db.tables import TaskEvent
from directives.workflow import EVENT_LABELS

# The rule of a notice → what the message was, in the words of the office.
RULE_LABELS = {
    "assigned": "Thư giao nhiệm vụ",
    "ack": "Nhắc xác nhận đã nhận nhiệm vụ",
    "due_soon": "Nhắc sắp đến hạn",
    "chase": "Đôn đốc nhiệm vụ quá hạn",
    "escalate1": "Báo cáo thủ trưởng đơn vị (quá hạn lần 1)",
    "escalate2": "Báo cáo lãnh đạo phụ trách (quá hạn lần 2)",
    "nudge": "Nhắc báo cáo nhiệm vụ thường xuyên",
}
DELIVERY_LABELS = {
    "pending": "Chờ gửi",
    "sending": "Đang gửi",
    "sent": "Đã gửi",
    "failed": "Gửi lỗi, sẽ thử lại",
    "dead": "Không gửi được",
}
_ROLE_LABELS = {
    "secretariat": "Văn phòng",
    "agency": "Đơn vị",
    "leader": "Lãnh đạo",
    "system": "Hệ thống",
}


@dataclass(frozen=True)
class MessageView:
    """One email that carried a notice, and what became of it."""

    id: int
    kind: str
    subject: str
    message_id: str
    status: str
    status_label: str
    recipients: list[str]
    delivered: list[str]
    refused: dict[str, str]
    attempts: int
    sent_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class Entry:
    """One line of the timeline: an event of the task or a notice about it."""

    on: date
    kind: str  # the event kind, or "notice:<rule>"
    label: str
    actor: str = ""
    note: str = ""
    details: list[str] = field(default_factory=list)
    messages: list[MessageView] = field(default_factory=list)

    @property
    def is_notice(self) -> bool:
        """True for a notice (an email the engine decided to send)."""
        return self.kind.startswith("notice:")


def actor_label(described: str) -> str:
    """``agency:SXD:sxd`` → ``Đơn vị SXD (sxd)``: the event log's actor, readable."""
    role, _, rest = described.partition(":")
    label = _ROLE_LABELS.get(role)
    if label is None:
        return described
    code, _, name = rest.partition(":")
    if role in ("secretariat", "system"):
        code, name = "", rest
    text = f"{label} {code}".strip()
    return f"{text} ({name})" if name else text


def _day(value: Any) -> str:
    try:
        return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)


def event_details(kind: str, data: Mapping[str, Any]) -> list[str]:
    """The facts an event's data adds to its note, in Vietnamese."""
    out = []
    if kind == "assigned":
        stated = str(data.get("deadline_text") or "")
        if data.get("deadline"):
            extra = f" ({stated})" if stated and "/" not in stated else ""
            out.append(f"Thời hạn {_day(data['deadline'])}{extra}")
        elif stated:
            out.append(stated)
        return out
    if data.get("percent") is not None:
        out.append(f"Tiến độ {data['percent']}%")
    if data.get("document_ref"):
        out.append(f"Văn bản {data['document_ref']}")
    if data.get("requested_deadline"):
        out.append(f"Đề nghị đến {_day(data['requested_deadline'])}")
    if data.get("after_deadline"):
        out.append("Đề nghị sau khi đã quá hạn")
    if data.get("deadline"):
        previous = data.get("previous_deadline")
        extra = f" (thay cho {_day(previous)})" if previous else ""
        out.append(f"Thời hạn mới {_day(data['deadline'])}{extra}")
    if data.get("completed_on"):
        out.append(f"Hoàn thành ngày {_day(data['completed_on'])}")
    return out


def notice_label(rule: str, threshold: int) -> str:
    """What a notice was, e.g. "Đôn đốc nhiệm vụ quá hạn (quá 6 ngày làm việc)"."""
    if rule == "due_soon" and threshold == 0:
        return "Nhắc đến hạn hôm nay"
    label = RULE_LABELS.get(rule, rule)
    if rule == "due_soon":
        return f"{label} (còn {threshold} ngày làm việc)"
    if rule == "chase":
        return f"{label} (quá {threshold} ngày làm việc)"
    if rule in ("ack", "nudge") and threshold:
        return f"{label} (sau {threshold} ngày làm việc)"
    return label


def _messages(
    session: Session, task_id: int, as_of: date
) -> list[tuple[Notice, list[MessageView]]]:
    # A notice's own message, and the copies of it (an assignment to coordinating agencies).
    carriers = union_all(
        select(Notice.id.label("notice_id"), Notice.message_id.label("message_id")).where(
            Notice.task_id == task_id, Notice.message_id.is_not(None)
        ),
        select(message_notices.c.notice_id, message_notices.c.message_id)
        .join(Notice, Notice.id == message_notices.c.notice_id)
        .where(Notice.task_id == task_id),
    ).subquery()
    stmt = (
        select(Notice, OutboxMessage)
        .outerjoin(carriers, carriers.c.notice_id == Notice.id)
        .outerjoin(OutboxMessage, OutboxMessage.id == carriers.c.message_id)
        .where(Notice.task_id == task_id, Notice.decided_on <= as_of)
        .order_by(Notice.decided_on, Notice.id, OutboxMessage.id)
    )
    grouped: dict[int, tuple[Notice, list[MessageView]]] = {}
    for notice, msg in session.execute(stmt):
        _, views = grouped.setdefault(notice.id, (notice, []))
        if msg is not None:
            views.append(
                MessageView(
                    id=msg.id,
                    kind=msg.kind,
                    subject=msg.subject,
                    message_id=msg.message_id,
                    status=msg.status,
                    status_label=DELIVERY_LABELS.get(msg.status, msg.status),
                    recipients=list(msg.recipients),
                    delivered=list(msg.delivered),
                    refused=dict(msg.refused),
                    attempts=msg.attempts,
                    sent_at=msg.sent_at,
                    last_error=msg.last_error,
                )
            )
    return list(grouped.values())


def task_timeline(session: Session, task_id: int, *, as_of: date) -> list[Entry]:
    """Events and notices of a task up to ``as_of``, oldest first (on one day, events first)."""
    events = session.scalars(
        select(TaskEvent)
        .where(TaskEvent.task_id == task_id, TaskEvent.on <= as_of)
        .order_by(TaskEvent.id)
    )
    entries = [
        (
            (e.on, 0),
            Entry(
                on=e.on,
                kind=e.kind,
                label=EVENT_LABELS.get(e.kind, e.kind),
                actor=actor_label(e.actor),
                note=e.note or "",
                details=event_details(e.kind, e.data or {}),
            ),
        )
        for e in events
    ]
    for notice, views in _messages(session, task_id, as_of):
        entries.append(
            (
                (notice.decided_on, 1),
                Entry(
                    on=notice.decided_on,
                    kind=f"notice:{notice.rule}",
                    label=notice_label(notice.rule, notice.threshold),
                    actor="Hệ thống",
                    messages=views,
                ),
            )
        )
    entries.sort(key=lambda pair: pair[0])  # stable: the log's own order within a day
    return [entry for _, entry in entries]
