"""Jinja filters for Vietnamese dates, working-day phrases and numbers; one line each in use."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from jinja2 import UndefinedError

DASH = "—"


def _get(row: Mapping[str, Any], key: str) -> Any:
    # The same error a template raises for a missing key, so StrictUndefined holds in filters too.
    try:
        return row[key]
    except KeyError:
        raise UndefinedError(f"{key!r} is undefined in {sorted(row)}") from None


# Every control (Cc) and line or paragraph separator (Zl, Zp) character, to a space. These
# categories are closed (Unicode's stability policy): C0, DEL and C1, U+2028 and U+2029.
_BREAKS = {
    code: " "
    for code in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)
    if unicodedata.category(chr(code)) in ("Cc", "Zl", "Zp")
}


def one_line(value: object) -> str:
    """``value`` as text on one line: control and line-separator characters become spaces."""
    # One translate in C: a digest writes thousands of task contents through this filter.
    return " ".join(str(value).translate(_BREAKS).split())


def clip(value: object, length: int = 80) -> str:
    """``value`` on one line, cut at a word boundary to at most ``length`` characters with "…"."""
    text = one_line(value)
    if len(text) <= length:
        return text
    cut = text[: length - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.–-") + "…"


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"not an ISO date: {value!r}") from None


def vndate(value: date | str | None) -> str:
    """An ISO date (or date, datetime) as DD/MM/YYYY; empty for None."""
    if value is None:
        return ""
    return _as_date(value).strftime("%d/%m/%Y")


def _late(n: int) -> str:
    return f"quá hạn {n} ngày làm việc"


def _left(n: int) -> str:
    return "hôm nay là hạn cuối" if n == 0 else f"còn {n} ngày làm việc"


def wdays(value: Mapping[str, Any] | int | None, late: bool = False) -> str:
    """Working days to or past a deadline, from a task row or a count: "còn 3 ngày làm việc"."""
    if value is None:
        return DASH
    if isinstance(value, Mapping):
        days_late, days_left = _get(value, "days_late"), _get(value, "days_left")
        if days_late:
            return _late(int(days_late))
        if days_left is not None:
            return _left(int(days_left))
        return _left(0) if days_late == 0 else DASH
    n = int(value)
    if late:
        return _late(n) if n > 0 else _left(0)
    return _left(n) if n >= 0 else _late(-n)


def urgency(task: Mapping[str, Any]) -> str:
    """How pressing a task row is: "late", "today", "soon" (≤ 3 working days), or "calm"."""
    days_late, days_left = _get(task, "days_late"), _get(task, "days_left")
    if days_late:
        return "late"
    if days_left == 0 or days_late == 0:
        return "today"
    if days_left is not None and days_left <= 3:
        return "soon"
    return "calm"


def vnnum(value: int | float) -> str:
    """A number the Vietnamese way: "1.551", "85,7"."""
    if isinstance(value, float) and not value.is_integer():
        whole, _, frac = f"{value:,.1f}".partition(".")
        return whole.replace(",", ".") + "," + frac
    return f"{int(value):,}".replace(",", ".")


def pct(value: float | None) -> str:
    """A percentage (already ×100) as "85,7%"; a dash for None."""
    return DASH if value is None else vnnum(round(float(value), 1)) + "%"


def change(value: int) -> str:
    """A change against the previous period: "tăng 2", "giảm 1", "không đổi"."""
    if value > 0:
        return f"tăng {vnnum(value)}"
    if value < 0:
        return f"giảm {vnnum(-value)}"
    return "không đổi"


def safe_url(value: str) -> str:
    """``value`` when it is a plain http(s) URL, else empty (no javascript:, no spaces)."""
    text = str(value).strip()
    if not text.lower().startswith(("https://", "http://")):
        return ""
    if any(ch.isspace() or ch in "\"'<>`" for ch in text):
        return ""
    return text


def groups(items: Iterable[Mapping[str, Any]], key: str) -> list[tuple[Any, list[Any]]]:
    """``items`` grouped by ``item[key]`` in order of first appearance."""
    out: dict[Any, list[Any]] = {}
    for item in items:
        out.setdefault(_get(item, key), []).append(item)
    return list(out.items())


FILTERS = {
    "one_line": one_line,
    "clip": clip,
    "vndate": vndate,
    "wdays": wdays,
    "urgency": urgency,
    "vnnum": vnnum,
    "pct": pct,
    "change": change,
    "safe_url": safe_url,
    "groups": groups,
}
