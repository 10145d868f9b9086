"""Engine construction: SQLite gets WAL, foreign keys and a busy timeout on every connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # The default 2 MB page cache rereads a register of 100,000 tasks from the OS on every page
    # view; 64 MB per connection and memory-mapped reads take a fifth off the register query.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; creates the SQLite file's folder if needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            # check_same_thread off: the dispatcher settles messages from worker threads; the
            # pool still hands each connection to one thread at a time.
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # JIT off: the register's grid CASE looks expensive to the planner, which then spends
    # seconds compiling a query that runs in a hundred milliseconds (measured in bench/).
    # Custom plans only: after five runs PostgreSQL may switch a statement to a generic plan,
    # and the period figures' generic plan (the working-day ordinals as an array parameter)
    # ran for minutes where the custom one takes two seconds (measured in bench/reports.py).
    connect_args = {"options": "-c jit=off -c plan_cache_mode=force_custom_plan"}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
