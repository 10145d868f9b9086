"""At most as many requests at work as the database pool has connections; the rest wait in turn.

FastAPI runs a request's sync dependencies and its route as separate steps on a pool of 40
threads. A request holds its database connection from its first step to its last; under load
the 40 threads fill with requests waiting for a connection, while the requests holding the
connections wait for a thread to finish on: nothing moves until the pool's 30-second timeout
fails them with 500s (found by ``bench/load.py``: 200 users, 201 server errors). Queued here, in
the event loop, before any step starts, a request waits its turn instead, and every request
gets its answer. Static files do not touch the database and are not queued.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine, QueuePool
from starlette.types import ASGIApp, Receive, Scope, Send

# Connections kept for what shares the engine besides the pages: the embedded scheduler's jobs
# (the dispatcher holds two: its claims and its settlements) and the login throttle.
RESERVED = 3


def capacity(engine: Engine) -> int:
    """How many requests may work at once on ``engine``: its pool, less the reserve."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):  # no bound (NullPool, StaticPool…): QueuePool's default
        return 15 - RESERVED
    # (no public getter for the overflow)
    return max(1, pool.size() + max(pool._max_overflow, 0) - RESERVED)


class RequestGate:
    """ASGI middleware: ``limit`` requests at most reach the app at a time, in arrival order."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None  # made in the server's event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)
