"""Read-only statements of one report run side by side, each on its own connection.

Only on PostgreSQL, only when the caller's transaction has written nothing (other connections
would not see it), and only when the working-day index is already committed: a worker that found
it stale would try to rebuild it while the caller's transaction holds the rebuild. Under read
committed every statement takes its own snapshot anyway, so separate connections see what
consecutive statements in one transaction would. On SQLite (and whenever a check fails) the jobs
run one after the other in the caller's session.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from directives.db.tables import EngineMeta
from directives.services.calendar import INDEX_KEY, fingerprint, load_calendar

T = TypeVar("T")
WORKERS = 2


class Runner:
    """Submit ``job(session)`` callables; ``result`` waits for one."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.engine: Engine | None = None
        bind = session.get_bind()
        if (
            isinstance(bind, Engine)
            and bind.dialect.name == "postgresql"
            # A transaction is given an id at its first write: none means nothing to miss.
            and session.scalar(text("SELECT pg_current_xact_id_if_assigned()")) is None
        ):
            cal = load_calendar(session)
            with Session(bind=bind) as fresh:
                meta = fresh.get(EngineMeta, INDEX_KEY)
                if meta is not None and meta.value == fingerprint(cal):
                    self.engine = bind
        self.pool = ThreadPoolExecutor(WORKERS) if self.engine is not None else None

    def submit(self, job: Callable[[Session], T]) -> Future[T]:
        """Start ``job`` (or run it now, in the caller's session, when not concurrent)."""
        if self.pool is None:
            done: Future[T] = Future()
            done.set_result(job(self.session))
            return done
        engine = self.engine

        def run() -> T:
            with Session(bind=engine) as own:
                return job(own)

        return self.pool.submit(run)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
