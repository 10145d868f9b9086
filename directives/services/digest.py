"""The weekly digest to each leader: the chairman sees every task, a vice-chairman those in charge.

Sent on the first working day of the week, only when it has something to say, and once per
leader and week: its Message-ID is derived from the leader and the ISO week, and the outbox's
unique Message-ID turns a second run into a no-op.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from directives.calendar import WorkingCalendar
from directives.db.tables import Extension, Leader, Task
from directives.domain import LeaderRole
from directives.services import grid_sql, outbox
from directives.services.calendar import ensure_index
from directives.services.mailing import MailSettings, task_line
from directives.services.period_sql import period_report_sql
from directives.timeliness import Grid

CRITICAL = 10  # working days overdue: escalation level 2
LIST_LIMIT = 30  # tasks per section: a phone screen, not a register


def first_working_day_of_week(cal: WorkingCalendar, day: date) -> bool:
    """True if ``day`` is worked and no earlier day of its week is."""
    monday = day - timedelta(days=day.weekday())
    return cal.is_working(day) and not any(
        cal.is_working(monday + timedelta(days=k)) for k in range((day - monday).days)
    )


def _scope(leader: Leader) -> ColumnElement[bool]:
    if leader.role == LeaderRole.CHAIRMAN.value:
        return true()
    return or_(Task.leader_id == leader.id, Task.sector.in_(leader.sectors or [""]))


def _grid_counts(
    session: Session, leader: Leader, day: date, cal: WorkingCalendar
) -> dict[str, int]:
    g = grid_sql.grid(day, cal)
    rows = session.execute(
        select(g, func.count()).where(_scope(leader), Task.assigned_on <= day).group_by(g)
    ).all()
    counts = {str(k): int(v) for k, v in rows}
    return {
        "within_term": counts.get(Grid.WITHIN_TERM.value, 0),
        "due_soon": counts.get(Grid.DUE_SOON.value, 0),
        "overdue": counts.get(Grid.OVERDUE.value, 0),
        "done_on_time": counts.get(Grid.DONE_EARLY.value, 0)
        + counts.get(Grid.DONE_ON_THE_DAY.value, 0),
        "done_late": counts.get(Grid.DONE_LATE.value, 0),
        "standing": counts.get(Grid.STANDING.value, 0),
    }


def digest_context(
    session: Session, leader: Leader, day: date, mail: MailSettings
) -> dict[str, Any] | None:
    """The template data of ``leader``'s digest for ``day``; None when there is nothing to say."""
    cal = ensure_index(session)
    now, before = (_grid_counts(session, leader, d, cal) for d in (day, day - timedelta(days=7)))
    grid: dict[str, Any] = {**now, "change": {k: now[k] - before[k] for k in now}}
    g = grid_sql.grid(day, cal)
    eff = grid_sql.effective_deadline(day)
    horizon = cal.add(day, 5)
    week_ago = day - timedelta(days=7)
    open_rows = session.scalars(
        select(Task)
        .where(
            _scope(leader),
            Task.assigned_on <= day,
            or_(
                g == Grid.OVERDUE.value,
                (
                    g.in_([Grid.DUE_SOON.value, Grid.WITHIN_TERM.value])
                    & (eff > day)
                    & (eff <= horizon)
                ),
            ),
        )
        .options(selectinload(Task.directive), selectinload(Task.lead_agency))
    ).all()
    lines = [task_line(t, day, cal, mail.app_url) for t in open_rows]
    overdue = sorted((x for x in lines if x["days_late"]), key=lambda x: -x["days_late"])
    critical = [x for x in overdue if x["days_late"] >= CRITICAL][:LIST_LIMIT]
    by_agency: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for x in overdue:
        if x["days_late"] < CRITICAL:
            by_agency[x["lead_agency"]].append(x)
    due_next = sorted(
        (x for x in lines if x["days_left"] is not None and x["days_late"] is None),
        key=lambda x: x["deadline"],
    )[:LIST_LIMIT]
    done = session.scalars(
        select(Task)
        .where(
            _scope(leader),
            Task.confirmed_on <= day,
            Task.completed_on > week_ago,
            Task.completed_on <= day,
        )
        .options(selectinload(Task.directive), selectinload(Task.lead_agency))
        .limit(LIST_LIMIT)
    ).all()
    pending = session.execute(
        select(Extension, Task)
        .join(Task, Task.id == Extension.task_id)
        .where(_scope(leader), Extension.status == "pending", Extension.requested_on <= day)
        .options(selectinload(Task.directive), selectinload(Task.lead_agency))
    ).all()
    if not (overdue or due_next or done or pending):
        return None
    year = period_report_sql(
        session,
        date(day.year, 1, 1),
        day,
        leader=None if leader.role == LeaderRole.CHAIRMAN.value else leader.code,
    )
    rows = [
        (f.open_overdue, code, f)
        for code, f in year.by_agency.items()
        if f.fell_due or f.open_overdue
    ]
    rows.sort(key=lambda r: (-r[0], r[1]))
    agencies = [
        {
            "agency": code,
            "on_time_rate": f.on_time_rate,
            "overdue": f.open_overdue,
            "completed": f.completed,
        }
        for _, code, f in rows[:LIST_LIMIT]
    ]
    return {
        "office": mail.office,
        "app_url": mail.app_url,
        "as_of": day.isoformat(),
        "recipient": f"{leader.title} {leader.name}",
        "leader": leader.name,
        "grid": grid,
        "critical": critical,
        "overdue_by_agency": [
            {"agency": a, "tasks": ts[:LIST_LIMIT]}
            for a, ts in sorted(by_agency.items(), key=lambda kv: -len(kv[1]))
        ],
        "due_next": due_next,
        "completed": [task_line(t, day, cal, mail.app_url) for t in done],
        "extension_requests": [
            {
                "task": task_line(t, day, cal, mail.app_url),
                "requested_deadline": e.requested_deadline.isoformat(),
                "reason": e.reason,
            }
            for e, t in pending
        ],
        "agencies": agencies,
        "charts": [],
    }


def enqueue_digests(
    session: Session, day: date, *, now: datetime, mail: MailSettings, dry_run: bool = False
) -> list[str]:
    """Enqueue each leader's digest for ``day`` (first working day of a week); returns leaders."""
    cal = ensure_index(session)
    if not first_working_day_of_week(cal, day):
        return []
    year, week, _ = day.isocalendar()
    sent = []
    for leader in session.scalars(select(Leader).order_by(Leader.code)):
        context = digest_context(session, leader, day, mail)
        if context is None:
            continue
        if not dry_run:
            ids = outbox.enqueue(
                session,
                [
                    outbox.Mail(
                        kind="weekly_digest",
                        to=[(leader.name, leader.email)],
                        context=context,
                        notice_ids=[],
                        key=f"digest-{leader.code.lower()}-{year}w{week:02d}",
                    )
                ],
                sender=mail.sender,
                now=now,
            )
            if not ids:
                continue
        sent.append(leader.code)
    return sent
