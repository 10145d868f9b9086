"""Reminder letters (công văn đôn đốc): what the office writes to an agency about critical tasks.

A task is critical as of ``d`` when it is overdue in the grid, still waiting on the agency (no
final report pending the office's confirmation) and late by at least the policy's second
escalation threshold in working days (10 by default; see ``directives.policy``). This module
reads the tasks with one query and returns plain values; ``directives.letter_docx`` lays them out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from email.utils import parseaddr

from sqlalchemy import literal, or_, select
from sqlalchemy.orm import Session, aliased

from directives.db.tables import Agency, CalendarDay, Directive, Leader, Task
from directives.errors import Conflict, InvalidInput
from directives.policy import Policy
from directives.services import grid_sql, registry
from directives.services.calendar import ensure_index
from directives.settings import Settings
from directives.timeliness import Grid

RESPOND_WITHIN = 5  # working days the agency has to answer, by default
MAX_RESPOND_WITHIN = 60
_OFFICE = re.compile(r"^\s*văn phòng\s+(?P<parent>.+?)\s*$", re.IGNORECASE)
_PROVINCE = re.compile(r"(?:ubnd|[ủu][yỷ] ban nhân dân)\s+tỉnh\s+(?P<name>.+?)\s*$", re.IGNORECASE)
_CHIEF_TITLE = re.compile(r"^\s*chánh\s+(?:văn\s+phòng|vp)\b[\s,:;–-]*", re.IGNORECASE)


class NoCriticalTasks(Conflict):
    """The agency has no task at the second escalation level on the date: no letter to write."""


@dataclass(frozen=True)
class Signatory:
    """The signature block: ``on_behalf`` is the "KT." line when a deputy signs."""

    title: str
    name: str
    on_behalf: str | None = None


@dataclass(frozen=True)
class Sender:
    """The issuing office as it appears in the header, the body and the signature."""

    office: str  # as written in sentences: "Văn phòng UBND tỉnh Bình An"
    committee: str  # the body it serves, in sentences: "UBND tỉnh Bình An" ("UBND tỉnh" if unsaid)
    parent: str  # header, upper case: "UBND TỈNH BÌNH AN" ("" when the office names no parent)
    body: str  # header, upper case, bold and underlined: "VĂN PHÒNG"
    place: str  # before the date: "Bình An", or "…" when the province is not named
    signatory: Signatory

    @classmethod
    def from_settings(cls, settings: Settings, *, deputy: str | None = None) -> Sender:
        """From DIRECTIVES_OFFICE_NAME and DIRECTIVES_OFFICE_CHIEF; a ``deputy`` signs "KT."."""
        return sender(settings.office_name, chief=settings.office_chief, deputy=deputy)


def sender(office: str, *, chief: str | None, deputy: str | None = None) -> Sender:
    """Split ``office`` into the header's two lines and find the place and the signatory."""
    office = " ".join(office.split())
    m = _OFFICE.match(office)
    parent, body = (m.group("parent"), "Văn phòng") if m else ("", office)
    province = _PROVINCE.search(parent)
    place = province.group("name") if province else "…"
    if deputy and deputy.strip():
        who = Signatory("PHÓ CHÁNH VĂN PHÒNG", deputy.strip(), on_behalf="KT. CHÁNH VĂN PHÒNG")
    else:
        who = Signatory("CHÁNH VĂN PHÒNG", chief_name(chief))
    return Sender(office, parent or "UBND tỉnh", parent.upper(), body.upper(), place, who)


def chief_name(setting: str | None) -> str:
    """The person's name in DIRECTIVES_OFFICE_CHIEF (``Name <address>``); "" when it names none."""
    if not setting or not setting.strip():
        return ""
    if "@" not in setting:
        name = setting
    else:
        name, _ = parseaddr(setting)
    return _CHIEF_TITLE.sub("", name).strip()


@dataclass(frozen=True)
class CriticalTask:
    """One row of the letter's table."""

    code: str
    content: str
    directive: str
    issued_on: date
    deadline: date  # effective as of the letter's date
    original_deadline: date | None
    working_days_late: int
    leader: str  # the leader in charge, "" when none

    @property
    def extended(self) -> bool:
        """True when an approved extension moved the deadline."""
        return self.original_deadline is not None and self.original_deadline != self.deadline


@dataclass(frozen=True)
class ReminderLetter:
    """Everything a reminder letter says, as plain values."""

    as_of: date
    agency_code: str
    agency_name: str
    threshold: int  # working days overdue from which a task is listed
    tasks: tuple[CriticalTask, ...]  # longest overdue first
    respond_within: int  # working days
    respond_by: date
    sender: Sender


def reminder_letter(
    session: Session,
    agency: str,
    *,
    as_of: date,
    sender: Sender,
    respond_within: int = RESPOND_WITHIN,
    policy: Policy | None = None,
) -> ReminderLetter:
    """The letter to ``agency`` about its critical tasks as of ``as_of``; raises if it has none."""
    if not 1 <= respond_within <= MAX_RESPOND_WITHIN:
        raise InvalidInput(
            f"--respond-within {respond_within}: cần từ 1 đến {MAX_RESPOND_WITHIN} ngày làm việc"
        )
    found = registry.by_code(session, Agency, agency)
    threshold = (policy or Policy()).escalate_leader
    tasks = critical_tasks(session, found.id, as_of=as_of, threshold=threshold)
    if not tasks:
        raise NoCriticalTasks(
            f"đơn vị {found.code} ({found.name}) không có nhiệm vụ quá hạn từ {threshold} ngày "
            f"làm việc trở lên tính đến ngày {as_of:%d/%m/%Y}; không lập công văn đôn đốc"
        )
    cal = ensure_index(session)
    return ReminderLetter(
        as_of=as_of,
        agency_code=found.code,
        agency_name=found.name,
        threshold=threshold,
        tasks=tuple(tasks),
        respond_within=respond_within,
        respond_by=cal.add(as_of, respond_within),
        sender=sender,
    )


def critical_tasks(
    session: Session, agency_id: int, *, as_of: date, threshold: int
) -> list[CriticalTask]:
    """The agency's open tasks at least ``threshold`` working days overdue, longest first."""
    cal = ensure_index(session)
    eff_day = aliased(CalendarDay)
    today = cal.ordinal(as_of)
    late = literal(today) - eff_day.ordinal
    rows = session.execute(
        select(
            Task.code,
            Task.content,
            Directive.number,
            Directive.issued_on,
            eff_day.day,
            Task.original_deadline,
            late,
            Leader.name,
        )
        .join(Directive, Directive.id == Task.directive_id)
        # wd(D, d) is a subtraction of the working-day index's ordinals.
        .join(eff_day, eff_day.day == grid_sql.effective_deadline(as_of))
        .outerjoin(Leader, Leader.id == Task.leader_id)
        .where(
            Task.lead_agency_id == agency_id,
            grid_sql.grid(as_of, cal) == Grid.OVERDUE.value,
            # A final report waiting for the office: the agency has answered, as in the chase.
            or_(Task.submitted_on.is_(None), Task.submitted_on > as_of),
            eff_day.ordinal <= today - threshold,
        )
        .order_by(late.desc(), eff_day.day, Task.code)
    ).all()
    return [
        CriticalTask(code, content, number, issued, deadline, original, int(days), leader or "")
        for code, content, number, issued, deadline, original, days, leader in rows
    ]
