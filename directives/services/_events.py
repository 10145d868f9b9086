"""Appending to a task's event log (the only way history is written)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from directives.clock import Clock
from directives.db.tables import Task, TaskEvent
from directives.workflow import Actor


def record(
    session: Session,
    task: Task,
    kind: str,
    *,
    on: date,
    actor: Actor,
    clock: Clock,
    note: str | None = None,
    **data: Any,
) -> TaskEvent:
    """Append one event to ``task``'s history."""
    event = TaskEvent(
        task_id=task.id,
        kind=kind,
        on=on,
        recorded_at=clock.now(),
        actor=actor.describe(),
        note=note,
        data={k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()},
    )
    session.add(event)
    return event
