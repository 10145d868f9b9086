"""Shared fixtures: a real database per test on SQLite and on PostgreSQL, and a fixed clock.

Every test that takes ``rt`` runs twice, once per backend. Without a reachable PostgreSQL the
PostgreSQL half is skipped with the reason, except under CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from directives.clock import FixedClock
from directives.db import migrate
from directives.db.engine import make_engine, make_session_factory
from directives.db.tables import Base
from directives.runtime import Runtime
from directives.services.calendar import ensure_index
from directives.settings import Settings

PG_ADMIN_URL = os.environ.get(
    "DIRECTIVES_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SAMPLE_DAY = date(2026, 11, 26)


def _pg_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "not available"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head, dropped at the end."""
    why = _pg_available()
    if why is not None:
        if UNDER_CI:
            pytest.fail(f"CI requires PostgreSQL: {why}")
        pytest.skip(why)
    name = f"directives_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    _migrate_and_index(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _migrate_and_index(f"sqlite:///{path}")
    return path


def _migrate_and_index(url: str) -> None:
    """Migrate to head and build the working-day index once, as `db upgrade` does."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    with make_session_factory(engine)() as session, session.begin():
        ensure_index(session)
    engine.dispose()


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    kept = {"calendar_days", "engine_meta"}  # the working-day index survives between tests
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables if t.name not in kept)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "directives.sqlite3"
        shutil.copy(template, target)
        yield f"sqlite:///{target}"
        return
    url: str = request.getfixturevalue("pg_url")
    _truncate_all(url)
    yield url


@pytest.fixture
def clock() -> FixedClock:
    """The sample day, 09:00 in Hanoi."""
    return FixedClock.on(SAMPLE_DAY)


@pytest.fixture
def rt(database_url: str, clock: FixedClock, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on a fresh database with a fixed clock."""
    settings = Settings(database_url=database_url, var_dir=tmp_path / "var")
    engine = make_engine(database_url)
    runtime = Runtime(settings, engine, make_session_factory(engine), clock)
    yield runtime
    runtime.close()
