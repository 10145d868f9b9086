"""Short human-readable codes: consecutive numbers of a named series, taken under a row lock."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from directives.db.tables import CodeCounter


def take_numbers(session: Session, scope: str, n: int) -> range:
    """``n`` consecutive numbers of the series ``scope`` (from 1), under its counter row's lock."""
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CodeCounter)
    session.execute(ins.values(scope=scope, next_value=1).on_conflict_do_nothing())
    end = session.scalar(
        update(CodeCounter)
        .where(CodeCounter.scope == scope)
        .values(next_value=CodeCounter.next_value + n)
        .returning(CodeCounter.next_value)
        # No ORM bookkeeping: no counter is ever loaded as an object, and "evaluate" would scan
        # every object in the session for each call (quadratic in a large import).
        .execution_options(synchronize_session=False)
    )
    assert end is not None
    return range(end - n, end)
