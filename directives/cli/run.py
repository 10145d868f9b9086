"""Running a scheduled job by hand, for any day."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from directives.cli._common import day, runtime

JOB_NAMES = ("chase", "escalate", "dispatch", "recurring", "digest", "programme")


def run_job(
    job: Annotated[
        str,
        typer.Argument(
            metavar="VIỆC", help="chase, escalate, dispatch, recurring, digest hoặc programme."
        ),
    ],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Chạy như vào ngày (mặc định: hôm nay).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Chỉ cho biết sẽ làm gì, không ghi gì.")
    ] = False,
) -> None:
    """Chạy một việc định kỳ: đôn đốc, vượt cấp, báo cáo tuần, chương trình công tác, gửi thư.

    Ví dụ: directives run chase --as-of 26/11/2026 --dry-run
    """
    if job not in JOB_NAMES:
        from directives.errors import InvalidInput

        raise InvalidInput(f"việc {job!r} không có; dùng một trong: {', '.join(JOB_NAMES)}")
    from flows.jobs import JOBS  # an entry point composes the jobs; the domain does not

    summary = JOBS[job](runtime(), as_of=day(as_of, option="--as-of"), dry_run=dry_run)
    typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))


def scheduler(
    wait: Annotated[
        bool, typer.Option("--wait", help="Chờ nếu đã có bộ lập lịch khác chạy.")
    ] = False,
) -> None:
    """Chạy bộ lập lịch nhúng (đôn đốc, vượt cấp, gửi thư theo lịch) ở tiền cảnh.

    Ví dụ: directives scheduler
    """
    import logging

    from flows.embedded import run_forever  # an entry point composes the jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    typer.echo("Bộ lập lịch đang chạy (Ctrl+C để dừng).")
    try:
        run_forever(runtime(), wait=wait)
    except KeyboardInterrupt:
        typer.echo("Đã dừng bộ lập lịch.")
