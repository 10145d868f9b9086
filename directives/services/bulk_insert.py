"""Many rows into one table in a few statements, optionally returning columns of each row.

PostgreSQL takes one ``INSERT … SELECT … FROM unnest(array, …)`` per call, each column one
array-literal parameter (as ``outbox.record`` does): SQLAlchemy's multi-row VALUES has a named
parameter per cell, and psycopg rewrites such a statement with a regular expression on every
execution, which cost more than the insert itself (storing a 20,000-row file took 12 s that
way, 5.6 s this way, before ``reused_key_checks``). SQLite takes multi-row
``INSERT … VALUES (?, …), (?, …)`` statements (one ``executemany`` without RETURNING), the
values converted column by column with each type's own bind processor: SQLAlchemy's per-row
parameter handling cost as much as SQLite's own work.

``write_rows`` takes rows whose ids are known already (reserved from PostgreSQL's sequence, or
counted on from SQLite's largest id while the transaction holds the write lock) and returns
nothing: PostgreSQL gets one ``COPY … FROM STDIN`` (the text format, ``copy_from``),
which parses no array literal and plans no statement; SQLite one ``executemany``.

Returned rows come in no particular order: the caller matches them by a unique key it inserted
(a task's code, a directive's number and year), which holds on both backends, where
``sort_by_parameter_order`` would make SQLite insert one row per statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from itertools import chain
from typing import Any

import psycopg
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import JSON, Boolean, Column, Connection, Dialect, Row, String, Table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

Returned = Sequence[Row[*tuple[Any, ...]]]
COPY_ROWS = 5000  # rows formatted at a time for COPY


def insert_rows(
    conn: Connection,
    model: type[Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    returning: Sequence[str] = (),
) -> Returned:
    """Insert ``rows`` (all with the same keys) into the mapped class's table; the
    ``returning`` columns of each row, in no particular order."""
    if not rows:
        return []
    table: Table = model.__table__
    # The SQL is written here, so SQLAlchemy's Python-side defaults would not apply: the rows
    # must give those columns.
    missing = [c.name for c in table.c if c.default is not None and c.name not in rows[0]]
    if missing:
        raise ValueError(f"{table.name}: rows without {', '.join(missing)}")
    if conn.dialect.name == "postgresql":
        return _unnest_insert(conn, table, rows, returning)
    return _values_insert(conn, table, rows, returning)


def write_rows(
    session: Session, model: type[Any], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples of the ``names`` columns' values) into the mapped class's table:
    COPY on PostgreSQL, executemany on SQLite. Nothing is returned: give the ids."""
    if not rows:
        return
    table: Table = model.__table__
    missing = [c.name for c in table.c if c.default is not None and c.name not in names]
    if missing:
        raise ValueError(f"{table.name}: rows without {', '.join(missing)}")
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        columns = list(zip(*rows, strict=True))
        bound = [
            _bound(conn.dialect, table.c[n], list(c)) for n, c in zip(names, columns, strict=True)
        ]
        marks = ", ".join("?" * len(names))
        sql = f'INSERT INTO "{table.name}" ({_quoted(names)}) VALUES ({marks})'
        conn.exec_driver_sql(sql, list(zip(*bound, strict=True)))
        return
    statement = f'COPY "{table.name}" ({_quoted(names)}) FROM STDIN'
    try:
        copy_from(session, statement, _copy_text(table, names, rows))
    except psycopg.Error as exc:
        # As SQLAlchemy raises a statement's error (IntegrityError, DataError, …): callers catch
        # those, e.g. the API's concurrent twin of a directive.
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def _copy_text(table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> Iterator[str]:
    """The rows in COPY's text format, ``COPY_ROWS`` at a time: formatted one column at a time,
    each while the connection's writer sends the previous one."""
    for start in range(0, len(rows), COPY_ROWS):
        columns = zip(*rows[start : start + COPY_ROWS], strict=True)
        fields = [_copy_column(table.c[n], c) for n, c in zip(names, columns, strict=True)]
        yield "\n".join(map("\t".join, zip(*fields, strict=True))) + "\n"


def reserve_ids(session: Session, model: type[Any], count: int) -> list[int]:
    """``count`` new ids for the mapped class's table (``reserve``)."""
    return reserve(session, count, model.__table__.name)


def reserve(session: Session, count: int, table: str) -> list[int]:
    """``count`` new ids for ``table``: from its sequence on PostgreSQL; on SQLite those after
    its largest (one writer at a time: if another one slipped in all the same, the INSERT
    fails on a taken id or on its stale snapshot, and nothing is written twice)."""
    if not count:
        return []
    if session.get_bind().dialect.name == "sqlite":
        first = session.connection().exec_driver_sql(
            f"SELECT coalesce(max(id), 0) + 1 FROM {table}"
        )
        start = int(first.scalar_one())
        return list(range(start, start + count))
    # The sequence named first, not per row; the ids as one text (95,000 rows cost 0.8 s).
    sequence = session.scalar(text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table})
    joined = session.scalar(
        text(
            "SELECT string_agg(nextval(CAST(:seq AS regclass))::text, ',') "
            "FROM generate_series(1, :n)"
        ),
        {"seq": sequence, "n": count},
    )
    return [int(i) for i in str(joined).split(",")]


def copy_from(session: Session, statement: str, chunks: Iterable[str]) -> int:
    """Run ``statement`` (a COPY … FROM STDIN) on the session's connection; the rows written.

    A thread sends each chunk while the next is formatted: PostgreSQL parses and indexes the
    rows on one core while this process formats them on the other.
    """
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cur:  # type: ignore[union-attr]
        with cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
            for chunk in chunks:
                copy.write(chunk)
        return int(cur.rowcount)  # known once the COPY ended, and while the cursor is open


def copy_field(value: str) -> str:
    """``value`` as a field of COPY's text format (str.replace: str.translate took seconds)."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def _copy_column(column: Column[Any], values: Sequence[Any]) -> Sequence[str]:
    """One column's values as fields of COPY's text format (``\\N`` for NULL)."""
    column_type = column.type
    if isinstance(column_type, JSON):
        # As SQLAlchemy sends them: None is JSON null unless the type says SQL NULL.
        keep_none = column_type.none_as_null
        texts = _each(
            values, lambda v: "\\N" if v is None and keep_none else copy_field(json.dumps(v))
        )
    elif isinstance(column_type, Boolean):
        texts = _each(values, lambda v: "\\N" if v is None else "t" if v else "f")
    elif isinstance(column_type, String):
        texts = _each(values, lambda v: "\\N" if v is None else copy_field(v))
    else:  # numbers, dates, timestamps (ISO 8601, with their offset)
        texts = _each(
            values,
            lambda v: "\\N" if v is None else v.isoformat() if isinstance(v, date) else str(v),
        )
    return texts


def _each(values: Sequence[Any], convert: Callable[[Any], Any]) -> Sequence[Any]:
    """``convert`` applied to each value (a column's values, all of one type), once for each
    distinct one."""
    first = values[0]
    if values.count(first) == len(values):
        return [convert(first)] * len(values)
    try:
        done = {v: convert(v) for v in set(values)}
    except TypeError:  # unhashable (JSON documents): each object converted once
        by_id = {id(v): convert(v) for v in {id(v): v for v in values}.values()}
        return [by_id[id(v)] for v in values]
    return [done[v] for v in values]


@contextmanager
def reused_key_checks(conn: Connection) -> Iterator[None]:
    """While inserting many rows, let PostgreSQL reuse the plans of its foreign-key checks.

    The engine asks for custom plans (``db/engine.py``: the reports' array parameters), so each
    row's key check was planned again, which doubled the cost of the inserts (a task row went
    from 35 to 74 µs on the server). Transaction-local, put back when the block ends; on an
    error the transaction's rollback puts it back.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    before = conn.execute(text("SELECT current_setting('plan_cache_mode')")).scalar_one()
    conn.execute(text("SELECT set_config('plan_cache_mode', 'auto', true)"))
    yield
    conn.execute(text("SELECT set_config('plan_cache_mode', :mode, true)"), {"mode": before})


def _values_insert(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], returning: Sequence[str]
) -> Returned:
    names = list(rows[0])
    columns = [_bound(conn.dialect, table.c[name], [r[name] for r in rows]) for name in names]
    values = list(zip(*columns, strict=True))
    head = f'INSERT INTO "{table.name}" ({_quoted(names)}) VALUES '
    one = "(" + ", ".join("?" * len(names)) + ")"
    if not returning:
        conn.exec_driver_sql(head + one, values)  # one statement, executed for every row
        return []
    dialect = conn.dialect
    per = max(1, min(dialect.insertmanyvalues_page_size, _max_parameters(dialect) // len(names)))
    tail = " RETURNING " + _quoted(returning)
    out: list[Row[*tuple[Any, ...]]] = []
    for start in range(0, len(values), per):
        batch = values[start : start + per]
        sql = head + ", ".join([one] * len(batch)) + tail
        out += conn.exec_driver_sql(sql, tuple(chain.from_iterable(batch))).all()
    return out


def _max_parameters(dialect: Dialect) -> int:
    return int(getattr(dialect, "insertmanyvalues_max_parameters", 999))


def _bound(dialect: Dialect, column: Column[Any], values: list[Any]) -> Sequence[Any]:
    """Values as the column's type sends them to the driver (dates as text on SQLite, …)."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return values
    return _each(values, process)  # dates repeat from row to row: each converted once


def _unnest_insert(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], returning: Sequence[str]
) -> Returned:
    names = list(rows[0])
    params: dict[str, object] = {}
    arrays: list[str] = []
    selected: list[str] = []
    for i, name in enumerate(names):
        values = [r[name] for r in rows]
        kind = _pg_type(table, name, conn)
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            # As SQLAlchemy sends them: None is JSON null unless the type says SQL NULL.
            keep_none = column_type.none_as_null
            values = [None if v is None and keep_none else json.dumps(v) for v in values]
        if values.count(values[0]) == len(values):
            # The same in every row (a state, a timestamp, a flag): one plain parameter.
            params[f"p{i}"] = values[0]
            selected.append(f"CAST(:p{i} AS {kind})")
        else:
            params[f"p{i}"] = _array_literal(values)
            arrays.append(f"CAST(:p{i} AS {kind}[])")
            selected.append(f"u.c{i}")
    source = ""
    if arrays:
        aliases = ", ".join(c.removeprefix("u.") for c in selected if c.startswith("u."))
        source = f" FROM unnest({', '.join(arrays)}) AS u({aliases})"
    else:
        # Every column is constant: still one row per input row.
        params["n"] = len(rows)
        source = " FROM generate_series(1, :n)"
    sql = f'INSERT INTO "{table.name}" ({_quoted(names)}) SELECT {", ".join(selected)}{source}'
    if returning:
        sql += " RETURNING " + _quoted(returning)
        return conn.execute(text(sql), params).all()
    conn.execute(text(sql), params)
    return []


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _pg_type(table: Table, name: str, conn: Connection) -> str:
    column_type = table.c[name].type
    if isinstance(column_type, JSON):
        return "json"
    if isinstance(column_type, String):
        # Cast to text, not to the column's varchar(n): an explicit cast would cut an
        # overlong value silently, where the INSERT's own conversion refuses it.
        return "text"
    return str(column_type.compile(dialect=conn.dialect))


def _array_literal(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal of one column's values (all of one type), None as NULL."""
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, bool):
        items = ["NULL" if v is None else "t" if v else "f" for v in values]
    elif isinstance(sample, int):
        items = ["NULL" if v is None else str(v) for v in values]
    elif isinstance(sample, date):  # a datetime too: ISO 8601, with its offset
        items = ["NULL" if v is None else f'"{v.isoformat()}"' for v in values]
    else:
        items = ["NULL" if v is None else _quote(str(v)) for v in values]
    return "{" + ",".join(items) + "}"


def _quote(text: str) -> str:
    """An array element in double quotes: any text, even "NULL", a comma or a brace."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
