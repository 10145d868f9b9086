"""The register's agency filter: the ``<option>`` list of every agency, rendered once per registry.

At national scale the list has 2,500 agencies (about 220 kB of HTML). Loading them as ORM objects
and rendering each option through Jinja took most of a register page's time, so the options are
built here from plain ``(code, name)`` rows and kept, keyed on those rows: any change to the
registry (an agency added, renamed, re-coded) gives other rows, hence a fresh rendering, in every
process, whoever made the change. Reading the rows costs a few milliseconds; rendering is skipped.
"""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from directives.db.tables import Agency

Rows = tuple[tuple[str, str], ...]


def agency_rows(session: Session) -> Rows:
    """Every agency as ``(code, name)``, by code: what the options show, and their cache key."""
    stmt = select(Agency.code, Agency.name).order_by(Agency.code)
    return tuple((code, name) for code, name in session.execute(stmt))


@lru_cache(maxsize=4)
def _options(rows: Rows) -> str:
    """The options of ``rows``, none selected (escaped HTML)."""
    return "".join(
        f'<option value="{escape(code)}">{escape(code)} · {escape(name)}</option>\n'
        for code, name in rows
    )


def agency_options(session: Session, selected: str) -> Markup:
    """The ``<option>`` elements of every agency, with ``selected`` (a code, any case) marked."""
    html = _options(agency_rows(session))
    if selected:
        plain = f'<option value="{escape(selected.upper())}">'
        html = html.replace(plain, plain[:-1] + " selected>", 1)
    return Markup(html)


def agency_names(session: Session, codes: set[str]) -> dict[str, str]:
    """The names of the agencies ``codes``, by code (for the register's rows)."""
    if not codes:
        return {}
    stmt = select(Agency.code, Agency.name).where(Agency.code.in_(sorted(codes)))
    return {code: name for code, name in session.execute(stmt)}  # noqa: C416 (rows, not pairs)
