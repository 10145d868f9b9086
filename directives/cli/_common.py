"""What every command shares: the runtime, dates from the command line, actors, errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum

import typer
from sqlalchemy.exc import DataError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from directives.clock import today
from directives.errors import DirectivesError, InvalidInput
from directives.importing import parse_date
from directives.runtime import Runtime
from directives.workflow import Actor, Role


class Format(StrEnum):
    """Output formats of listings."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """The process's runtime, built on first use from the environment."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime.from_settings()
    return _runtime


def set_runtime(rt: Runtime | None) -> None:
    """Replace the runtime (tests build one on their own database)."""
    global _runtime
    _runtime = rt


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A committed-on-success session of the runtime."""
    with runtime().unit_of_work() as session:
        yield session


def day(value: str | None, *, option: str = "--on") -> date:
    """A date given on the command line (DD/MM/YYYY or YYYY-MM-DD); default today."""
    if value is None:
        return today(runtime().clock)
    try:
        return parse_date(value)
    except ValueError as exc:
        raise InvalidInput(f"{option} {value!r}: {exc}") from None


def actor(spec: str, name: str = "") -> Actor:
    """``secretariat`` (default), ``agency:CODE`` or ``leader:CODE``."""
    role, _, code = spec.partition(":")
    try:
        r = Role(role)
    except ValueError:
        raise InvalidInput(f"--as {spec!r}: dùng secretariat, agency:MÃ hoặc leader:MÃ") from None
    if r in (Role.AGENCY, Role.LEADER) and not code:
        raise InvalidInput(f"--as {spec!r}: thiếu mã sau dấu hai chấm")
    upper = code.upper() or None
    return Actor(
        r,
        name,
        agency=upper if r is Role.AGENCY else None,
        leader=upper if r is Role.LEADER else None,
    )


def fail(message: str, code: int = 1) -> None:
    """Print one line to stderr and exit with ``code``."""
    typer.secho(f"Lỗi: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def run_guarded(app: typer.Typer, args: list[str] | None = None) -> None:
    """Run the Typer app; the engine's errors become one line and an exit code."""
    try:
        result = app(args=args, standalone_mode=False)
        if isinstance(result, int) and result:
            sys.exit(result)
    except DirectivesError as exc:
        _report(str(exc), exc.exit_code)
        for extra in getattr(exc, "errors", [])[1:20]:
            typer.secho(f"  {extra}", err=True)
        sys.exit(exc.exit_code)
    except (OperationalError, ProgrammingError) as exc:
        _report(f"cơ sở dữ liệu: {exc.orig}. {_database_hint(str(exc.orig))}", 6)
        sys.exit(6)
    except (DataError, OverflowError) as exc:  # a number past what it holds, a NUL in a text…
        detail = exc.orig if isinstance(exc, DataError) else exc
        _report(f"giá trị không lưu được: {str(detail).splitlines()[0]}", 2)
        sys.exit(2)
    except OSError as exc:  # a path too long, a folder it cannot write…
        where = f": {exc.filename}" if exc.filename else ""
        _report(f"{exc.strerror or exc}{where}"[:400], 1)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except typer.TyperException as exc:  # usage errors: a bad option or a missing argument
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            _report(exc.format_message(), exc.exit_code)
        sys.exit(exc.exit_code)


def _database_hint(error: str) -> str:
    """What to do about a database error: a full disk is not a missing migration."""
    if any(word in error.lower() for word in ("disk", "is full", "no space")):
        # SQLite's "database or disk is full" / "disk I/O error", PostgreSQL's "No space left
        # on device": what was not committed was rolled back, so a rerun once there is space
        # finishes the work.
        return "Ổ đĩa đầy hoặc không ghi được: giải phóng chỗ trống rồi chạy lại lệnh."
    return "Đã chạy 'directives db upgrade' chưa?"


def _report(message: str, code: int) -> None:
    typer.secho(f"Lỗi: {message}", fg=typer.colors.RED, err=True)
