"""Replay a quarter of the sample province day by day and hold every notice to DESIGN.md.

The sample has acknowledgements, late reports, returned reports, an extension approved and one
rejected, a deadline on a holiday and standing tasks. Each day its events are applied, then the
chase and escalation jobs run; the notices they record must be exactly those the pure rules
say are due and not yet recorded. Then again with a twelve-day outage: the catch-up sends only
the latest threshold of each repeating rule and each escalation once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from directives.db.outbox_tables import Notice, OutboxMessage
from directives.db.tables import Task
from directives.importing import (
    read_agency_rows,
    read_leader_rows,
    read_officer_rows,
    read_task_rows,
)
from directives.policy import Policy
from directives.reminders import due_notices
from directives.runtime import Runtime
from directives.services import intake, queries, registry
from directives.services.calendar import load_calendar
from directives.services.history import HistoryRow, apply_history, read_history
from directives.workflow import Actor, Role
from flows import jobs

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SYSTEM = Actor(Role.SYSTEM, "phát lại")
START, END = date(2026, 8, 3), date(2026, 10, 30)


def _load(rt: Runtime) -> dict[date, list[HistoryRow]]:
    with rt.unit_of_work() as s:
        registry.upsert_agencies(s, read_agency_rows(EXAMPLES / "agencies.csv"))
        registry.upsert_leaders(s, read_leader_rows(EXAMPLES / "leaders.csv"))
        registry.upsert_officers(s, read_officer_rows(EXAMPLES / "officers.csv"))
        batch = intake.directives_from_rows(read_task_rows(EXAMPLES / "directives.csv"))
        intake.issue_directives(s, batch, actor=SYSTEM, clock=rt.clock)
        s.flush()
        rows = read_history(EXAMPLES / "progress.csv", s)
    by_day: dict[date, list[HistoryRow]] = defaultdict(list)
    for r in rows:
        by_day[r.on].append(r)
    return by_day


def _expected(rt: Runtime, day: date, recorded: set[tuple[str, int, str, int]]) -> set[tuple]:
    out = set()
    with rt.unit_of_work() as s:
        cal = load_calendar(s)
        tasks = list(s.scalars(select(Task).where(Task.assigned_on <= day)))
        facts = queries.load_facts(s, tasks)
        for t in tasks:
            task = queries.open_task_as_of(t, facts[t.id], day, cal)
            if task is None:
                continue
            deadline = task.deadline
            for rule, threshold in due_notices(task, day, cal, Policy()):
                key = (rule, t.id, deadline.isoformat() if deadline else "", threshold)
                if key not in recorded:
                    out.add(key)
    return out


def _recorded_on(rt: Runtime, day: date) -> set[tuple]:
    with rt.unit_of_work() as s:
        return {
            (n.rule, n.task_id, n.deadline_key, n.threshold)
            for n in s.scalars(select(Notice).where(Notice.decided_on == day))
        }


@pytest.mark.parametrize("outage", [None, (date(2026, 9, 14), date(2026, 9, 29))])
def test_quarter_replay_sends_exactly_what_the_rules_say(
    rt: Runtime, outage: tuple[date, date] | None
) -> None:
    by_day = _load(rt)
    # Events before the quarter happen before it starts.
    with rt.unit_of_work() as s:
        early = [r for d in sorted(by_day) if d < START for r in by_day[d]]
        apply_history(s, early, actor=SYSTEM, clock=rt.clock)
    recorded: set[tuple] = set()
    kinds: defaultdict[str, int] = defaultdict(int)
    day = START
    while day <= END:
        with rt.unit_of_work() as s:
            apply_history(s, by_day.get(day, []), actor=SYSTEM, clock=rt.clock)
        if outage and outage[0] <= day <= outage[1]:
            day += timedelta(days=1)
            continue
        want = _expected(rt, day, recorded)
        chased = jobs.chase(rt, as_of=day)
        escalated = jobs.escalate(rt, as_of=day)
        got = _recorded_on(rt, day)
        assert got == want, day
        if not chased.working_day:
            assert got == set()
        recorded |= got
        for rule in (r for r, *_ in got):
            kinds[rule] += 1
        assert chased.notices.total() + escalated.notices.total() == len(got)
        day += timedelta(days=1)
    assert {"ack", "due_soon", "chase", "escalate1", "escalate2", "nudge"} <= set(kinds)
    # One message per kind and recipient per run, each carrying all its notices.
    with rt.unit_of_work() as s:
        messages = list(s.scalars(select(OutboxMessage)))
    per_run = defaultdict(set)
    for m in messages:
        key = (m.payload["context"]["as_of"], m.kind, tuple(m.recipients))
        assert key not in per_run, key
        per_run[key] = set(m.payload["notice_ids"])
    assert sum(len(v) for v in per_run.values()) >= len(recorded) - kinds["escalate2"]
    if outage:
        # After the outage: one chase per overdue task at the latest threshold, not every one.
        with rt.unit_of_work() as s:
            after = list(
                s.scalars(
                    select(Notice).where(
                        Notice.decided_on == date(2026, 9, 30), Notice.rule == "chase"
                    )
                )
            )
        per_task = defaultdict(list)
        for n in after:
            per_task[n.task_id].append(n.threshold)
        assert per_task
        assert all(len(v) == 1 for v in per_task.values())
