"""Entering directives and moving tasks through their life from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from directives.cli._common import Format, actor, day, runtime, unit_of_work
from directives.cli._output import emit
from directives.importing import read_task_rows
from directives.services import intake, lifecycle, queries
from directives.services.mailing import MailSettings
from directives.timeliness import Standing
from directives.workflow import EVENT_LABELS, State

tasks_app = typer.Typer(help="Sổ theo dõi nhiệm vụ.", no_args_is_help=True)
extend_app = typer.Typer(help="Gia hạn: đề nghị, đồng ý, không đồng ý.", no_args_is_help=True)

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, json hoặc csv.")]
CodeArg = Annotated[str, typer.Argument(metavar="MÃ", help="Mã nhiệm vụ, ví dụ NV26-0012.")]
OnOpt = Annotated[str | None, typer.Option("--on", help="Ngày của sự việc (mặc định: hôm nay).")]
AsOpt = Annotated[
    str, typer.Option("--as", help="Ai thực hiện: secretariat, agency:MÃ, leader:MÃ.")
]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Tính đến ngày (mặc định: hôm nay).")]


def import_file(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="TỆP", help="CSV hoặc XLSX, mỗi dòng một nhiệm vụ.", exists=True, dir_okay=False
        ),
    ],
    as_: AsOpt = "secretariat",
) -> None:
    """Nhập văn bản chỉ đạo và nhiệm vụ từ tệp; có dòng lỗi thì không ghi gì.

    Ví dụ: directives import examples/directives.csv
    """
    rows = read_task_rows(path)
    batch = intake.directives_from_rows(rows)
    from rich.progress import Progress  # imported here: a long import is the only user

    rt = runtime()
    mail = MailSettings.from_settings(rt.settings)
    with unit_of_work() as s, Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
        job = bar.add_task("Đang ghi", total=len(batch))
        stored = intake.issue_directives(
            s,
            batch,
            actor=actor(as_),
            clock=rt.clock,
            source=path.name,
            mail=mail,
            progress=lambda n: bar.advance(job, n),
        )
    typer.echo(f"Đã nhập {len(stored)} văn bản, {len(rows)} nhiệm vụ từ {path.name}.")


def _line(line: queries.TaskLine) -> dict[str, Any]:
    st: Standing = line.standing
    return {
        "code": line.code,
        "content": line.content,
        "directive": line.directive,
        "issued_on": line.issued_on,
        "lead_agency": line.lead_agency,
        "leader": line.leader,
        "state": line.state,
        "grid": st.grid.value,
        "status": st.grid.label,
        "deadline": st.deadline,
        "days_left": st.days_left,
        "days_late": st.days_late,
        "when": _when(st),
    }


def _when(st: Standing) -> str:
    if st.days_late is not None:
        return f"quá {st.days_late} ngày"
    if st.days_left is not None:
        return f"còn {st.days_left} ngày"
    return ""


@tasks_app.command("list")
def tasks_list(
    as_of: AsOfOpt = None,
    agency: Annotated[str | None, typer.Option(help="Mã đơn vị (chủ trì hoặc phối hợp).")] = None,
    leader: Annotated[str | None, typer.Option(help="Mã lãnh đạo phụ trách.")] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            help="overdue, due_soon, within_term, standing, done, open, paused, cancelled…"
        ),
    ] = None,
    deadline_from: Annotated[str | None, typer.Option(help="Thời hạn từ ngày.")] = None,
    deadline_to: Annotated[str | None, typer.Option(help="Thời hạn đến ngày.")] = None,
    page: Annotated[int, typer.Option(help="Trang.")] = 1,
    page_size: Annotated[int, typer.Option(help="Số dòng mỗi trang.")] = 50,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Liệt kê nhiệm vụ theo tình trạng tính đến một ngày.

    Ví dụ: directives tasks list --status overdue --as-of 26/11/2026
    """
    d = day(as_of, option="--as-of")
    with unit_of_work() as s:
        result = queries.list_tasks(
            s,
            as_of=d,
            agency=agency,
            leader=leader,
            statuses=status or [],
            deadline_from=day(deadline_from, option="--deadline-from") if deadline_from else None,
            deadline_to=day(deadline_to, option="--deadline-to") if deadline_to else None,
            page=page,
            page_size=page_size,
        )
    rows = [_line(x) for x in result.lines]
    pages = max(1, -(-result.total // result.page_size))
    emit(
        rows,
        fmt,
        columns=[
            ("code", "Mã"),
            ("content", "Nội dung"),
            ("lead_agency", "Chủ trì"),
            ("deadline", "Thời hạn"),
            ("status", "Tình trạng"),
            ("when", ""),
        ],
        title=f"Tính đến {d:%d/%m/%Y}: {result.total} nhiệm vụ (trang {page}/{pages})",
        wide="content",
        meta={"as_of": d, "total": result.total, "page": page, "page_size": page_size},
    )


@tasks_app.command("show")
def tasks_show(code: CodeArg, as_of: AsOfOpt = None, fmt: FormatOpt = Format.TABLE) -> None:
    """Xem một nhiệm vụ và toàn bộ diễn biến.

    Ví dụ: directives tasks show NV26-0001
    """
    d = day(as_of, option="--as-of")
    with unit_of_work() as s:
        det = queries.task_detail(s, code, as_of=d)
        t = det.task
        info = {
            "code": t.code,
            "content": t.content,
            "directive": t.directive.number,
            "issued_on": t.directive.issued_on,
            "lead_agency": t.lead_agency.code,
            "coordinating_agencies": det.coordinators,
            "leader": t.leader.code if t.leader else None,
            "officer": det.officer.code if det.officer else None,
            "sector": t.sector,
            "priority": t.priority,
            "state": t.state,
            "state_label": State(t.state).label,
            "original_deadline": t.original_deadline,
            "grid": det.standing.grid.value,
            "status": det.standing.grid.label,
            "deadline": det.standing.deadline,
            "when": _when(det.standing),
        }
        events = [
            {
                "on": e.on,
                "kind": e.kind,
                "what": EVENT_LABELS.get(e.kind, e.kind),
                "actor": e.actor,
                "note": e.note or "",
                "data": e.data,
            }
            for e in det.events
        ]
    if fmt is Format.TABLE:
        for key, label in [
            ("code", "Mã"),
            ("content", "Nội dung"),
            ("directive", "Văn bản"),
            ("lead_agency", "Chủ trì"),
            ("coordinating_agencies", "Phối hợp"),
            ("leader", "Lãnh đạo"),
            ("state_label", "Trạng thái"),
            ("original_deadline", "Thời hạn ban đầu"),
            ("deadline", "Thời hạn"),
            ("status", "Tình trạng"),
            ("when", "Số ngày"),
        ]:
            value = info[key]
            if value not in (None, "", []):
                shown = value.strftime("%d/%m/%Y") if hasattr(value, "strftime") else value
                if isinstance(shown, list):
                    shown = ", ".join(shown)
                typer.echo(f"{label + ':':<18} {shown}")
        emit(
            events,
            fmt,
            columns=[
                ("on", "Ngày"),
                ("what", "Sự việc"),
                ("actor", "Người ghi"),
                ("note", "Ghi chú"),
            ],
            title="Diễn biến",
            wide="note",
        )
        return
    emit(
        events,
        fmt,
        columns=[("on", "on"), ("kind", "kind"), ("actor", "actor"), ("note", "note")],
        meta={"task": info} if fmt is Format.JSON else None,
    )


def _done(message: str) -> None:
    typer.echo(message)


def ack(code: CodeArg, on: OnOpt = None, as_: AsOpt = "secretariat") -> None:
    """Ghi nhận đơn vị đã nhận nhiệm vụ.

    Ví dụ: directives ack NV26-0001 --on 03/11/2026
    """
    with unit_of_work() as s:
        t = lifecycle.acknowledge(s, code, on=day(on), actor=actor(as_), clock=runtime().clock)
    _done(f"{t.code}: đã nhận.")


def report(
    code: CodeArg,
    text: Annotated[str, typer.Option("--text", help="Nội dung báo cáo.")] = "",
    percent: Annotated[int | None, typer.Option(help="Tỷ lệ hoàn thành 0–100.")] = None,
    final: Annotated[
        bool, typer.Option("--final", help="Báo cáo kết quả (đề nghị xác nhận hoàn thành).")
    ] = False,
    document: Annotated[
        str | None, typer.Option(help="Số văn bản báo cáo, ví dụ 123/SKHDT-KH.")
    ] = None,
    on: OnOpt = None,
    as_: AsOpt = "secretariat",
) -> None:
    """Ghi báo cáo tiến độ, hoặc báo cáo kết quả với --final.

    Ví dụ: directives progress NV26-0001 --final --document 123/SKHDT-KH
    """
    with unit_of_work() as s:
        entry = lifecycle.report(
            s,
            code,
            on=day(on),
            text=text,
            percent=percent,
            final=final,
            document_ref=document,
            actor=actor(as_),
            clock=runtime().clock,
        )
    _done(
        f"{code.upper()}: đã ghi "
        + ("báo cáo kết quả, chờ xác nhận." if entry.final else "báo cáo tiến độ.")
    )


def confirm(
    code: CodeArg,
    on: OnOpt = None,
    note: Annotated[str | None, typer.Option(help="Ghi chú.")] = None,
    as_: AsOpt = "secretariat",
) -> None:
    """Xác nhận hoàn thành theo báo cáo kết quả đang chờ.

    Ví dụ: directives confirm NV26-0001
    """
    with unit_of_work() as s:
        t = lifecycle.confirm(
            s, code, on=day(on), note=note, actor=actor(as_), clock=runtime().clock
        )
    _done(f"{t.code}: đã xác nhận hoàn thành (ngày báo cáo {t.completed_on:%d/%m/%Y}).")


def return_(
    code: CodeArg,
    reason: Annotated[str, typer.Option(help="Lý do trả lại.")],
    on: OnOpt = None,
    as_: AsOpt = "secretariat",
) -> None:
    """Trả lại báo cáo kết quả, yêu cầu thực hiện lại.

    Ví dụ: directives return NV26-0001 --reason "Thiếu số liệu"
    """
    with unit_of_work() as s:
        t = lifecycle.return_report(
            s, code, on=day(on), reason=reason, actor=actor(as_), clock=runtime().clock
        )
    _done(f"{t.code}: đã trả lại, yêu cầu thực hiện lại.")


def pause(
    code: CodeArg,
    reason: Annotated[str, typer.Option(help="Lý do.")] = "",
    on: OnOpt = None,
    as_: AsOpt = "secretariat",
) -> None:
    """Tạm hoãn nhiệm vụ.

    Ví dụ: directives pause NV26-0001 --reason "Chờ ý kiến Bộ"
    """
    with unit_of_work() as s:
        t = lifecycle.pause(
            s, code, on=day(on), reason=reason, actor=actor(as_), clock=runtime().clock
        )
    _done(f"{t.code}: đã tạm hoãn.")


def resume(code: CodeArg, on: OnOpt = None, as_: AsOpt = "secretariat") -> None:
    """Tiếp tục nhiệm vụ đang tạm hoãn.

    Ví dụ: directives resume NV26-0001
    """
    with unit_of_work() as s:
        t = lifecycle.resume(s, code, on=day(on), actor=actor(as_), clock=runtime().clock)
    _done(f"{t.code}: tiếp tục thực hiện.")


def cancel(
    code: CodeArg,
    reason: Annotated[str, typer.Option(help="Lý do hủy.")],
    on: OnOpt = None,
    as_: AsOpt = "secretariat",
) -> None:
    """Hủy nhiệm vụ.

    Ví dụ: directives cancel NV26-0001 --reason "Đã có văn bản thay thế"
    """
    with unit_of_work() as s:
        t = lifecycle.cancel(
            s, code, on=day(on), reason=reason, actor=actor(as_), clock=runtime().clock
        )
    _done(f"{t.code}: đã hủy.")


@extend_app.command("request")
def extend_request(
    code: CodeArg,
    to: Annotated[str, typer.Option("--to", help="Thời hạn đề nghị.")],
    reason: Annotated[str, typer.Option(help="Lý do.")],
    on: OnOpt = None,
    as_: AsOpt = "secretariat",
) -> None:
    """Ghi đề nghị gia hạn của đơn vị.

    Ví dụ: directives extend request NV26-0001 --to 30/12/2026 --reason "…"
    """
    with unit_of_work() as s:
        ext = lifecycle.request_extension(
            s,
            code,
            on=day(on),
            new_deadline=day(to, option="--to"),
            reason=reason,
            actor=actor(as_),
            clock=runtime().clock,
        )
    late = " (đề nghị sau khi đã quá hạn)" if ext.after_deadline else ""
    _done(f"{code.upper()}: đã ghi đề nghị gia hạn đến {ext.requested_deadline:%d/%m/%Y}{late}.")


@extend_app.command("approve")
def extend_approve(
    code: CodeArg,
    to: Annotated[
        str | None, typer.Option("--to", help="Thời hạn được gia hạn (mặc định: như đề nghị).")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Ghi chú.")] = None,
    on: OnOpt = None,
    as_: AsOpt = "secretariat",
) -> None:
    """Đồng ý gia hạn; thời hạn ban đầu vẫn được giữ.

    Ví dụ: directives extend approve NV26-0001 --as leader:PCT1
    """
    with unit_of_work() as s:
        ext = lifecycle.decide_extension(
            s,
            code,
            on=day(on),
            approve=True,
            note=note,
            deadline=day(to, option="--to") if to else None,
            actor=actor(as_),
            clock=runtime().clock,
        )
    assert ext.granted_deadline is not None
    _done(f"{code.upper()}: đồng ý gia hạn đến {ext.granted_deadline:%d/%m/%Y}.")


@extend_app.command("reject")
def extend_reject(
    code: CodeArg,
    note: Annotated[str | None, typer.Option(help="Lý do.")] = None,
    on: OnOpt = None,
    as_: AsOpt = "secretariat",
) -> None:
    """Không đồng ý gia hạn.

    Ví dụ: directives extend reject NV26-0001 --note "Giữ thời hạn"
    """
    with unit_of_work() as s:
        lifecycle.decide_extension(
            s, code, on=day(on), approve=False, note=note, actor=actor(as_), clock=runtime().clock
        )
    _done(f"{code.upper()}: không đồng ý gia hạn.")
