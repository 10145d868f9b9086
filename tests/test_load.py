"""The load benchmark's machinery at CI size: 20 users for 20 s on a small national-style register
(10,000 tasks) while two chases, an escalation and a dispatch run as their own processes.

The same code as ``python -m bench.load`` (uvicorn on loopback, PostgreSQL, the real forms with
their CSRF tokens); the run must answer every page without an error and lose or double no notice.
"""

from __future__ import annotations

import pytest

from bench import load
from tests.conftest import PG_ADMIN_URL, UNDER_CI, _pg_available

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# What every run visits: each user walks its role's tour before its random steps.
PAGES = {
    "login form",
    "login",
    "home (redirect)",
    "logout",
    "inbox",
    "inbox task",
    "final report",
    "register (clerk)",
    "register (office)",
    "register search",
    "task page",
    "desk queue",
    "dashboard",
    "dashboard chart",
}


@pytest.fixture(scope="module")
def result() -> dict[str, object]:
    """One small load run (about 40 s)."""
    why = _pg_available()
    if why is not None:
        if UNDER_CI:
            pytest.fail(f"CI requires PostgreSQL: {why}")
        pytest.skip(why)
    cfg = load.Config(
        users=20,
        seconds=20,
        scale="province",
        tasks=10_000,
        pg_admin=PG_ADMIN_URL,
        workers=1,
        think=0.5,
        timeout=60.0,
    )
    return load.run(cfg)


def test_twenty_users_get_every_page_without_an_error(result: dict[str, object]) -> None:
    pages = result["pages"]
    errors = result["errors"]
    assert isinstance(pages, dict)
    assert isinstance(errors, dict)
    assert errors["total"] == 0, errors["first"]
    assert set(pages) >= PAGES, PAGES - set(pages)
    assert all(p["count"] >= 1 and p["errors"] == 0 for p in pages.values())
    assert {"acknowledge", "progress report"} & set(pages)


def test_the_chase_under_load_loses_and_doubles_no_notice(result: dict[str, object]) -> None:
    check = result["check"]
    jobs = result["jobs"]
    assert isinstance(check, dict)
    assert isinstance(jobs, list)
    assert [j["rc"] for j in jobs] == [0] * len(jobs)
    assert check["recorded"] > 0
    assert check["messages"] > 0
    assert check["lost"] == dict.fromkeys(check["lost"], 0)
    assert check["doubled"] == dict.fromkeys(check["doubled"], 0)
    assert check["ok"]


def test_the_second_chase_of_the_day_records_nothing(result: dict[str, object]) -> None:
    jobs = result["jobs"]
    assert isinstance(jobs, list)
    first = [j for j in jobs if j["job"] == "chase" and j["round"] == 1]
    second = [j for j in jobs if j["round"] == 2 and j["job"] in ("chase", "escalate")]
    assert len(first) == 2  # two schedulers at once
    assert all("summary" in j for j in first + second), [*first, *second]
    assert sum(sum(j["summary"]["notices"].values()) for j in first) > 0
    assert min(sum(j["summary"]["notices"].values()) for j in first) == 0
    assert all(j["summary"]["notices"] == {} for j in second)
