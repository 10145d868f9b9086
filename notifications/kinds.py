"""The kinds of message, the context keys each one reads, and a one-line builder per kind.

Every context has the common keys; ``tasks`` is a list of task rows with ``TASK_KEYS`` (plus
``days_unacknowledged`` for ``assigned_again`` and ``days_since_report`` for ``standing_nudge``).
Dates are ISO strings; percentages are already multiplied by 100.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from notifications.model import KINDS as KINDS  # re-exported: the kinds live with the model
from notifications.model import Person
from notifications.render import Rendered, render

COMMON = frozenset({"office", "recipient", "app_url", "as_of"})
TASK_KEYS = frozenset(
    {
        "code",
        "content",
        "directive",
        "directive_date",
        "directive_kind",
        "lead_agency",
        "deadline",
        "deadline_text",
        "days_left",
        "days_late",
        "link",
    }
)
_TASKS = frozenset({"tasks"})

CONTEXT_KEYS: Mapping[str, frozenset[str]] = {
    "assigned": COMMON | _TASKS | {"coordinating"},
    "assigned_again": COMMON | _TASKS,
    "due_soon": COMMON | _TASKS,
    "due_today": COMMON | _TASKS,
    "overdue": COMMON | _TASKS,
    "escalate_head": COMMON | _TASKS | {"agency"},
    "escalate_leader": COMMON | _TASKS,
    "extension_decided": COMMON | _TASKS | {"extension"},
    "report_returned": COMMON | _TASKS | {"reason"},
    "report_confirmed": COMMON | _TASKS | {"completed_on", "timing"},
    "standing_nudge": COMMON | _TASKS,
    # grid: the six counts and "change"; optional "aging" (over_30/60/120) and "totals" (of the
    # capped lists). Groups may add code, count, critical, max_days_late, aging, more; completed
    # rows completed_on and timing; charts are data specs drawn by notifications.charts.
    "weekly_digest": COMMON
    | {
        "leader",
        "grid",
        "critical",
        "overdue_by_agency",
        "due_next",
        "completed",
        "extension_requests",
        "agencies",
        "charts",
    },
    "programme_status": COMMON | {"month", "final", "items", "summary"},
}

Context = Mapping[str, Any]


def assigned(ctx: Context, reply_to: Person | None = None) -> Rendered:
    """New tasks for a lead agency, or a copy for a coordinating one (``coordinating``)."""
    return render("assigned", ctx, reply_to=reply_to)


def assigned_again(ctx: Context, reply_to: Person | None = None) -> Rendered:
    """Tasks not acknowledged after N working days, sent again."""
    return render("assigned_again", ctx, reply_to=reply_to)


def due_soon(ctx: Context, reply_to: Person | None = None) -> Rendered:
    """Tasks whose deadline is within 3 working days."""
    return render("due_soon", ctx, reply_to=reply_to)


def due_today(ctx: Context, reply_to: Person | None = None) -> Rendered:
    """Tasks whose deadline is today."""
    return render("due_today", ctx, reply_to=reply_to)


def overdue(ctx: Context, reply_to: Person | None = None) -> Rendered:
    """The chase of overdue tasks, one message listing all of an agency's."""
    return render("overdue", ctx, reply_to=reply_to)


def escalate_head(ctx: Context, reply_to: Person | None = None) -> Rendered:
    """To an agency head: its tasks at least 5 working days overdue."""
    return render("escalate_head", ctx, reply_to=reply_to)


def escalate_leader(ctx: Context, reply_to: Person | None = None) -> Rendered:
    """To the leader in charge: tasks at least 10 working days overdue, by agency."""
    return render("escalate_leader", ctx, reply_to=reply_to)


def extension_decided(ctx: Context, reply_to: Person | None = None) -> Rendered:
    """An extension request approved or rejected, for one task."""
    return render("extension_decided", ctx, reply_to=reply_to)


def report_returned(ctx: Context, reply_to: Person | None = None) -> Rendered:
    """A report sent back to the agency, with the reason."""
    return render("report_returned", ctx, reply_to=reply_to)


def report_confirmed(ctx: Context, reply_to: Person | None = None) -> Rendered:
    """A task confirmed complete, early, on the day or late."""
    return render("report_confirmed", ctx, reply_to=reply_to)


def standing_nudge(ctx: Context, reply_to: Person | None = None) -> Rendered:
    """Standing tasks with no progress report for N working days."""
    return render("standing_nudge", ctx, reply_to=reply_to)


def weekly_digest(ctx: Context, reply_to: Person | None = None) -> Rendered:
    """A leader's weekly digest: the grid, critical and overdue tasks, what is due next."""
    return render("weekly_digest", ctx, reply_to=reply_to)


def programme_status(ctx: Context, reply_to: Person | None = None) -> Rendered:
    """The monthly work programme's status, interim or final."""
    return render("programme_status", ctx, reply_to=reply_to)
