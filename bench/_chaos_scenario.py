"""What a chaos trial enters, and what the rules say must come out of it.

A plan is plain data drawn from a seed: directives in an import file (codes ``CX-nnnn`` given in
the file), acknowledgements in a history file and over the API, and directives pushed over the
API (their codes are learnt from the answer). ``expected_messages`` then derives every message
the engine owes, from DESIGN.md's rules and nothing the engine stored: the assignments (one
message per lead agency and one per coordinating agency for each stored batch), and for each
working day the chase and escalation notices of ``directives.reminders.due_notices`` (the
reference function of the exact semantics) that were not due before, one message per kind and
recipient.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from directives.calendar import WorkingCalendar
from directives.importing import read_agency_rows, read_leader_rows, read_officer_rows
from directives.policy import Policy
from directives.reminders import CHASE_RULES, ESCALATION_RULES, OpenTask, due_notices

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
IMPORT_DAY = date(2026, 11, 20)  # Friday: the secretariat imports the file and the acks
WEB_DAY = date(2026, 11, 22)  # Sunday: the web app runs; its embedded scheduler fires nothing
FIRST_DAY = date(2026, 11, 23)  # Monday: the first day of jobs; Tuesday 24/11 is a holiday
OFFICE_CHIEF = ("Chánh Văn phòng", "chanhvp@binhan.gov.vn")
JOBS = {"chase": CHASE_RULES, "escalate": ESCALATION_RULES}
# rule (threshold) → message kind, as DESIGN.md names the notices
_KINDS = {
    "ack": "assigned_again",
    "chase": "overdue",
    "nudge": "standing_nudge",
    "escalate1": "escalate_head",
    "escalate2": "escalate_leader",
}


@dataclass
class PlanTask:
    """One task of the plan; ``code`` is None until the API gives one."""

    key: str
    directive: str
    position: int
    issued_on: date
    lead: str
    coordinators: tuple[str, ...]
    officer: str | None
    leader: str
    signer: str
    deadline: date | None
    ack_on: date | None = None
    ack_via: str = ""  # "history" | "api" | ""
    code: str | None = None


@dataclass(frozen=True)
class Registry:
    """Who receives what: the example province's agencies, leaders and officers."""

    focal: dict[str, tuple[str, ...]]
    head: dict[str, str | None]
    leaders: dict[str, str]
    officers: dict[str, str]

    @classmethod
    def examples(cls) -> Registry:
        """From ``examples/*.csv``, read as ``directives agencies|leaders|officers import`` do."""
        agencies = [a for a in read_agency_rows(EXAMPLES / "agencies.csv") if a.active]
        return cls(
            focal={a.code: a.focal_emails for a in agencies},
            head={a.code: a.head_email for a in agencies},
            leaders={x.code: x.email for x in read_leader_rows(EXAMPLES / "leaders.csv")},
            officers={o.code: o.email for o in read_officer_rows(EXAMPLES / "officers.csv")},
        )


@dataclass(frozen=True)
class Expected:
    """One message the engine owes: its kind, its envelope and the tasks it lists."""

    kind: str
    recipients: frozenset[str]
    codes: frozenset[str]
    origin: str


@dataclass
class Plan:
    """Everything a trial enters, in the order it enters it."""

    file_tasks: list[PlanTask]
    pushes: list[list[PlanTask]]
    days: list[date]
    api_acks: list[PlanTask] = field(default_factory=list)

    @property
    def tasks(self) -> list[PlanTask]:
        """Every task, the pushed ones after the imported ones."""
        return self.file_tasks + [t for d in self.pushes for t in d]

    @property
    def history_acks(self) -> list[PlanTask]:
        """The acknowledgements replayed from the history file."""
        return [t for t in self.file_tasks if t.ack_via == "history"]


def make_plan(
    rng: random.Random,
    cal: WorkingCalendar,
    registry: Registry,
    *,
    tasks: int,
    pushes: int,
    days: int,
    api_acks: int,
) -> Plan:
    """A plan of about ``tasks`` imported tasks, ``pushes`` pushed directives, ``days`` days."""
    agencies, leaders = sorted(registry.focal), sorted(registry.leaders)
    officers = [*sorted(registry.officers), None]
    worked = cal.working_days(date(2026, 7, 1), date(2027, 3, 31))
    first = worked.index(FIRST_DAY)
    last_issue = worked.index(IMPORT_DAY)

    def task(
        key: str, number: str, position: int, issued: date, deadline: date | None, signer: str
    ) -> PlanTask:
        lead = rng.choice(agencies)
        others = [a for a in agencies if a != lead]
        return PlanTask(
            key=key,
            directive=number,
            position=position,
            issued_on=issued,
            lead=lead,
            coordinators=tuple(rng.sample(others, rng.choice((0, 0, 1, 2)))),
            officer=rng.choice(officers),
            leader=rng.choice(leaders),
            signer=signer,
            deadline=deadline,
        )

    file_tasks: list[PlanTask] = []
    n = 0
    while len(file_tasks) < tasks:
        n += 1
        roll = rng.random()
        if roll < 0.1:
            deadline = None  # standing: nudged every 20 working days without a report
        elif roll < 0.8:
            deadline = worked[first + rng.randint(-16, 8)]  # around the days of the trial
        else:
            deadline = worked[first + rng.randint(9, 40)]
        latest = min(last_issue, worked.index(deadline) if deadline else last_issue)
        issued, signer = worked[latest - rng.randint(3, 45)], rng.choice(leaders)
        for position in range(1, rng.randint(1, 4) + 1):
            key, number = f"A{n}.{position}", f"{n}/TB-UBND"
            file_tasks.append(task(key, number, position, issued, deadline, signer))
    for i, t in enumerate(file_tasks, start=1):
        t.code = f"CX-{i:04d}"
        if rng.random() < 0.45:
            t.ack_via, t.ack_on = "history", cal.add(t.issued_on, 1)
    pushed = []
    for n in range(1, pushes + 1):
        signer = rng.choice(leaders)
        pushed.append(
            [
                task(f"W{n}.{p}", f"{n}/TB-VP", p, IMPORT_DAY, _pushed_deadline(rng, cal), signer)
                for p in range(1, rng.randint(1, 3) + 1)
            ]
        )
    unacked = [t for t in file_tasks if not t.ack_via]
    chosen = rng.sample(unacked, min(api_acks, len(unacked)))
    for t in chosen:
        t.ack_via, t.ack_on = "api", IMPORT_DAY
    calendar_days = [date.fromordinal(FIRST_DAY.toordinal() + i) for i in range(days)]
    return Plan(file_tasks, pushed, calendar_days, chosen)


def _pushed_deadline(rng: random.Random, cal: WorkingCalendar) -> date | None:
    return None if rng.random() < 0.2 else cal.add(IMPORT_DAY, rng.randint(1, 8))


def write_import_file(path: Path, tasks: Sequence[PlanTask]) -> None:
    """The import file, with the Vietnamese headers a secretariat uses."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                "Số ký hiệu",
                "Ngày ban hành",
                "Loại văn bản",
                "Người ký",
                "Trích yếu",
                "Nội dung nhiệm vụ",
                "Đơn vị chủ trì",
                "Đơn vị phối hợp",
                "Thời hạn",
                "Lãnh đạo phụ trách",
                "Chuyên viên theo dõi",
                "Mã nhiệm vụ",
            ]
        )
        for t in tasks:
            out.writerow(
                [
                    t.directive,
                    t.issued_on.strftime("%d/%m/%Y"),
                    "thông báo kết luận",
                    t.signer,
                    f"Thông báo kết luận số {t.directive} về các nhiệm vụ trọng tâm",
                    f"Nhiệm vụ {t.position} của văn bản {t.directive}: rà soát, báo cáo kết quả",
                    t.lead,
                    ", ".join(t.coordinators),
                    t.deadline.strftime("%d/%m/%Y") if t.deadline else "",
                    t.leader,
                    t.officer or "",
                    t.code,
                ]
            )


def write_history_file(path: Path, tasks: Iterable[PlanTask]) -> None:
    """The acknowledgements to replay (``directives history import``)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Mã nhiệm vụ", "Ngày", "Hành động", "Nội dung"])
        for t in tasks:
            assert t.ack_on is not None
            out.writerow([t.code, t.ack_on.strftime("%d/%m/%Y"), "ack", "Đã tiếp nhận."])


def push_body(tasks: Sequence[PlanTask]) -> dict[str, object]:
    """The JSON of ``POST /api/directives`` for one pushed directive."""
    head = tasks[0]
    return {
        "number": head.directive,
        "issued_on": head.issued_on.isoformat(),
        "kind": "conclusion_notice",
        "signer": head.signer,
        "summary": f"Ý kiến chỉ đạo số {head.directive}",
        "tasks": [
            {
                "content": f"Nhiệm vụ {t.position} của văn bản {t.directive}",
                "lead_agency": t.lead,
                "coordinating_agencies": list(t.coordinators),
                "deadline": t.deadline.isoformat() if t.deadline else None,
                "leader": t.leader,
                "officer": t.officer,
            }
            for t in tasks
        ],
    }


def _code(t: PlanTask) -> str:
    if t.code is None:
        raise ValueError(f"task {t.key} of {t.directive} has no code: its push never succeeded")
    return t.code


def _assignments(tasks: Sequence[PlanTask], reg: Registry, origin: str) -> list[Expected]:
    """One message per lead agency (copy: the officers), one per coordinating agency."""
    by_lead: dict[str, list[PlanTask]] = defaultdict(list)
    by_coordinator: dict[str, list[PlanTask]] = defaultdict(list)
    for t in tasks:
        by_lead[t.lead].append(t)
        for c in t.coordinators:
            by_coordinator[c].append(t)
    out = [
        Expected("assigned", _people(reg.focal[a], group, reg), _codes(group), origin)
        for a, group in by_lead.items()
    ]
    out += [
        Expected("assigned", _lower(reg.focal[a]), _codes(group), origin)
        for a, group in by_coordinator.items()
    ]
    return out


def _lower(addresses: Iterable[str]) -> frozenset[str]:
    return frozenset(a.lower() for a in addresses)


def _codes(group: Iterable[PlanTask]) -> frozenset[str]:
    return frozenset(_code(t) for t in group)


def _people(to: Iterable[str], group: Sequence[PlanTask], reg: Registry) -> frozenset[str]:
    """``to`` and, in copy, the officers following the group's tasks."""
    return _lower([*to, *(reg.officers[t.officer] for t in group if t.officer)])


@dataclass
class Expectation:
    """The messages owed, and the new notices of each (job, day) run."""

    messages: list[Expected]
    notices: set[tuple[str, str, str, int]]  # (rule, code, deadline key, threshold)
    decided: dict[tuple[str, date], int]  # (job, day) → new notices that run records


def expected_messages(
    plan: Plan, reg: Registry, cal: WorkingCalendar, policy: Policy
) -> Expectation:
    """What the rules say the trial must deliver (see the module's docstring)."""
    tasks = plan.tasks
    messages = _assignments(plan.file_tasks, reg, "import")
    for i, pushed in enumerate(plan.pushes, start=1):
        messages += _assignments(pushed, reg, f"push {i}")
    notices = {("assigned", _code(t), "", 0) for t in tasks}
    decided: dict[tuple[str, date], int] = {}
    for day in plan.days:
        for job, rules in JOBS.items():
            new: list[tuple[str, int, PlanTask]] = []
            for t in tasks:
                if t.issued_on > day:
                    continue
                acked = t.ack_on is not None and t.ack_on <= day
                open_task = OpenTask(t.issued_on, t.deadline, acked, False, None)
                for rule, threshold in due_notices(open_task, day, cal, policy):
                    key = (rule, _code(t), t.deadline.isoformat() if t.deadline else "", threshold)
                    if rule in rules and key not in notices:
                        notices.add(key)
                        new.append((rule, threshold, t))
            decided[(job, day)] = len(new)
            messages += _day_messages(new, reg, f"{job} {day.isoformat()}")
    return Expectation(messages, notices, decided)


def _day_messages(
    new: Sequence[tuple[str, int, PlanTask]], reg: Registry, origin: str
) -> list[Expected]:
    """One message per kind and recipient: the agency, or the leader for escalation 2."""
    groups: dict[tuple[str, str], list[PlanTask]] = defaultdict(list)
    for rule, threshold, t in new:
        kind = _KINDS.get(rule) or ("due_today" if threshold == 0 else "due_soon")
        groups[(kind, t.leader if kind == "escalate_leader" else t.lead)].append(t)
    out = []
    for (kind, who), group in groups.items():
        chief = OFFICE_CHIEF[1]
        if kind == "escalate_leader":
            recipients = _lower([reg.leaders[who], chief])
        elif kind == "escalate_head":
            head = reg.head[who]
            recipients = _lower([head, chief] if head else [*reg.focal[who], chief])
        else:
            recipients = _people(reg.focal[who], group, reg)
        out.append(Expected(kind, recipients, _codes(group), origin))
    return out
