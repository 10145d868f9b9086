"""The weekly digest to each leader: the chairman sees every task, a vice-chairman those in charge.

Sent on the first working day of the week, only when it has something to say, and once per
leader and week: its Message-ID is derived from the leader and the ISO week, and the outbox's
unique Message-ID turns a second run into a no-op.

Set-based for every leader at once, whatever the size of the register. A leader's scope is a union
of cells (lead agency, leader, sector): all of them for the chairman; for a vice-chairman those of
their own tasks and of their sectors. So a run reads the tasks twice, whatever the number of
leaders: one grouped scan counts each cell's tasks by kind (their standing now and a week ago,
the eight-week series, aging, the year's on-time rate), one ranked scan keeps each cell's first
tasks of every list; pending extension requests are ranked the same way. The database adds
the counted kinds up per (leader, sector) group and per cell into the few figures a digest shows
of an agency (``_agency_tests``, checked against ``_counted`` by a test); Python then adds up
groups, never tasks, and ranks for each scope only the agencies with overdue tasks, adding up
the figures of those it shows. Both scans classify tasks as ``grid_sql`` does (``classify``,
checked against it by a test), but read approved extensions with one join instead of a
subquery per use, and leave the tasks never extended nor paused free of subqueries, so that
PostgreSQL can scan them in parallel; on PostgreSQL the two scans also run side by side, each on
its own connection (``_parallel.Runner``).

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
    BigInteger,
    ColumnElement,
    Date,
    FromClause,
    Integer,
    Row,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    not_,
    null,
    or_,
    outerjoin,
    select,
    text,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from directives.calendar import WorkingCalendar
from directives.db.tables import Agency, Directive, Extension, Leader, Task, TaskPause
from directives.domain import DeadlineSpec, LeaderRole
from directives.services import grid_sql, outbox
from directives.services._parallel import Runner
from directives.services.calendar import ensure_index
from directives.services.mailing import MailSettings, line
from directives.services.sql_arrays import pg_array
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

    def __init__(self, days: Sequence[date], session: Session) -> None:
        self.deadlines = Deadlines(days)
        self.postgres = session.get_bind().dialect.name == "postgresql"

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
        # Looked up by id, not joined: SQLite would read every task through an index and probe
        # the ids (seconds at a million tasks), PostgreSQL scan them all to hash-join. An IN
        # does it on SQLite; on PostgreSQL only an array, known before the scan, does.
        listed = select(ids.c.task_id)
        wanted = (
            Task.id == any_(func.array(listed.scalar_subquery()))
            if self.postgres
            else Task.id.in_(listed)
        )
        other = (
            build(self.deadlines.on, True)
            .select_from(self.deadlines.tasks())
            .where(special, wanted)
        )
        return plain, other


def grid_by_task(session: Session, as_of: date) -> dict[int, str]:
    """Every task's grid status as the digest computes it (to check it against ``grid_sql``)."""
    cal = ensure_index(session)

    def grid(eff: Callable[[date], Any], pauses: bool) -> Select[Any]:
        return select(Task.id, classify(as_of, cal, eff(as_of), pauses=pauses))

    return {
        i: str(g) for part in _Tasks([as_of], session).parts(grid) for i, g in session.execute(part)
    }


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


def _bits(kind: ColumnElement[int], shift: int, mask: int) -> ColumnElement[int]:
    """``kind >> shift & mask`` in SQL (both databases have the operators)."""
    shifted = kind.op(">>", return_type=Integer)(shift) if shift else kind
    return shifted.op("&", return_type=Integer)(mask)


def _agency_tests(kind: ColumnElement[int]) -> list[ColumnElement[bool]]:
    """For each of ``_AGENCY_KEYS``, whether a task of ``kind`` counts in it: ``_counted`` in
    SQL (a test holds the two together), so the cells' figures are added up by the database."""
    g, aging, flags = _bits(kind, 0, 15), _bits(kind, 14, 7), _bits(kind, 17, 15)
    overdue = g == _OVERDUE
    fell_due = and_(_bits(flags, 0, _FELL_DUE) != 0, g.not_in(sorted(_APART_CODES)))
    tests: dict[str, ColumnElement[bool]] = {
        "now_overdue": overdue,
        "critical": and_(overdue, aging >= 1),
        **{
            f"over_{b}": and_(overdue, aging >= level)
            for level, b in enumerate(sorted(AGING_BUCKETS), 2)
        },
        "fell_due": fell_due,
        "on_time": and_(fell_due, g.in_(sorted(_GRID_CODES["done_on_time"]))),
        "completed_year": and_(g.in_(sorted(_DONE_CODES)), _bits(flags, 0, _DONE_THIS_YEAR) != 0),
    }
    return [tests[key] for key in _AGENCY_KEYS]


def _roomy(session: Session) -> None:
    """On PostgreSQL, memory for this transaction's scans: they group or rank a few hundred
    thousand rows, which with the default 4 MB are sorted on disk where a hash table in memory
    takes a third of the time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '64MB'"))


def _cell_figures(session: Session, d: _Days, cal: WorkingCalendar) -> dict[_Key, _Group]:
    """One scan of the tasks: every figure of the digest per (leader, sector) group, and per
    (agency, leader, sector) cell what a digest shows of an agency.

    The tasks are counted by kind: what the digest tells apart (their standing today and a week
    ago, at each earlier point of the series, their deadline's place among the day's cutoffs,
    when they were done), a few dozen kinds a cell. The database then adds the kinds up twice
    in the same statement: per group (a few thousand rows, which Python turns into figures
    with ``_counted``) and per cell into the figures of ``_AGENCY_KEYS`` (one row a cell that
    has any), so Python never sees a row per cell and kind.
    """
    week_ago, earlier = d.week_ago, d.weeks[:-2]
    done = func.coalesce(Task.completed_on, Task.confirmed_on)
    # Open on the day: only such a task can be overdue or due next, so the bits that say so
    # are left at zero for the others and do not split their kinds.
    is_open = and_(
        or_(Task.confirmed_on.is_(None), Task.confirmed_on > d.day),
        or_(Task.cancelled_on.is_(None), Task.cancelled_on > d.day),
    )

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
            (not_(is_open), 0),
            *(
                (today <= d.aging[b], i)
                for i, b in reversed(list(enumerate(sorted(AGING_BUCKETS), 2)))
            ),
            (today <= d.critical, 1),
            else_=0,
        )
        fell_due_now = and_(today >= d.year_start, today <= d.day)
        done_now = and_(done >= d.year_start, done <= d.day)
        fell_due = case((fell_due_now, _FELL_DUE), else_=0)
        done_this_year = case((done_now, _DONE_THIS_YEAR), else_=0)
        flags = (
            case((and_(is_open, today >= d.day, today <= d.horizon), _DUE_NEXT), else_=0)
            + fell_due
            + case(
                (and_(Task.confirmed_on > week_ago, Task.confirmed_on <= d.day), _DONE_THIS_WEEK),
                else_=0,
            )
            + done_this_year
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
        agency: ColumnElement[Any] = Task.lead_agency_id.expression
        if not pauses:
            # Most tasks were confirmed before the eight weeks, never extended: done today as a
            # week ago, overdue at no point, neither due nor aging, not done this week. Their
            # kind is their done standing and two flags, which SQLite computes in a third of
            # the time of the whole expression. Those of earlier years count in no figure of
            # their agency: counted without it, they fall into a few groups, not a cell each.
            old = Task.confirmed_on <= earlier[0]
            kind = case(
                (old, grid(d.day) + _SAME * 16 + (fell_due + done_this_year) * 131072),
                else_=kind,
            )
            quiet = and_(old, not_(fell_due_now), not_(done_now))
            agency = case((quiet, null()), else_=Task.lead_agency_id)
        keys = (
            kind.label("kind"),
            agency.label("agency"),
            Task.leader_id.label("leader"),
            Task.sector.label("sector"),
        )
        # The kind first: SQLite would otherwise group by reading the tasks in the order of
        # an index on the agency, a random read of the table, three times slower than a scan.
        return (
            select(*keys, func.count().label("n"), func.min(today).label("oldest"))
            .where(Task.assigned_on <= d.day)
            .group_by(*(k.element for k in keys))
        )

    k = union_all(*_Tasks(d.weeks, session).parts(kinds)).cte("kinds")
    tests = _agency_tests(k.c.kind)
    none = type_coerce(null(), Integer)
    per_group = select(
        literal(0).label("part"),
        k.c.leader,
        k.c.sector,
        k.c.kind,
        none.label("agency"),
        cast(func.sum(k.c.n), BigInteger).label("n"),
        *(none.label(key) for key in _AGENCY_KEYS),
        type_coerce(null(), Date).label("oldest"),
    ).group_by(k.c.leader, k.c.sector, k.c.kind)
    # PostgreSQL sums a count as numeric: cast back, to get integers, not Decimals.
    figures = [cast(func.sum(case((test, k.c.n), else_=0)), BigInteger) for test in tests]
    per_cell = (
        select(
            literal(1),
            k.c.leader,
            k.c.sector,
            none,
            k.c.agency,
            none,
            *figures,
            type_coerce(func.min(case((tests[_A_OVERDUE], k.c.oldest))), Date),
        )
        .where(k.c.agency.is_not(None))
        .group_by(k.c.agency, k.c.leader, k.c.sector)
        # A cell with none of these shows nothing of its agency: every figure is zero.
        .having((figures[_A_OVERDUE] + figures[_A_FELL_DUE] + figures[_A_COMPLETED]) > 0)
    )
    groups: dict[_Key, _Group] = {}
    _roomy(session)
    rows = session.execute(union_all(per_group, per_cell)).all()
    for part, leader, sector, kind, agency, n, *values, oldest in rows:
        group = groups.get((leader, sector))
        if group is None:
            group = groups[(leader, sector)] = _Group()
        if part == 0:
            for key in _counted(kind):
                group.total[key] += n
        else:
            group.agencies[agency] = values
            if oldest is not None:
                group.overdue[agency] = (values[_A_OVERDUE], oldest)
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

    t = union_all(*_Tasks([d.day], session).parts(candidates)).subquery("t")
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
    _roomy(session)
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
    """What a message shows of each listed task, by id: on PostgreSQL in one statement with
    the ids as one array, elsewhere in chunks the database accepts."""
    deadlines = Deadlines([day])
    wanted = sorted(set(ids))
    query = (
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
    )
    if session.get_bind().dialect.name == "postgresql":
        # Thousands of ids bound one by one cost more to send than the query takes to run.
        array = cast(bindparam("ids", pg_array(wanted), type_=Text), postgresql.ARRAY(BigInteger))
        statements = [query.where(Task.id == any_(array))]
    else:
        statements = [
            query.where(Task.id.in_(wanted[start : start + 5000]))
            for start in range(0, len(wanted), 5000)
        ]
    out: dict[int, Row[Any]] = {}
    for stmt in statements:
        out |= {row.id: row for row in session.execute(stmt).all()}
    return out


_Key = tuple[int | None, str | None]
"""(leader, sector): every cell, list row and request is in one, and a scope is made of them."""


@dataclass
class _Group:
    """The tasks of one (leader, sector): their counts, per agency what a digest shows of it,
    and the group's first tasks of each list and pending requests."""

    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    agencies: dict[int, list[int]] = field(default_factory=dict)  # figures of _AGENCY_KEYS
    # Agencies with overdue tasks: how many, and the earliest effective deadline among them.
    overdue: dict[int, tuple[int, date]] = field(default_factory=dict)
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
    agencies: dict[int, tuple[str, str]]  # name and code, by id
    groups: dict[_Key, _Group]
    shown: dict[int, Row[Any]]
    bodies: dict[frozenset[_Key], dict[str, Any] | None] = field(default_factory=dict)
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    days_late: dict[date, int] = field(default_factory=dict)  # wd(deadline, day), by deadline

    @classmethod
    def collect(cls, session: Session, day: date, mail: MailSettings) -> _Week:
        cal = ensure_index(session)
        d = _Days.of(cal, day)
        # On PostgreSQL the two scans run side by side, each on its own connection, while this
        # one reads the rest; elsewhere one after the other (see _parallel).
        with Runner(session) as run:
            figures = run.submit(lambda s: _cell_figures(s, d, cal))
            listed = run.submit(lambda s: _cell_lists(s, d, cal))
            leaders = list(session.scalars(select(Leader).order_by(Leader.code)))
            agencies = {
                i: (name, code)
                for i, name, code in session.execute(select(Agency.id, Agency.name, Agency.code))
            }
            extensions = _pending_extensions(session, d)
            lists = listed.result()
            shown = _shown(session, (r.id for r in [*lists, *extensions]), day)
            groups = figures.result()
        for r in lists:
            groups.setdefault((r.leader, r.sector), _Group()).lists.append(r)
        for e in extensions:
            groups.setdefault((e.leader, e.sector), _Group()).extensions.append(e)
        return cls(
            d=d,
            cal=cal,
            mail=mail,
            leaders=leaders,
            agencies=agencies,
            groups=groups,
            shown=shown,
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
                lead_agency=self.agencies[r.agency][0],
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
        # Per agency with overdue tasks: how many, and the earliest deadline among them. Only
        # these are ranked; the other figures are added up for the agencies shown.
        overdue: dict[int, int] = {}
        oldest: dict[int, date] = {}
        for group in groups:
            for r in group.lists:
                lists[r.section].append(r)
            for agency, (n, first) in group.overdue.items():
                before = oldest.get(agency)
                if before is None:
                    overdue[agency], oldest[agency] = n, first
                else:
                    overdue[agency] += n
                    oldest[agency] = min(before, first)
        critical, late, due_next, completed = (lists[i] for i in range(4))
        # The agencies with the most overdue tasks: the table's first rows, the chart's bars.
        most_overdue = heapq.nsmallest(
            LIST_LIMIT,
            ((-n, *self.agencies[agency_id], agency_id) for agency_id, n in overdue.items()),
        )
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
            "overdue_by_agency": self.overdue_groups(groups, overdue, oldest, late),
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
            "agencies": self.agency_table(groups, overdue, most_overdue),
            "charts": self.charts(total, overdue, most_overdue),
        }

    def late(self, deadline: date) -> int:
        """Working days from ``deadline`` to the day, counted once per deadline."""
        days = self.days_late.get(deadline)
        if days is None:
            days = self.days_late[deadline] = self.cal.wd(deadline, self.d.day)
        return days

    @staticmethod
    def figures(groups: list[_Group], agency_id: int) -> list[int]:
        """The figures of ``_AGENCY_KEYS`` of one agency over ``groups``."""
        out = [0] * len(_AGENCY_KEYS)
        for group in groups:
            cell = group.agencies.get(agency_id)
            if cell is not None:
                out = [a + b for a, b in zip(out, cell, strict=True)]
        return out

    def overdue_groups(
        self,
        groups: list[_Group],
        overdue: dict[int, int],
        oldest: dict[int, date],
        listed: list[Row[Any]],
    ) -> list[dict[str, Any]]:
        """Agencies with overdue tasks, longest overdue first; the tasks not yet critical."""
        ranked = heapq.nsmallest(
            LIST_LIMIT,
            (
                # The code last: two agencies may share a name (districts of different provinces).
                (-self.late(oldest[agency_id]), -n, *self.agencies[agency_id], agency_id)
                for agency_id, n in overdue.items()
            ),
        )
        tasks: dict[int, list[Row[Any]]] = defaultdict(list)
        for r in listed:
            tasks[r.agency].append(r)
        out: list[dict[str, Any]] = []
        for late, _, name, code, agency_id in ranked:
            f = self.figures(groups, agency_id)
            shown = _first(tasks[agency_id], GROUP_LIMIT)
            out.append(
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
        return out

    def agency_table(
        self,
        groups: list[_Group],
        overdue: dict[int, int],
        most_overdue: list[tuple[int, str, str, int]],
    ) -> list[dict[str, Any]]:
        """Per agency: the year's on-time rate, open overdue tasks, tasks completed this year.

        Agencies with overdue tasks come first, most first; those with none but tasks that fell
        due this year follow by name, and are only looked for when the first do not fill it.
        """
        ranked = list(most_overdue)
        if len(ranked) < LIST_LIMIT:
            fell_due = {
                agency_id
                for group in groups
                for agency_id, f in group.agencies.items()
                if f[_A_FELL_DUE] and agency_id not in overdue
            }
            ranked += heapq.nsmallest(
                LIST_LIMIT - len(ranked),
                ((0, *self.agencies[i], i) for i in fell_due),
            )
        rows: list[dict[str, Any]] = []
        for _, name, code, agency_id in ranked:
            f = self.figures(groups, agency_id)
            fell_due_n, on_time = f[_A_FELL_DUE], f[_A_ON_TIME]
            rows.append(
                {
                    "agency": name,
                    "code": code,
                    "fell_due": fell_due_n,
                    "on_time": on_time,
                    "on_time_rate": round(100 * on_time / fell_due_n, 1) if fell_due_n else None,
                    "overdue": f[_A_OVERDUE],
                    "completed": f[_A_COMPLETED],
                }
            )
        return rows

    def charts(
        self,
        total: dict[str, int],
        overdue: dict[int, int],
        most_overdue: list[tuple[int, str, str, int]],
    ) -> list[dict[str, Any]]:
        """Data specs of the two charts (see ``notifications.charts``); none for an empty one."""
        out: list[dict[str, Any]] = []
        if overdue:
            # A bar per agency, the most overdue first; past CHART_BARS + 1 the rest share one.
            many = len(overdue) > CHART_BARS + 1
            shown = most_overdue[:CHART_BARS] if many else most_overdue
            labels, values = [name for _, name, _, _ in shown], [-n for n, _, _, _ in shown]
            if many:
                labels.append("Các đơn vị khác")
                values.append(sum(overdue.values()) - sum(values))
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
