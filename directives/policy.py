"""The reminder and escalation policy: every threshold in working days, overridable by TOML."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path


@dataclass(frozen=True)
class Policy:
    """DESIGN.md's defaults; an installation's TOML file (``[policy]`` table) overrides them."""

    ack_after: int = 1  # resend an unacknowledged assignment after this many working days, daily
    due_soon: int = 3  # remind this many working days before the deadline (and on the day)
    chase_first: int = 1  # first overdue chase, working days after the deadline …
    chase_every: int = 5  # … then every this many
    escalate_head: int = 5  # working days overdue: to the agency head, copy the office chief
    escalate_leader: int = 10  # working days overdue: to the leader in charge; critical
    nudge_every: int = 20  # a standing task with no report in this many working days

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or value < (0 if f.name == "due_soon" else 1):
                raise ValueError(f"policy {f.name} must be a positive whole number, got {value!r}")


def load_policy(path: Path | None) -> Policy:
    """The default policy, with the ``[policy]`` table of ``path`` applied when given."""
    if path is None:
        return Policy()
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    table = data.get("policy", {})
    known = {f.name for f in fields(Policy)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ValueError(f"{path}: unknown policy keys {unknown}; known: {sorted(known)}")
    return replace(Policy(), **table)
