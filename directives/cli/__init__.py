"""The ``directives`` command line."""

from __future__ import annotations

import typer

from directives.cli import (
    admin,
    letter,
    outbox,
    programme,
    report,
    run,
    sample,
    serve,
    stats,
    tasks,
    tokens,
    users,
)
from directives.cli._common import run_guarded

app = typer.Typer(
    help="Theo dõi nhiệm vụ do lãnh đạo UBND tỉnh giao đến khi hoàn thành.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.calendar_app, name="calendar")
app.add_typer(admin.agencies_app, name="agencies")
app.add_typer(admin.leaders_app, name="leaders")
app.add_typer(admin.officers_app, name="officers")
app.add_typer(tasks.tasks_app, name="tasks")
app.add_typer(tasks.extend_app, name="extend")
app.add_typer(sample.sample_app, name="sample")
app.add_typer(outbox.outbox_app, name="outbox")
app.add_typer(sample.history_app, name="history")
app.add_typer(report.report_app, name="report")
app.add_typer(programme.programme_app, name="programme")
app.add_typer(users.users_app, name="users")
app.add_typer(tokens.tokens_app, name="tokens")
app.command("import")(tasks.import_file)
app.command("ack")(tasks.ack)
app.command("progress")(tasks.report)
app.command("confirm")(tasks.confirm)
app.command("return")(tasks.return_)
app.command("pause")(tasks.pause)
app.command("resume")(tasks.resume)
app.command("cancel")(tasks.cancel)
app.command("stats")(stats.stats)
app.command("letter")(letter.letter)
app.command("run")(run.run_job)
app.command("scheduler")(run.scheduler)
app.command("serve")(serve.serve)


def main(args: list[str] | None = None) -> None:
    """Entry point of the ``directives`` console script (``args`` default to ``sys.argv``)."""
    run_guarded(app, args)
