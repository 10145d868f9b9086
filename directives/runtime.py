"""The composition root: engine, session factory and clock built from settings, in one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from directives.clock import Clock, FixedClock, SystemClock
from directives.db.engine import make_engine, make_session_factory
from directives.settings import Settings


@dataclass
class Runtime:
    """Everything a CLI command, web request or flow needs; built once per process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, clock: Clock | None = None
    ) -> Runtime:
        """Build the runtime; connects lazily (nothing happens until first use)."""
        settings = settings or Settings()
        engine = make_engine(settings.resolved_database_url)
        if clock is None:
            clock = FixedClock(settings.now) if settings.now else SystemClock()
        return cls(settings, engine, make_session_factory(engine), clock)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session whose work is committed only if the block finishes without an error."""
        with self.sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()
