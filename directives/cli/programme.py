"""The monthly work programme from the command line: import, list, show, add, submit, postpone,
remove."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from directives.cli._common import Format, actor, day, runtime, unit_of_work
from directives.cli._output import emit
from directives.errors import InvalidInput
from directives.importing import kind_from_title, parse_item_kind
from directives.programme import parse_month
from directives.services import programme

programme_app = typer.Typer(
    help="Chương trình công tác tháng: nhập, theo dõi, ghi nhận trình, lùi, đưa ra.",
    no_args_is_help=True,
)

MonthOpt = Annotated[str, typer.Option("--month", help="Tháng, ví dụ 2026-11 hoặc 11/2026.")]
CodeArg = Annotated[str, typer.Argument(metavar="MÃ", help="Mã nội dung, ví dụ CT2611-003.")]
OnOpt = Annotated[str | None, typer.Option("--on", help="Ngày của sự việc (mặc định: hôm nay).")]
AsOpt = Annotated[str, typer.Option("--as", help="Ai thực hiện (secretariat).")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, json hoặc csv.")]


def month(value: str, *, option: str = "--month") -> date:
    """A month from the command line, or a clear error naming the option."""
    try:
        return parse_month(value)
    except ValueError as exc:
        raise InvalidInput(f"{option} {value!r}: {exc}") from None


@programme_app.command("import")
def import_(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="TỆP", help="CSV hoặc XLSX, mỗi dòng một nội dung.", exists=True, dir_okay=False
        ),
    ],
    month_: MonthOpt,
    on: Annotated[
        str | None,
        typer.Option("--on", help="Ngày chương trình được ban hành (mặc định: hôm nay)."),
    ] = None,
    as_: AsOpt = "secretariat",
) -> None:
    """Nhập chương trình công tác của một tháng từ tệp; có dòng lỗi thì không ghi gì.

    Ví dụ: directives programme import examples/programme-2026-11.csv --month 2026-11
    """
    m = month(month_)
    rt = runtime()
    with unit_of_work() as s:
        items = programme.import_file(
            s,
            path,
            m,
            actor=actor(as_),
            clock=rt.clock,
            on=day(on) if on else None,
        )
        first, last = items[0].code, items[-1].code
    typer.echo(f"Đã nhập {len(items)} nội dung vào chương trình tháng {m:%m/%Y} ({first}…{last}).")


@programme_app.command("add")
def add(
    month_: MonthOpt,
    title: Annotated[str, typer.Option("--title", help="Tên nội dung (đề án, báo cáo…).")],
    agency: Annotated[str, typer.Option("--agency", help="Cơ quan chủ trì (mã hoặc tên).")],
    kind: Annotated[
        str | None,
        typer.Option(help="Đề án, báo cáo, tờ trình, dự thảo văn bản, kế hoạch, khác."),
    ] = None,
    leader: Annotated[str | None, typer.Option(help="Lãnh đạo phụ trách (mã hoặc tên).")] = None,
    planned: Annotated[
        str | None,
        typer.Option(help="Ngày trình UBND tỉnh (mặc định: ngày làm việc cuối tháng)."),
    ] = None,
    note: Annotated[str | None, typer.Option(help="Ghi chú.")] = None,
    on: OnOpt = None,
    as_: AsOpt = "secretariat",
) -> None:
    """Thêm một nội dung vào chương trình công tác tháng.

    Ví dụ: directives programme add --month 2026-12 --title "Đề án …" --agency SKHDT --leader PCT1
    """
    try:
        k = parse_item_kind(kind) if kind else kind_from_title(title)
    except ValueError as exc:
        raise InvalidInput(f"--kind {kind!r}: {exc}") from None
    m = month(month_)
    rt = runtime()
    item = programme.NewItem(
        title=title,
        kind=k,
        agency=agency,
        leader=leader,
        planned_on=day(planned, option="--planned") if planned else None,
        note=note,
    )
    with unit_of_work() as s:
        (stored,) = programme.add_items(
            s, m, [item], actor=actor(as_), clock=rt.clock, on=day(on) if on else None
        )
        typer.echo(f"{stored.code}: đã thêm, trình ngày {stored.planned_on:%d/%m/%Y}.")


def _row(item: dict[str, Any]) -> dict[str, Any]:
    extra = ""
    if item["submitted_on"]:
        extra = f"trình {date.fromisoformat(item['submitted_on']):%d/%m/%Y}"
        if item["document_number"]:
            extra += f", {item['document_number']}"
    elif item["postponed_to"]:
        extra = f"sang tháng {item['postponed_to']['month']} ({item['postponed_to']['code']})"
    elif item["carried_from"]:
        extra = f"từ tháng {item['carried_from']['month']}"
    return {
        "code": item["code"],
        "title": item["title"],
        "kind": item["kind"],
        "agency": item["agency_code"],
        "leader": item["leader_code"],
        "planned": date.fromisoformat(item["planned"]),
        "state": item["state"],
        "state_label": item["state_label"],
        "detail": extra,
    }


@programme_app.command("list")
def list_(
    month_: MonthOpt,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Tính đến ngày (mặc định: hôm nay).")
    ] = None,
    leader: Annotated[str | None, typer.Option(help="Chỉ nội dung của lãnh đạo này.")] = None,
    live: Annotated[
        bool, typer.Option("--live", help="Tính lại, kể cả khi tháng đã chốt số liệu.")
    ] = False,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Tình hình chương trình công tác một tháng tính đến một ngày.

    Khi tháng đã chốt số liệu (ngày làm việc đầu tháng sau), hiện số liệu đã chốt.
    Ví dụ: directives programme list --month 2026-11 --as-of 26/11/2026
    """
    m = month(month_)
    d = day(as_of, option="--as-of")
    with unit_of_work() as s:
        status = programme.monthly_report(s, m, as_of=d, leader=leader, live=live)
    summary = status["summary"]
    pct = (
        "—" if summary["overdue_pct"] is None else f"{summary['overdue_pct']:g}%".replace(".", ",")
    )
    stage = "số liệu chốt tháng" if status["final"] else f"tính đến {d:%d/%m/%Y}"
    title = (
        f"Chương trình công tác tháng {status['month']} ({stage}): {summary['total']} nội dung, "
        f"{summary['overdue']} quá hạn chưa trình ({pct}), "
        f"{summary['carried_in']} từ tháng trước, {summary['carried_over']} lùi sang tháng sau"
    )
    meta = {k: v for k, v in status.items() if k != "items"}
    emit(
        [_row(i) for i in status["items"]],
        fmt,
        columns=[
            ("code", "Mã"),
            ("title", "Nội dung"),
            ("agency", "Chủ trì"),
            ("planned", "Ngày trình"),
            ("state_label", "Tình trạng"),
        ],
        title=title,
        wide="title",
        meta=meta,
    )


@programme_app.command("show")
def show(code: CodeArg) -> None:
    """Một nội dung và lịch sử của nó qua các tháng (khi được lùi).

    Ví dụ: directives programme show CT2611-003
    """
    import json

    with unit_of_work() as s:
        detail = programme.item_history(s, code)
    typer.echo(json.dumps(detail, ensure_ascii=False, indent=2))


@programme_app.command("submit")
def submit(
    code: CodeArg,
    document: Annotated[
        str, typer.Option("--document", help="Số văn bản trình, ví dụ 245/TTr-SKHĐT.")
    ],
    on: OnOpt = None,
    as_: AsOpt = "secretariat",
) -> None:
    """Ghi nhận cơ quan đã trình UBND tỉnh nội dung này.

    Ví dụ: directives programme submit CT2611-003 --on 27/11/2026 --document 245/TTr-STNMT
    """
    rt = runtime()
    with unit_of_work() as s:
        item = programme.submit(
            s, code, on=day(on), document_number=document, actor=actor(as_), clock=rt.clock
        )
        typer.echo(f"{item.code}: đã trình ngày {item.submitted_on:%d/%m/%Y} ({document}).")


@programme_app.command("postpone")
def postpone(
    code: CodeArg,
    to_month: Annotated[str, typer.Option("--to", help="Lùi sang tháng, ví dụ 2026-12.")],
    reason: Annotated[str, typer.Option("--reason", help="Lý do lùi.")],
    planned: Annotated[
        str | None,
        typer.Option(help="Ngày trình mới (mặc định: ngày làm việc cuối tháng mới)."),
    ] = None,
    on: OnOpt = None,
    as_: AsOpt = "secretariat",
) -> None:
    """Lùi nội dung sang tháng sau; nội dung mới giữ liên kết với nội dung cũ.

    Ví dụ: directives programme postpone CT2611-012 --to 2026-12 --reason "Chờ ý kiến Bộ"
    """
    rt = runtime()
    with unit_of_work() as s:
        new = programme.postpone(
            s,
            code,
            to_month=month(to_month, option="--to"),
            on=day(on),
            reason=reason,
            actor=actor(as_),
            clock=rt.clock,
            planned_on=day(planned, option="--planned") if planned else None,
        )
        typer.echo(
            f"{code.upper()}: đã lùi sang tháng {new.month:%m/%Y} ({new.code}, "
            f"trình ngày {new.planned_on:%d/%m/%Y})."
        )


@programme_app.command("remove")
def remove(
    code: CodeArg,
    reason: Annotated[str, typer.Option("--reason", help="Lý do đưa ra khỏi chương trình.")],
    on: OnOpt = None,
    as_: AsOpt = "secretariat",
) -> None:
    """Đưa nội dung ra khỏi chương trình công tác (vẫn được liệt kê, với tình trạng đã đưa ra).

    Ví dụ: directives programme remove CT2611-011 --reason "Không còn phù hợp"
    """
    rt = runtime()
    with unit_of_work() as s:
        item = programme.remove(
            s, code, on=day(on), reason=reason, actor=actor(as_), clock=rt.clock
        )
        typer.echo(f"{item.code}: đã đưa ra khỏi chương trình ngày {item.removed_on:%d/%m/%Y}.")
