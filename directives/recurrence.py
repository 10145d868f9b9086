"""Periodic tasks (nhiệm vụ định kỳ): a report due on a set day of every month or quarter."""

from __future__ import annotations

import calendar as std_calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

_PATTERNS = (
    (re.compile(r"^(?:monthly|thang):(\d{1,2})$"), "monthly"),
    (re.compile(r"^(?:quarterly|quy):(\d{1,2})$"), "quarterly"),
    (re.compile(r"^(?:truoc\s+)?ngay\s+(\d{1,2})\s+(?:hang|moi)\s+thang$"), "monthly"),
    (re.compile(r"^(?:hang|moi)\s+thang,?\s+(?:truoc\s+)?ngay\s+(\d{1,2})$"), "monthly"),
    (
        re.compile(r"^(?:truoc\s+)?ngay\s+(\d{1,2})\s+(?:thang\s+cuoi\s+)?(?:hang|moi)\s+quy$"),
        "quarterly",
    ),
    (re.compile(r"^(?:hang|moi)\s+quy,?\s+(?:truoc\s+)?ngay\s+(\d{1,2})$"), "quarterly"),
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.strip().lower().replace("đ", "d"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@dataclass(frozen=True)
class Recurrence:
    """Due on ``day`` of every month, or of the last month of every quarter."""

    unit: str  # monthly | quarterly
    day: int

    def __post_init__(self) -> None:
        if self.unit not in ("monthly", "quarterly") or not 1 <= self.day <= 31:
            raise ValueError(f"định kỳ không hợp lệ: {self.unit}:{self.day}")

    @classmethod
    def parse(cls, text: str) -> Recurrence | None:
        """``monthly:20``, ``Ngày 20 hằng tháng``, ``hằng quý ngày 15``…; None if not periodic."""
        folded = _fold(text)
        for pattern, unit in _PATTERNS:
            found = pattern.match(folded)
            if found:
                return cls(unit, int(found.group(1)))
        return None

    @property
    def key(self) -> str:
        """How it is stored: ``monthly:20``."""
        return f"{self.unit}:{self.day}"

    def text(self) -> str:
        """How it reads in Vietnamese."""
        if self.unit == "monthly":
            return f"Ngày {self.day} hằng tháng"
        return f"Ngày {self.day} tháng cuối mỗi quý"

    def period_of(self, day: date) -> str:
        """The period ``day`` falls in: ``2026-11`` or ``2026-Q4``."""
        if self.unit == "monthly":
            return f"{day.year}-{day.month:02d}"
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"

    def due_date(self, period: str) -> date:
        """The stated deadline in ``period`` (the last day of a short month when ``day`` is 31)."""
        year, _, rest = period.partition("-")
        month = int(rest) if self.unit == "monthly" else int(rest.lstrip("Q")) * 3
        last = std_calendar.monthrange(int(year), month)[1]
        return date(int(year), month, min(self.day, last))

    def first_period(self, issued_on: date) -> str:
        """The first period whose deadline is not before the issue date."""
        period = self.period_of(issued_on)
        return period if self.due_date(period) >= issued_on else self.next_period(period)

    def next_period(self, period: str) -> str:
        """The period after ``period``."""
        year, _, rest = period.partition("-")
        if self.unit == "monthly":
            y, m = int(year), int(rest)
            return f"{y + m // 12}-{m % 12 + 1:02d}"
        y, q = int(year), int(rest.lstrip("Q"))
        return f"{y + q // 4}-Q{q % 4 + 1}"
