"""Task-table rows as JSON text, in bulk, for messages that list thousands of tasks.

``mailing.line`` builds one row as a dict; a first chase run over a large register concerns
100,000 tasks, where building those dicts one by one and serializing them with the payload
costs seconds. Here the tasks are read with one query (per chunk on SQLite) and each row's
JSON is written directly, from pieces computed once per agency and per deadline (tasks share
them, and the working-day counts are what costs); the outbox splices the texts into the
payload. The values are those of ``mailing.line`` (``tests/test_task_lines.py`` holds the two
equal), the text what ``json.dumps`` would write.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    Select,
    String,
    Text,
    any_,
    bindparam,
    cast,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from directives.calendar import WorkingCalendar
from directives.db.tables import Agency, Directive, Task
from directives.domain import DeadlineSpec, DirectiveKind
from directives.services.aside import fetched_aside
from directives.services.sql_arrays import pg_array

CHUNK = 5000  # ids per IN list on SQLite (PostgreSQL takes one array)


class TaskLine(NamedTuple):
    """What a reminder needs of one task: who it concerns, its sort key, its row as JSON."""

    id: int
    code: str
    deadline: date | None
    lead_agency_id: int
    leader_id: int | None
    officer_id: int | None
    json: str
    order: str  # the row's place in a message: its deadline (the day's, if none), then its code


# A str as JSON, as json.dumps(..., ensure_ascii=False) writes it, without json.dumps' dispatch
# (per row, it shows). UTF-8 rather than \u escapes: Vietnamese text escaped takes twice the
# bytes, and a first national chase writes tens of megabytes of payloads.
_text = encode_basestring


def _members(**values: Any) -> str:
    """``values`` as JSON object members without the braces: a piece of a row."""
    return json.dumps(values, ensure_ascii=False)[1:-1]


def _day(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _dates_as_text(conn: Connection, columns: Sequence[Any]) -> list[Any]:
    """``columns``, those of dates read as the text SQLite stores (``_Rows`` converts each
    distinct one once); as they are elsewhere."""
    if conn.dialect.name != "sqlite":
        return list(columns)
    return [type_coerce(c, String) if isinstance(c.type, Date) else c for c in columns]


class _Rows:
    """Builds the rows of one day, remembering the pieces that tasks share."""

    def __init__(
        self, day: date, cal: WorkingCalendar, app_url: str, agencies: dict[int, str]
    ) -> None:
        self.day, self.cal = day, cal
        self.ordinal = cal.ordinal(day)
        self.link = f"{app_url.rstrip('/')}/tasks/" if app_url else ""
        self.agencies = {i: _members(lead_agency=name) for i, name in agencies.items()}
        self.kinds = {k.value: _text(k.label) for k in DirectiveKind}
        self.deadlines: dict[tuple[date | str | None, date | str | None, int | None], str] = {}
        self.counts: dict[date | None, str] = {None: '"days_left": null, "days_late": null'}
        self.texts: dict[tuple[date | None, int | None], str] = {}
        self.orders: dict[date | None, str] = {}
        self.dates: dict[date | str | None, date | None] = {None: None}

    def _deadline(
        self, raw: date | str | None, raw_stated: date | str | None, wdays: int | None
    ) -> str:
        """The deadline's members; dates as the database gave them (SQLite: ISO text, left
        unconverted in the statement: its per-value parsing cost a third of a second)."""
        key = (raw, raw_stated, wdays)
        piece = self.deadlines.get(key)
        if piece is None:
            deadline, stated = _day(raw), _day(raw_stated)
            self.dates[raw] = deadline
            # Many deadlines are distinct; their parts much less so: each is computed once.
            counts = self.counts.get(deadline)
            if counts is None:
                assert deadline is not None
                late = self.ordinal - self.cal.ordinal(deadline)  # wd(deadline, day)
                counts = self.counts[deadline] = (
                    f'"days_left": {-late}, "days_late": null'
                    if self.day <= deadline
                    else f'"days_left": null, "days_late": {late}'
                )
            said = self.texts.get((stated, wdays))
            if said is None:
                said = self.texts[(stated, wdays)] = _text(
                    DeadlineSpec(on=stated, working_days=wdays).text()
                )
            when = f'"{deadline.isoformat()}"' if deadline else "null"
            piece = self.deadlines[key] = f'"deadline": {when}, "deadline_text": {said}, {counts}'
        return piece

    def row(self, values: Sequence[Any]) -> TaskLine:
        """A ``TaskLine`` from a row of ``_COLUMNS``."""
        (
            tid,
            code,
            content,
            deadline,
            stated,
            wdays,
            lead,
            leader,
            officer,
            number,
            issued,
            kind,
        ) = values
        link = _text(self.link + code) if self.link else '""'
        order = self.orders.get(deadline)
        if order is None:  # an ISO date has a fixed width: text order is (date, code) order
            order = self.orders[deadline] = str(deadline or self.day)
        when = self._deadline(deadline, stated, wdays)
        text = (  # str() of a date is its ISO form, as SQLite's text of one is
            f'{{"code": {_text(code)}, "content": {_text(content)}, '
            f'"directive": {_text(number)}, "directive_date": "{issued}", '
            f'"directive_kind": {self.kinds[kind]}, {self.agencies[lead]}, '
            f'{when}, "link": {link}}}'
        )
        return TaskLine(tid, code, self.dates[deadline], lead, leader, officer, text, order + code)


_COLUMNS = (
    Task.id,
    Task.code,
    Task.content,
    Task.deadline,
    Task.stated_deadline,
    Task.deadline_working_days,
    Task.lead_agency_id,
    Task.leader_id,
    Task.officer_id,
    Directive.number,
    Directive.issued_on,
    Directive.kind,
)


_DIRECTIVE_COLUMNS = (Directive.number, Directive.issued_on, Directive.kind)  # _COLUMNS' last
# The task columns of ``_COLUMNS`` and the directive's id: what the decision step carries along
# for ``read_decided`` (``decide.candidates``' ``carry``).
CARRIED = (*(c for c in _COLUMNS if c.class_ is Task and c.key != "id"), Task.directive_id)


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def read_lines(
    session: Session, task_ids: Sequence[int], *, day: date, cal: WorkingCalendar, app_url: str
) -> dict[int, TaskLine]:
    """The rows of ``task_ids`` as of ``day``, by task id."""
    if not task_ids:
        return {}
    conn = session.connection()  # Core rows: the ORM's result processing costs, per row
    query = select(*_dates_as_text(conn, _COLUMNS)).join(
        Directive, Directive.id == Task.directive_id
    )
    if session.get_bind().dialect.name == "postgresql":
        ids = cast(bindparam("ids", pg_array(task_ids), type_=Text), postgresql.ARRAY(BigInteger))
        statements = [query.where(Task.id == any_(ids))]
    else:
        statements = [query.where(Task.id.in_(chunk)) for chunk in _chunks(task_ids)]
    names = dict(session.execute(select(Agency.id, Agency.name)).all())
    rows = _Rows(day, cal, app_url, names)
    out: dict[int, TaskLine] = {}
    for stmt in statements:
        for values in conn.execute(stmt).all():  # one fetchall, not a fetchone per row
            out[values[0]] = rows.row(values)
    return out


def read_decided(
    session: Session,
    decided: Select[str, int, str, int],
    *,
    day: date,
    cal: WorkingCalendar,
    app_url: str,
    on_row: Callable[[tuple[str, int, str, int], TaskLine], None] | None = None,
) -> tuple[list[tuple[str, int, str, int]], dict[int, TaskLine]]:
    """The rows of ``decided`` (rule, task id, deadline key, threshold, then the ``CARRIED``
    task columns), and the row of each of their tasks as of ``day``, by task id: one statement
    for both. ``on_row`` is called with each decided key and its task's row as they stream in
    (while the database computes the next ones)."""
    sub = decided.subquery()
    rule, task_id, key, threshold, *carried = sub.c
    *line_columns, directive_id = carried
    conn = session.connection()
    columns = _dates_as_text(conn, [*line_columns, *_DIRECTIVE_COLUMNS])
    stmt = (
        select(rule, key, threshold, task_id, *columns)
        .select_from(sub)
        .join(Directive, Directive.id == directive_id)
    )
    names = dict(session.execute(select(Agency.id, Agency.name)).all())
    rows = _Rows(day, cal, app_url, names)
    keys: list[tuple[str, int, str, int]] = []
    out: dict[int, TaskLine] = {}
    for values in _stream(conn, stmt):
        tid = values[3]
        notice = (values[0], tid, values[1], values[2])
        keys.append(notice)
        line = out.get(tid)
        if line is None:
            line = out[tid] = rows.row(values[3:])
        if on_row is not None:
            on_row(notice, line)
    return keys, out


# Rows handed over at a time while PostgreSQL goes on computing the next ones.
STREAM_CHUNK = 2000


def _stream(conn: Connection, stmt: Select[Any]) -> Iterator[Sequence[Any]]:
    """The rows of ``stmt``, handed over while the database computes the next ones, so that
    this process turns each chunk into task rows meanwhile, on the other core, instead of
    waiting for the last row first.

    PostgreSQL streams them (libpq's chunked rows). SQLite computes in this process, but
    releases the GIL while it steps: a thread fetches the chunks, and the engine's work runs
    beside the rows' formatting (on a national register, the statement takes 1.5 s).
    """
    if conn.dialect.name != "postgresql":
        result = conn.execution_options(yield_per=STREAM_CHUNK).execute(stmt)
        for chunk in fetched_aside(result.partitions()):
            yield from chunk
        return
    # The decision's few hundred thousand intermediate rows are estimated at a tenth of that:
    # with the default 4 MB the planner sorts them on disk to merge with the directives, which
    # also holds back every row until the sort ends. A hash join streams.
    conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
    compiled = stmt.compile(dialect=conn.dialect)
    driver = conn.connection.driver_connection
    with driver.cursor() as cur:  # type: ignore[union-attr]
        yield from cur.stream(str(compiled), compiled.params, size=STREAM_CHUNK)


def with_key(row_json: str, key: str, value: int) -> str:
    """``row_json`` (an object) with one more integer member, ``key`` a plain identifier."""
    return f'{row_json[:-1]}, "{key}": {value:d}}}'
