"""Period statistics read from the database: the official grid and the half-year line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from directives.db.tables import Agency, Leader, Task
from directives.figures import PeriodReport, change, period_report, previous_period
from directives.services.calendar import load_calendar
from directives.services.queries import _extensions_and_pauses
from directives.timeliness import TaskFacts

_COLUMNS = (
    Task.id,
    Task.has_extensions,
    Task.has_pauses,
    Task.assigned_on,
    Task.original_deadline,
    Task.deadline,
    Task.submitted_on,
    Task.completed_on,
    Task.confirmed_on,
    Task.cancelled_on,
)


def _facts(
    session: Session, start: date, end: date, *, agency: str | None, leader: str | None
) -> Iterator[tuple[str, TaskFacts]]:
    # Tasks that cannot touch [start, end]: assigned after it, or finished and due before it.
    before = or_(
        Task.deadline.is_(None), and_(Task.deadline < start, Task.original_deadline < start)
    )
    stmt = (
        select(Agency.code, *_COLUMNS)
        .join(Agency, Agency.id == Task.lead_agency_id)
        .where(Task.assigned_on <= end)
        .where(~and_(Task.confirmed_on.is_not(None), Task.completed_on < start, before))
        .where(~and_(Task.cancelled_on.is_not(None), Task.cancelled_on < start))
    )
    if agency:
        stmt = stmt.where(Agency.code == agency.upper())
    if leader:
        stmt = stmt.where(
            Task.leader_id
            == select(Leader.id).where(Leader.code == leader.upper()).scalar_subquery()
        )
    rows = session.execute(stmt).all()
    extensions, pauses = _extensions_and_pauses(session, None, None)
    for (
        code,
        task_id,
        _has_ext,
        _has_pause,
        assigned,
        original,
        _eff,
        submitted,
        completed,
        confirmed,
        cancelled,
    ) in rows:
        yield (
            code,
            TaskFacts(
                assigned_on=assigned,
                deadline=original,
                extensions=extensions.get(task_id, ()),
                submitted_on=submitted,
                completed_on=completed,
                confirmed_on=confirmed,
                cancelled_on=cancelled,
                pauses=pauses.get(task_id, ()),
            ),
        )


def compute(
    session: Session,
    start: date,
    end: date,
    *,
    agency: str | None = None,
    leader: str | None = None,
) -> tuple[PeriodReport, PeriodReport]:
    """This period's report and the previous period's of the same length."""
    cal = load_calendar(session)
    prev_start, prev_end = previous_period(start, end)
    facts = list(_facts(session, prev_start, end, agency=agency, leader=leader))
    return (period_report(facts, start, end, cal), period_report(facts, prev_start, prev_end, cal))


def stats_dict(
    session: Session,
    start: date,
    end: date,
    *,
    agency: str | None = None,
    leader: str | None = None,
) -> dict[str, Any]:
    """The figures as the ``stats`` command and the API return them."""
    current, previous = compute(session, start, end, agency=agency, leader=leader)
    names = dict(session.execute(select(Agency.code, Agency.name)).all())
    out: dict[str, Any] = {"from": start.isoformat(), "to": end.isoformat()}
    out.update(current.total.as_dict())
    out["by_agency"] = {
        code: {"name": names.get(code, code), **fig.as_dict()}
        for code, fig in sorted(current.by_agency.items())
    }
    out["previous"] = {
        "from": previous.start.isoformat(),
        "to": previous.end.isoformat(),
        **previous.total.as_dict(),
    }
    out["change"] = change(current.total, previous.total)
    return out


def half_year_line(figures: dict[str, Any]) -> str:
    """The office's sentence: '443 hồ sơ, 360 đúng hẹn, …; 1.551/2.872 ngày, giảm 46%'."""

    def n(value: int) -> str:
        return f"{value:,}".replace(",", ".")

    saved = figures["time_saved_pct"]
    tail = ""
    if saved is not None:
        pct = f"{saved:g}".replace(".", ",")
        tail = f", {'giảm' if saved >= 0 else 'tăng'} {pct.lstrip('-')}%"
    return (
        f"{n(figures['completed'])} hồ sơ, {n(figures['on_the_day'])} đúng hẹn, "
        f"{n(figures['early'])} trước hẹn, {n(figures['late'])} trễ hẹn; "
        f"{n(figures['working_days_used'])}/{n(figures['working_days_allowed'])} ngày{tail}"
    )
