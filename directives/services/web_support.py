"""Reads the web pages need beyond the register: a leader's scope, the office's queue.

A leader's scope is the digest's: the chairman sees every task, a vice-chairman the tasks in their
charge and those of their sectors. Deciding an extension follows the workflow instead: a leader
decides on the tasks in their charge, the chairman on every task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from directives.db.tables import Agency, Directive, Extension, Leader, ProgressReport, Task
from directives.domain import LeaderRole
from directives.services import grid_sql
from directives.services.calendar import load_calendar
from directives.services.queries import TaskLine, load_facts
from directives.timeliness import Grid, standing_as_of

CRITICAL = 10  # working days overdue: escalation level 2, "critical" in the digest
LIST_LIMIT = 50


def is_chairman(leader: Leader) -> bool:
    """True for the chairman, who sees and decides on every task."""
    return leader.role == LeaderRole.CHAIRMAN.value


def scope(leader: Leader) -> ColumnElement[bool]:
    """Tasks in ``leader``'s view: all for the chairman; in charge or in a sector otherwise."""
    if is_chairman(leader):
        return true()
    sectors = list(leader.sectors or ())
    if not sectors:
        return Task.leader_id == leader.id
    return or_(Task.leader_id == leader.id, Task.sector.in_(sectors))


@dataclass(frozen=True)
class AgencyGrid:
    """One line of the official grid: an agency's tasks counted by where they stand."""

    code: str
    name: str
    counts: dict[Grid, int]

    def count(self, *grids: Grid) -> int:
        """How many tasks stand in any of ``grids``."""
        return sum(self.counts.get(g, 0) for g in grids)


def grid_by_agency(session: Session, *, leader: Leader, as_of: date) -> list[AgencyGrid]:
    """Per lead agency, the tasks of ``leader``'s scope assigned by ``as_of``, by grid status."""
    cal = load_calendar(session)
    inner = (
        select(Task.lead_agency_id.label("agency"), grid_sql.grid(as_of, cal).label("grid"))
        .where(Task.assigned_on <= as_of, scope(leader))
        .subquery()
    )
    rows = session.execute(
        select(inner.c.agency, inner.c.grid, func.count()).group_by(inner.c.agency, inner.c.grid)
    ).all()
    names = {a.id: (a.code, a.name) for a in session.scalars(select(Agency))}
    counts: dict[int, dict[Grid, int]] = {}
    for agency_id, grid, n in rows:
        counts.setdefault(agency_id, {})[Grid(grid)] = n
    lines = [AgencyGrid(*names[a], c) for a, c in counts.items()]
    return sorted(lines, key=lambda x: (-x.count(Grid.OVERDUE), x.code))


def critical_tasks(
    session: Session, *, leader: Leader, as_of: date, limit: int = LIST_LIMIT
) -> list[TaskLine]:
    """Open tasks of the scope at least ``CRITICAL`` working days overdue, longest first."""
    cal = load_calendar(session)
    grid = grid_sql.grid(as_of, cal)
    eff = grid_sql.effective_deadline(as_of)
    cutoff = as_of  # walks back to the latest deadline that is CRITICAL working days behind
    while cal.wd(cutoff, as_of) < CRITICAL:
        cutoff = date.fromordinal(cutoff.toordinal() - 1)
    lead = aliased(Agency)
    rows = session.execute(
        select(Task, Directive.number, Directive.issued_on, lead.code, Leader.code)
        .join(Directive, Directive.id == Task.directive_id)
        .join(lead, lead.id == Task.lead_agency_id)
        .outerjoin(Leader, Leader.id == Task.leader_id)
        .where(
            Task.assigned_on <= as_of,
            scope(leader),
            grid == Grid.OVERDUE.value,
            eff <= cutoff,
        )
        .order_by(eff, Task.id)
        .limit(limit)
    ).all()
    facts = load_facts(session, [r[0] for r in rows])
    lines = [
        TaskLine(
            t.code,
            t.content,
            number,
            issued,
            lead_code,
            leader_code,
            t.state,
            standing_as_of(facts[t.id], as_of, cal),
        )
        for t, number, issued, lead_code, leader_code in rows
    ]
    return [x for x in lines if (x.standing.days_late or 0) >= CRITICAL]


@dataclass(frozen=True)
class PendingExtension:
    """An extension request waiting for a decision, with its task."""

    code: str
    content: str
    agency: str
    agency_name: str
    leader: str | None
    deadline: date | None
    requested_on: date
    requested_deadline: date
    reason: str
    after_deadline: bool


def pending_extensions(
    session: Session, *, decider: Leader | None = None
) -> list[PendingExtension]:
    """Requests waiting for a decision: all of them, or those ``decider`` may decide on."""
    stmt = (
        select(
            Extension, Task.code, Task.content, Agency.code, Agency.name, Leader.code, Task.deadline
        )
        .join(Task, Task.id == Extension.task_id)
        .join(Agency, Agency.id == Task.lead_agency_id)
        .outerjoin(Leader, Leader.id == Task.leader_id)
        .where(Extension.status == "pending")
        .order_by(Extension.requested_on, Extension.id)
        .limit(200)
    )
    if decider is not None and not is_chairman(decider):
        stmt = stmt.where(Task.leader_id == decider.id)
    return [
        PendingExtension(
            code,
            content,
            agency,
            agency_name,
            leader,
            deadline,
            e.requested_on,
            e.requested_deadline,
            e.reason,
            e.after_deadline,
        )
        for e, code, content, agency, agency_name, leader, deadline in session.execute(stmt)
    ]


@dataclass(frozen=True)
class PendingReport:
    """A final report waiting for the office to confirm or return it."""

    code: str
    content: str
    agency: str
    agency_name: str
    on: date
    text: str
    document_ref: str | None


def pending_reports(session: Session) -> list[PendingReport]:
    """Final reports waiting for the office, oldest first."""
    stmt = (
        select(ProgressReport, Task.code, Task.content, Agency.code, Agency.name)
        .join(Task, Task.id == ProgressReport.task_id)
        .join(Agency, Agency.id == Task.lead_agency_id)
        .where(ProgressReport.outcome == "pending", Task.state == "submitted")
        .order_by(ProgressReport.on, ProgressReport.id)
        .limit(200)
    )
    return [
        PendingReport(code, content, agency, name, r.on, r.text, r.document_ref)
        for r, code, content, agency, name in session.execute(stmt)
    ]


def pending_report_of(session: Session, task_id: int) -> ProgressReport | None:
    """The task's final report waiting for the office, if any."""
    return session.scalar(
        select(ProgressReport)
        .where(ProgressReport.task_id == task_id, ProgressReport.outcome == "pending")
        .order_by(ProgressReport.id.desc())
        .limit(1)
    )


def pending_extension_of(session: Session, task_id: int) -> Extension | None:
    """The task's extension request waiting for a decision, if any."""
    return session.scalar(
        select(Extension).where(Extension.task_id == task_id, Extension.status == "pending")
    )
