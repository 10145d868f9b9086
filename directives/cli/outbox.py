"""The outbox from the command line: list, show, retry, and send now."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy import func, select

from directives.cli._common import Format, runtime, unit_of_work
from directives.cli._output import emit
from directives.db.outbox_tables import DeliveryAttempt, OutboxMessage
from directives.errors import NotFound
from directives.services import outbox

outbox_app = typer.Typer(
    help="Hộp thư đi: thư đã quyết định gửi và kết quả gửi.", no_args_is_help=True
)
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, json hoặc csv.")]
STATUS_LABELS = {
    "pending": "chờ gửi",
    "sending": "đang gửi",
    "sent": "đã gửi",
    "failed": "lỗi tạm, sẽ gửi lại",
    "dead": "không gửi được",
}


@outbox_app.command("list")
def outbox_list(
    status: Annotated[
        str | None, typer.Option(help="pending, sending, sent, failed, dead.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Số thư tối đa.")] = 50,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Liệt kê thư trong hộp thư đi, mới nhất trước.

    Ví dụ: directives outbox list --status failed
    """
    with unit_of_work() as s:
        q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if status:
            q = q.where(OutboxMessage.status == status)
        counts = dict(
            s.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        rows = [_row(m) for m in s.scalars(q)]
    summary = ", ".join(f"{STATUS_LABELS.get(k, k)}: {v}" for k, v in sorted(counts.items()))
    emit(
        rows,
        fmt,
        columns=[
            ("id", "Số"),
            ("kind", "Loại"),
            ("to", "Gửi đến"),
            ("status_label", "Trạng thái"),
            ("attempts", "Lần"),
        ],
        title=f"Hộp thư đi ({summary or 'trống'})",
        meta={"counts": counts},
        wide="to",
    )


def _row(m: OutboxMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": m.kind,
        "message_id": m.message_id,
        "to": ", ".join(m.recipients),
        "status": m.status,
        "status_label": STATUS_LABELS.get(m.status, m.status),
        "attempts": m.attempts,
        "next_attempt_at": m.next_attempt_at.isoformat() if m.next_attempt_at else None,
        "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        "refused": m.refused,
        "last_error": m.last_error,
    }


@outbox_app.command("show")
def outbox_show(
    message: Annotated[int, typer.Argument(metavar="SỐ", help="Số thư.")],
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Xem một thư: người nhận, các nhiệm vụ, từng lần gửi và trả lời của máy chủ.

    Ví dụ: directives outbox show 12
    """
    with unit_of_work() as s:
        m = s.get(OutboxMessage, message)
        if m is None:
            raise NotFound(f"không có thư số {message}")
        info = _row(m)
        info["tasks"] = [t["code"] for t in m.payload["context"].get("tasks", [])]
        info["notices"] = [int(n) for n in m.payload.get("notice_ids", [])]
        attempts = [
            {
                "at": a.at.isoformat(),
                "outcome": a.outcome,
                "code": a.code,
                "reply": a.reply,
                "ms": a.duration_ms,
            }
            for a in s.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.message_id == m.id)
                .order_by(DeliveryAttempt.id)
            )
        ]
    if fmt is Format.TABLE:
        for key in ("id", "kind", "message_id", "to", "status_label", "tasks", "last_error"):
            if info.get(key):
                value = info[key]
                typer.echo(
                    f"{key + ':':<12} {', '.join(value) if isinstance(value, list) else value}"
                )
    emit(
        attempts,
        fmt,
        columns=[("at", "Lúc"), ("outcome", "Kết quả"), ("code", "Mã"), ("reply", "Trả lời")],
        title="Các lần gửi",
        wide="reply",
        meta={"message": info} if fmt is Format.JSON else None,
    )


@outbox_app.command("retry")
def outbox_retry(message: Annotated[int, typer.Argument(metavar="SỐ", help="Số thư.")]) -> None:
    """Đưa một thư lỗi hoặc không gửi được về hàng chờ gửi ngay.

    Ví dụ: directives outbox retry 12
    """
    with unit_of_work() as s:
        outbox.retry(s, message, now=runtime().clock.now())
    typer.echo(f"Thư số {message} sẽ được gửi lại ở lần gửi tới.")


@outbox_app.command("send")
def outbox_send(
    limit: Annotated[int | None, typer.Option(help="Số thư tối đa.")] = None,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Gửi ngay các thư đến hạn gửi (qua SMTP, hoặc ghi tệp .eml vào var/mail/).

    Ví dụ: directives outbox send
    """
    from flows.dispatch import dispatch  # an entry point composes delivery; the domain does not

    summary = dispatch(runtime(), limit=limit).as_dict()
    emit([summary], fmt, columns=[(k, k) for k in summary])
