"""The office's reference data: the working calendar, the agencies and the leaders.

Changing the calendar recomputes every stored deadline (``calendar.set_day``); agencies and
leaders are added or updated by code, as their import files do.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from directives.db.tables import Agency, Leader
from directives.domain import AgencyKind, LeaderRole
from directives.errors import InvalidInput
from directives.importing import AgencyRow, LeaderRow, parse_date
from directives.services import calendar as cal_service
from directives.services import registry
from directives.web.deps import DbDep, RuntimeDep, SecretariatDep, audit_change
from directives.web.routes._common import FieldError, FormDep, required_day, text, today_of
from directives.web.templating import flash, render

router = APIRouter(include_in_schema=False)

CODE = re.compile(r"[A-Z0-9][A-Z0-9_\-]{0,19}")
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"[A-Za-z][A-Za-z0-9-]*",
    re.ASCII,
)
YearQuery = Annotated[int, Query(ge=2000, le=2100)]


@router.get("/admin")
def admin_home(request: Request, user: SecretariatDep) -> Response:
    """The index of the reference pages."""
    return render(request, "admin/index.html")


def _calendar_page(
    request: Request,
    db: Session,
    year: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    cal = cal_service.load_calendar(db)
    office = cal_service.overrides(db)
    national = [
        (d, False, name) for d, name in sorted(cal_service.public_holidays(year).items())
    ] + [
        (d, True, "Làm bù")
        for d in sorted(cal.worked)
        if d.year == year and d.weekday() >= 5 and d not in office
    ]
    context = {
        "year": year,
        "national": sorted(national),
        "office": [o for d, o in office.items() if d.year == year],
        "working_days": len(cal.working_days(date(year, 1, 1), date(year, 12, 31))),
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, "admin/calendar.html", context, status_code=status_code)


@router.get("/admin/calendar")
def calendar_page(
    request: Request, user: SecretariatDep, db: DbDep, rt: RuntimeDep, year: YearQuery = 0
) -> Response:
    """A year's days off and working days: the country's, and the office's own (editable)."""
    return _calendar_page(request, db, year or today_of(rt).year)


@router.post("/admin/calendar")
def calendar_set(
    request: Request,
    user: SecretariatDep,
    db: DbDep,
    rt: RuntimeDep,
    day: Annotated[str, Form(max_length=10)] = "",
    working: Annotated[str, Form(max_length=1)] = "0",
    note: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Declare a day off (nghỉ bù) or a working day (làm bù); deadlines are recomputed."""
    values = {"day": day, "working": working, "note": note}
    try:
        when = required_day(day, "day")
        changed = cal_service.set_day(db, when, working=working == "1", note=note.strip())
    except (FieldError, InvalidInput) as exc:
        message = exc.message if isinstance(exc, FieldError) else str(exc)
        return _calendar_page(
            request, db, today_of(rt).year, errors={"day": message}, values=values, status_code=422
        )
    kind = "ngày làm việc" if working == "1" else "ngày nghỉ"
    audit_change(
        request,
        db,
        user,
        "calendar_set",
        target=when.isoformat(),
        detail={"working": working == "1", "note": note, "tasks_changed": changed},
    )
    flash(
        request,
        f"Đã khai báo {when:%d/%m/%Y} là {kind}; {changed} nhiệm vụ đổi thời hạn.",
        "success",
    )
    return RedirectResponse(f"/admin/calendar?year={when.year}", status_code=303)


@router.post("/admin/calendar/remove")
def calendar_remove(
    request: Request,
    user: SecretariatDep,
    db: DbDep,
    day: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Drop the office's declaration of a day; deadlines are recomputed."""
    # The day comes from a hidden field, so a bad one is refused like an undeclared one: the
    # error page (422), not the declaration form's field error.
    if not day.strip():
        raise InvalidInput("thiếu ngày cần bỏ khai báo")
    try:
        when = parse_date(day.strip())
    except ValueError as exc:
        raise InvalidInput(f"ngày cần bỏ khai báo {day!r}: {exc}") from None
    changed = cal_service.remove_day(db, when)
    audit_change(
        request,
        db,
        user,
        "calendar_remove",
        target=when.isoformat(),
        detail={"tasks_changed": changed},
    )
    flash(
        request, f"Đã bỏ khai báo ngày {when:%d/%m/%Y}; {changed} nhiệm vụ đổi thời hạn.", "success"
    )
    return RedirectResponse(f"/admin/calendar?year={when.year}", status_code=303)


def _emails(value: str, field: str, *, required: bool) -> tuple[str, ...]:
    found = tuple(dict.fromkeys(p.strip() for p in re.split(r"[,;\s]+", value) if p.strip()))
    bad = [e for e in found if len(e) > 254 or not EMAIL.fullmatch(e)]
    if bad:
        raise FieldError(field, f"Email {bad[0]!r} không hợp lệ.")
    if required and not found:
        raise FieldError(field, "Cần ít nhất một email.")
    return found


def _code(form: Any) -> str:
    code = text(form, "code", limit=40).upper()
    if not CODE.fullmatch(code):
        raise FieldError("code", "Mã gồm chữ in hoa không dấu, số, '-' hoặc '_', tối đa 20 ký tự.")
    return code


def _agency_row(form: Any) -> AgencyRow:
    name = text(form, "name", limit=300)
    if not name:
        raise FieldError("name", "Cần nhập tên đơn vị.")
    kind = text(form, "kind", limit=20)
    if kind not in {k.value for k in AgencyKind}:
        raise FieldError("kind", "Chọn loại đơn vị.")
    head_email = _emails(text(form, "head_email", limit=254), "head_email", required=False)
    return AgencyRow(
        row=0,
        code=_code(form),
        name=name,
        kind=AgencyKind(kind),
        focal_emails=_emails(text(form, "focal_emails", limit=2000), "focal_emails", required=True),
        head_name=text(form, "head_name", limit=200) or None,
        head_email=head_email[0] if head_email else None,
        active=form.get("active") == "1",
    )


def _registry_page(
    request: Request,
    db: Session,
    kind: str,
    *,
    edit: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    found = registry.codes(db, Agency) if kind == "agencies" else registry.codes(db, Leader)
    items: list[Any] = sorted(found.values(), key=lambda x: x.code)
    editing = next((x for x in items if x.code == edit.upper()), None) if edit else None
    context = {
        "items": items,
        "editing": editing,
        "errors": errors or {},
        "values": values or {},
        "agency_kinds": [(k.value, k.label) for k in AgencyKind],
    }
    return render(request, f"admin/{kind}.html", context, status_code=status_code)


@router.get("/admin/agencies")
def agencies_page(
    request: Request,
    user: SecretariatDep,
    db: DbDep,
    edit: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The agencies, with a form to add one or change one."""
    return _registry_page(request, db, "agencies", edit=edit)


@router.post("/admin/agencies")
def agencies_save(request: Request, user: SecretariatDep, db: DbDep, form: FormDep) -> Response:
    """Add an agency, or update the one with this code."""
    try:
        row = _agency_row(form)
    except FieldError as exc:
        values = {k: text(form, k) for k in form if isinstance(form.get(k), str)}
        return _registry_page(
            request, db, "agencies", errors={exc.field: exc.message}, values=values, status_code=422
        )
    added, _ = registry.upsert_agencies(db, [row])
    audit_change(
        request,
        db,
        user,
        "agency_added" if added else "agency_updated",
        target=row.code,
        detail={"name": row.name, "emails": row.focal_emails, "active": row.active},
    )
    flash(request, f"Đã {'thêm' if added else 'cập nhật'} đơn vị {row.code}.", "success")
    return RedirectResponse("/admin/agencies", status_code=303)


def _leader_row(db: Session, form: Any) -> LeaderRow:
    code = _code(form)
    name, title = text(form, "name", limit=200), text(form, "title", limit=200)
    if not name:
        raise FieldError("name", "Cần nhập họ tên.")
    if not title:
        raise FieldError("title", "Cần nhập chức danh.")
    role = text(form, "role", limit=20)
    if role not in {r.value for r in LeaderRole}:
        raise FieldError("role", "Chọn vai trò.")
    if role == LeaderRole.CHAIRMAN.value:
        other = db.scalar(
            select(Leader.code).where(Leader.role == LeaderRole.CHAIRMAN.value, Leader.code != code)
        )
        if other:
            raise FieldError("role", f"Đã có Chủ tịch ({other}); chỉ có một Chủ tịch.")
    emails = _emails(text(form, "email", limit=254), "email", required=True)
    if len(emails) > 1:
        raise FieldError("email", "Chỉ nhập một email.")
    sectors = tuple(
        dict.fromkeys(s.strip() for s in re.split(r"[;\n]", text(form, "sectors")) if s.strip())
    )
    return LeaderRow(0, code, name, title, LeaderRole(role), emails[0], sectors)


@router.get("/admin/leaders")
def leaders_page(
    request: Request,
    user: SecretariatDep,
    db: DbDep,
    edit: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The chairman and vice-chairmen with their sectors, with a form to add or change one."""
    return _registry_page(request, db, "leaders", edit=edit)


@router.post("/admin/leaders")
def leaders_save(request: Request, user: SecretariatDep, db: DbDep, form: FormDep) -> Response:
    """Add a leader, or update the one with this code."""
    try:
        row = _leader_row(db, form)
    except FieldError as exc:
        values = {k: text(form, k) for k in form if isinstance(form.get(k), str)}
        return _registry_page(
            request, db, "leaders", errors={exc.field: exc.message}, values=values, status_code=422
        )
    added, _ = registry.upsert_leaders(db, [row])
    audit_change(
        request,
        db,
        user,
        "leader_added" if added else "leader_updated",
        target=row.code,
        detail={"name": row.name, "role": row.role.value, "sectors": row.sectors},
    )
    flash(request, f"Đã {'thêm' if added else 'cập nhật'} lãnh đạo {row.code}.", "success")
    return RedirectResponse("/admin/leaders", status_code=303)
