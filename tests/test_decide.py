"""The database decision of due notices equals DESIGN.md's rules (``reminders.due_notices``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from directives.db.outbox_tables import Notice
from directives.db.tables import Task
from directives.errors import Conflict
from directives.policy import Policy
from directives.reminders import CHASE_RULES, ESCALATION_RULES, due_notices
from directives.runtime import Runtime
from directives.services import outbox, queries
from directives.services.calendar import load_calendar
from directives.services.decide import decide
from tests.test_grid_sql import _random_histories

NOW = datetime(2027, 1, 1, tzinfo=UTC)
ALL = CHASE_RULES + ESCALATION_RULES


def expected(rt: Runtime, day: date, policy: Policy) -> set[tuple[str, str, int]]:
    """(rule, task code, threshold) by the pure rules, from each task's facts."""
    out = set()
    with rt.unit_of_work() as s:
        cal = load_calendar(s)
        tasks = list(s.scalars(select(Task)))
        facts = queries.load_facts(s, tasks)
        for t in tasks:
            task = queries.open_task_as_of(t, facts[t.id], day, cal)
            if task is None:
                continue
            out |= {(rule, t.code, th) for rule, th in due_notices(task, day, cal, policy)}
    return out


def decided(rt: Runtime, day: date, policy: Policy, *, dry_run: bool) -> set[tuple[str, str, int]]:
    with rt.unit_of_work() as s:
        codes = dict(s.execute(select(Task.id, Task.code)).all())
        rows = decide(s, day, policy, ALL)
        if not dry_run:  # recorded as a job records them: with no message here
            outbox.record(s, [(key, None) for key in rows], decided_on=day, now=NOW)
    return {(rule, codes[task_id], th) for rule, task_id, _key, th in rows}


def test_database_decision_matches_the_rules_day_after_day(rt: Runtime) -> None:
    _random_histories(rt, seed=11)
    policy = Policy()
    for day in [date(2026, 11, 26) + timedelta(days=k) for k in range(0, 60, 2)]:
        assert decided(rt, day, policy, dry_run=True) == expected(rt, day, policy), day


def test_recorded_notices_are_not_decided_again_and_rest_days_decide_nothing(
    rt: Runtime,
) -> None:
    _random_histories(rt, seed=12)
    policy = Policy(chase_every=3, escalate_leader=8)
    day = date(2026, 12, 1)
    first = decided(rt, day, policy, dry_run=False)
    assert first == expected(rt, day, policy)
    assert {rule for rule, _, _ in first} >= {"chase", "escalate1", "escalate2"}
    assert decided(rt, day, policy, dry_run=False) == set()
    assert decided(rt, day, policy, dry_run=True) == set()
    assert decided(rt, date(2026, 12, 5), policy, dry_run=False) == set()  # a Saturday


def test_a_notice_recorded_meanwhile_is_a_conflict_and_nothing_of_the_run_stays(
    rt: Runtime,
) -> None:
    """Deciders are serialized, but if one key was recorded between a decision and its
    writing all the same, the whole write is refused (and rolled back), not sent twice."""
    _random_histories(rt, seed=13)
    day = date(2026, 12, 1)
    with rt.unit_of_work() as s:
        keys = decide(s, day, Policy(), ALL)
    assert len(keys) > 3
    with rt.unit_of_work() as s:  # another run records one of them first
        outbox.record(s, [(keys[2], None)], decided_on=day, now=NOW)
    with pytest.raises(Conflict, match="một lượt chạy khác"), rt.unit_of_work() as s:
        outbox.record(s, [(key, None) for key in keys], decided_on=day, now=NOW)
    with rt.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Notice)) == 1


def test_bulk_written_notices_and_messages_store_times_as_the_orm_does(rt: Runtime) -> None:
    """The bulk paths (COPY, or SQLite's executemany of plain tuples) store dates and times in
    the very text the ORM writes, so that SQL comparing them as text stays right."""
    _random_histories(rt, seed=14)
    day = date(2026, 12, 1)
    with rt.unit_of_work() as s:
        keys = decide(s, day, Policy(), ALL)
        mail = outbox.Mail(kind="overdue", to=[("Sở", "so@x.vn")], context={}, notices=keys[:2])
        outbox.enqueue(s, [mail], sender="Văn phòng <vp@x.vn>", now=NOW, decided_on=day)
        s.add(Notice(rule="ack", task_id=-1, deadline_key="", threshold=0, decided_on=day,
                     created_at=NOW))  # fmt: skip
    with rt.unit_of_work() as s:
        conn = s.connection()
        texts = conn.exec_driver_sql(
            "SELECT CAST(created_at AS TEXT), CAST(decided_on AS TEXT) FROM notices ORDER BY id"
        ).all()
        assert len(texts) == 3
        assert len(set(texts)) == 1, texts  # the ORM's row is the last
        sent = conn.exec_driver_sql(
            "SELECT CAST(created_at AS TEXT), CAST(next_attempt_at AS TEXT) FROM outbox_messages"
        ).one()
        assert sent == (texts[-1][0], texts[-1][0])
