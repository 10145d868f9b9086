"""More requests at once than the database pool has connections: each waits its turn, none fails.

Without ``web.gate``, FastAPI's 40 threads fill with requests waiting for a connection while
the requests holding the connections wait for a thread, until the pool's timeout answers 500
(``bench/load.py`` found it with 200 users). Here the pool has two connections and answers
a wait of more than two seconds with an error, and 60 requests arrive together.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from directives.clock import FixedClock
from directives.db.engine import make_engine, make_session_factory
from directives.runtime import Runtime
from directives.settings import Settings
from directives.web import create_app
from directives.web.gate import capacity
from tests.test_web import seed, signed_in


def test_a_crowd_larger_than_the_pool_waits_its_turn_and_every_request_is_answered(
    database_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    engine = make_engine(database_url, pool_size=2, max_overflow=0, pool_timeout=2)
    rt = Runtime(
        Settings(database_url=database_url, var_dir=tmp_path / "var"),
        engine,
        make_session_factory(engine),
        clock,
    )
    try:
        world = seed(rt)
        cookies = signed_in(rt, "vanphong").cookies
        assert capacity(engine) == 1
        app = create_app(rt)
        paths = ["/tasks", f"/tasks/{world.overdue}", "/tasks?status=overdue"] * 20

        async def crowd() -> list[int]:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", cookies=cookies
            ) as browser:
                answers = await asyncio.gather(*(browser.get(p) for p in paths))
            return [a.status_code for a in answers]

        assert asyncio.run(crowd()) == [200] * len(paths)
    finally:
        rt.close()
