"""Backup and restore of the whole database: SQLite's online backup API, PostgreSQL's pg_dump.

A backup is written beside its target and renamed into place once complete, so a failed or
interrupted backup never leaves a file that looks whole. A restore checks what it is given
first (a SQLite file, or a pg_dump archive), refuses a backup made by a newer version of the
engine, replaces every table in one step (SQLite: one backup-API copy onto the live file;
PostgreSQL: ``pg_restore --clean --single-transaction``), then brings the schema up to date.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from directives.errors import InvalidInput

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


def _sqlite_path(engine: Engine) -> Path:
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:":
        raise InvalidInput("cơ sở dữ liệu SQLite trong bộ nhớ không sao lưu được")
    return Path(database)


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """The engine's URL as pg_dump reads it (no ``+driver``, no password) and the environment
    that carries the password: a command line is visible to every local user (``ps``)."""
    url = make_url(engine.url.render_as_string(hide_password=False))
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    bare = url.set(drivername="postgresql", password=None)
    return bare.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise InvalidInput(
            f"không tìm thấy lệnh {name}: cài gói postgresql-client cùng phiên bản máy chủ"
        )
    return found


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise InvalidInput(f"{Path(argv[0]).name} thất bại: {done.stderr.strip()[-500:]}")


def backup(engine: Engine, target: Path) -> Path:
    """Write a complete copy of the database to ``target``; returns it."""
    target = target.expanduser().resolve()
    if target.exists():
        raise InvalidInput(f"{target}: tệp đã có; chọn tên khác hoặc xóa tệp cũ")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if engine.dialect.name == "sqlite":
            source = _sqlite_path(engine)
            try:
                with (
                    closing(sqlite3.connect(source)) as src,
                    closing(sqlite3.connect(partial)) as dst,
                ):
                    src.backup(dst)  # consistent even while the app writes
            except sqlite3.Error as exc:
                raise InvalidInput(f"{target}: không ghi được bản sao lưu: {exc}") from None
        elif engine.dialect.name == "postgresql":
            url, env = _libpq(engine)
            _run([_tool("pg_dump"), "--format=custom", f"--file={partial}", url], env)
        else:
            raise InvalidInput(f"không hỗ trợ sao lưu cơ sở dữ liệu {engine.dialect.name}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _check_kind(engine: Engine, source: Path) -> None:
    if not source.is_file():
        raise InvalidInput(f"{source}: không có tệp sao lưu này")
    with source.open("rb") as fh:
        head = fh.read(16)
    expected = SQLITE_MAGIC if engine.dialect.name == "sqlite" else PGDUMP_MAGIC
    if not head.startswith(expected):
        kind = "SQLite" if engine.dialect.name == "sqlite" else "pg_dump (--format=custom)"
        raise InvalidInput(f"{source}: không phải bản sao lưu {kind}")


def _revision_of_sqlite_file(path: Path) -> str | None:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise InvalidInput(f"{path}: tệp SQLite không đọc được: {exc}") from None
    return str(row[0]) if row else None


def _revision_of_pg_archive(path: Path) -> str | None:
    """The schema revision inside a pg_dump archive (its alembic_version row), unrestored."""
    done = subprocess.run(
        [_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise InvalidInput(f"{path}: pg_restore không đọc được tệp: {done.stderr.strip()[-300:]}")
    lines = done.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and i + 1 < len(lines):
            value = lines[i + 1].strip()
            return None if value == "\\." else value
    return None


def _check_revision(revision: str | None, source: Path) -> None:
    from directives.db import migrate

    known = migrate.known_revisions()
    if revision is None or revision not in known:
        raise InvalidInput(
            f"{source}: bản sao lưu ở phiên bản {revision or 'không rõ'} mà phần mềm này không "
            "biết (bản mới hơn?): hãy cập nhật phần mềm trước khi khôi phục"
        )


def restore(engine: Engine, source: Path) -> str | None:
    """Replace the database's content with the backup's; returns the schema revision after."""
    from directives.db import migrate

    source = source.expanduser().resolve()
    _check_kind(engine, source)
    if engine.dialect.name == "sqlite":
        _check_revision(_revision_of_sqlite_file(source), source)
        engine.dispose()
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
            closing(sqlite3.connect(_sqlite_path(engine))) as dst,
        ):
            src.backup(dst)
    else:
        _check_revision(_revision_of_pg_archive(source), source)
        engine.dispose()  # its idle connections would hold prepared plans of the old tables
        url, env = _libpq(engine)
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={url}",
                str(source),
            ],
            env,
        )
    migrate.upgrade(engine)
    return migrate.current_revision(engine)
