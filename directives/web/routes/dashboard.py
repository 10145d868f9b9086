"""The leader's dashboard: the grid of their scope, the digest's charts, critical tasks, the
extension requests they decide, the latest weekly digest and the month's programme.

A leader sees their own; the office may look at any leader's (``?leader=CODE``). A leader
decides extension requests here as themself; the office records decisions on the task's desk
page instead.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from directives.calendar import WorkingCalendar
from directives.db.tables import Leader
from directives.errors import Conflict, InvalidInput, NotFound
from directives.services import digest, lifecycle, programme, registry, web_support
from directives.services.calendar import load_calendar
from directives.services.mailing import MailSettings
from directives.timeliness import Grid
from directives.web.deps import (
    DbDep,
    OfficeOrLeaderDep,
    RuntimeDep,
    WebUser,
    audit_change,
    require,
)
from directives.web.routes._common import FieldError, day_of, today_of, visible_task
from directives.web.templating import flash, render
from directives.workflow import Role

router = APIRouter(include_in_schema=False)

LeaderDep = Annotated[WebUser, Depends(require(Role.LEADER))]
LeaderQuery = Annotated[str, Query(max_length=20)]
# The official grid's columns: (label, grid statuses, css class of a non-zero cell).
COLUMNS: list[tuple[str, tuple[Grid, ...], str]] = [
    (
        "Hoàn thành đúng hạn",
        (Grid.DONE_EARLY, Grid.DONE_ON_THE_DAY, Grid.DONE_NO_DEADLINE),
        "done_on_the_day",
    ),
    ("Hoàn thành quá hạn", (Grid.DONE_LATE,), "done_late"),
    ("Trong hạn", (Grid.WITHIN_TERM,), "within_term"),
    ("Sắp đến hạn", (Grid.DUE_SOON,), "due_soon"),
    ("Quá hạn", (Grid.OVERDUE,), "overdue"),
    ("Thường xuyên", (Grid.STANDING,), "standing"),
    ("Tạm hoãn, đã hủy", (Grid.PAUSED, Grid.CANCELLED), "paused"),
]


def _leader(db: Session, user: WebUser, code: str) -> Leader | None:
    """A leader sees their own page, whatever the query says; the office picks any leader."""
    if user.role is Role.LEADER:
        return registry.by_code(db, Leader, user.leader or "-")
    if code:
        return registry.by_code(db, Leader, code)
    leaders = registry.codes(db, Leader)
    chairman = registry.chairman_code(db)
    first = chairman or min(leaders, default=None)
    return leaders[first] if first else None


def digest_day(cal: WorkingCalendar, day: date) -> date:
    """The first working day of the latest week whose digest has gone out (or goes out today)."""
    d = day
    for _ in range(21):
        if digest.first_working_day_of_week(cal, d):
            return d
        d -= timedelta(days=1)
    return day


def _iso_vn(value: str | None) -> str:
    """``2026-12-10`` → ``10/12/2026`` (the digest's and programme's dates are ISO strings)."""
    try:
        return date.fromisoformat(value or "").strftime("%d/%m/%Y")
    except ValueError:
        return value or "—"


def _digest(db: Session, leader: Leader, day: date, mail: MailSettings) -> dict[str, Any] | None:
    return digest.digest_context(db, leader, digest_day(load_calendar(db), day), mail)


@router.get("/dashboard")
def dashboard(
    request: Request, user: OfficeOrLeaderDep, db: DbDep, rt: RuntimeDep, leader: LeaderQuery = ""
) -> Response:
    """The leader's page."""
    who = _leader(db, user, leader)
    leaders = sorted(registry.codes(db, Leader).values(), key=lambda x: x.code)
    if who is None:
        return render(request, "dashboard/index.html", {"leader": None, "leaders": leaders})
    day = today_of(rt)
    rows = web_support.grid_by_agency(db, leader=who, as_of=day)
    totals = {label: sum(r.count(*grids) for r in rows) for label, grids, _ in COLUMNS}
    context = {
        "leader": who,
        "leaders": leaders,
        "chairman": web_support.is_chairman(who),
        "as_of": day,
        "columns": COLUMNS,
        "rows": rows,
        "totals": totals,
        "critical": web_support.critical_tasks(db, leader=who, as_of=day),
        "extensions": web_support.pending_extensions(db, decider=who),
        "can_decide": user.role is Role.LEADER,
        "digest": _digest(db, who, day, MailSettings.from_settings(rt.settings)),
        "digest_day": digest_day(load_calendar(db), day),
        "programme": programme.monthly_report(
            db,
            day.replace(day=1),
            as_of=day,
            leader=None if web_support.is_chairman(who) else who.code,
        ),
        "query": "" if user.role is Role.LEADER else f"?leader={who.code}",
        "vn": _iso_vn,
    }
    return render(request, "dashboard/index.html", context)


@router.get("/dashboard/chart/{name}.png")
def chart(
    name: str, user: OfficeOrLeaderDep, db: DbDep, rt: RuntimeDep, leader: LeaderQuery = ""
) -> Response:
    """One of the digest's charts as a PNG."""
    who = _leader(db, user, leader)
    context = (
        _digest(db, who, today_of(rt), MailSettings.from_settings(rt.settings)) if who else None
    )
    spec = next((c for c in (context or {}).get("charts", []) if c.get("cid") == name), None)
    if spec is None:
        raise NotFound(f"không có biểu đồ {name[:40]!r}")
    from notifications.charts import png  # matplotlib is imported with it, on first use

    return Response(png(spec), media_type="image/png")


@router.post("/dashboard/extensions/{code}")
def decide(
    request: Request,
    code: str,
    user: LeaderDep,
    db: DbDep,
    rt: RuntimeDep,
    decision: Annotated[str, Form(max_length=10)] = "",
    deadline: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """The leader approves (with the deadline granted) or rejects a request, as themself."""
    day = today_of(rt)
    task = visible_task(db, user, code, as_of=day).task
    try:
        if decision not in ("approve", "reject"):
            raise FieldError("decision", "Chọn đồng ý hoặc không đồng ý gia hạn.")
        approve = decision == "approve"
        granted = day_of(deadline, "deadline", required=False) if approve else None
        current = task.deadline
        if granted and current and load_calendar(db).roll_forward(granted) <= current:
            raise FieldError("deadline", f"Thời hạn mới phải sau {current:%d/%m/%Y}.")
        ext = lifecycle.decide_extension(
            db,
            task.code,
            on=day,
            approve=approve,
            actor=user.actor,
            clock=rt.clock,
            deadline=granted,
            note=note.strip() or None,
        )
    except (FieldError, InvalidInput, Conflict) as exc:
        message = exc.message if isinstance(exc, FieldError) else str(exc)
        flash(request, f"{task.code}: {message[:1].upper() + message[1:]}", "error")
        return RedirectResponse("/dashboard", status_code=303)
    audit_change(
        request,
        db,
        user,
        f"extension_{ext.status}",
        target=task.code,
        detail={"deadline": ext.granted_deadline, "note": note[:200]},
    )
    if approve:
        flash(
            request,
            f"{task.code}: đã đồng ý gia hạn đến {ext.granted_deadline:%d/%m/%Y}.",
            "success",
        )
    else:
        flash(request, f"{task.code}: đã không đồng ý gia hạn.", "success")
    return RedirectResponse("/dashboard", status_code=303)
