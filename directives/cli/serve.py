"""``directives serve``: the web app and the embedded scheduler in one process."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from directives.cli._common import runtime, unit_of_work
from directives.errors import Conflict
from directives.runtime import Runtime
from directives.services import intake, users

SAMPLE_DIR = Path("examples")


def _upgrade(rt: Runtime) -> None:
    from directives.db import migrate  # alembic is only needed here
    from directives.services import calendar as cal_service

    migrate.upgrade(rt.engine)
    with rt.unit_of_work() as s:
        cal_service.ensure_index(s)


def _load_sample_if_empty(directory: Path) -> None:
    from directives.cli.sample import sample_load

    with unit_of_work() as s:
        if intake.task_count(s):
            return
    if not (directory / "directives.csv").exists():
        typer.echo(f"Không thấy dữ liệu mẫu ở {directory}/; bỏ qua bước nạp dữ liệu mẫu.")
        return
    sample_load(directory, if_empty=True)


def _start_scheduler(rt: Runtime, stack: ExitStack) -> Any:
    """The embedded scheduler in a background thread, holding the one-scheduler lock."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from flows.embedded import add_jobs, single_scheduler  # an entry point composes the jobs
    from flows.schedule import TIMEZONE

    try:
        stack.enter_context(single_scheduler(rt))
    except Conflict as exc:
        typer.echo(f"Không chạy bộ lập lịch: {exc}.")
        return None
    scheduler = BackgroundScheduler(timezone=ZoneInfo(TIMEZONE))
    add_jobs(scheduler, rt)
    scheduler.start()
    stack.callback(scheduler.shutdown, wait=False)
    return scheduler


def _banner(rt: Runtime, host: str, port: int, scheduler: bool) -> None:
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    typer.echo(f"Ứng dụng web: http://{shown}:{port}/")
    if rt.settings.app_url:
        typer.echo(f"Địa chỉ công khai (DIRECTIVES_APP_URL): {rt.settings.app_url}")
    typer.echo(f"Cơ sở dữ liệu: {rt.engine.url.render_as_string(hide_password=True)}")
    typer.echo("Bộ lập lịch nhúng: " + ("đang chạy" if scheduler else "không chạy"))
    if not rt.settings.smtp_url:
        typer.echo(f"Thư được ghi thành tệp .eml trong {rt.settings.mail_dir}/ (xem ở trang Thư).")
    with rt.unit_of_work() as s:
        demo = users.demo_logins(s)
    if demo:
        typer.echo(f"Tài khoản dùng thử (mật khẩu: {users.DEMO_PASSWORD}):")
        for username, name in demo:
            typer.echo(f"  {username:<10} {name}")
    typer.echo("Nhấn Ctrl+C để dừng.")


def serve(
    host: Annotated[str, typer.Option(help="Địa chỉ lắng nghe.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Cổng.", min=1, max=65535)] = 8000,
    scheduler: Annotated[
        bool, typer.Option("--scheduler/--no-scheduler", help="Chạy bộ lập lịch nhúng.")
    ] = True,
    sample: Annotated[
        bool | None,
        typer.Option(
            "--sample/--no-sample",
            help="Nạp dữ liệu mẫu khi chưa có nhiệm vụ (mặc định: có, với SQLite mặc định).",
        ),
    ] = None,
    sample_dir: Annotated[
        Path, typer.Option("--sample-dir", help="Thư mục dữ liệu mẫu.", file_okay=False)
    ] = SAMPLE_DIR,
) -> None:
    """Chạy ứng dụng web (và bộ lập lịch nhúng) trên một tiến trình.

    Ví dụ: directives serve --port 8000
    """
    import uvicorn

    from directives.web import create_app

    rt = runtime()
    _upgrade(rt)
    if sample if sample is not None else not rt.settings.database_url:
        _load_sample_if_empty(sample_dir)
    with ExitStack() as stack:
        running = _start_scheduler(rt, stack) if scheduler else None
        # After the set-up, so the banner is not buried; the jobs' runs are logged from here on.
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        _banner(rt, host, port, running is not None)
        uvicorn.run(
            create_app(rt),
            host=host,
            port=port,
            proxy_headers=True,
            log_level="info",
            server_header=False,
        )
