"""Loading the sample province (examples/) and replaying a history file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from directives.cli._common import actor, runtime, unit_of_work
from directives.importing import (
    read_agency_rows,
    read_leader_rows,
    read_officer_rows,
    read_task_rows,
)
from directives.programme import parse_month
from directives.services import intake, programme, registry, users
from directives.services.history import apply_history, read_history
from directives.workflow import Actor, Role

sample_app = typer.Typer(help="Dữ liệu mẫu của tỉnh Bình An (hư cấu).", no_args_is_help=True)
history_app = typer.Typer(help="Diễn biến nhiệm vụ từ tệp.", no_args_is_help=True)

DEFAULT_DIR = Path("examples")


@sample_app.command("load")
def sample_load(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="THƯ_MỤC", help="Thư mục dữ liệu mẫu.", exists=True, file_okay=False
        ),
    ] = DEFAULT_DIR,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Chỉ nạp khi chưa có nhiệm vụ.")
    ] = False,
) -> None:
    """Nạp đơn vị, lãnh đạo, chuyên viên, văn bản và diễn biến mẫu.

    Ví dụ: directives sample load examples
    """
    rt = runtime()
    system = Actor(Role.SYSTEM, "dữ liệu mẫu")
    with unit_of_work() as s:
        if if_empty and intake.task_count(s):
            typer.echo("Đã có dữ liệu; không nạp lại dữ liệu mẫu.")
            return
        registry.upsert_agencies(s, read_agency_rows(directory / "agencies.csv"))
        registry.upsert_leaders(s, read_leader_rows(directory / "leaders.csv"))
        registry.upsert_officers(s, read_officer_rows(directory / "officers.csv"))
        rows = read_task_rows(directory / "directives.csv")
        batch = intake.directives_from_rows(rows)
        intake.issue_directives(s, batch, actor=system, clock=rt.clock, source="directives.csv")
        s.flush()
        events = 0
        progress = directory / "progress.csv"
        if progress.exists():
            events = apply_history(s, read_history(progress, s), actor=system, clock=rt.clock)
        items = 0
        # programme-YYYY-MM.csv: that month's work programme, adopted the day before it starts.
        for path in sorted(directory.glob("programme-*.csv")):
            month = parse_month(path.stem.removeprefix("programme-"))
            adopted = month - timedelta(days=1)
            office = Actor(Role.SECRETARIAT, "dữ liệu mẫu")
            items += len(
                programme.import_file(s, path, month, actor=office, clock=rt.clock, on=adopted)
            )
        demo = users.create_demo_users(s, clock=rt.clock)
    typer.echo(
        f"Đã nạp dữ liệu mẫu: {len(batch)} văn bản, {len(rows)} nhiệm vụ, {events} diễn biến, "
        f"{items} nội dung chương trình công tác."
    )
    if demo:
        typer.echo(f"Tài khoản dùng thử: {', '.join(d.username for d in demo)}.")


@history_app.command("import")
def history_import(
    path: Annotated[
        Path,
        typer.Argument(metavar="TỆP", help="CSV hoặc XLSX diễn biến.", exists=True, dir_okay=False),
    ],
    as_: Annotated[str, typer.Option("--as", help="Ai ghi nhận.")] = "secretariat",
) -> None:
    """Ghi lại diễn biến (nhận, báo cáo, xác nhận, gia hạn…) theo thứ tự trong tệp.

    Ví dụ: directives history import examples/progress.csv
    """
    with unit_of_work() as s:
        n = apply_history(s, read_history(path, s), actor=actor(as_), clock=runtime().clock)
    typer.echo(f"Đã ghi {n} diễn biến.")
