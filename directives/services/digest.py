"""The weekly digest to each leader: the chairman sees every task, a vice-chairman those in charge.

Sent on the first working day of the week, only when it has something to say, and once per
leader and week: its Message-ID is derived from the leader and the ISO week, and the outbox's
unique Message-ID turns a second run into a no-op.

Set-based for every leader at once, whatever the size of the register. A leader's scope is a union
of cells (lead agency, leader, sector): all of them for the chairman; for a vice-chairman those of
their own tasks and of their sectors. So a run reads the tasks twice, whatever the number of
leaders: one grouped scan counts each cell's tasks by kind (their standing now and a week ago,
the eight-week series, aging, the year's on-time rate), one ranked scan keeps each cell's first
tasks of every list; pending extension requests are ranked the same way. Python then adds up
and merges cells, never tasks. Both scans classify tasks as ``grid_sql`` does (``classify``,
checked against it by a test), but read approved extensions with one join instead of a
subquery per use, and leave the tasks never extended nor paused free of subqueries, so that
PostgreSQL can scan them in parallel.

Days overdue are counted as the escalation rules count them, ``wd(D, d)`` from the effective
deadline to the digest's day, so "critical" is exactly escalation level 2 and the aging buckets
(over 30, 60, 120 working days, each including the next) agree with the days shown per task.
"""

from __future__ import annotations

import functools
import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Row,
    Select,
    and_,
    case,
    func,
    literal,
    not_,
    null,
    or_,
    outerjoin,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import Session

from directives.calendar import WorkingCalendar
from directives.db.tables import Agency, Directive, Extension, Leader, Task, TaskPause
from directives.domain import DeadlineSpec, LeaderRole
from directives.services import grid_sql, outbox
from directives.services.calendar import ensure_index
from directives.services.mailing import MailSettings, line
from directives.timeliness import AGING_BUCKETS, DUE_SOON_WINDOW, Grid

CRITICAL = 10  # working days overdue: escalation level 2
LIST_LIMIT = 30  # tasks per section: a phone screen, not a register
GROUP_LIMIT = 5  # tasks listed per agency among the overdue (its counts cover them all)
DUE_WITHIN = 5  # working days ahead for "due next"
WEEKS = 8  # points of the overdue series, one a week, the last on the digest's day
CHART_BARS = 8  # agencies drawn one by one in the overdue chart; the rest share one bar

GRID_KEYS: dict[str, tuple[Grid, ...]] = {
    "within_term": (Grid.WITHIN_TERM,),
    "due_soon": (Grid.DUE_SOON,),
    "overdue": (Grid.OVERDUE,),
    "done_on_time": (Grid.DONE_EARLY, Grid.DONE_ON_THE_DAY),
    "done_late": (Grid.DONE_LATE,),
    "standing": (Grid.STANDING,),
}
_DONE = (Grid.DONE_EARLY, Grid.DONE_ON_THE_DAY, Grid.DONE_LATE, Grid.DONE_NO_DEADLINE)
_OPEN_DATED = (Grid.DUE_SOON, Grid.WITHIN_TERM)
_APART = (Grid.PAUSED, Grid.CANCELLED)  # counted apart: they never "fall due"
# The flags of a kind of task: due in the next days, fell due this year, done this week / year.
_DUE_NEXT, _FELL_DUE, _DONE_THIS_WEEK, _DONE_THIS_YEAR = 1, 2, 4, 8
_CRITICAL, _LATE, _DUE, _COMPLETED = range(4)  # the lists, in the order of the message


def first_working_day_of_week(cal: WorkingCalendar, day: date) -> bool:
    """True if ``day`` is worked and no earlier day of its week is."""
    monday = day - timedelta(days=day.weekday())
    return cal.is_working(day) and not any(
        cal.is_working(monday + timedelta(days=k)) for k in range((day - monday).days)
    )


def late_cutoff(cal: WorkingCalendar, day: date, n: int) -> date:
    """The latest deadline at least ``n`` working days before ``day`` (``wd(D, day) >= n``)."""
    target, x = cal.ordinal(day) - n, day
    while cal.ordinal(x) > target:
        x -= timedelta(days=1)
    return x


@dataclass(frozen=True)
class _Days:
    """The dates one digest compares."""

    day: date
    week_ago: date
    weeks: tuple[date, ...]  # oldest first; the last two are week_ago and day
    horizon: date
    year_start: date
    critical: date
    aging: dict[int, date]

    @classmethod
    def of(cls, cal: WorkingCalendar, day: date) -> _Days:
        return cls(
            day=day,
            week_ago=day - timedelta(days=7),
            weeks=tuple(day - timedelta(weeks=k) for k in reversed(range(WEEKS))),
            horizon=cal.add(day, DUE_WITHIN),
            year_start=date(day.year, 1, 1),
            critical=late_cutoff(cal, day, CRITICAL),
            aging={b: late_cutoff(cal, day, b + 1) for b in AGING_BUCKETS},
        )


class Deadlines:
    """Effective deadlines as of several days, from one grouped read of the approved extensions.

    Approvals only ever extend (``decide_extension`` refuses a deadline not after the current
    one), so the latest approval decided by a day is also the largest: one MAX per day and task,
    joined once, where ``grid_sql.effective_deadline`` runs a subquery at every reference.
    """

    def __init__(self, days: Sequence[date]) -> None:
        self.days = list(days)
        self.approved = (
            select(
                Extension.task_id,
                *(
                    func.max(case((Extension.decided_on <= day, Extension.granted_deadline))).label(
                        f"as_of_{i}"
                    )
                    for i, day in enumerate(self.days)
                ),
            )
            .where(Extension.status == "approved", Extension.decided_on <= max(self.days))
            .group_by(Extension.task_id)
            .subquery("approved")
        )

    def tasks(self) -> FromClause:
        """The tasks, each with its approvals' deadlines."""
        return outerjoin(Task, self.approved, self.approved.c.task_id == Task.id)

    def on(self, day: date) -> ColumnElement[date]:
        """The effective deadline as of ``day`` (one of the days given)."""
        granted = self.approved.c[f"as_of_{self.days.index(day)}"]
        return case(
            (Task.has_extensions, func.coalesce(granted, Task.original_deadline)),
            else_=Task.original_deadline,
        )


def classify(
    as_of: date,
    cal: WorkingCalendar,
    eff: ColumnElement[date],
    out: Callable[[Grid], object] = lambda g: g.value,
    *,
    pauses: bool = True,
) -> ColumnElement[Any]:
    """``grid_sql.grid`` over a given effective deadline: the same rules in the same order.

    ``out`` says what each outcome evaluates to; the digest counts small integers (``_code``),
    which group and compare faster than text. ``pauses=False`` is for tasks never paused: it
    leaves out the pause test, a correlated subquery that would keep PostgreSQL from scanning
    in parallel.
    """
    cutoff = cal.add(as_of, DUE_SOON_WINDOW + 1)
    reference = case(
        (and_(Task.submitted_on.is_not(None), Task.submitted_on <= as_of), Task.submitted_on),
        else_=literal(as_of),
    )
    paused = [(grid_sql.paused(as_of), out(Grid.PAUSED))] if pauses else []
    return case(
        (Task.assigned_on > as_of, out(Grid.NOT_ASSIGNED)),
        (
            and_(Task.confirmed_on.is_not(None), Task.confirmed_on <= as_of),
            case(
                (eff.is_(None), out(Grid.DONE_NO_DEADLINE)),
                (Task.completed_on < eff, out(Grid.DONE_EARLY)),
                (Task.completed_on == eff, out(Grid.DONE_ON_THE_DAY)),
                else_=out(Grid.DONE_LATE),
            ),
        ),
        (and_(Task.cancelled_on.is_not(None), Task.cancelled_on <= as_of), out(Grid.CANCELLED)),
        *paused,
        (eff.is_(None), out(Grid.STANDING)),
        (reference > eff, out(Grid.OVERDUE)),
        (literal(as_of) > eff, out(Grid.WITHIN_TERM)),
        (eff < cutoff, out(Grid.DUE_SOON)),
        else_=out(Grid.WITHIN_TERM),
    )


_CODES = {g: i for i, g in enumerate(Grid)}
_SAME = 15  # the standing a week ago is today's (and, like every code, fits in four bits)


def _code(g: Grid) -> int:
    return _CODES[g]


def _codes(grids: Iterable[Grid]) -> frozenset[int]:
    return frozenset(_CODES[g] for g in grids)


_GRID_CODES = {key: _codes(grids) for key, grids in GRID_KEYS.items()}
_OVERDUE = _code(Grid.OVERDUE)
_DONE_CODES, _APART_CODES, _OPEN_CODES = _codes(_DONE), _codes(_APART), _codes(_OPEN_DATED)


class _Tasks:
    """The tasks in two parts, each with what classifying it needs.

    Most tasks were never extended nor paused: their deadline is their own and the query over
    them has no subquery, so PostgreSQL may scan them in parallel. The others join their
    approvals (``Deadlines``) and keep the pause test.
    """

    def __init__(self, days: Sequence[date]) -> None:
        self.deadlines = Deadlines(days)

    def parts(
        self, build: Callable[[Callable[[date], Any], bool], Select[Any]]
    ) -> tuple[Select[Any], Select[Any]]:
        """``build(eff, pauses)`` for each part, restricted to it."""
        special = or_(Task.has_extensions, Task.has_pauses)
        plain = build(lambda _day: Task.original_deadline, False).where(not_(special))
        # Found from the extensions and pauses (the flags say a task has some), not by
        # reading every task again.
        ids = union(
            select(Extension.task_id).where(Extension.status == "approved"),
            select(TaskPause.task_id),
        ).subquery("special")
        other = (
            build(self.deadlines.on, True)
            .select_from(ids.join(Task, Task.id == ids.c.task_id))
            .outerjoin(self.deadlines.approved, self.deadlines.approved.c.task_id == Task.id)
            .where(special)
        )
        return plain, other


def grid_by_task(session: Session, as_of: date) -> dict[int, str]:
    """Every task's grid status as the digest computes it (to check it against ``grid_sql``)."""
    cal = ensure_index(session)

    def grid(eff: Callable[[date], Any], pauses: bool) -> Select[Any]:
        return select(Task.id, classify(as_of, cal, eff(as_of), pauses=pauses))

    return {i: str(g) for part in _Tasks([as_of]).parts(grid) for i, g in session.execute(part)}


# What a digest shows of each agency (its group of overdue tasks, its row in the table, its
# bar): a few of the figures, kept per cell as a short list in this order.
_AGENCY_KEYS = (
    "now_overdue",
    "critical",
    *(f"over_{b}" for b in sorted(AGING_BUCKETS)),
    "fell_due",
    "on_time",
    "completed_year",
)
_A_OVERDUE, _A_CRITICAL = _AGENCY_KEYS.index("now_overdue"), _AGENCY_KEYS.index("critical")
_A_FELL_DUE, _A_ON_TIME = _AGENCY_KEYS.index("fell_due"), _AGENCY_KEYS.index("on_time")
_A_COMPLETED = _AGENCY_KEYS.index("completed_year")
_A_AGING = {f"over_{b}": _AGENCY_KEYS.index(f"over_{b}") for b in sorted(AGING_BUCKETS)}


@functools.cache
def _counted(kind: int) -> tuple[str, ...]:
    """The figures a task of ``kind`` counts in: its bits are those ``_cell_figures`` packs."""
    g, before, series = kind & 15, kind >> 4 & 15, kind >> 8 & 63
    aging, flags = kind >> 14 & 7, kind >> 17
    before = g if before == _SAME else before
    keys = [f"now_{key}" for key, grids in _GRID_CODES.items() if g in grids]
    keys += [f"before_{key}" for key, grids in _GRID_CODES.items() if before in grids]
    if g == _OVERDUE:
        keys += ["critical"] if aging >= 1 else []
        keys += [f"over_{b}" for level, b in enumerate(sorted(AGING_BUCKETS), 2) if aging >= level]
    done = g in _DONE_CODES
    fell_due = bool(flags & _FELL_DUE) and g not in _APART_CODES
    keys += ["due_next"] if flags & _DUE_NEXT and g in _OPEN_CODES else []
    keys += ["fell_due"] if fell_due else []
    keys += ["on_time"] if fell_due and g in _GRID_CODES["done_on_time"] else []
    keys += ["completed_week"] if done and flags & _DONE_THIS_WEEK else []
    keys += ["completed_year"] if done and flags & _DONE_THIS_YEAR else []
    keys += [f"w{i}" for i in range(WEEKS - 2) if series >> i & 1]
    return tuple(keys)


@functools.cache
def _agency_counted(kind: int) -> tuple[int, ...]:
    """The places in ``_AGENCY_KEYS`` of the figures a task of ``kind`` counts in."""
    counted = set(_counted(kind))
    return tuple(i for i, key in enumerate(_AGENCY_KEYS) if key in counted)


def _cell_figures(session: Session, d: _Days, cal: WorkingCalendar) -> dict[_Key, _Group]:
    """One scan of the tasks: every figure of the digest per (agency, leader, sector) cell,
    kept by (leader, sector) group: its tasks by kind, and per agency what a digest shows.

    The tasks are counted by kind: what the digest tells apart (their standing today and a week
    ago, at each earlier point of the series, their deadline's place among the day's cutoffs,
    when they were done), a few dozen kinds a cell, which Python adds up.
    """
    week_ago, earlier = d.week_ago, d.weeks[:-2]
    done = func.coalesce(Task.completed_on, Task.confirmed_on)

    def kinds(eff: Callable[[date], Any], pauses: bool) -> Select[Any]:
        def grid(day: date) -> ColumnElement[Any]:
            return classify(day, cal, eff(day), _code, pauses=pauses)

        # Guards that answer without classifying, exactly: a task closed a week ago without
        # extensions stands the same today; one closed before the eight weeks, or due after
        # their last earlier point (approvals only extend), is overdue at none of them.
        settled = or_(
            and_(Task.confirmed_on <= week_ago, not_(Task.has_extensions)),
            and_(Task.cancelled_on <= week_ago, Task.confirmed_on.is_(None)),
        )
        maybe_overdue = and_(
            or_(Task.confirmed_on.is_(None), Task.confirmed_on > earlier[0]),
            or_(Task.cancelled_on.is_(None), Task.cancelled_on > earlier[0]),
            or_(Task.has_extensions, Task.original_deadline < earlier[-1]),
        )
        overdue_at = sum(
            (case((grid(w) == _OVERDUE, 1 << k), else_=0) for k, w in enumerate(earlier)),
            start=literal(0),
        )
        today = eff(d.day)
        aging = case(
            *(
                (today <= d.aging[b], i)
                for i, b in reversed(list(enumerate(sorted(AGING_BUCKETS), 2)))
            ),
            (today <= d.critical, 1),
            else_=0,
        )
        flags = (
            case((and_(today >= d.day, today <= d.horizon), _DUE_NEXT), else_=0)
            + case((and_(today >= d.year_start, today <= d.day), _FELL_DUE), else_=0)
            + case(
                (and_(Task.confirmed_on > week_ago, Task.confirmed_on <= d.day), _DONE_THIS_WEEK),
                else_=0,
            )
            + case((and_(done >= d.year_start, done <= d.day), _DONE_THIS_YEAR), else_=0)
        )
        # One integer of bits (see _counted): a single grouping key, computed once a task, for
        # which PostgreSQL expects few enough groups to count them in a hash table.
        kind = (
            grid(d.day)
            + case((settled, _SAME), else_=grid(week_ago)) * 16
            + case((maybe_overdue, overdue_at), else_=0) * 256
            + aging * 16384
            + flags * 131072
        )
        keys = (
            Task.lead_agency_id.label("agency"),
            Task.leader_id.label("leader"),
            Task.sector.label("sector"),
            kind.label("kind"),
        )
        return (
            select(*keys, func.count().label("n"), func.min(today).label("oldest"))
            .where(Task.assigned_on <= d.day)
            .group_by(*(k.element for k in keys))
        )

    groups: dict[_Key, _Group] = {}
    width = len(_AGENCY_KEYS)
    for part in _Tasks(d.weeks).parts(kinds):
        for agency, leader, sector, kind, n, oldest in session.execute(part):
            group = groups.get((leader, sector))
            if group is None:
                group = groups[(leader, sector)] = _Group()
            group.kinds[kind] = group.kinds.get(kind, 0) + n
            figures = group.agencies.get(agency)
            if figures is None:
                figures = group.agencies[agency] = [0] * width
            for i in _agency_counted(kind):
                figures[i] += n
            if kind & 15 == _OVERDUE and oldest is not None:
                first = group.oldest.get(agency)
                group.oldest[agency] = oldest if first is None else min(first, oldest)
    for group in groups.values():
        for kind, n in group.kinds.items():
            for key in _counted(kind):
                group.total[key] += n
    return groups


def _cell_lists(session: Session, d: _Days, cal: WorkingCalendar) -> list[Row[Any]]:
    """Each cell's first tasks of every list: critical, overdue (per agency), due next, done."""

    def candidates(eff: Callable[[date], Any], pauses: bool) -> Select[Any]:
        today = eff(d.day)

        # The list a task is in, straight from its standing (one CASE, so no fence is needed).
        def section(g: Grid) -> object:
            if g is Grid.OVERDUE:
                return case((today <= d.critical, _CRITICAL), else_=_LATE)
            if g in _OPEN_DATED:
                return case((and_(today >= d.day, today <= d.horizon), _DUE), else_=null())
            if g in _DONE:
                return case((Task.confirmed_on > d.week_ago, _COMPLETED), else_=null())
            return null()

        return select(
            Task.id,
            Task.lead_agency_id.label("agency"),
            Task.leader_id.label("leader"),
            Task.sector,
            classify(d.day, cal, today, section, pauses=pauses).label("section"),
            today.label("eff"),
            Task.confirmed_on.label("confirmed"),
        ).where(
            Task.assigned_on <= d.day,
            # Cheap and exact: only these can be listed, the others are never classified.
            or_(
                and_(Task.confirmed_on > d.week_ago, Task.confirmed_on <= d.day),
                and_(
                    or_(Task.confirmed_on.is_(None), Task.confirmed_on > d.day),
                    or_(Task.cancelled_on.is_(None), Task.cancelled_on > d.day),
                    or_(Task.has_extensions, Task.original_deadline <= d.horizon),
                ),
            ),
        )

    t = union_all(*_Tasks([d.day]).parts(candidates)).subquery("t")
    rank = func.row_number().over(
        partition_by=(
            t.c.section,
            t.c.leader,
            t.c.sector,
            case((t.c.section == _LATE, t.c.agency)),
        ),
        # Longest overdue (earliest deadline) first; the week's completions, latest first.
        order_by=(
            case((t.c.section == _COMPLETED, null()), else_=t.c.eff),
            t.c.confirmed.desc(),
            t.c.id,
        ),
    )
    ranked = (
        select(t.c.id, t.c.agency, t.c.leader, t.c.sector, t.c.eff, t.c.section, rank.label("rank"))
        .where(t.c.section.is_not(None))
        .subquery("ranked")
    )
    r = ranked.c
    stmt = select(r.id, r.agency, r.leader, r.sector, r.eff, r.section).where(
        r.rank <= case((r.section == _LATE, GROUP_LIMIT), else_=LIST_LIMIT)
    )
    return list(session.execute(stmt))


def _pending_extensions(session: Session, d: _Days) -> list[Row[Any]]:
    """Extension requests undecided on the day, oldest first: each cell's first ones."""
    cell = (Task.leader_id, Task.sector)
    waiting = (
        select(
            Extension.task_id.label("id"),
            Task.lead_agency_id.label("agency"),
            Task.leader_id.label("leader"),
            Task.sector,
            Extension.requested_on,
            Extension.requested_deadline,
            Extension.reason,
            func.row_number()
            .over(partition_by=cell, order_by=(Extension.requested_on, Task.id))
            .label("rank"),
            func.count().over(partition_by=cell).label("cell_total"),
        )
        .join(Task, Task.id == Extension.task_id)
        .where(
            Extension.requested_on <= d.day,
            or_(Extension.decided_on.is_(None), Extension.decided_on > d.day),
            or_(Task.confirmed_on.is_(None), Task.confirmed_on > d.day),
            or_(Task.cancelled_on.is_(None), Task.cancelled_on > d.day),
        )
        .subquery("waiting")
    )
    return list(session.execute(select(waiting).where(waiting.c.rank <= LIST_LIMIT)))


def _shown(session: Session, ids: Iterable[int], day: date) -> dict[int, Row[Any]]:
    """What a message shows of each listed task, by id, in chunks the databases accept."""
    deadlines = Deadlines([day])
    out: dict[int, Row[Any]] = {}
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), 5000):
        stmt = (
            select(
                Task.id,
                Task.code,
                Task.content,
                Task.lead_agency_id.label("agency"),
                Task.stated_deadline,
                Task.deadline_working_days,
                Task.completed_on,
                Task.confirmed_on,
                deadlines.on(day).label("eff"),
                Directive.number,
                Directive.issued_on,
                Directive.kind,
            )
            .select_from(deadlines.tasks())
            .join(Directive, Directive.id == Task.directive_id)
            .where(Task.id.in_(wanted[start : start + 5000]))
        )
        out |= {row.id: row for row in session.execute(stmt)}
    return out


_Key = tuple[int | None, str | None]
"""(leader, sector): every cell, list row and request is in one, and a scope is made of them."""


@dataclass
class _Group:
    """The tasks of one (leader, sector): their counts, per agency what a digest shows of it,
    and the group's first tasks of each list and pending requests."""

    kinds: dict[int, int] = field(default_factory=dict)  # tasks of each kind (_cell_figures)
    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    agencies: dict[int, list[int]] = field(default_factory=dict)  # figures of _AGENCY_KEYS
    oldest: dict[int, date] = field(default_factory=dict)  # earliest deadline overdue, by agency
    lists: list[Row[Any]] = field(default_factory=list)
    extensions: list[Row[Any]] = field(default_factory=list)


@dataclass
class _Week:
    """Everything the digests of one day need, for every leader.

    A leader's scope is a union of whole (leader, sector) groups, so the figures of a scope add
    up its groups' cells and never look at the others; leaders whose scopes hold the same groups
    (two vice-chairmen of the same sectors whose own tasks are all in them) share one body, and
    a task listed in several digests has its row built once.
    """

    d: _Days
    cal: WorkingCalendar
    mail: MailSettings
    leaders: list[Leader]
    agencies: dict[int, Row[int, str, str]]  # id, name, code
    groups: dict[_Key, _Group]
    shown: dict[int, Row[Any]]
    bodies: dict[frozenset[_Key], dict[str, Any] | None] = field(default_factory=dict)
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def collect(cls, session: Session, day: date, mail: MailSettings) -> _Week:
        cal = ensure_index(session)
        d = _Days.of(cal, day)
        leaders = list(session.scalars(select(Leader).order_by(Leader.code)))
        lists = _cell_lists(session, d, cal)
        extensions = _pending_extensions(session, d)
        groups = _cell_figures(session, d, cal)
        for r in lists:
            groups.setdefault((r.leader, r.sector), _Group()).lists.append(r)
        for e in extensions:
            groups.setdefault((e.leader, e.sector), _Group()).extensions.append(e)
        return cls(
            d=d,
            cal=cal,
            mail=mail,
            leaders=leaders,
            agencies={
                a.id: a for a in session.execute(select(Agency.id, Agency.name, Agency.code))
            },
            groups=groups,
            shown=_shown(session, (r.id for r in [*lists, *extensions]), day),
        )

    def scope(self, leader: Leader) -> frozenset[_Key]:
        """The groups in ``leader``'s charge: all for the chairman; for a vice-chairman those of
        their own tasks and of their sectors."""
        if leader.role == LeaderRole.CHAIRMAN.value:
            return frozenset(self.groups)
        mine = set(leader.sectors or ())
        return frozenset(k for k in self.groups if k[0] == leader.id or k[1] in mine)

    def task_row(self, task_id: int) -> dict[str, Any]:
        """The template row of a listed task, with its effective deadline as of the day."""
        row = self.rows.get(task_id)
        if row is None:
            r = self.shown[task_id]
            row = self.rows[task_id] = line(
                code=r.code,
                content=r.content,
                directive=r.number,
                issued_on=r.issued_on,
                kind=r.kind,
                lead_agency=self.agencies[r.agency].name,
                deadline=r.eff,
                spec=DeadlineSpec(on=r.stated_deadline, working_days=r.deadline_working_days),
                as_of=self.d.day,
                cal=self.cal,
                app_url=self.mail.app_url,
            )
        return row

    def completed_row(self, task_id: int) -> dict[str, Any]:
        """A task confirmed this week: when it was done, and whether on time."""
        r = self.shown[task_id]
        done: date = r.completed_on or r.confirmed_on
        eff: date | None = r.eff
        timing = (
            "no_deadline"
            if eff is None
            else ("early" if done < eff else "on_the_day" if done == eff else "late")
        )
        late = self.cal.wd(eff, done) if timing == "late" and eff is not None else None
        return self.task_row(task_id) | {
            "days_left": None,
            "days_late": late,
            "completed_on": done.isoformat(),
            "timing": timing,
        }

    def context(self, leader: Leader) -> dict[str, Any] | None:
        """The template data of ``leader``'s digest; None when there is nothing to say."""
        scope = self.scope(leader)
        if scope not in self.bodies:
            self.bodies[scope] = self.body([g for k, g in self.groups.items() if k in scope])
        body = self.bodies[scope]
        if body is None:
            return None
        return {
            "office": self.mail.office,
            "app_url": self.mail.app_url,
            "as_of": self.d.day.isoformat(),
            "recipient": f"{leader.title} {leader.name}",
            "leader": leader.name,
            **body,
        }

    def body(self, groups: list[_Group]) -> dict[str, Any] | None:
        """What a digest over ``groups`` says (all but whom it is for); None for nothing."""
        total: dict[str, int] = defaultdict(int)
        waiting = 0
        for group in groups:
            for key, value in group.total.items():
                total[key] += value
            if group.extensions:  # every row of a group carries the group's count
                waiting += group.extensions[0].cell_total
        if not (total["now_overdue"] or total["due_next"] or total["completed_week"] or waiting):
            return None
        lists: dict[int, list[Row[Any]]] = defaultdict(list)
        per_agency: dict[int, list[int]] = {}  # the figures of _AGENCY_KEYS
        oldest: dict[int, date] = {}
        for group in groups:
            for r in group.lists:
                lists[r.section].append(r)
            for agency, figures in group.agencies.items():
                before = per_agency.get(agency)
                per_agency[agency] = (
                    figures
                    if before is None
                    else [a + b for a, b in zip(before, figures, strict=True)]
                )
            for agency, first in group.oldest.items():
                before_first = oldest.get(agency)
                oldest[agency] = first if before_first is None else min(before_first, first)
        critical, overdue, due_next, completed = (lists[i] for i in range(4))
        pending = sorted(
            (e for group in groups for e in group.extensions), key=lambda e: (e.requested_on, e.id)
        )
        latest_first = [
            r.id
            for r in sorted(
                completed, key=lambda r: (-self.shown[r.id].confirmed_on.toordinal(), r.id)
            )
        ]
        grid: dict[str, Any] = {k: total[f"now_{k}"] for k in GRID_KEYS}
        grid["change"] = {k: total[f"now_{k}"] - total[f"before_{k}"] for k in GRID_KEYS}
        grid["aging"] = {f"over_{b}": total[f"over_{b}"] for b in sorted(AGING_BUCKETS)}
        grid["totals"] = {
            "critical": total["critical"],
            "due_next": total["due_next"],
            "completed": total["completed_week"],
            "extension_requests": waiting,
        }
        return {
            "grid": grid,
            "critical": [self.task_row(i) for i in _first(critical)],
            "overdue_by_agency": self.overdue_groups(per_agency, oldest, overdue),
            "due_next": [self.task_row(i) for i in _first(due_next)],
            "completed": [self.completed_row(i) for i in latest_first[:LIST_LIMIT]],
            "extension_requests": [
                {
                    "task": self.task_row(e.id),
                    "requested_on": e.requested_on.isoformat(),
                    "requested_deadline": e.requested_deadline.isoformat(),
                    "reason": e.reason,
                }
                for e in pending[:LIST_LIMIT]
            ],
            "agencies": self.agency_table(per_agency),
            "charts": self.charts(total, per_agency),
        }

    def overdue_groups(
        self,
        per_agency: dict[int, list[int]],
        oldest: dict[int, date],
        listed: list[Row[Any]],
    ) -> list[dict[str, Any]]:
        """Agencies with overdue tasks, longest overdue first; the tasks not yet critical."""
        day = self.d.day
        ranked = heapq.nsmallest(
            LIST_LIMIT,
            (
                # The code last: two agencies may share a name (districts of different provinces).
                (-self.cal.wd(first_due, day), -f[_A_OVERDUE], a.name, a.code, a.id)
                for agency_id, f in per_agency.items()
                if f[_A_OVERDUE] and (first_due := oldest.get(agency_id)) is not None
                for a in (self.agencies[agency_id],)
            ),
        )
        tasks: dict[int, list[Row[Any]]] = defaultdict(list)
        for r in listed:
            tasks[r.agency].append(r)
        groups: list[dict[str, Any]] = []
        for late, _, name, code, agency_id in ranked:
            f = per_agency[agency_id]
            shown = _first(tasks[agency_id], GROUP_LIMIT)
            groups.append(
                {
                    "agency": name,
                    "code": code,
                    "count": f[_A_OVERDUE],
                    "critical": f[_A_CRITICAL],
                    "max_days_late": -late,
                    "aging": {key: f[i] for key, i in _A_AGING.items()},
                    "tasks": [self.task_row(i) for i in shown],
                    "more": f[_A_OVERDUE] - f[_A_CRITICAL] - len(shown),
                }
            )
        return groups

    def agency_table(self, per_agency: dict[int, list[int]]) -> list[dict[str, Any]]:
        """Per agency: the year's on-time rate, open overdue tasks, tasks completed this year."""
        ranked = heapq.nsmallest(
            LIST_LIMIT,
            (
                (-f[_A_OVERDUE], a.name, a.code, a.id)
                for agency_id, f in per_agency.items()
                if f[_A_FELL_DUE] or f[_A_OVERDUE]
                for a in (self.agencies[agency_id],)
            ),
        )
        rows: list[dict[str, Any]] = []
        for _, name, code, agency_id in ranked:
            f = per_agency[agency_id]
            fell_due, on_time = f[_A_FELL_DUE], f[_A_ON_TIME]
            rows.append(
                {
                    "agency": name,
                    "code": code,
                    "fell_due": fell_due,
                    "on_time": on_time,
                    "on_time_rate": round(100 * on_time / fell_due, 1) if fell_due else None,
                    "overdue": f[_A_OVERDUE],
                    "completed": f[_A_COMPLETED],
                }
            )
        return rows

    def charts(
        self, total: dict[str, int], per_agency: dict[int, list[int]]
    ) -> list[dict[str, Any]]:
        """Data specs of the two charts (see ``notifications.charts``); none for an empty one."""
        out: list[dict[str, Any]] = []
        bars = [
            (-f[_A_OVERDUE], a.name, a.code)
            for agency_id, f in per_agency.items()
            if f[_A_OVERDUE]
            for a in (self.agencies[agency_id],)
        ]
        if bars:
            shown = (
                sorted(bars) if len(bars) <= CHART_BARS + 1 else heapq.nsmallest(CHART_BARS, bars)
            )
            labels, values = [name for _, name, _ in shown], [-n for n, _, _ in shown]
            if len(shown) < len(bars):
                labels.append("Các đơn vị khác")
                values.append(-sum(n for n, _, _ in bars) - sum(values))
            out.append(
                {
                    "cid": "overdue-by-agency",
                    "title": "Nhiệm vụ quá hạn theo đơn vị chủ trì",
                    "kind": "barh",
                    "labels": labels,
                    "values": values,
                }
            )
        series = [total[f"w{k}"] for k in range(WEEKS - 2)]
        series += [total["before_overdue"], total["now_overdue"]]
        if any(series):
            out.append(
                {
                    "cid": "overdue-weekly",
                    "title": f"Nhiệm vụ quá hạn chưa hoàn thành qua {WEEKS} tuần",
                    "kind": "line",
                    "labels": [w.strftime("%d/%m") for w in self.d.weeks],
                    "values": series,
                }
            )
        return out


def _first(rows: Iterable[Row[Any]], limit: int = LIST_LIMIT) -> list[int]:
    """The ids of the first ``limit`` rows, earliest effective deadline first."""
    return [r.id for r in sorted(rows, key=lambda r: (r.eff, r.id))[:limit]]


def digest_contexts(
    session: Session, day: date, mail: MailSettings
) -> dict[str, dict[str, Any] | None]:
    """Every leader's digest data for ``day``, by leader code; None for nothing to say."""
    week = _Week.collect(session, day, mail)
    return {leader.code: week.context(leader) for leader in week.leaders}


def digest_context(
    session: Session, leader: Leader, day: date, mail: MailSettings
) -> dict[str, Any] | None:
    """The template data of ``leader``'s digest for ``day``; None when there is nothing to say."""
    return _Week.collect(session, day, mail).context(leader)


def enqueue_digests(
    session: Session, day: date, *, now: datetime, mail: MailSettings, dry_run: bool = False
) -> list[str]:
    """Enqueue each leader's digest for ``day`` (first working day of a week); returns leaders."""
    cal = ensure_index(session)
    if not first_working_day_of_week(cal, day):
        return []
    year, week_no, _ = day.isocalendar()
    week = _Week.collect(session, day, mail)
    sent = []
    for leader in week.leaders:
        context = week.context(leader)
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
                        key=f"digest-{leader.code.lower()}-{year}w{week_no:02d}",
                    )
                ],
                sender=mail.sender,
                now=now,
            )
            if not ids:
                continue
        sent.append(leader.code)
    return sent
