"""A deterministic, realistic province for the register benchmark.

Three parts, all driven by seeded ``random.Random`` streams so that a run is reproducible:

* the registry: 30 agencies, 5 leaders, 8 officers (``AgencyRow``, ``LeaderRow``, ``OfficerRow``);
* the directives: 1–12 tasks each, issued on working days of one year, with deadlines given as a
  date, as N working days, or none (standing tasks, about 10 %);
* a history for every task: a plan of dated steps (acknowledge, progress, final report, confirm,
  return, extension request / decision, pause / resume, cancel) that is applied either through
  ``directives.services.lifecycle`` or, for speed, by ``Simulator``, which computes exactly the rows
  the services would write (the task projection, events, reports, extensions, pauses).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from directives.calendar import WorkingCalendar
from directives.clock import Clock
from directives.domain import AgencyKind, DeadlineSpec, DirectiveKind, LeaderRole, Priority
from directives.importing import AgencyRow, LeaderRow, OfficerRow
from directives.services import intake, lifecycle
from directives.workflow import Actor, Role

# ------------------------------------------------------------------------------------------------
# Registry

# (code, name, kind, relative weight of the tasks it leads)
AGENCIES: tuple[tuple[str, str, AgencyKind, float], ...] = (
    ("SKHDT", "Sở Kế hoạch và Đầu tư", AgencyKind.DEPARTMENT, 9.0),
    ("STC", "Sở Tài chính", AgencyKind.DEPARTMENT, 8.0),
    ("STNMT", "Sở Tài nguyên và Môi trường", AgencyKind.DEPARTMENT, 8.0),
    ("SXD", "Sở Xây dựng", AgencyKind.DEPARTMENT, 6.0),
    ("SGTVT", "Sở Giao thông vận tải", AgencyKind.DEPARTMENT, 5.0),
    ("SNNPTNT", "Sở Nông nghiệp và Phát triển nông thôn", AgencyKind.DEPARTMENT, 5.0),
    ("SYT", "Sở Y tế", AgencyKind.DEPARTMENT, 4.0),
    ("SGDDT", "Sở Giáo dục và Đào tạo", AgencyKind.DEPARTMENT, 4.0),
    ("SCT", "Sở Công Thương", AgencyKind.DEPARTMENT, 3.5),
    ("SNV", "Sở Nội vụ", AgencyKind.DEPARTMENT, 4.0),
    ("STP", "Sở Tư pháp", AgencyKind.DEPARTMENT, 2.5),
    ("SLDTBXH", "Sở Lao động - Thương binh và Xã hội", AgencyKind.DEPARTMENT, 3.0),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch", AgencyKind.DEPARTMENT, 2.5),
    ("STTTT", "Sở Thông tin và Truyền thông", AgencyKind.DEPARTMENT, 2.5),
    ("SKHCN", "Sở Khoa học và Công nghệ", AgencyKind.DEPARTMENT, 1.5),
    ("TTT", "Thanh tra tỉnh", AgencyKind.DEPARTMENT, 2.0),
    ("BDT", "Ban Dân tộc tỉnh", AgencyKind.BOARD, 1.0),
    ("BQLKCN", "Ban Quản lý các khu công nghiệp", AgencyKind.BOARD, 2.0),
    (
        "BQLDAGT",
        "Ban Quản lý dự án đầu tư xây dựng các công trình giao thông",
        AgencyKind.BOARD,
        3.0,
    ),
    ("CAT", "Công an tỉnh", AgencyKind.OTHER, 2.0),
    ("CTT", "Cục Thuế tỉnh", AgencyKind.OTHER, 1.5),
    ("VPUBND", "Văn phòng UBND tỉnh", AgencyKind.OFFICE, 2.0),
    ("UBNDTP", "UBND thành phố Bình An", AgencyKind.DISTRICT, 5.0),
    ("UBNDTXAL", "UBND thị xã An Lạc", AgencyKind.DISTRICT, 3.0),
    ("UBNDHTL", "UBND huyện Tân Lập", AgencyKind.DISTRICT, 2.5),
    ("UBNDHPT", "UBND huyện Phước Thạnh", AgencyKind.DISTRICT, 2.5),
    ("UBNDHHK", "UBND huyện Hòa Khánh", AgencyKind.DISTRICT, 2.0),
    ("UBNDHSM", "UBND huyện Sông Mây", AgencyKind.DISTRICT, 2.0),
    ("UBNDHBL", "UBND huyện Bình Lộc", AgencyKind.DISTRICT, 2.0),
    ("UBNDHTG", "UBND huyện Trà Giang", AgencyKind.DISTRICT, 2.0),
)

# (code, name, role, sectors, agencies in the leader's field, officers following their tasks)
LEADERS: tuple[
    tuple[str, str, LeaderRole, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...
] = (
    (
        "CT",
        "Trần Quốc Hưng",
        LeaderRole.CHAIRMAN,
        ("Nội vụ", "Quốc phòng - An ninh", "Thanh tra"),
        ("SNV", "TTT", "CAT", "VPUBND", "SKHDT", "UBNDTP"),
        ("CV01", "CV02"),
    ),
    (
        "PCT1",
        "Nguyễn Văn An",
        LeaderRole.VICE_CHAIRMAN,
        ("Kinh tế tổng hợp", "Tài chính", "Đầu tư", "Tư pháp"),
        ("SKHDT", "STC", "STP", "CTT", "BQLKCN"),
        ("CV03", "CV04"),
    ),
    (
        "PCT2",
        "Lê Thị Thu Hà",
        LeaderRole.VICE_CHAIRMAN,
        ("Xây dựng", "Giao thông", "Tài nguyên - Môi trường"),
        ("SXD", "SGTVT", "STNMT", "BQLDAGT", "UBNDTXAL", "UBNDHTL"),
        ("CV05",),
    ),
    (
        "PCT3",
        "Phạm Minh Đức",
        LeaderRole.VICE_CHAIRMAN,
        ("Nông nghiệp", "Công Thương", "Khoa học - Công nghệ", "Thông tin - Truyền thông"),
        ("SNNPTNT", "SCT", "SKHCN", "STTTT", "UBNDHPT", "UBNDHHK"),
        ("CV06",),
    ),
    (
        "PCT4",
        "Hoàng Thị Lan Anh",
        LeaderRole.VICE_CHAIRMAN,
        ("Văn hóa - Xã hội", "Y tế", "Giáo dục", "Lao động"),
        ("SYT", "SGDDT", "SLDTBXH", "SVHTTDL", "BDT", "UBNDHSM", "UBNDHBL", "UBNDHTG"),
        ("CV07", "CV08"),
    ),
)
LEADER_WEIGHTS = (0.24, 0.22, 0.2, 0.18, 0.16)

OFFICERS: tuple[tuple[str, str], ...] = (
    ("CV01", "Đỗ Thị Minh Thư"),
    ("CV02", "Nguyễn Hoàng Long"),
    ("CV03", "Trần Văn Khánh"),
    ("CV04", "Lê Thị Hồng Nhung"),
    ("CV05", "Vũ Đức Thắng"),
    ("CV06", "Phan Thị Ngọc Ánh"),
    ("CV07", "Bùi Quang Huy"),
    ("CV08", "Đặng Thị Thanh Tâm"),
)

HEADS = (
    "Nguyễn Thanh Tùng",
    "Lê Văn Dũng",
    "Trương Công Hậu",
    "Phạm Quang Vinh",
    "Đặng Văn Hải",
    "Huỳnh Văn Lợi",
    "Nguyễn Thị Bích Ngọc",
    "Võ Thị Kim Oanh",
    "Trần Minh Quân",
)


def agency_rows() -> list[AgencyRow]:
    """The 30 agencies, all active."""
    return [
        AgencyRow(
            row=i + 2,
            code=code,
            name=name,
            kind=kind,
            focal_emails=(f"vanthu.{code.lower()}@binhan.gov.vn",),
            head_name=HEADS[i % len(HEADS)],
            head_email=f"thutruong.{code.lower()}@binhan.gov.vn",
            active=True,
        )
        for i, (code, name, kind, _w) in enumerate(AGENCIES)
    ]


def leader_rows() -> list[LeaderRow]:
    """The chairman and four vice-chairmen."""
    return [
        LeaderRow(
            row=i + 2,
            code=code,
            name=name,
            title="Chủ tịch UBND tỉnh" if role is LeaderRole.CHAIRMAN else "Phó Chủ tịch UBND tỉnh",
            role=role,
            email=f"{code.lower()}@binhan.gov.vn",
            sectors=sectors,
        )
        for i, (code, name, role, sectors, _a, _o) in enumerate(LEADERS)
    ]


def officer_rows() -> list[OfficerRow]:
    """The office's specialists."""
    return [
        OfficerRow(row=i + 2, code=code, name=name, email=f"{code.lower()}.vp@binhan.gov.vn")
        for i, (code, name) in enumerate(OFFICERS)
    ]


# ------------------------------------------------------------------------------------------------
# Directives

KIND_SUFFIX = {
    DirectiveKind.CONCLUSION_NOTICE: "TB-UBND",
    DirectiveKind.DIRECTIVE: "CT-UBND",
    DirectiveKind.OFFICIAL_LETTER: "UBND-KTTH",
    DirectiveKind.DECISION: "QĐ-UBND",
    DirectiveKind.INSTRUCTION: "VPUBND-TH",
}
KIND_WEIGHTS = (0.45, 0.05, 0.3, 0.1, 0.1)
SUMMARIES = {
    DirectiveKind.CONCLUSION_NOTICE: "Thông báo kết luận của {who} tại buổi làm việc về {topic}",
    DirectiveKind.DIRECTIVE: "Chỉ thị về tăng cường {topic}",
    DirectiveKind.OFFICIAL_LETTER: "Về việc triển khai {topic}",
    DirectiveKind.DECISION: "Quyết định ban hành Kế hoạch thực hiện {topic}",
    DirectiveKind.INSTRUCTION: "Ý kiến chỉ đạo của {who} về {topic}",
}
TOPICS = (
    "tình hình thực hiện kế hoạch đầu tư công năm 2026",
    "công tác bồi thường, hỗ trợ, tái định cư các dự án trọng điểm",
    "cải cách hành chính và chuyển đổi số",
    "phòng, chống thiên tai và tìm kiếm cứu nạn",
    "quản lý đất đai, tài nguyên khoáng sản",
    "thu ngân sách nhà nước và quản lý chi tiêu công",
    "xây dựng nông thôn mới và giảm nghèo bền vững",
    "công tác y tế dự phòng và an toàn thực phẩm",
    "phát triển các khu, cụm công nghiệp",
    "kỷ luật, kỷ cương hành chính trong thực hiện nhiệm vụ được giao",
    "giải quyết khiếu nại, tố cáo và tiếp công dân",
    "bảo đảm trật tự an toàn giao thông",
)
OPENINGS = (
    "Chủ trì, phối hợp với các cơ quan, đơn vị liên quan",
    "Khẩn trương",
    "Tham mưu UBND tỉnh",
    "Rà soát, tổng hợp và",
    "Chỉ đạo các phòng, ban chuyên môn",
    "Kiểm tra, đôn đốc các chủ đầu tư",
)
OBJECTS = (
    "hoàn thiện hồ sơ điều chỉnh chủ trương đầu tư dự án đường ven sông Mây",
    "xây dựng phương án bồi thường, hỗ trợ, tái định cư dự án khu dân cư phía Bắc thành phố",
    "đề xuất điều chuyển kế hoạch vốn giữa các dự án chậm giải ngân",
    "xử lý dứt điểm các kiến nghị của cử tri tại kỳ họp thứ 12 HĐND tỉnh",
    "rà soát các thủ tục hành chính có thể cung cấp dịch vụ công trực tuyến toàn trình",
    "kiểm tra, xử lý các trường hợp vi phạm trong khai thác khoáng sản trái phép",
    "hoàn thiện dự thảo Quy chế phối hợp quản lý cụm công nghiệp",
    "tổng hợp nhu cầu kinh phí khắc phục hậu quả mưa lũ",
    "đánh giá kết quả thực hiện Chương trình mục tiêu quốc gia",
    "lập danh mục dự án kêu gọi đầu tư giai đoạn 2026-2030",
)
CLOSINGS = (
    "; báo cáo UBND tỉnh kết quả thực hiện.",
    "; trình UBND tỉnh xem xét, quyết định.",
    ", đề xuất UBND tỉnh giải pháp tháo gỡ khó khăn, vướng mắc.",
    "; định kỳ báo cáo Chủ tịch UBND tỉnh.",
    ".",
)
WORKING_DAY_TERMS = (5, 7, 10, 10, 15, 15, 20, 30, 45, 60)
DATE_TERMS = (7, 10, 14, 15, 20, 30, 30, 45, 60, 90, 120, 180)
SIZE_WEIGHTS = (24, 18, 14, 11, 8, 7, 5, 4, 3, 2, 2, 2)  # 1..12 tasks; mean ≈ 3.9
PRIORITY_WEIGHTS = (85, 10, 4, 1)  # thường, khẩn, thượng khẩn, hỏa tốc


def directives(
    rng: random.Random,
    calendar: WorkingCalendar,
    n_tasks: int,
    year: int,
    *,
    very_urgent: bool = True,
) -> list[intake.NewDirective]:
    """Directives with exactly ``n_tasks`` tasks in all, issued on working days of ``year``.

    ``very_urgent=False`` leaves out "thượng khẩn" (the other priorities share its weight);
    everything else drawn stays the same.
    """
    priority_weights = PRIORITY_WEIGHTS if very_urgent else (*PRIORITY_WEIGHTS[:2], 0, 1)
    sizes: list[int] = []
    total = 0
    while total < n_tasks:
        sizes.append(min(rng.choices(range(1, 13), weights=SIZE_WEIGHTS)[0], n_tasks - total))
        total += sizes[-1]
    days = calendar.working_days(date(year, 1, 1), date(year, 12, 31))
    issued = sorted(rng.choice(days) for _ in sizes)
    counters = dict.fromkeys(DirectiveKind, 0)
    agency_codes = [a[0] for a in AGENCIES]
    agency_weights = [a[3] for a in AGENCIES]
    out: list[intake.NewDirective] = []
    for size, on in zip(sizes, issued, strict=True):
        kind = rng.choices(list(KIND_SUFFIX), weights=KIND_WEIGHTS)[0]
        counters[kind] += 1
        signer, _name, role, sectors, field_agencies, officers = rng.choices(
            LEADERS, weights=LEADER_WEIGHTS
        )[0]
        who = "Chủ tịch UBND tỉnh" if role is LeaderRole.CHAIRMAN else "Phó Chủ tịch UBND tỉnh"
        summary = SUMMARIES[kind].format(who=who, topic=rng.choice(TOPICS))
        tasks = []
        for position in range(1, size + 1):
            if rng.random() < 0.7:
                lead = rng.choice(field_agencies)
            else:
                lead = rng.choices(agency_codes, weights=agency_weights)[0]
            n_coord = rng.choices((0, 1, 2, 3), weights=(50, 25, 15, 10))[0]
            coord = tuple(rng.sample([c for c in agency_codes if c != lead], n_coord))
            tasks.append(
                intake.NewTask(
                    content=f"{rng.choice(OPENINGS)} {rng.choice(OBJECTS)}{rng.choice(CLOSINGS)}",
                    lead_agency=lead,
                    coordinating_agencies=coord,
                    deadline=_deadline(rng, on),
                    officer=rng.choice(officers),
                    sector=rng.choice(sectors),
                    priority=rng.choices(list(Priority), weights=priority_weights)[0],
                    source_ref=f"Mục {position}",
                )
            )
        out.append(
            intake.NewDirective(
                number=f"{counters[kind]}/{KIND_SUFFIX[kind]}",
                issued_on=on,
                kind=kind,
                signer=signer,
                summary=summary,
                tasks=tuple(tasks),
            )
        )
    return out


def _deadline(rng: random.Random, issued: date) -> DeadlineSpec:
    r = rng.random()
    if r < 0.1:
        return DeadlineSpec()  # standing (thường xuyên)
    if r < 0.5:
        return DeadlineSpec(working_days=rng.choice(WORKING_DAY_TERMS))
    return DeadlineSpec(on=date.fromordinal(issued.toordinal() + rng.choice(DATE_TERMS)))


# ------------------------------------------------------------------------------------------------
# History


@dataclass(frozen=True)
class Step:
    """One dated action on a task."""

    # ack report final confirm return ext_request ext_approve ext_reject pause resume cancel
    action: str
    on: date
    text: str = ""
    percent: int | None = None
    document: str | None = None
    new_deadline: date | None = None


@dataclass(frozen=True)
class TaskSeed:
    """What the history plan of a task depends on, read back after intake."""

    id: int
    code: str
    assigned_on: date
    deadline: date | None
    lead_agency_id: int
    lead_agency: str
    leader: str


def plan(rng: random.Random, cal: WorkingCalendar, t: TaskSeed, end: date) -> list[Step]:
    """A plausible history of ``t``; steps after ``end`` are dropped (the task stays as it is)."""
    steps: list[Step] = []
    day = t.assigned_on

    def after(base: date, n: int) -> date:
        return cal.add(base, n) if n > 0 else base

    def add(action: str, on: date, **kw: Any) -> None:
        nonlocal day
        day = max(day, on)
        steps.append(Step(action, day, **kw))

    if rng.random() < 0.88:
        add("ack", after(day, rng.choice((0, 1, 1, 1, 1, 2, 2, 3, 4, 6, 10))))
    fate = rng.random()
    if fate < 0.02:
        add("cancel", after(day, rng.randint(3, 40)), text="Đã có văn bản chỉ đạo thay thế")
        return _cut(steps, end)
    if fate < 0.035:
        add("pause", after(day, rng.randint(2, 20)), text="Chờ ý kiến của Bộ, ngành Trung ương")
        if rng.random() < 0.5:
            return _cut(steps, end)
        add("resume", after(day, rng.randint(5, 30)))
    deadline = t.deadline
    if deadline is None:
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            add(
                "report",
                after(day, rng.randint(10, 40)),
                percent=None,
                text="Báo cáo tình hình thực hiện định kỳ.",
            )
        if rng.random() < 0.55:
            finish = after(day, rng.randint(5, 60))
            _finish(rng, add, after, finish)
        return _cut(steps, end)
    if rng.random() < 0.06:  # an extension request, a fifth of them after the deadline
        late_ask = rng.random() < 0.2
        asked = (
            after(deadline, rng.randint(1, 5)) if late_ask else _between(rng, cal, day, deadline)
        )
        wanted = cal.add(max(deadline, asked), rng.randint(10, 40))
        add(
            "ext_request",
            asked,
            new_deadline=wanted,
            text="Nội dung phức tạp, cần thêm thời gian lấy ý kiến các cơ quan liên quan",
        )
        if rng.random() < 0.8:
            add("ext_approve", after(day, rng.randint(1, 5)), new_deadline=wanted)
            deadline = cal.roll_forward(wanted)
        else:
            add("ext_reject", after(day, rng.randint(1, 5)), text="Giữ nguyên thời hạn")
    outcome = rng.random()
    if outcome < 0.08:  # never finished: maybe one progress report
        if rng.random() < 0.5:
            add(
                "report",
                after(day, rng.randint(3, 20)),
                percent=rng.choice((20, 30, 50)),
                text="Đang triển khai thực hiện.",
            )
        return _cut(steps, end)
    if outcome < 0.60:  # early
        room = cal.wd(day, deadline)
        finish = after(day, rng.randint(max(0, room // 3), room - 1)) if room >= 2 else deadline
    elif outcome < 0.73:  # on the day
        finish = deadline
    else:  # late, with a long tail
        finish = cal.add(deadline, rng.choice((1, 1, 2, 3, 5, 8, 13, 21, 34, 55)))
    if cal.wd(day, finish) > 10 and rng.random() < 0.6:
        for _ in range(rng.choice((1, 1, 2))):
            add(
                "report",
                _between(rng, cal, day, finish),
                percent=rng.choice((30, 50, 60, 80)),
                text="Đã hoàn thành các bước chuẩn bị; đang tổng hợp ý kiến góp ý.",
            )
    _finish(rng, add, after, max(finish, day))
    return _cut(steps, end)


def _finish(
    rng: random.Random,
    steps_add: Callable[..., None],
    after: Callable[[date, int], date],
    finish: date,
) -> None:
    """The final report, sometimes returned and submitted again, then the office's confirmation."""
    document = f"{rng.randint(100, 4999)}/BC-{rng.choice(('KH', 'TH', 'VP', 'NV'))}"
    steps_add(
        "final",
        finish,
        text="Đã hoàn thành nhiệm vụ; báo cáo kết quả thực hiện.",
        document=document,
    )
    if rng.random() < 0.05:
        returned = after(finish, rng.randint(1, 3))
        steps_add("return", returned, text="Báo cáo chưa đầy đủ số liệu, đề nghị bổ sung")
        finish = after(returned, rng.randint(3, 10))
        steps_add("final", finish, text="Báo cáo bổ sung kết quả thực hiện.", document=document)
    steps_add("confirm", after(finish, rng.choice((0, 1, 1, 2, 3))))


def _between(rng: random.Random, cal: WorkingCalendar, a: date, b: date) -> date:
    gap = cal.wd(a, b)
    return cal.add(a, rng.randint(1, gap - 1)) if gap >= 2 else a


def _cut(steps: list[Step], end: date) -> list[Step]:
    return [s for s in steps if s.on <= end]


# ------------------------------------------------------------------------------------------------
# Actors: agencies act on their own tasks, leaders decide, the office confirms.

OFFICE = Actor(Role.SECRETARIAT, "Văn phòng UBND tỉnh")


def agency_actor(code: str) -> Actor:
    """A clerk of agency ``code``."""
    return Actor(Role.AGENCY, "Văn thư", agency=code)


def leader_actor(code: str) -> Actor:
    """Leader ``code``."""
    return Actor(Role.LEADER, "", leader=code)


def actor_for(step: Step, t: TaskSeed) -> Actor:
    """Who takes ``step`` on ``t``."""
    if step.action in ("ack", "report", "final", "ext_request"):
        return agency_actor(t.lead_agency)
    if step.action in ("ext_approve", "ext_reject", "pause", "resume", "cancel"):
        return leader_actor(t.leader)
    return OFFICE


def apply_services(session: Session, t: TaskSeed, steps: Sequence[Step], clock: Clock) -> None:
    """Apply ``steps`` through ``directives.services.lifecycle``, one call per step."""
    for s in steps:
        who = actor_for(s, t)
        kw: dict[str, Any] = {"on": s.on, "actor": who, "clock": clock}
        match s.action:
            case "ack":
                lifecycle.acknowledge(session, t.code, **kw)
            case "report" | "final":
                lifecycle.report(
                    session,
                    t.code,
                    text=s.text,
                    percent=s.percent,
                    final=s.action == "final",
                    document_ref=s.document,
                    **kw,
                )
            case "confirm":
                lifecycle.confirm(session, t.code, **kw)
            case "return":
                lifecycle.return_report(session, t.code, reason=s.text, **kw)
            case "ext_request":
                assert s.new_deadline is not None
                lifecycle.request_extension(
                    session, t.code, new_deadline=s.new_deadline, reason=s.text, **kw
                )
            case "ext_approve" | "ext_reject":
                lifecycle.decide_extension(
                    session, t.code, approve=s.action == "ext_approve", note=s.text or None, **kw
                )
            case "pause":
                lifecycle.pause(session, t.code, reason=s.text, **kw)
            case "resume":
                lifecycle.resume(session, t.code, **kw)
            case "cancel":
                lifecycle.cancel(session, t.code, reason=s.text, **kw)
            case _:
                raise ValueError(s.action)


# ------------------------------------------------------------------------------------------------
# The bulk path: the same rows the services write, computed in Python.

PROJECTION = (
    "state",
    "state_before_pause",
    "acknowledged_on",
    "last_report_on",
    "submitted_on",
    "completed_on",
    "confirmed_on",
    "cancelled_on",
    "deadline",
    "has_extensions",
    "has_pauses",
)


@dataclass
class Simulated:
    """One task after its steps: the projection and the rows to insert (ids to be filled)."""

    task: dict[str, Any]
    # (event without report id, index into reports whose id goes into data["report_id"] or None)
    events: list[tuple[dict[str, Any], int | None]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    extensions: list[dict[str, Any]] = field(default_factory=list)
    pauses: list[dict[str, Any]] = field(default_factory=list)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def simulate(cal: WorkingCalendar, t: TaskSeed, steps: Sequence[Step], now: datetime) -> Simulated:
    """What ``apply_services`` would store for ``t`` (mirrors directives.services.lifecycle)."""
    task: dict[str, Any] = {
        "id": t.id,
        "state": "assigned",
        "state_before_pause": None,
        "acknowledged_on": None,
        "last_report_on": None,
        "submitted_on": None,
        "completed_on": None,
        "confirmed_on": None,
        "cancelled_on": None,
        "deadline": t.deadline,
        "has_extensions": False,
        "has_pauses": False,
    }
    out = Simulated(task)

    def event(
        kind: str,
        on: date,
        who: Actor,
        note: str | None = None,
        report: int | None = None,
        **data: Any,
    ) -> None:
        out.events.append(
            (
                {
                    "task_id": t.id,
                    "kind": kind,
                    "on": on,
                    "recorded_at": now,
                    "actor": who.describe(),
                    "note": note,
                    "data": {k: _iso(v) for k, v in data.items()},
                },
                report,
            )
        )

    pending_report: int | None = None
    pending_ext: int | None = None
    for s in steps:
        who = actor_for(s, t)
        match s.action:
            case "ack":
                task["state"], task["acknowledged_on"] = "acknowledged", s.on
                event("acknowledged", s.on, who)
            case "report" | "final":
                final = s.action == "final"
                if task["acknowledged_on"] is None:
                    task["acknowledged_on"] = s.on
                    event("acknowledged", s.on, who, "ngầm định qua báo cáo", implied=True)
                percent = 100 if final and s.percent is None else s.percent
                document = (s.document or "").strip() or None
                out.reports.append(
                    {
                        "task_id": t.id,
                        "on": s.on,
                        "text": s.text.strip(),
                        "percent": percent,
                        "document_ref": document,
                        "final": final,
                        "outcome": "pending" if final else "progress",
                        "decided_on": None,
                        "by_agency_id": t.lead_agency_id,
                    }
                )
                task["state"] = "submitted" if final else "in_progress"
                task["last_report_on"] = s.on
                if final:
                    task["submitted_on"] = s.on
                    pending_report = len(out.reports) - 1
                event(
                    "submitted" if final else "progress",
                    s.on,
                    who,
                    s.text.strip() or None,
                    percent=percent,
                    document_ref=document,
                )
            case "confirm":
                assert pending_report is not None
                rep = out.reports[pending_report]
                rep["outcome"], rep["decided_on"] = "confirmed", s.on
                task["state"], task["completed_on"], task["confirmed_on"] = (
                    "confirmed",
                    rep["on"],
                    s.on,
                )
                event(
                    "confirmed",
                    s.on,
                    who,
                    s.text or None,
                    report=pending_report,
                    completed_on=rep["on"],
                )
                pending_report = None
            case "return":
                assert pending_report is not None
                rep = out.reports[pending_report]
                rep["outcome"], rep["decided_on"] = "returned", s.on
                task["state"], task["submitted_on"] = "returned", None
                event("returned", s.on, who, s.text.strip(), report=pending_report)
                pending_report = None
            case "ext_request":
                assert s.new_deadline is not None
                assert task["deadline"] is not None
                after_deadline = s.on > task["deadline"]
                out.extensions.append(
                    {
                        "task_id": t.id,
                        "requested_on": s.on,
                        "requested_deadline": s.new_deadline,
                        "previous_deadline": task["deadline"],
                        "reason": s.text.strip(),
                        "after_deadline": after_deadline,
                        "status": "pending",
                        "decided_on": None,
                        "decided_by": None,
                        "granted_deadline": None,
                        "decision_note": None,
                    }
                )
                pending_ext = len(out.extensions) - 1
                event(
                    "extension_requested",
                    s.on,
                    who,
                    s.text.strip(),
                    requested_deadline=s.new_deadline,
                    after_deadline=after_deadline,
                )
            case "ext_approve" | "ext_reject":
                assert pending_ext is not None
                ext = out.extensions[pending_ext]
                note = s.text or None
                ext["decided_on"], ext["decided_by"], ext["decision_note"] = (
                    s.on,
                    who.describe(),
                    note,
                )
                if s.action == "ext_approve":
                    granted = cal.roll_forward(ext["requested_deadline"])
                    ext["status"], ext["granted_deadline"] = "approved", granted
                    task["deadline"], task["has_extensions"] = granted, True
                    event(
                        "extension_approved",
                        s.on,
                        who,
                        note,
                        deadline=granted,
                        previous_deadline=ext["previous_deadline"],
                    )
                else:
                    ext["status"] = "rejected"
                    event("extension_rejected", s.on, who, note)
                pending_ext = None
            case "pause":
                out.pauses.append({"task_id": t.id, "paused_on": s.on, "resumed_on": None})
                task["state_before_pause"], task["state"] = task["state"], "paused"
                task["has_pauses"] = True
                event("paused", s.on, who, s.text.strip() or None)
            case "resume":
                out.pauses[-1]["resumed_on"] = s.on
                task["state"] = task["state_before_pause"] or "assigned"
                task["state_before_pause"] = None
                event("resumed", s.on, who)
            case "cancel":
                task["state"], task["cancelled_on"] = "cancelled", s.on
                event("cancelled", s.on, who, s.text.strip())
            case _:
                raise ValueError(s.action)
    return out


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``items`` in slices of ``size``."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
