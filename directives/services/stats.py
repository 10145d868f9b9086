"""Period statistics read from the database: the official grid and the half-year line."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from directives.db.tables import Agency
from directives.figures import Figures, PeriodReport, change, previous_period
from directives.services.period_sql import period_report_sql


def compute(
    session: Session,
    start: date,
    end: date,
    *,
    agency: str | None = None,
    leader: str | None = None,
) -> tuple[PeriodReport, PeriodReport]:
    """This period's report and the previous period's of the same length (aggregated in SQL)."""
    prev_start, prev_end = previous_period(start, end)
    return (
        period_report_sql(session, start, end, agency=agency, leader=leader),
        period_report_sql(session, prev_start, prev_end, agency=agency, leader=leader),
    )


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
        if fig != Figures()  # agencies with nothing in the period are left out
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
