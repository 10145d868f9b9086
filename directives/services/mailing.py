"""Turning tasks into mail: the plain template data of each task, and who receives what.

Everything produced here is JSON-able plain data; ``notifications`` renders it at send time.
A message to an agency also records whom its task links are for (``context["links"]``, a
``directives.links.LinkSpec``); the dispatcher signs them, so enqueueing signs nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from directives.calendar import WorkingCalendar
from directives.db.tables import Agency, Leader, Officer, Task
from directives.domain import DeadlineSpec, DirectiveKind
from directives.links import LinkSpec
from directives.services import outbox, task_lines
from directives.services.calendar import load_calendar
from directives.services.task_lines import TaskLine
from directives.settings import Settings


@dataclass(frozen=True)
class MailSettings:
    """What every message needs from the installation."""

    sender: str
    office: str
    app_url: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> MailSettings:
        """From DIRECTIVES_MAIL_FROM, DIRECTIVES_OFFICE_NAME and DIRECTIVES_APP_URL."""
        return cls(settings.mail_from, settings.office_name, settings.app_url)


def task_line(task: Task, as_of: date, cal: WorkingCalendar, app_url: str = "") -> dict[str, Any]:
    """One row of a message's task table."""
    return line(
        code=task.code,
        content=task.content,
        directive=task.directive.number,
        issued_on=task.directive.issued_on,
        kind=task.directive.kind,
        lead_agency=task.lead_agency.name,
        deadline=task.deadline,
        spec=DeadlineSpec(on=task.stated_deadline, working_days=task.deadline_working_days),
        as_of=as_of,
        cal=cal,
        app_url=app_url,
    )


def line(
    *,
    code: str,
    content: str,
    directive: str,
    issued_on: date,
    kind: str,
    lead_agency: str,
    deadline: date | None,
    spec: DeadlineSpec,
    as_of: date,
    cal: WorkingCalendar,
    app_url: str,
) -> dict[str, Any]:
    """A task-table row from plain values (``task_lines`` renders the same rows in bulk)."""
    left = late = None
    if deadline is not None:
        if as_of <= deadline:
            left = cal.wd(as_of, deadline)
        else:
            late = cal.wd(deadline, as_of)
    return {
        "code": code,
        "content": content,
        "directive": directive,
        "directive_date": issued_on.isoformat(),
        "directive_kind": DirectiveKind(kind).label,
        "lead_agency": lead_agency,
        "deadline": deadline.isoformat() if deadline else None,
        "deadline_text": spec.text(),
        "days_left": left,
        "days_late": late,
        "link": f"{app_url.rstrip('/')}/tasks/{code}" if app_url else "",
    }


def _load_tasks(session: Session, task_ids: Sequence[int]) -> dict[int, Task]:
    """Tasks by id with everything a message shows, in chunks the databases accept."""
    tasks: dict[int, Task] = {}
    ids = list(task_ids)
    for start in range(0, len(ids), 5000):
        query = (
            select(Task)
            .where(Task.id.in_(ids[start : start + 5000]))
            .options(
                selectinload(Task.directive),
                selectinload(Task.lead_agency),
                selectinload(Task.coordinators),
                selectinload(Task.leader),
                selectinload(Task.officer),
            )
        )
        tasks |= {t.id: t for t in session.scalars(query)}
    return tasks


def people(agency: Agency) -> list[tuple[str, str]]:
    """An agency's focal addresses, each with the agency's name as display name."""
    return [(agency.name, email) for email in agency.focal_emails]


def _officer(officers: set[Officer]) -> tuple[str, str] | None:
    return (next(iter(officers)).name, next(iter(officers)).email) if len(officers) == 1 else None


# What the links of a message to an agency are for, by kind; any other kind: "open".
_LINK_PURPOSES = {
    "assigned": "acknowledge",
    "assigned_again": "acknowledge",
    "due_soon": "report",
    "due_today": "report",
    "overdue": "report",
    "standing_nudge": "report",
}


def _links(
    kind: str, agency: Agency, to: Sequence[tuple[str, str]], now: datetime, *, lead: bool
) -> dict[str, str]:
    """Whom a message to ``agency`` links its tasks for; the dispatcher signs the links.

    ``lead``: the rows are the tasks ``agency`` leads (else it coordinates them all, and its
    links only open the task: acknowledging is the lead agency's).
    """
    return LinkSpec(
        agency=agency.code,
        email=to[0][1] if to else "",
        purpose=_LINK_PURPOSES.get(kind, "open") if lead else "open",
        issued_at=now,
        lead_agency=agency.name if lead else None,
    ).to_json()


def notify_assigned(
    session: Session, task_ids: Sequence[int], *, on: date, now: datetime, mail: MailSettings
) -> list[int]:
    """Enqueue the assignment of new tasks: one message per lead agency, a copy per coordinator.

    Runs in the intake's transaction, so a directive is never stored without its notices.
    """
    if not task_ids:
        return []
    decisions = [outbox.Decision("assigned", tid, None, 0) for tid in task_ids]
    tasks = _load_tasks(session, task_ids)
    # The key ignores the deadline for an assignment: it is sent once, whatever happens later.
    new = outbox.record_notices(session, decisions, decided_on=on, now=now)
    cal = load_calendar(session)
    by_lead: dict[int, list[Task]] = defaultdict(list)
    by_coordinator: dict[int, list[Task]] = defaultdict(list)
    agencies: dict[int, Agency] = {}
    for key, _notice in new.items():
        task = tasks[key[1]]
        by_lead[task.lead_agency_id].append(task)
        agencies[task.lead_agency_id] = task.lead_agency
        for coordinator in task.coordinators:
            by_coordinator[coordinator.id].append(task)
            agencies[coordinator.id] = coordinator
    notice_of = {key[1]: nid for key, nid in new.items()}
    mails = []
    for groups, coordinating in ((by_lead, False), (by_coordinator, True)):
        for agency_id, group in groups.items():
            group.sort(key=lambda t: t.code)
            agency = agencies[agency_id]
            officers = {t.officer for t in group if t.officer is not None}
            to = people(agency)
            mails.append(
                outbox.Mail(
                    kind="assigned",
                    to=to,
                    cc=[] if coordinating else [(o.name, o.email) for o in officers],
                    reply_to=_officer(officers),
                    notice_ids=[notice_of[t.id] for t in group],
                    context={
                        "office": mail.office,
                        "recipient": agency.name,
                        "app_url": mail.app_url,
                        "as_of": on.isoformat(),
                        "coordinating": coordinating,
                        "tasks": [task_line(t, on, cal, mail.app_url) for t in group],
                        "links": _links("assigned", agency, to, now, lead=not coordinating),
                    },
                )
            )
    return outbox.enqueue(session, mails, sender=mail.sender, now=now)


# The member a kind adds to each task row: the threshold that fired, in working days.
_EXTRA = {"assigned_again": "days_unacknowledged", "standing_nudge": "days_since_report"}


# rule → message kind; due_soon is "due_today" at threshold 0
_KINDS = {
    "ack": "assigned_again",
    "chase": "overdue",
    "nudge": "standing_nudge",
    "escalate1": "escalate_head",
    "escalate2": "escalate_leader",
}


class Grouping:
    """Decided notices grouped by message (kind and recipient), one at a time, so that the
    grouping can run while the decision streams its rows (``decide_with_lines``' ``on_row``).
    Chases, reminders and nudges go to the lead agency, the first escalation to its head, the
    second to the leader in charge; one without a leader is recorded unsent."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str, int], list[tuple[outbox.NoticeKey, TaskLine, int]]] = (
            defaultdict(list)
        )
        self.unsent: list[outbox.NoticeKey] = []  # recorded all the same, not decided again

    def add(self, notice: outbox.NoticeKey, task: TaskLine) -> None:
        rule, _, _, threshold = notice
        kind = _KINDS.get(rule) or ("due_today" if threshold == 0 else "due_soon")
        if kind == "escalate_leader":
            if task.leader_id is None:
                self.unsent.append(notice)
                return
            self.groups[(kind, "leader", task.leader_id)].append((notice, task, threshold))
        else:
            self.groups[(kind, "agency", task.lead_agency_id)].append((notice, task, threshold))


def notify_due(
    session: Session,
    notices: Sequence[outbox.NoticeKey],
    *,
    day: date,
    now: datetime,
    mail: MailSettings,
    office_chief: tuple[str, str] | None = None,
    task_rows: dict[int, TaskLine] | None = None,
    cal: WorkingCalendar | None = None,
    grouped: Grouping | None = None,
) -> list[int]:
    """Enqueue the messages for newly decided notices, recording the notices with them: one
    message per kind and recipient. ``task_rows``: the task rows, if the decision read them;
    ``grouped``: the notices grouped already, as the decision streamed them.

    An agency with twelve overdue tasks gets one chase listing twelve. Chases, reminders and
    nudges go to the lead agency (copy: the officers following those tasks); the first
    escalation to the agency's head, the second to the leader in charge (copy: the office chief).
    """
    if not notices:
        return []
    agencies = {a.id: a for a in session.scalars(select(Agency))}
    leaders = {x.id: x for x in session.scalars(select(Leader))}
    officers = {o.id: o for o in session.scalars(select(Officer))}
    tasks = task_rows
    if tasks is None:
        tasks = task_lines.read_lines(
            session,
            sorted({t for _, t, _, _ in notices}),
            day=day,
            cal=cal or load_calendar(session),
            app_url=mail.app_url,
        )
    if grouped is None:
        grouped = Grouping()
        for notice in notices:
            grouped.add(notice, tasks[notice[1]])
    groups, unsent = grouped.groups, grouped.unsent
    # Officers as plain tuples, in the order of their codes: 8,000 messages look them up.
    following = {o.id: (o.code, o.name, o.email) for o in officers.values()}
    mails = []
    for (kind, _, _), members in groups.items():
        members.sort(key=lambda m: m[1].order)
        first = members[0][1]
        extra = _EXTRA.get(kind)
        lines = [
            task_lines.with_key(task.json, extra, threshold) if extra else task.json
            for _, task, threshold in members
        ]
        in_charge = sorted(
            following[i] for i in {t.officer_id for _, t, _ in members} if i in following
        )
        context: dict[str, Any] = {
            "office": mail.office,
            "app_url": mail.app_url,
            "as_of": day.isoformat(),
        }
        cc = [(name, email) for _, name, email in in_charge]
        agency = agencies[first.lead_agency_id]
        if kind == "escalate_head":
            to = (
                [(agency.head_name or agency.name, agency.head_email)]
                if agency.head_email
                else people(agency)
            )
            context |= {"recipient": agency.head_name or agency.name, "agency": agency.name}
            cc = [office_chief] if office_chief else []
        elif kind == "escalate_leader":
            leader = leaders[first.leader_id or 0]
            to = [(leader.name, leader.email)]
            context["recipient"] = f"{leader.title} {leader.name}"
            cc = [office_chief] if office_chief else []
        else:
            to = people(agency)
            context["recipient"] = agency.name
        if kind != "escalate_leader":  # the agency's head belongs to the agency
            context["links"] = _links(kind, agency, to, now, lead=True)
        mails.append(
            outbox.Mail(
                kind=kind,
                to=to,
                cc=cc,
                reply_to=(in_charge[0][1], in_charge[0][2]) if len(in_charge) == 1 else None,
                notices=[n for n, _, _ in members],
                context=context,
                task_json=lines,
            )
        )
    if unsent:
        mails.append(outbox.Mail(kind="unsent", to=[], context={}, notices=unsent))
    return outbox.enqueue(session, mails, sender=mail.sender, now=now, decided_on=day)
