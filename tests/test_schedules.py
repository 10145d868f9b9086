"""prefect.yaml and the embedded scheduler run the same jobs on the same schedules, daily."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from directives.errors import Conflict
from directives.runtime import Runtime
from flows import embedded, jobs, prefect_flows
from flows.schedule import SCHEDULES, TIMEZONE

ROOT = Path(__file__).resolve().parents[1]
VN = ZoneInfo(TIMEZONE)


def deployments() -> dict[str, dict]:
    data = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    return {d["name"]: d for d in data["deployments"]}


def test_prefect_yaml_declares_every_job_as_the_embedded_scheduler_runs_it() -> None:
    declared = deployments()
    assert set(declared) == {s.job for s in SCHEDULES} == set(jobs.JOBS)
    for s in SCHEDULES:
        d = declared[s.job]
        path, _, name = d["entrypoint"].partition(":")
        assert (ROOT / path).exists()
        assert getattr(prefect_flows, name) is prefect_flows.FLOWS[s.job]
        assert d["work_pool"]["name"] == "directives"
        assert d["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
        (schedule,) = d["schedules"]
        assert (schedule["cron"], schedule["timezone"], schedule["slug"]) == (
            s.cron,
            TIMEZONE,
            s.slug,
        )
        assert schedule["cron"].split()[4] == "*"  # never a numeric weekday field


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.job)
def test_every_schedule_fires_every_day_including_weekends_in_hanoi_time(schedule) -> None:
    trig = embedded.trigger(schedule.cron)
    assert str(trig.timezone) == TIMEZONE
    start = datetime(2026, 11, 27, 23, 0, tzinfo=VN)  # a Friday night
    fired, previous, now = set(), None, start
    while now < start + timedelta(days=3):
        nxt = trig.get_next_fire_time(previous, now)
        assert nxt is not None
        fired.add(nxt.astimezone(VN).strftime("%a"))
        previous, now = nxt, nxt + timedelta(seconds=1)
    assert {"Sat", "Sun", "Mon"} <= fired


def test_embedded_jobs_are_registered_with_grace_and_coalescing(rt: Runtime) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone=VN)
    embedded.add_jobs(scheduler, rt)
    registered = {j.id: j for j in scheduler.get_jobs()}
    assert set(registered) == {s.slug for s in SCHEDULES}
    for j in registered.values():
        assert j.misfire_grace_time == embedded.MISFIRE_GRACE
        assert j.coalesce is True
        assert j.max_instances == 1


def test_a_second_scheduler_on_the_same_database_is_refused(rt: Runtime) -> None:
    other = Runtime.from_settings(rt.settings)
    try:
        with (
            embedded.single_scheduler(rt),
            pytest.raises(Conflict, match="bộ lập lịch khác"),
            embedded.single_scheduler(other),
        ):
            pass
        with embedded.single_scheduler(other):  # released: now it may run
            pass
    finally:
        other.close()
