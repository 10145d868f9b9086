"""Many rows into one table in a few statements, optionally returning columns of each row.

PostgreSQL takes one ``INSERT … SELECT … FROM unnest(array, …)`` per call, each column one
array-literal parameter (as ``outbox.record`` does): SQLAlchemy's multi-row VALUES has a named
parameter per cell, and psycopg rewrites such a statement with a regular expression on every
execution, which cost more than the insert itself (storing a 20,000-row file took 12 s that
way, 5.6 s this way, before ``reused_key_checks``). SQLite takes multi-row
``INSERT … VALUES (?, …), (?, …)`` statements (one ``executemany`` without RETURNING), the
values converted column by column with each type's own bind processor: SQLAlchemy's per-row
parameter handling cost as much as SQLite's own work.

Returned rows come in no particular order: the caller matches them by a unique key it inserted
(a task's code, a directive's number and year), which holds on both backends, where
``sort_by_parameter_order`` would make SQLite insert one row per statement.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from itertools import chain
from typing import Any

from sqlalchemy import JSON, Column, Connection, Dialect, Row, String, Table, text

Returned = Sequence[Row[*tuple[Any, ...]]]


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


def _bound(dialect: Dialect, column: Column[Any], values: list[Any]) -> list[Any]:
    """Values as the column's type sends them to the driver (dates as text on SQLite, …)."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return values
    if values.count(values[0]) == len(values):
        return [process(values[0])] * len(values)
    try:
        # Dates repeat from row to row: each distinct one is converted once.
        done = {v: process(v) for v in set(values)}
    except TypeError:  # unhashable values (JSON documents)
        return [process(v) for v in values]
    return [done[v] for v in values]


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
