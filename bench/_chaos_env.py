"""What every trial of a chaos run shares: the databases to copy, the registry, the API token.

Each trial gets a fresh database: a copy of a SQLite file, or ``CREATE DATABASE … TEMPLATE`` on
the private PostgreSQL cluster, both migrated to head with the working-day index, the example
province's agencies, leaders and officers, and one API token for the office. This set-up is
not under chaos: it is what ``directives db upgrade`` and the registry imports leave behind.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench._chaos_pg import PrivateCluster
from bench._chaos_scenario import EXAMPLES, IMPORT_DAY, Registry
from directives.calendar import WorkingCalendar
from directives.clock import FixedClock
from directives.db import migrate
from directives.db.engine import make_engine, make_session_factory
from directives.importing import read_agency_rows, read_leader_rows, read_officer_rows
from directives.services import api_tokens, registry
from directives.services.calendar import ensure_index, load_calendar

TEMPLATE = "chaos_template"


def _prepare(url: str) -> str:
    """Migrate, index the calendar, load the registry; returns an office API token."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    with make_session_factory(engine)() as s, s.begin():
        ensure_index(s)
        registry.upsert_agencies(s, read_agency_rows(EXAMPLES / "agencies.csv"))
        registry.upsert_leaders(s, read_leader_rows(EXAMPLES / "leaders.csv"))
        registry.upsert_officers(s, read_officer_rows(EXAMPLES / "officers.csv"))
        _, token = api_tokens.create_token(
            s,
            name="qlvb",
            scope=api_tokens.Scope.parse("secretariat"),
            clock=FixedClock.on(IMPORT_DAY),
        )
    engine.dispose()
    return token


class ChaosEnv:
    """The shared set-up of a run: templates, the private cluster (if any), the registry."""

    def __init__(self, folder: Path, *, postgres: bool) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.registry = Registry.examples()
        self.sqlite_template = folder / "template.sqlite3"
        self.tokens = {"sqlite": _prepare(f"sqlite:///{self.sqlite_template}")}
        engine = make_engine(f"sqlite:///{self.sqlite_template}")
        with make_session_factory(engine)() as s:
            self.calendar: WorkingCalendar = load_calendar(s)
        engine.dispose()
        self.cluster: PrivateCluster | None = None
        if postgres:
            self.cluster = PrivateCluster()
            self.tokens["postgres"] = _prepare(self.cluster.create_database(TEMPLATE))
        self._made = 0
        self.work: dict[str, float] = {}  # how long each command works, learnt across trials

    def database(self, backend: str, folder: Path) -> str:
        """A fresh database for one trial; for SQLite the file goes into ``folder``."""
        self._made += 1
        if backend == "sqlite":
            target = folder / "directives.sqlite3"
            shutil.copy(self.sqlite_template, target)
            return f"sqlite:///{target}"
        if self.cluster is None:
            raise RuntimeError("this chaos run has no PostgreSQL cluster")
        return self.cluster.create_database(f"chaos_{self._made}", template=TEMPLATE)

    def close(self) -> None:
        """Stop the private cluster and remove the shared files."""
        if self.cluster is not None:
            self.cluster.close()
        shutil.rmtree(self.folder, ignore_errors=True)
