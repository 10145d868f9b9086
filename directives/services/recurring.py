"""Periodic tasks: on each working day, add the occurrence of the current period to every series.

Level-triggered like the reminders: a run after an outage adds the current period's occurrence
(not every missed one), and the unique (series, period) index makes a second run a no-op. A
series whose latest occurrence is cancelled or paused stops.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from directives.clock import Clock
from directives.db.tables import Task, TaskCoordinator, TaskEvent
from directives.recurrence import Recurrence
from directives.services.calendar import load_calendar
from directives.services.intake import _allocate_codes, _split_rule
from directives.services.mailing import MailSettings, notify_assigned
from directives.workflow import Actor, State


def due_occurrences(session: Session, day: date) -> list[tuple[Task, str]]:
    """(latest occurrence, period to add) for every series that lacks the period of ``day``."""
    latest = (
        select(Task.series_id, func.max(Task.period).label("period"))
        .where(Task.series_id.is_not(None))
        .group_by(Task.series_id)
        .subquery()
    )
    heads = session.scalars(
        select(Task)
        .join(latest, (Task.series_id == latest.c.series_id) & (Task.period == latest.c.period))
        .where(
            Task.state.not_in((State.CANCELLED.value, State.PAUSED.value)), Task.assigned_on <= day
        )
        .options(selectinload(Task.coordinators))
    )
    out = []
    for task in heads:
        assert task.recurrence is not None
        assert task.period is not None
        target = Recurrence(*_split_rule(task.recurrence)).period_of(day)
        if task.period < target:
            out.append((task, target))
    return out


def create_due(
    session: Session,
    day: date,
    *,
    actor: Actor,
    clock: Clock,
    mail: MailSettings | None = None,
    dry_run: bool = False,
) -> list[int]:
    """Add the occurrences due on ``day``; returns the new task ids (nothing on a rest day)."""
    cal = load_calendar(session)
    if not cal.is_working(day):
        return []
    due = due_occurrences(session, day)
    if dry_run or not due:
        return [t.id for t, _ in due] if dry_run else []
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    codes = iter(_allocate_codes(session, day.year, len(due)))
    now, created = clock.now(), []
    for task, period in due:
        rule = Recurrence(*_split_rule(task.recurrence or ""))
        stated = rule.due_date(period)
        deadline = cal.roll_forward(stated)
        position = (
            session.scalar(
                select(func.max(Task.position)).where(Task.directive_id == task.directive_id)
            )
            or 0
        ) + 1
        new_id = session.scalar(
            make_insert(Task)
            .values(
                code=next(codes),
                directive_id=task.directive_id,
                position=position,
                content=task.content,
                lead_agency_id=task.lead_agency_id,
                leader_id=task.leader_id,
                officer_id=task.officer_id,
                sector=task.sector,
                priority=task.priority,
                source_ref=task.source_ref,
                stated_deadline=stated,
                deadline_working_days=None,
                recurrence=task.recurrence,
                series_id=task.series_id,
                period=period,
                original_deadline=deadline,
                deadline=deadline,
                state=State.ASSIGNED.value,
                assigned_on=day,
                has_extensions=False,
                has_pauses=False,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["series_id", "period"])
            .returning(Task.id)
        )
        if new_id is None:  # another run added it meanwhile
            continue
        if task.coordinators:
            session.execute(
                insert(TaskCoordinator),
                [{"task_id": new_id, "agency_id": a.id} for a in task.coordinators],
            )
        session.execute(
            insert(TaskEvent).values(
                task_id=new_id,
                kind="assigned",
                on=day,
                recorded_at=now,
                actor=actor.describe(),
                note=f"định kỳ: {rule.text()}, kỳ {period}",
                data={
                    "deadline": deadline.isoformat(),
                    "deadline_text": rule.text(),
                    "series_id": task.series_id,
                    "period": period,
                },
            )
        )
        created.append(new_id)
    if mail is not None and created:
        notify_assigned(session, created, on=day, now=now, mail=mail)
    return created
