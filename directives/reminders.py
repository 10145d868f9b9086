"""Which notices are due for a task on a day: DESIGN.md's exact semantics, as a pure function.

This is the reference the database decision (``services/chase_sql``) is tested against. Rules
are level-triggered: a notice is due once its threshold is reached and it has not been sent,
and for a repeating rule only the latest threshold reached counts (a run after an outage sends
one chase, not every missed one); each escalation is due once per effective deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from directives.calendar import WorkingCalendar
from directives.policy import Policy

ACK, DUE_SOON, CHASE, ESCALATE1, ESCALATE2, NUDGE = (
    "ack",
    "due_soon",
    "chase",
    "escalate1",
    "escalate2",
    "nudge",
)
CHASE_RULES = (ACK, DUE_SOON, CHASE, NUDGE)
ESCALATION_RULES = (ESCALATE1, ESCALATE2)


@dataclass(frozen=True)
class OpenTask:
    """What the rules read of a task that is open on the day (not confirmed, paused, cancelled)."""

    assigned_on: date
    deadline: date | None  # effective as of the day
    acknowledged: bool
    submitted: bool  # a final report waits for the office: the agency is not chased
    last_report_on: date | None


def due_notices(
    task: OpenTask, day: date, cal: WorkingCalendar, policy: Policy
) -> list[tuple[str, int]]:
    """(rule, threshold) pairs due on ``day``; nothing on a rest day."""
    if not cal.is_working(day) or task.submitted:
        return []
    out: list[tuple[str, int]] = []
    if not task.acknowledged:
        k = cal.wd(task.assigned_on, day)
        if k >= policy.ack_after:
            out.append((ACK, k))
    deadline = task.deadline
    if deadline is None:
        since = cal.wd(task.last_report_on or task.assigned_on, day)
        if since >= policy.nudge_every:
            out.append((NUDGE, policy.nudge_every * (since // policy.nudge_every)))
        return out
    if day <= deadline:
        before = cal.wd(day, deadline)
        if day == deadline:
            out.append((DUE_SOON, 0))
        elif before <= policy.due_soon:
            out.append((DUE_SOON, policy.due_soon))
        return out
    late = cal.wd(deadline, day)
    if late >= policy.chase_first:
        step = policy.chase_every
        out.append((CHASE, policy.chase_first + step * ((late - policy.chase_first) // step)))
    if late >= policy.escalate_head:
        out.append((ESCALATE1, policy.escalate_head))
    if late >= policy.escalate_leader:
        out.append((ESCALATE2, policy.escalate_leader))
    return out
