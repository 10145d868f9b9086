"""The secretariat's directive form: a directive with its tasks on one page.

It goes through ``intake.issue_directives`` as a file import does (``routes.importer``): all or
nothing, every bad value reported next to its field, the assignment emails enqueued in the same
transaction. A deadline is a date or N working days; the form shows the date the calendar makes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from directives.db.tables import Agency, Leader, Officer
from directives.domain import DeadlineSpec, DirectiveKind
from directives.errors import ImportFileError
from directives.importing import MAX_WORKING_DAYS
from directives.runtime import Runtime
from directives.services import intake, registry
from directives.services.calendar import compute_deadline, load_calendar
from directives.services.mailing import MailSettings
from directives.web.deps import DbDep, RuntimeDep, SecretariatDep, audit_change
from directives.web.routes._common import FieldError, FormDep, day_of, text, today_of
from directives.web.templating import flash, render

router = APIRouter(include_in_schema=False)

MAX_ROWS = 30
_NUMBER = re.compile(r"\d+[A-Za-z0-9]*(?:/[A-ZĐa-zđ0-9\-]+){1,2}", re.ASCII)
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
# A service's column → the form field it belongs next to ({i}: the task row).
_FIELDS = {
    "directive_number": "number",
    "signer": "signer",
    "summary": "summary",
    "officer": "officer",
    "content": "content_{i}",
    "task_code": "content_{i}",
    "lead_agency": "lead_{i}",
    "coordinating_agencies": "coord_{i}",
    "deadline": "deadline_{i}",
    "leader": "signer",
}


def weekday_date(day: date) -> str:
    """``Thứ Năm, 10/12/2026``."""
    return f"{WEEKDAYS[day.weekday()]}, {day:%d/%m/%Y}"


@dataclass
class TaskRowForm:
    """One task row of the form, as typed."""

    i: int
    content: str = ""
    lead: str = ""
    coordinators: list[str] = field(default_factory=list)
    mode: str = "date"  # date | days | none
    on: str = ""
    days: str = ""
    sector: str = ""
    computed: date | None = None

    @property
    def blank(self) -> bool:
        """Nothing typed: the row is left out."""
        return not (self.content or self.lead or self.coordinators or self.on or self.days)


def _rows(form: Any) -> list[TaskRowForm]:
    try:
        count = max(1, min(MAX_ROWS, int(text(form, "rows", limit=3) or "2")))
    except ValueError:
        count = 2
    out = []
    for i in range(1, count + 1):
        row = TaskRowForm(
            i=i,
            content=text(form, f"content_{i}"),
            lead=text(form, f"lead_{i}", limit=20).upper(),
            coordinators=[str(c).upper()[:20] for c in form.getlist(f"coord_{i}")][:50],
            mode=text(form, f"mode_{i}", limit=5) or "date",
            on=text(form, f"on_{i}", limit=10),
            days=text(form, f"days_{i}", limit=5),
            sector=text(form, f"sector_{i}", limit=100),
        )
        # Typing a number of days without ticking its choice means that choice.
        if row.mode == "date" and not row.on and row.days:
            row.mode = "days"
        out.append(row)
    return out


def _deadline(row: TaskRowForm, issued: date | None) -> DeadlineSpec:
    field_name = f"deadline_{row.i}"
    if row.mode == "none":
        return DeadlineSpec()
    if row.mode == "days":
        try:
            n = int(row.days)
        except ValueError:
            raise FieldError(field_name, "Số ngày làm việc phải là số nguyên.") from None
        if not 1 <= n <= MAX_WORKING_DAYS:
            raise FieldError(field_name, f"Số ngày làm việc phải từ 1 đến {MAX_WORKING_DAYS}.")
        return DeadlineSpec(working_days=n)
    on = day_of(row.on, field_name)
    if issued is not None and on is not None and on < issued:
        raise FieldError(field_name, "Thời hạn trước ngày ban hành.")
    return DeadlineSpec(on=on)


def _check(
    form: Any, rows: list[TaskRowForm], today: date, errors: dict[str, str]
) -> intake.NewDirective | None:
    """The directive the form describes, or None with ``errors`` filled in."""

    def guard(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except FieldError as exc:
            errors.setdefault(exc.field, exc.message)
            return None

    number = text(form, "number", limit=60)
    if not _NUMBER.fullmatch(number):
        errors["number"] = "Số ký hiệu không hợp lệ (ví dụ 245/TB-UBND)."
    issued = guard(day_of, text(form, "issued_on", limit=10), "issued_on")
    if issued is not None and issued > today:
        errors["issued_on"] = "Ngày ban hành ở tương lai."
    kind = text(form, "kind", limit=30)
    if kind not in {k.value for k in DirectiveKind}:
        errors["kind"] = "Chọn loại văn bản."
    for name, message in [("signer", "Chọn người ký."), ("summary", "Cần nhập trích yếu.")]:
        if not text(form, name):
            errors[name] = message
    tasks = []
    for row in rows:
        if row.blank:
            continue
        if not row.content:
            errors[f"content_{row.i}"] = "Cần nhập nội dung nhiệm vụ."
        if not row.lead:
            errors[f"lead_{row.i}"] = "Chọn đơn vị chủ trì."
        spec = guard(_deadline, row, issued)
        if spec is not None:
            tasks.append((row, spec))
    if not any(not r.blank for r in rows):
        errors["content_1"] = "Văn bản cần ít nhất một nhiệm vụ."
    if errors:
        return None
    officer = text(form, "officer", limit=20) or None
    return intake.NewDirective(
        number=number,
        issued_on=issued,
        kind=DirectiveKind(kind),
        signer=text(form, "signer", limit=20),
        summary=text(form, "summary"),
        tasks=tuple(
            intake.NewTask(
                content=row.content,
                lead_agency=row.lead,
                coordinating_agencies=tuple(dict.fromkeys(c for c in row.coordinators if c)),
                deadline=spec,
                officer=officer,
                sector=row.sector or None,
                row=row.i,
            )
            for row, spec in tasks
        ),
    )


def _computed(db: Session, rows: list[TaskRowForm], issued_text: str) -> None:
    """Fill in each row's deadline as the calendar makes it, for the form to show."""
    try:
        issued = day_of(issued_text, "issued_on")
    except FieldError:
        return
    cal = load_calendar(db)
    for row in rows:
        try:
            spec = _deadline(row, issued)
        except FieldError:
            continue
        if issued is not None and not spec.standing:
            row.computed = compute_deadline(cal, issued, spec.on, spec.working_days)


def _form_page(
    request: Request,
    db: Session,
    rt: Runtime,
    *,
    form: Any = None,
    rows: list[TaskRowForm] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    names = ("number", "issued_on", "kind", "signer", "summary", "officer")
    values = {k: text(form, k) if form is not None else "" for k in names}
    values["issued_on"] = values["issued_on"] or today_of(rt).isoformat()
    rows = rows or [TaskRowForm(1), TaskRowForm(2)]
    _computed(db, rows, values["issued_on"])
    leaders = sorted(registry.codes(db, Leader).values(), key=lambda x: x.code)
    context = {
        "values": values,
        "rows": rows,
        "errors": errors or {},
        "kinds": [(k.value, k.label) for k in DirectiveKind],
        "agencies": [
            a for a in sorted(registry.codes(db, Agency).values(), key=lambda a: a.code) if a.active
        ],
        "leaders": leaders,
        "officers": sorted(registry.codes(db, Officer).values(), key=lambda o: o.code),
        "sectors": sorted({s for x in leaders for s in (x.sectors or ())}),
        "weekday_date": weekday_date,
        "max_rows": MAX_ROWS,
    }
    return render(request, "desk/new.html", context, status_code=status_code)


@router.get("/directives/new")
def new_directive(request: Request, user: SecretariatDep, db: DbDep, rt: RuntimeDep) -> Response:
    """The empty form: a directive and two task rows."""
    return _form_page(request, db, rt)


@router.post("/directives/new")
def create_directive(
    request: Request, user: SecretariatDep, db: DbDep, rt: RuntimeDep, form: FormDep
) -> Response:
    """Store the directive and its tasks, or show the form again with every error."""
    rows = _rows(form)
    if text(form, "action", limit=10) == "add_row":
        rows.append(TaskRowForm(len(rows) + 1))
        return _form_page(request, db, rt, form=form, rows=rows[:MAX_ROWS])
    errors: dict[str, str] = {}
    directive = _check(form, rows, today_of(rt), errors)
    if directive is None:
        return _form_page(request, db, rt, form=form, rows=rows, errors=errors, status_code=422)
    try:
        (stored,) = intake.issue_directives(
            db,
            [directive],
            actor=user.actor,
            clock=rt.clock,
            source="biểu mẫu",
            mail=MailSettings.from_settings(rt.settings),
        )
    except ImportFileError as exc:
        for e in exc.errors:
            name = _FIELDS.get(e.column, "number").format(i=e.row)
            errors.setdefault(name, e.reason[:1].upper() + e.reason[1:] + ".")
        return _form_page(request, db, rt, form=form, rows=rows, errors=errors, status_code=422)
    tasks = sorted(stored.tasks, key=lambda t: t.position)
    audit_change(
        request,
        db,
        user,
        "directive_created",
        target=stored.number,
        detail={"issued_on": stored.issued_on, "tasks": [t.code for t in tasks]},
    )
    listed = "; ".join(
        f"{t.code} (hạn {t.deadline:%d/%m/%Y})" if t.deadline else f"{t.code} (thường xuyên)"
        for t in tasks
    )
    flash(
        request, f"Đã lưu văn bản {stored.number} với {len(tasks)} nhiệm vụ: {listed}.", "success"
    )
    query = urlencode({"status": "all", "q": stored.number})
    return RedirectResponse(f"/tasks?{query}", status_code=303)


@router.get("/directives/new/deadline")
def computed_deadline(
    request: Request,
    user: SecretariatDep,
    db: DbDep,
    issued_on: Annotated[str, Query(max_length=10)] = "",
    row: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 1,
) -> Response:
    """The htmx fragment: the date N working days after the issue date."""
    days = request.query_params.get(f"days_{row}", "")
    result = TaskRowForm(row, mode="days", days=days[:5])
    message = ""
    try:
        spec = _deadline(result, None)
        issued = day_of(issued_on, "issued_on", required=False)
        if issued is None:
            raise FieldError("issued_on", "Nhập ngày ban hành để tính hạn.")
        result.computed = compute_deadline(load_calendar(db), issued, None, spec.working_days)
    except FieldError as exc:
        message = exc.message
    return render(
        request,
        "desk/_deadline.html",
        {"row": result, "message": message, "weekday_date": weekday_date},
    )
