"""The clock is an input: production reads the wall clock once, tests pass a fixed one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from directives.settings import TIMEZONE

VN = ZoneInfo(TIMEZONE)


class Clock(Protocol):
    """Something that tells the time."""

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    """A clock stopped at one instant (tests, replays, ``--as-of``)."""

    instant: datetime

    @classmethod
    def on(cls, day: date, hour: int = 9) -> FixedClock:
        """A clock at ``hour`` o'clock of ``day`` in Asia/Ho_Chi_Minh."""
        return cls(datetime(day.year, day.month, day.day, hour, tzinfo=VN))

    def now(self) -> datetime:
        """The fixed instant."""
        return self.instant


def today(clock: Clock) -> date:
    """Today's date in Asia/Ho_Chi_Minh."""
    return clock.now().astimezone(VN).date()
