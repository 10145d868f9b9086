"""What every HTML report shares: the Jinja2 environment and Vietnamese number and date forms."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"
DASH = "—"


# Numbers the Vietnamese way: 1.551 and 85,7.
def number(value: int | float | None) -> str:
    """An integer with '.' between thousands, a decimal with ','; a dash for None."""
    if value is None:
        return DASH
    if isinstance(value, float) and not value.is_integer():
        whole, _, frac = f"{value:.1f}".partition(".")
        return f"{int(whole):,}".replace(",", ".") + "," + frac
    return f"{int(value):,}".replace(",", ".")


def signed(value: int | float | None) -> str:
    """A change: '+3', '−2,5', '0'; a dash for None."""
    if value is None:
        return DASH
    if value > 0:
        return "+" + number(value)
    return "−" + number(-value) if value < 0 else "0"


def vndate(value: date | str | None) -> str:
    """DD/MM/YYYY (from a date or an ISO date string), or nothing."""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return "" if value is None else f"{value:%d/%m/%Y}"


@functools.cache
def environment() -> Environment:
    """The templates under ``directives/reports/templates``, autoescaped, strict."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(number=number, signed=signed, vndate=vndate)
    return env
