"""A synthetic register at province or national scale, deterministic from a seed.

2,500 agencies (43 ministries and central agencies, and for each of the 63 provinces its People's
Committee office, 18 departments and 20 districts), 40 leaders with sectors and the agencies in
their field, 120 officers; directives of 1 to 12 tasks issued on working days over the five years
up to 26/11/2026, with Vietnamese text. Each task gets a history drawn from realistic delays:
acknowledgement (92 %, usually within 0 to 3 working days, otherwise implied by the first report),
a progress report on long tasks, a final report early, on the day or late (long tail), the office's
confirmation 0 to 3 working days later, extension requests (about 6 % of tasks with a deadline,
80 % approved), cancellations (about 1.5 %) and a backlog that stays open. About 10 % of tasks are
open on the day (``AS_OF``).

Rows are written straight into the tables (``directives/db/tables.py``) with the values the services
would write: the task projection columns (state, acknowledged_on, last_report_on, submitted_on,
completed_on, confirmed_on, cancelled_on, deadline, has_extensions) and the matching
``task_events``, ``progress_reports``, ``extensions`` and ``task_coordinators``. PostgreSQL is
filled with COPY, SQLite with executemany on the raw connection. Then the working-day index
(``ensure_index``), the code counters, and ``VACUUM ANALYZE`` on PostgreSQL.

    .venv/bin/python -m bench.national --scale province --backend sqlite --url sqlite:////tmp/n.db
    .venv/bin/python -m bench.national --scale national --backend postgres   # a fresh database

It prints one JSON object: the URL, the fill seconds, the row counts and the open share.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from directives.calendar import WorkingCalendar
from directives.db import migrate
from directives.db.engine import make_engine, make_session_factory
from directives.domain import DeadlineSpec, DirectiveKind, Priority
from directives.services.calendar import _build, ensure_index

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCALES = {"province": 50_000, "national": 1_000_000}
AS_OF = date(2026, 11, 26)
FIRST_DAY = date(2021, 11, 26)
NOW = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)
OFFICE_ACTOR = "secretariat:Văn phòng UBND tỉnh"

MINISTRIES = (
    ("BQP", "Bộ Quốc phòng"),
    ("BCA", "Bộ Công an"),
    ("BNG", "Bộ Ngoại giao"),
    ("BNV", "Bộ Nội vụ"),
    ("BTP", "Bộ Tư pháp"),
    ("BTC", "Bộ Tài chính"),
    ("BCT", "Bộ Công Thương"),
    ("BNNMT", "Bộ Nông nghiệp và Môi trường"),
    ("BXD", "Bộ Xây dựng"),
    ("BVHTTDL", "Bộ Văn hóa, Thể thao và Du lịch"),
    ("BKHCN", "Bộ Khoa học và Công nghệ"),
    ("BGDDT", "Bộ Giáo dục và Đào tạo"),
    ("BYT", "Bộ Y tế"),
    ("UBDT", "Bộ Dân tộc và Tôn giáo"),
    ("NHNN", "Ngân hàng Nhà nước Việt Nam"),
    ("TTCP", "Thanh tra Chính phủ"),
    ("VPCP", "Văn phòng Chính phủ"),
    ("KTNN", "Kiểm toán Nhà nước"),
    ("TTXVN", "Thông tấn xã Việt Nam"),
    ("DTHVN", "Đài Truyền hình Việt Nam"),
    ("DTNVN", "Đài Tiếng nói Việt Nam"),
    ("BHXH", "Bảo hiểm xã hội Việt Nam"),
    ("VHLKHXH", "Viện Hàn lâm Khoa học xã hội Việt Nam"),
    ("VHLKHCN", "Viện Hàn lâm Khoa học và Công nghệ Việt Nam"),
    ("TCTK", "Tổng cục Thống kê"),
    ("TCT", "Cục Thuế"),
    ("TCHQ", "Cục Hải quan"),
    ("KBNN", "Kho bạc Nhà nước"),
    ("CDS", "Cục Chuyển đổi số quốc gia"),
    ("CDBVN", "Cục Đường bộ Việt Nam"),
    ("CHHVN", "Cục Hàng hải và Đường thủy Việt Nam"),
    ("CHKVN", "Cục Hàng không Việt Nam"),
    ("CDSVN", "Cục Đường sắt Việt Nam"),
    ("CQLTT", "Cục Quản lý thị trường"),
    ("CTL", "Cục Thủy lợi"),
    ("CQLDD", "Cục Quản lý đất đai"),
    ("CKTTV", "Cục Khí tượng Thủy văn"),
    ("CATTP", "Cục An toàn thực phẩm"),
    ("CQLD", "Cục Quản lý Dược"),
    ("CDLQG", "Cục Du lịch Quốc gia Việt Nam"),
    ("CVL", "Cục Việc làm"),
    ("CPCTT", "Cục Quản lý đê điều và Phòng, chống thiên tai"),
    ("CKHDN", "Cục Phát triển doanh nghiệp"),
)
PROVINCES = (
    "Hà Nội", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ", "An Giang", "Bà Rịa - Vũng Tàu",
    "Bắc Giang", "Bắc Kạn", "Bạc Liêu", "Bắc Ninh", "Bến Tre", "Bình Định", "Bình Dương",
    "Bình Phước", "Bình Thuận", "Cà Mau", "Cao Bằng", "Đắk Lắk", "Đắk Nông", "Điện Biên",
    "Đồng Nai", "Đồng Tháp", "Gia Lai", "Hà Giang", "Hà Nam", "Hà Tĩnh", "Hải Dương", "Hậu Giang",
    "Hòa Bình", "Hưng Yên", "Khánh Hòa", "Kiên Giang", "Kon Tum", "Lai Châu", "Lâm Đồng",
    "Lạng Sơn", "Lào Cai", "Long An", "Nam Định", "Nghệ An", "Ninh Bình", "Ninh Thuận", "Phú Thọ",
    "Phú Yên", "Quảng Bình", "Quảng Nam", "Quảng Ngãi", "Quảng Ninh", "Quảng Trị", "Sóc Trăng",
    "Sơn La", "Tây Ninh", "Thái Bình", "Thái Nguyên", "Thanh Hóa", "Thừa Thiên Huế", "Tiền Giang",
    "Trà Vinh", "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc", "Yên Bái",
)  # fmt: skip
DEPARTMENTS = (
    ("SKHDT", "Sở Kế hoạch và Đầu tư"),
    ("STC", "Sở Tài chính"),
    ("SXD", "Sở Xây dựng"),
    ("SGTVT", "Sở Giao thông vận tải"),
    ("STNMT", "Sở Tài nguyên và Môi trường"),
    ("SNNPTNT", "Sở Nông nghiệp và Phát triển nông thôn"),
    ("SCT", "Sở Công Thương"),
    ("SKHCN", "Sở Khoa học và Công nghệ"),
    ("STTTT", "Sở Thông tin và Truyền thông"),
    ("SNV", "Sở Nội vụ"),
    ("STP", "Sở Tư pháp"),
    ("SYT", "Sở Y tế"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
    ("SLDTBXH", "Sở Lao động - Thương binh và Xã hội"),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("TTT", "Thanh tra tỉnh"),
    ("BQLKKT", "Ban Quản lý Khu kinh tế"),
    ("BDT", "Ban Dân tộc"),
)
DISTRICT_NAMES = (
    "thành phố {p}", "thị xã Bắc {p}", "huyện Nam {p}", "huyện Đông {p}", "huyện Tây {p}",
    "huyện Sông Mây", "huyện Hòa Phong", "huyện Tân Lập", "huyện Bình Sơn", "huyện Phú Lộc",
    "huyện Thạch An", "huyện Vĩnh Hưng", "huyện An Lão", "huyện Yên Thủy", "huyện Hải Hậu",
    "huyện Kim Sơn", "huyện Đức Phổ", "huyện Mỹ Xuyên", "huyện Cát Tiên", "huyện Lục Yên",
)  # fmt: skip
SECTORS = (
    "Nội vụ", "Quốc phòng - An ninh", "Thanh tra", "Kinh tế tổng hợp", "Tài chính", "Đầu tư",
    "Tư pháp", "Xây dựng", "Giao thông", "Tài nguyên - Môi trường", "Nông nghiệp", "Công Thương",
    "Khoa học - Công nghệ", "Thông tin - Truyền thông", "Văn hóa - Xã hội", "Y tế", "Giáo dục",
    "Lao động", "Dân tộc", "Đối ngoại",
)  # fmt: skip
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi")
MIDDLE = ("Văn", "Thị", "Minh", "Quốc", "Thanh", "Hoàng", "Đức", "Thu", "Ngọc", "Công")
GIVEN = (
    "An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hùng", "Lan", "Long", "Mai", "Nam", "Phong",
    "Quân", "Sơn", "Tâm", "Thắng", "Thủy", "Trung", "Tuấn", "Vinh",
)  # fmt: skip
KINDS = tuple(DirectiveKind)
KIND_WEIGHTS = (0.45, 0.05, 0.3, 0.1, 0.1)
KIND_SUFFIX = {
    DirectiveKind.CONCLUSION_NOTICE: "TB-UBND",
    DirectiveKind.DIRECTIVE: "CT-UBND",
    DirectiveKind.OFFICIAL_LETTER: "UBND-KTTH",
    DirectiveKind.DECISION: "QĐ-UBND",
    DirectiveKind.INSTRUCTION: "VPUBND-TH",
}
SUMMARIES = {
    DirectiveKind.CONCLUSION_NOTICE: "Thông báo kết luận của {who} tại buổi làm việc về {topic}",
    DirectiveKind.DIRECTIVE: "Chỉ thị về tăng cường {topic}",
    DirectiveKind.OFFICIAL_LETTER: "Về việc triển khai {topic}",
    DirectiveKind.DECISION: "Quyết định ban hành Kế hoạch thực hiện {topic}",
    DirectiveKind.INSTRUCTION: "Ý kiến chỉ đạo của {who} về {topic}",
}
TOPICS = (
    "tình hình thực hiện kế hoạch đầu tư công",
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
    "hoàn thiện hồ sơ điều chỉnh chủ trương đầu tư dự án đường ven sông",
    "xây dựng phương án bồi thường, hỗ trợ, tái định cư dự án khu dân cư",
    "đề xuất điều chuyển kế hoạch vốn giữa các dự án chậm giải ngân",
    "xử lý dứt điểm các kiến nghị của cử tri",
    "rà soát các thủ tục hành chính có thể cung cấp dịch vụ công trực tuyến toàn trình",
    "kiểm tra, xử lý các trường hợp vi phạm trong khai thác khoáng sản trái phép",
    "hoàn thiện dự thảo Quy chế phối hợp quản lý cụm công nghiệp",
    "tổng hợp nhu cầu kinh phí khắc phục hậu quả mưa lũ",
    "đánh giá kết quả thực hiện Chương trình mục tiêu quốc gia",
    "lập danh mục dự án kêu gọi đầu tư giai đoạn 2026-2030",
)
CLOSINGS = (
    "; báo cáo kết quả thực hiện.",
    "; trình cấp có thẩm quyền xem xét, quyết định.",
    ", đề xuất giải pháp tháo gỡ khó khăn, vướng mắc.",
    "; định kỳ báo cáo hằng quý.",
    ".",
)
REPORT_TEXTS = (
    "Đã hoàn thành, có văn bản báo cáo kèm theo.",
    "Đã tham mưu ban hành văn bản theo chỉ đạo.",
    "Đã tổ chức kiểm tra, xử lý và báo cáo kết quả.",
)
PROGRESS_TEXTS = (
    "Đang phối hợp với các đơn vị liên quan triển khai.",
    "Đã xây dựng dự thảo, đang lấy ý kiến các cơ quan.",
    "Đang rà soát, tổng hợp số liệu.",
)
EXTENSION_REASONS = (
    "Chờ ý kiến của Bộ, ngành Trung ương",
    "Khối lượng công việc lớn, cần thêm thời gian lấy ý kiến",
    "Vướng mắc trong công tác giải phóng mặt bằng",
)
WORKING_DAY_TERMS = (5, 7, 10, 10, 15, 15, 20, 30, 45, 60)
DATE_TERMS = (7, 10, 14, 15, 20, 30, 30, 45, 60, 90, 120, 180)
SIZE_WEIGHTS = (24, 18, 14, 11, 8, 7, 5, 4, 3, 2, 2, 2)  # 1..12 tasks; mean ≈ 3.9
PRIORITIES = tuple(Priority)
PRIORITY_WEIGHTS = (85, 10, 4, 1)
N_LEADERS = 40
N_OFFICERS = 120


@dataclass
class Reference:
    """Agencies, leaders and officers as rows, with each leader's field."""

    agencies: list[dict[str, Any]] = field(default_factory=list)
    leaders: list[dict[str, Any]] = field(default_factory=list)
    officers: list[dict[str, Any]] = field(default_factory=list)
    field_of: list[list[int]] = field(default_factory=list)  # leader index → agency indexes


def _person(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def reference(seed: int) -> Reference:
    """The 2,500 agencies, 40 leaders and 120 officers."""
    rng = random.Random(seed)
    ref = Reference()

    def agency(code: str, name: str, kind: str, mail: str) -> None:
        ref.agencies.append(
            {
                "code": code,
                "name": name,
                "kind": kind,
                "focal_emails": [f"vanthu.{code.lower()}@{mail}"],
                "head_name": _person(rng),
                "head_email": f"thutruong.{code.lower()}@{mail}",
                "active": True,
            }
        )

    for code, name in MINISTRIES:
        agency(code, name, "other", "gov.vn")
    for p, province in enumerate(PROVINCES, start=1):
        mail = f"t{p:02d}.gov.vn"
        agency(f"VP{p:02d}", f"Văn phòng UBND tỉnh {province}", "office", mail)
        for code, name in DEPARTMENTS:
            agency(f"{code}{p:02d}", f"{name} tỉnh {province}", "department", mail)
        for d, pattern in enumerate(DISTRICT_NAMES, start=1):
            agency(f"H{p:02d}{d:02d}", "UBND " + pattern.format(p=province), "district", mail)
    for i in range(N_LEADERS):
        sectors = [SECTORS[(i * 3 + k) % len(SECTORS)] for k in range(2 if i else 3)]
        ref.leaders.append(
            {
                "code": "CT" if i == 0 else f"PCT{i:02d}",
                "name": _person(rng),
                "title": "Chủ tịch UBND tỉnh" if i == 0 else "Phó Chủ tịch UBND tỉnh",
                "role": "chairman" if i == 0 else "vice_chairman",
                "email": f"lanhdao{i:02d}@chinhphu.gov.vn",
                "sectors": sectors,
            }
        )
        ref.field_of.append([a for a in range(len(ref.agencies)) if a % N_LEADERS == i])
    for i in range(1, N_OFFICERS + 1):
        ref.officers.append(
            {"code": f"CV{i:03d}", "name": _person(rng), "email": f"cv{i:03d}@chinhphu.gov.vn"}
        )
    return ref


@dataclass
class Planned:
    """One directive with its tasks' statements (what an import row says)."""

    number: str
    issued_on: date
    kind: DirectiveKind
    signer: int  # leader index
    summary: str
    tasks: list[dict[str, Any]]


def directives(
    rng: random.Random, ref: Reference, cal: WorkingCalendar, n_tasks: int, first: date, last: date
) -> Iterator[Planned]:
    """Directives of 1 to 12 tasks, ``n_tasks`` in all, issued on working days, in date order."""
    days = cal.working_days(first, last)
    sizes = []
    total = 0
    while total < n_tasks:
        size = min(rng.choices(range(1, 13), SIZE_WEIGHTS)[0], n_tasks - total)
        sizes.append(size)
        total += size
    issued = sorted(rng.choice(days) for _ in sizes)
    counters: dict[tuple[int, DirectiveKind], int] = {}
    leader_weights = [4.0] + [1.0] * (N_LEADERS - 1)
    for size, day in zip(sizes, issued, strict=True):
        kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
        n = counters.get((day.year, kind), 0) + 1
        counters[(day.year, kind)] = n
        signer = rng.choices(range(N_LEADERS), leader_weights)[0]
        who = "Chủ tịch UBND tỉnh" if signer == 0 else "Phó Chủ tịch UBND tỉnh"
        tasks = []
        for _ in range(size):
            leader = signer if rng.random() < 0.8 else rng.randrange(N_LEADERS)
            own = ref.field_of[leader]
            lead = rng.choice(own) if rng.random() < 0.7 else rng.randrange(len(ref.agencies))
            coordinators = sorted(
                {rng.randrange(len(ref.agencies)) for _ in range(rng.choice((0, 0, 1, 2, 3)))}
                - {lead}
            )
            r = rng.random()
            if r < 0.4:
                spec = DeadlineSpec(working_days=rng.choice(WORKING_DAY_TERMS))
            elif r < 0.9:
                spec = DeadlineSpec(on=day + timedelta(days=rng.choice(DATE_TERMS)))
            else:
                spec = DeadlineSpec()
            tasks.append(
                {
                    "content": " ".join((rng.choice(OPENINGS), rng.choice(OBJECTS)))
                    + rng.choice(CLOSINGS),
                    "lead": lead,
                    "coordinators": coordinators,
                    "leader": leader,
                    "officer": rng.randrange(N_OFFICERS),
                    "sector": rng.choice(ref.leaders[leader]["sectors"]),
                    "priority": rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0],
                    "spec": spec,
                }
            )
        yield Planned(
            number=f"{n}/{KIND_SUFFIX[kind]}",
            issued_on=day,
            kind=kind,
            signer=signer,
            summary=SUMMARIES[kind].format(who=who, topic=rng.choice(TOPICS)),
            tasks=tasks,
        )


def _deadline(cal: WorkingCalendar, issued: date, spec: DeadlineSpec) -> date | None:
    if spec.working_days is not None:
        return cal.add(issued, spec.working_days)
    if spec.on is not None:
        return cal.roll_forward(spec.on)
    return None


def _later(rng: random.Random, cal: WorkingCalendar, day: date, most: int) -> date:
    """``day`` plus 0 to ``most`` working days, small delays likelier."""
    n = min(int(rng.expovariate(1.0)), most)
    return cal.add(day, n) if n else cal.roll_forward(day)


class Writer:
    """Rows by table, flushed in batches: COPY on PostgreSQL, executemany on SQLite."""

    COLUMNS: ClassVar[dict[str, tuple[str, ...]]] = {
        "agencies": ("code", "name", "kind", "focal_emails", "head_name", "head_email", "active"),
        "leaders": ("code", "name", "title", "role", "email", "sectors"),
        "officers": ("code", "name", "email"),
        "directives": (
            "id", "number", "year", "issued_on", "kind", "signer_id", "summary", "source_ref",
            "created_at",
        ),
        "tasks": (
            "id", "code", "directive_id", "position", "content", "lead_agency_id", "leader_id",
            "officer_id", "sector", "priority", "stated_deadline", "deadline_working_days",
            "original_deadline", "deadline", "state", "assigned_on", "acknowledged_on",
            "last_report_on", "submitted_on", "completed_on", "confirmed_on", "cancelled_on",
            "has_extensions", "has_pauses", "created_at",
        ),
        "task_coordinators": ("task_id", "agency_id"),
        "task_events": ("task_id", "kind", "on", "recorded_at", "actor", "note", "data"),
        "progress_reports": (
            "task_id", "on", "text", "percent", "document_ref", "final", "outcome", "decided_on",
            "by_agency_id",
        ),
        "extensions": (
            "task_id", "requested_on", "requested_deadline", "previous_deadline", "reason",
            "after_deadline", "status", "decided_on", "decided_by", "granted_deadline",
            "decision_note",
        ),
    }  # fmt: skip
    JSON_COLUMNS: ClassVar[set[str]] = {"focal_emails", "sectors", "data"}

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"
        self.raw = engine.raw_connection()
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in self.COLUMNS}
        self.counts: dict[str, int] = dict.fromkeys(self.COLUMNS, 0)

    def _value(self, column: str, value: Any) -> Any:
        if column in self.JSON_COLUMNS:
            return json.dumps(value, ensure_ascii=False)
        if self.pg or value is None:
            return value
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, datetime):  # SQLAlchemy's SQLite format, without the zone
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, date):
            return value.isoformat()
        return value

    def add(self, table: str, row: dict[str, Any]) -> None:
        cols = self.COLUMNS[table]
        self.rows[table].append(tuple(self._value(c, row.get(c)) for c in cols))

    def flush(self) -> None:
        """Write every buffered row, parents first, and commit."""
        cursor = self.raw.cursor()
        for table, rows in self.rows.items():
            if not rows:
                continue
            cols = self.COLUMNS[table]
            quoted = ", ".join(f'"{c}"' for c in cols)
            if self.pg:
                with cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in cols)
                cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)
            self.counts[table] += len(rows)
            rows.clear()
        cursor.close()
        self.raw.commit()

    def close(self) -> None:
        """Give the connection back."""
        self.raw.close()


def _history(
    rng: random.Random,
    cal: WorkingCalendar,
    w: Writer,
    task: dict[str, Any],
    ref: Reference,
    t: dict[str, Any],
) -> None:
    """Decide the task's life up to ``AS_OF``, set its projection columns, write its rows."""
    tid = task["id"]
    issued: date = task["assigned_on"]
    deadline: date | None = task["deadline"]
    agency_actor = f"agency:{ref.agencies[t['lead']]['code']}:Văn thư"
    leader_actor = f"leader:{ref.leaders[t['leader']]['code']}"

    def event(kind: str, on: date, who: str, note: str | None = None, **data: Any) -> None:
        w.add(
            "task_events",
            {
                "task_id": tid,
                "kind": kind,
                "on": on,
                "recorded_at": NOW,
                "actor": who,
                "note": note,
                "data": data,
            },
        )

    event(
        "assigned",
        issued,
        OFFICE_ACTOR,
        deadline=deadline.isoformat() if deadline else None,
        deadline_text=t["spec"].text(),
    )
    if rng.random() < 0.015:  # cancelled by the leader
        on = cal.add(issued, rng.randint(3, 60))
        if on <= AS_OF:
            task.update(state="cancelled", cancelled_on=on)
            event("cancelled", on, leader_actor, "Không còn phù hợp với tình hình thực tế")
            return
    # When the work is done: relative to the deadline (early, on the day, late with a long tail),
    # or after 20 to 250 days for a standing task; 8 % drift into a backlog that stays open.
    if rng.random() < 0.08:
        done: date | None = None
    elif deadline is None:
        done = cal.add(issued, rng.randint(20, 250))
    else:
        r = rng.random()
        if r < 0.55:
            span = max(cal.wd(issued, deadline), 1)
            done = cal.add(issued, rng.randint(1, span))
        elif r < 0.70:
            done = deadline
        else:
            done = cal.add(deadline, 1 + int(rng.expovariate(1 / 15)))
    # An extension asked a few working days before the deadline (a fifth after it), 80 % granted.
    if deadline is not None and rng.random() < 0.06:
        if rng.random() < 0.2:  # after the deadline
            asked = cal.add(deadline, rng.randint(1, 5))
        else:
            asked = cal.roll_forward(max(deadline - timedelta(days=rng.randint(1, 5)), issued))
        if asked <= AS_OF and (done is None or asked < done):
            wanted = deadline + timedelta(days=rng.choice((15, 30, 30, 45, 60)))
            reason = rng.choice(EXTENSION_REASONS)
            after = asked > deadline
            event(
                "extension_requested",
                asked,
                agency_actor,
                reason,
                requested_deadline=wanted.isoformat(),
                after_deadline=after,
            )
            decided = _later(rng, cal, asked, 5)
            ext: dict[str, Any] = {
                "task_id": tid,
                "requested_on": asked,
                "requested_deadline": wanted,
                "previous_deadline": deadline,
                "reason": reason,
                "after_deadline": after,
                "status": "pending",
            }
            if decided <= AS_OF:
                ext.update(decided_on=decided, decided_by=leader_actor)
                if rng.random() < 0.8:
                    granted = cal.roll_forward(wanted)
                    ext.update(status="approved", granted_deadline=granted)
                    task.update(deadline=granted, has_extensions=True)
                    event(
                        "extension_approved",
                        decided,
                        leader_actor,
                        deadline=granted.isoformat(),
                        previous_deadline=deadline.isoformat(),
                    )
                    if done is not None and done > granted and rng.random() < 0.7:
                        done = cal.roll_forward(granted - timedelta(days=rng.randint(0, 7)))
                        done = max(done, decided)
                else:
                    ext["status"] = "rejected"
                    event("extension_rejected", decided, leader_actor)
            w.add("extensions", ext)
    # Acknowledgement: 92 % within 0 to 3 working days, otherwise implied by the first report.
    acked: date | None = None
    if rng.random() < 0.92:
        acked = _later(rng, cal, issued, 3)
        if acked > AS_OF or (done is not None and acked > done):
            acked = None
    if acked is not None:
        task.update(state="acknowledged", acknowledged_on=acked)
        event("acknowledged", acked, agency_actor)
    # A progress report half-way through a long task.
    end = done if done is not None and done <= AS_OF else AS_OF
    if cal.wd(issued, end) > 25 and rng.random() < 0.6:
        mid = cal.roll_forward(issued + (end - issued) / 2)
        if mid < end:
            if task.get("acknowledged_on") is None:
                task.update(acknowledged_on=mid)
                event("acknowledged", mid, agency_actor, "ngầm định qua báo cáo", implied=True)
            note = rng.choice(PROGRESS_TEXTS)
            percent = rng.choice((20, 30, 50, 60, 70))
            w.add(
                "progress_reports",
                {
                    "task_id": tid,
                    "on": mid,
                    "text": note,
                    "percent": percent,
                    "final": False,
                    "outcome": "progress",
                    "by_agency_id": t["lead"] + 1,
                },
            )
            task.update(state="in_progress", last_report_on=mid)
            event("progress", mid, agency_actor, note, percent=percent, document_ref=None)
    if done is None or done > AS_OF:
        return
    if task.get("acknowledged_on") is None:
        task.update(acknowledged_on=done)
        event("acknowledged", done, agency_actor, "ngầm định qua báo cáo", implied=True)
    note = rng.choice(REPORT_TEXTS)
    report = {
        "task_id": tid,
        "on": done,
        "text": note,
        "percent": 100,
        "final": True,
        "outcome": "pending",
        "by_agency_id": t["lead"] + 1,
    }
    task.update(state="submitted", last_report_on=done, submitted_on=done)
    event("submitted", done, agency_actor, note, percent=100, document_ref=None)
    confirmed = _later(rng, cal, done, 3)
    if confirmed <= AS_OF:
        report.update(outcome="confirmed", decided_on=confirmed)
        task.update(state="confirmed", completed_on=done, confirmed_on=confirmed)
        event("confirmed", confirmed, OFFICE_ACTOR, completed_on=done.isoformat())
    w.add("progress_reports", report)


def fill(engine: Engine, n_tasks: int, seed: int, batch: int = 20_000) -> dict[str, Any]:
    """Write the reference data and ``n_tasks`` tasks with their history; the figures."""
    started = time.perf_counter()
    cal = _build(())
    ref = reference(seed)
    w = Writer(engine)
    for table, rows in (
        ("agencies", ref.agencies),
        ("leaders", ref.leaders),
        ("officers", ref.officers),
    ):
        for row in rows:
            w.add(table, row)
    w.flush()
    rng = random.Random(seed + 1)
    task_id = 0
    per_year: dict[int, int] = {}
    open_count = 0
    pending = 0
    for directive_id, d in enumerate(
        directives(rng, ref, cal, n_tasks, FIRST_DAY, AS_OF - timedelta(days=1)), start=1
    ):
        w.add(
            "directives",
            {
                "id": directive_id,
                "number": d.number,
                "year": d.issued_on.year,
                "issued_on": d.issued_on,
                "kind": d.kind.value,
                "signer_id": d.signer + 1,
                "summary": d.summary,
                "created_at": NOW,
            },
        )
        for position, t in enumerate(d.tasks, start=1):
            task_id += 1
            year = d.issued_on.year
            per_year[year] = per_year.get(year, 0) + 1
            deadline = _deadline(cal, d.issued_on, t["spec"])
            task: dict[str, Any] = {
                "id": task_id,
                "code": f"NV{year % 100:02d}-{per_year[year]:04d}",
                "directive_id": directive_id,
                "position": position,
                "content": t["content"],
                "lead_agency_id": t["lead"] + 1,
                "leader_id": t["leader"] + 1,
                "officer_id": t["officer"] + 1,
                "sector": t["sector"],
                "priority": t["priority"].value,
                "stated_deadline": t["spec"].on,
                "deadline_working_days": t["spec"].working_days,
                "original_deadline": deadline,
                "deadline": deadline,
                "state": "assigned",
                "assigned_on": d.issued_on,
                "has_extensions": False,
                "has_pauses": False,
                "created_at": NOW,
            }
            for c in t["coordinators"]:
                w.add("task_coordinators", {"task_id": task_id, "agency_id": c + 1})
            _history(rng, cal, w, task, ref, t)
            open_count += task["state"] not in ("confirmed", "cancelled")
            w.add("tasks", task)
            pending += 1
        if pending >= batch:
            w.flush()
            pending = 0
    w.flush()
    w.close()
    written = time.perf_counter() - started
    with engine.begin() as conn:
        for year, n in per_year.items():
            conn.execute(
                text("INSERT INTO code_counters (scope, next_value) VALUES (:s, :n)"),
                {"s": f"{year % 100:02d}", "n": n + 1},
            )
        if engine.dialect.name == "postgresql":
            for table in ("agencies", "leaders", "officers", "directives", "tasks"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    with make_session_factory(engine)() as s:
        ensure_index(s)
        s.commit()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return {
        "tasks": task_id,
        "directives": w.counts["directives"],
        "open": open_count,
        "open_share": round(open_count / task_id, 3) if task_id else 0.0,
        "rows": w.counts,
        "write_seconds": round(written, 1),
        "fill_seconds": round(time.perf_counter() - started, 1),
        "rows_per_second": round(sum(w.counts.values()) / written),
    }


def create_database(backend: str, folder: Path | None = None) -> tuple[str, str | None]:
    """A new empty database: (URL, PostgreSQL name to drop or None for a SQLite file)."""
    if backend == "sqlite":
        where = folder or Path(tempfile.mkdtemp(prefix="bench-national-"))
        return f"sqlite:///{where / f'national-{uuid.uuid4().hex[:8]}.sqlite3'}", None
    name = f"directives_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), name


def drop_database(url: str) -> None:
    """Remove a database made by ``create_database``."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(u.database + suffix).unlink(missing_ok=True)
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
    admin.dispose()


def build(url: str, n_tasks: int, seed: int) -> dict[str, Any]:
    """Migrate ``url`` and fill it."""
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        return fill(engine, n_tasks, seed)
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    """Parse, fill, print the figures as JSON."""
    p = argparse.ArgumentParser(
        prog="python -m bench.national",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--scale", choices=sorted(SCALES), default="province")
    p.add_argument("--tasks", type=int, help="overrides the scale's number of tasks")
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--url", help="an empty database to fill (default: a new one, kept)")
    p.add_argument("--seed", type=int, default=2026)
    args = p.parse_args(argv)
    url = args.url or create_database(args.backend)[0]
    n = args.tasks if args.tasks is not None else SCALES[args.scale]
    out = {"url": url, "scale": args.scale, "seed": args.seed, **build(url, n, args.seed)}
    print(json.dumps(out, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
