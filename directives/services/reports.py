"""Period reports: the official grid per agency, the documents counted and the period's tasks.

Everything is aggregated or selected in the database: the grid comes from ``period_sql`` (one
grouped query per period), the documents from two grouped counts, the tasks of the appendix from
one statement over ``grid_sql``'s expressions, filtered, ordered and capped in SQL; nothing loops
over every task in Python.

The tasks of a period are those that fell due in it (effective deadline in the period, not paused
or cancelled), those completed in it, and those open and overdue at its end, listed most urgent
first in four sections: overdue and not done, completed late, still within term, completed on
time; within a section by agency, deadline and id. When the grid shows that they may be more than
``task_limit`` (2,000 by default), the appendix lists only the first
two sections, whose exact counts the grid gives, at most ``task_limit`` of them, and says so.
The grid per agency is always complete.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from directives.calendar import WorkingCalendar
from directives.db.tables import Agency, CalendarDay, Directive, Leader, Task
from directives.errors import InvalidInput, NotFound
from directives.figures import Figures, PeriodReport, change, previous_period
from directives.services import grid_sql
from directives.services._parallel import Runner
from directives.services.calendar import ensure_index
from directives.services.period_sql import period_report_sql
from directives.services.stats import half_year_line
from directives.timeliness import Grid

DEFAULT_TASK_LIMIT = 2_000  # rows of the appendix (about 100 A4 pages): beyond, nobody reads
ROMAN = ("I", "II", "III", "IV")


class PeriodKind(enum.StrEnum):
    """How a period was named."""

    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"
    RANGE = "range"


@dataclass(frozen=True)
class Period:
    """A reporting period [start, end]; ``kind`` and ``index`` say how it was named."""

    kind: PeriodKind
    start: date
    end: date
    index: int = 0  # the month, quarter or half number

    @property
    def label(self) -> str:
        """The Vietnamese name: 'Tháng 03/2026', 'Quý I năm 2026', '6 tháng đầu năm 2026', …"""
        year = self.start.year
        match self.kind:
            case PeriodKind.MONTH:
                return f"Tháng {self.index:02d}/{year}"
            case PeriodKind.QUARTER:
                return f"Quý {ROMAN[self.index - 1]} năm {year}"
            case PeriodKind.HALF:
                return f"6 tháng {'đầu' if self.index == 1 else 'cuối'} năm {year}"
            case PeriodKind.YEAR:
                return f"Năm {year}"
        return f"Từ ngày {self.start:%d/%m/%Y} đến ngày {self.end:%d/%m/%Y}"

    @property
    def span(self) -> str:
        """'01/03/2026 – 31/03/2026'."""
        return f"{self.start:%d/%m/%Y} – {self.end:%d/%m/%Y}"

    def previous(self) -> Period:
        """The previous month, quarter, half or year; for a range, the same length just before."""
        if self.kind is PeriodKind.RANGE:
            return Period(PeriodKind.RANGE, *previous_period(self.start, self.end))
        if self.kind is PeriodKind.YEAR:
            return _named(PeriodKind.YEAR, self.start.year - 1, 0)
        per_year = {PeriodKind.MONTH: 12, PeriodKind.QUARTER: 4, PeriodKind.HALF: 2}[self.kind]
        if self.index > 1:
            return _named(self.kind, self.start.year, self.index - 1)
        return _named(self.kind, self.start.year - 1, per_year)


def _named(kind: PeriodKind, year: int, index: int) -> Period:
    months = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.HALF: 6, PeriodKind.YEAR: 12}
    span = months[kind]
    first_month = 1 + (index - 1) * span if index else 1
    start = date(year, first_month, 1)
    after = first_month + span
    end = (date(year + 1, 1, 1) if after > 12 else date(year, after, 1)) - timedelta(days=1)
    return Period(kind, start, end, index)


_FORMS = (
    (re.compile(r"(\d{4})-(\d{1,2})"), PeriodKind.MONTH, 1, 2),
    (re.compile(r"(\d{1,2})/(\d{4})"), PeriodKind.MONTH, 2, 1),
    (re.compile(r"(\d{4})-[Qq]([1-4])"), PeriodKind.QUARTER, 1, 2),
    (re.compile(r"(\d{4})-[Hh]([12])"), PeriodKind.HALF, 1, 2),
    (re.compile(r"(\d{4})"), PeriodKind.YEAR, 1, 0),
)


def parse_period(text: str) -> Period:
    """'2026-03' (or '03/2026'), '2026-Q1', '2026-H1' or '2026'; raises naming the bad value."""
    value = text.strip()
    for pattern, kind, year_group, index_group in _FORMS:
        m = pattern.fullmatch(value)
        if m is None:
            continue
        year = int(m.group(year_group))
        index = int(m.group(index_group)) if index_group else 0
        if not 1990 <= year <= 2100 or (kind is PeriodKind.MONTH and not 1 <= index <= 12):
            break
        return _named(kind, year, index)
    raise InvalidInput(
        f"--period {text!r}: kỳ báo cáo không hợp lệ; dùng 2026-03 (tháng), 2026-Q1 (quý), "
        "2026-H1 (6 tháng) hoặc 2026 (năm)"
    )


def period_between(start: date, end: date) -> Period:
    """Any range of days, both ends included."""
    if end < start:
        raise InvalidInput(f"--to {end:%d/%m/%Y} trước --from {start:%d/%m/%Y}")
    return Period(PeriodKind.RANGE, start, end)


class Section(enum.IntEnum):
    """The appendix's sections, most urgent first."""

    OVERDUE = 0
    DONE_LATE = 1
    WITHIN_TERM = 2
    DONE_ON_TIME = 3

    @property
    def title(self) -> str:
        """The section's Vietnamese heading."""
        return _SECTION_TITLES[self]

    @property
    def roman(self) -> str:
        """I, II, III, IV."""
        return ROMAN[self.value]


_SECTION_TITLES = {
    Section.OVERDUE: "Nhiệm vụ quá hạn, chưa hoàn thành",
    Section.DONE_LATE: "Nhiệm vụ hoàn thành quá hạn",
    Section.WITHIN_TERM: "Nhiệm vụ đến hạn trong kỳ, đang thực hiện trong hạn",
    Section.DONE_ON_TIME: "Nhiệm vụ hoàn thành đúng hạn",
}


@dataclass(frozen=True)
class TaskRow:
    """One task of the appendix, as of the end of the period."""

    code: str
    content: str
    directive: str
    directive_issued_on: date
    agency_code: str
    agency_name: str
    leader: str | None
    deadline: date | None  # effective, as of the end of the period
    original_deadline: date | None
    grid: Grid
    completed_on: date | None
    submitted_on: date | None  # a final report still waiting for the office
    days_late: int | None  # working days past the deadline (overdue or completed late)
    section: Section

    @property
    def result(self) -> str:
        """The 'Kết quả' cell: 'Hoàn thành đúng hạn (12/03/2026)', 'Quá hạn 12 ngày làm việc, …'."""
        done = f" ({self.completed_on:%d/%m/%Y})" if self.completed_on else ""
        match self.grid:
            case Grid.DONE_EARLY | Grid.DONE_ON_THE_DAY | Grid.DONE_NO_DEADLINE:
                return f"{self.grid.label}{done}"
            case Grid.DONE_LATE:
                return f"Hoàn thành quá hạn {self.days_late} ngày làm việc{done}"
            case Grid.OVERDUE if self.submitted_on is not None:
                return (
                    f"Quá hạn {self.days_late} ngày làm việc, đã báo cáo ngày "
                    f"{self.submitted_on:%d/%m/%Y}, chờ xác nhận"
                )
            case Grid.OVERDUE:
                return f"Quá hạn {self.days_late} ngày làm việc, chưa hoàn thành"
            # Due soon is within term: at the end of a period only a task due that very day is.
            case _ if self.submitted_on is not None:
                return f"Đã báo cáo ngày {self.submitted_on:%d/%m/%Y}, chờ xác nhận (trong hạn)"
        return "Đang thực hiện, trong hạn"


@dataclass(frozen=True)
class TaskList:
    """The appendix: its rows, and how many tasks each listed section holds in all.

    ``complete``: every task of the period is listed, in all four sections. Otherwise the period
    holds more tasks than the limit allows and only the two sections that need attention
    (overdue, completed late) are listed, their counts taken from the grid; ``by_section``
    then has those two keys only and ``directives`` is None.
    """

    rows: list[TaskRow]
    by_section: dict[Section, int]
    limit: int
    complete: bool
    directives: int | None  # distinct directives the listed tasks come from

    @property
    def total(self) -> int:
        """Tasks in the listed sections, shown or not."""
        return sum(self.by_section.values())

    @property
    def truncated(self) -> bool:
        """True when some tasks of the listed sections are not shown."""
        return self.total > len(self.rows)


@dataclass(frozen=True)
class Documents:
    """Directives (văn bản) and tasks assigned in a period."""

    directives: int = 0
    tasks: int = 0


@dataclass(frozen=True)
class AgencyLine:
    """One row of the grid: an agency's figures and what it was assigned in the period."""

    code: str
    name: str
    figures: Figures
    documents: Documents


@dataclass(frozen=True)
class PeriodReportData:
    """Everything a period report shows, in plain values for the renderers."""

    period: Period  # as named (its end may be after ``end``)
    start: date
    end: date  # the period's end, or ``as_of`` if the period is not over
    as_of: date
    previous: Period  # the stretch compared with, clipped like this one
    agency: tuple[str, str] | None  # (code, name) when limited to one lead agency
    leader: tuple[str, str] | None
    total: Figures
    previous_total: Figures
    agencies: list[AgencyLine]
    documents: Documents
    previous_documents: Documents
    tasks: TaskList
    stats: dict[str, Any] = field(repr=False)  # the shape of ``stats.stats_dict``

    @property
    def title(self) -> str:
        """The period's label, with 'đến ngày …' when it is not over."""
        if self.end < self.period.end:
            return f"{self.period.label} (đến ngày {self.end:%d/%m/%Y})"
        return self.period.label

    @property
    def half_year_line(self) -> str:
        """The office's sentence for the total."""
        return half_year_line(self.stats)

    @property
    def change(self) -> dict[str, int | float | None]:
        """This period's figures minus the previous period's."""
        return change(self.total, self.previous_total)


def build_period_report(
    session: Session,
    period: Period,
    *,
    as_of: date,
    agency: str | None = None,
    leader: str | None = None,
    task_limit: int = DEFAULT_TASK_LIMIT,
) -> PeriodReportData:
    """The report for ``period`` as of ``as_of`` (a period not yet over stops at ``as_of``)."""
    if as_of < period.start:
        raise InvalidInput(
            f"--as-of {as_of:%d/%m/%Y}: kỳ báo cáo bắt đầu ngày {period.start:%d/%m/%Y}"
        )
    if task_limit < 1:
        raise InvalidInput(f"--limit {task_limit}: phải từ 1 trở lên")
    end = min(period.end, as_of)
    if period.kind is PeriodKind.RANGE:
        prev = Period(PeriodKind.RANGE, *previous_period(period.start, end))
    else:  # the previous month (quarter, …); if this one is not over, as many days of it
        prev = period.previous()
        if end < period.end:
            cut = min(prev.end, prev.start + (end - period.start))
            prev = Period(prev.kind, prev.start, cut, prev.index)
    agency_ref = _lookup(session, Agency, agency, "đơn vị")
    leader_ref = _lookup(session, Leader, leader, "lãnh đạo")
    scope = _scope(agency_ref, leader_ref)
    cal = ensure_index(session)
    # Four read-only statements; on PostgreSQL two run at a time, each on its own connection.
    with Runner(session) as runner:
        current_f = runner.submit(
            lambda s: period_report_sql(s, period.start, end, agency=agency, leader=leader)
        )
        previous_f = runner.submit(
            lambda s: period_report_sql(s, prev.start, prev.end, agency=agency, leader=leader)
        )
        documents_f = runner.submit(
            lambda s: _documents(s, (period.start, end), (prev.start, prev.end), scope)
        )
        current = current_f.result()
        tasks_f = runner.submit(
            lambda s: _task_list(s, cal, period.start, end, scope, task_limit, current.total)
        )
        previous = previous_f.result()
        documents, by_agency, previous_documents = documents_f.result()
        tasks = tasks_f.result()
    names = dict(session.execute(select(Agency.code, Agency.name)).all())
    codes = sorted({c for c, f in current.by_agency.items() if f != Figures()} | set(by_agency))
    lines = [
        AgencyLine(
            code,
            names.get(code, code),
            current.by_agency.get(code, Figures()),
            by_agency.get(code, Documents()),
        )
        for code in codes
    ]
    return PeriodReportData(
        period=period,
        start=period.start,
        end=end,
        as_of=as_of,
        previous=prev,
        agency=_pair(agency_ref),
        leader=_pair(leader_ref),
        total=current.total,
        previous_total=previous.total,
        agencies=lines,
        documents=documents,
        previous_documents=previous_documents,
        tasks=tasks,
        stats=_stats(current, previous, names),
    )


_Ref = TypeVar("_Ref", Agency, Leader)


def _lookup(session: Session, table: type[_Ref], code: str | None, what: str) -> _Ref | None:
    if not code:
        return None
    found = session.scalar(select(table).where(table.code == code.upper()))
    if found is None:
        raise NotFound(f"không có {what} mã {code!r}")
    return found


def _pair(ref: Agency | Leader | None) -> tuple[str, str] | None:
    return None if ref is None else (ref.code, ref.name)


def _scope(agency: Agency | None, leader: Leader | None) -> list[Any]:
    conditions: list[ColumnElement[bool]] = []
    if agency is not None:
        conditions.append(Task.lead_agency_id == agency.id)
    if leader is not None:
        conditions.append(Task.leader_id == leader.id)
    return conditions


def _stats(current: PeriodReport, previous: PeriodReport, names: dict[str, str]) -> dict[str, Any]:
    """The figures in the shape ``stats.stats_dict`` returns, with this report's previous period."""
    out: dict[str, Any] = {"from": current.start.isoformat(), "to": current.end.isoformat()}
    out.update(current.total.as_dict())
    out["by_agency"] = {
        code: {"name": names.get(code, code), **fig.as_dict()}
        for code, fig in sorted(current.by_agency.items())
        if fig != Figures()
    }
    out["previous"] = {
        "from": previous.start.isoformat(),
        "to": previous.end.isoformat(),
        **previous.total.as_dict(),
    }
    out["change"] = change(current.total, previous.total)
    return out


def _documents(
    session: Session, period: tuple[date, date], before: tuple[date, date], scope: list[Any]
) -> tuple[Documents, dict[str, Documents], Documents]:
    """Directives and tasks assigned in the period (in total and per lead agency) and before.

    One pass over the tasks: the rows of either period are kept aside, then counted twice.
    """
    now = Task.assigned_on.between(*period)
    rows = (
        select(now.label("now"), Task.lead_agency_id.label("agency"), Task.directive_id)
        .where(or_(now, Task.assigned_on.between(*before)), *scope)
        .cte("report_assigned")
        .prefix_with("MATERIALIZED")
    )
    counts = (func.count(distinct(rows.c.directive_id)), func.count())
    per_agency = select(rows.c.now, rows.c.agency, *counts).where(rows.c.now)
    totals = select(rows.c.now, cast(null(), Integer), *counts)
    stmt = union_all(per_agency.group_by(rows.c.now, rows.c.agency), totals.group_by(rows.c.now))
    codes = dict(session.execute(select(Agency.id, Agency.code)).all())
    total, previous, by_agency = Documents(), Documents(), {}
    for is_now, agency_id, directives, tasks in session.execute(stmt):
        documents = Documents(int(directives), int(tasks))
        if agency_id is not None:
            by_agency[codes[agency_id]] = documents
        elif is_now:
            total = documents
        else:
            previous = documents
    return total, by_agency, previous


def _candidates(start: date, end: date, *, complete: bool, late: bool) -> ColumnElement[bool]:
    """A cheap superset of the tasks to list, tested before the grid is computed.

    Overdue at the end needs a task still open then with a deadline before it; completed in the
    period needs a confirmation in it (the report is dated on or before the confirmation), late
    also a report after the original deadline; fell due needs a deadline in the period. An
    extension may move any deadline, so a task that had one is always a candidate.
    """
    open_at_end = and_(
        or_(Task.confirmed_on.is_(None), Task.confirmed_on > end),
        or_(Task.cancelled_on.is_(None), Task.cancelled_on > end),
    )
    confirmed = Task.confirmed_on.between(start, end)
    wanted = [Task.has_extensions, and_(open_at_end, Task.original_deadline < end)]
    if complete:
        wanted += [confirmed, Task.original_deadline.between(start, end)]
    elif late:
        reported_late = or_(Task.completed_on.is_(None), Task.completed_on > Task.original_deadline)
        wanted.append(and_(confirmed, reported_late))
    return or_(*wanted)


def _task_list(
    session: Session,
    cal: WorkingCalendar,
    start: date,
    end: date,
    scope: list[Any],
    limit: int,
    figures: Figures,
) -> TaskList:
    """The tasks of [start, end] as of ``end``: one statement, ordered and capped in SQL.

    The grid bounds how many there are (fell due + completed + overdue counts some twice): when
    that fits under ``limit`` every task is listed and counted here; when not, only the overdue
    and late ones are listed, and the grid gives their exact counts (and tells whether the
    overdue ones alone fill the page).
    """
    complete = figures.fell_due + figures.completed + figures.open_overdue <= limit
    # Overdue tasks come first: when they fill the page, late ones need not be looked at.
    late = figures.open_overdue < limit
    candidates = _candidates(start, end, complete=complete, late=late)
    submitted = case(
        (and_(Task.submitted_on.is_not(None), Task.submitted_on <= end), Task.submitted_on),
        else_=null(),
    )
    # Materialized, as in period_sql: the grid CASE is evaluated once per task, not per use.
    t = (
        select(
            Task.id,
            Task.lead_agency_id,
            grid_sql.grid(end, cal).label("g"),
            grid_sql.effective_deadline(end).label("eff"),
            func.coalesce(Task.completed_on, Task.confirmed_on).label("done"),
            submitted.label("submitted"),
        )
        .where(Task.assigned_on <= end, candidates, *scope)
        .cte("report_tasks")
        .prefix_with("MATERIALIZED")
    )
    g = t.c.g
    in_period = and_(t.c.done >= start, t.c.done <= end)
    on_time = (Grid.DONE_EARLY.value, Grid.DONE_ON_THE_DAY.value, Grid.DONE_NO_DEADLINE.value)
    section = case(
        (g == Grid.OVERDUE.value, Section.OVERDUE.value),
        (g == Grid.DONE_LATE.value, Section.DONE_LATE.value),
        (g.in_(on_time), Section.DONE_ON_TIME.value),
        else_=Section.WITHIN_TERM.value,
    )
    wanted = or_(g == Grid.OVERDUE.value, and_(g == Grid.DONE_LATE.value, in_period))
    if complete:
        fell_due = and_(
            g.not_in([Grid.PAUSED.value, Grid.CANCELLED.value]),
            t.c.eff.is_not(None),
            t.c.eff >= start,
            t.c.eff <= end,
        )
        wanted = or_(wanted, fell_due, and_(g.in_(on_time), in_period))
    lead = aliased(Agency)
    page = (
        select(t, section.label("section"))
        .join(lead, lead.id == t.c.lead_agency_id)
        .where(wanted)
        .order_by(section, lead.code, t.c.eff.is_(None), t.c.eff, t.c.id)
        .limit(limit)
        .subquery("report_page")
    )
    o_eff, o_ref = aliased(CalendarDay), aliased(CalendarDay)
    # Days late: to the completion when done late, to the report or the end when overdue.
    ref_day = case(
        (page.c.g == Grid.OVERDUE.value, func.coalesce(page.c.submitted, literal(end))),
        else_=page.c.done,
    )
    stmt = (
        select(
            page,
            Task.code,
            Task.content,
            Task.original_deadline,
            Task.directive_id,
            Directive.number,
            Directive.issued_on,
            lead.code.label("agency_code"),
            lead.name.label("agency_name"),
            Leader.name.label("leader_name"),
            (o_ref.ordinal - o_eff.ordinal).label("late"),
        )
        .select_from(page)
        .join(Task, Task.id == page.c.id)
        .join(Directive, Directive.id == Task.directive_id)
        .join(lead, lead.id == page.c.lead_agency_id)
        .outerjoin(Leader, Leader.id == Task.leader_id)
        .outerjoin(o_eff, o_eff.day == page.c.eff)
        .outerjoin(o_ref, o_ref.day == ref_day)
        .order_by(page.c.section, lead.code, page.c.eff.is_(None), page.c.eff, page.c.id)
    )
    result = session.execute(stmt).all()
    rows = [_row(r) for r in result]
    if complete:
        counts = {x: sum(1 for r in rows if r.section is x) for x in Section}
        return TaskList(rows, counts, limit, True, len({r.directive_id for r in result}))
    counts = {Section.OVERDUE: figures.open_overdue, Section.DONE_LATE: figures.late}
    return TaskList(rows, counts, limit, False, None)


def _row(r: Any) -> TaskRow:
    grid = Grid(r.g)
    late = int(r.late) if grid in (Grid.OVERDUE, Grid.DONE_LATE) and r.late is not None else None
    return TaskRow(
        code=r.code,
        content=r.content,
        directive=r.number,
        directive_issued_on=r.issued_on,
        agency_code=r.agency_code,
        agency_name=r.agency_name,
        leader=r.leader_name,
        deadline=r.eff,
        original_deadline=r.original_deadline,
        grid=grid,
        completed_on=r.done if grid.is_done else None,
        submitted_on=r.submitted if not grid.is_done else None,
        days_late=late,
        section=Section(r.section),
    )
