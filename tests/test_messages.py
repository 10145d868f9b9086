"""Messages of every kind, rendered, built, serialized and parsed back with the standard library."""

from __future__ import annotations

import ast
import email
import email.policy
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pytest

from notifications import (
    KINDS,
    InlineImage,
    Outgoing,
    Person,
    build,
    envelope,
    outgoing_from_json,
    outgoing_to_json,
    render,
)
from notifications import kinds as kind_builders
from notifications.filters import clip, pct, vndate, vnnum, wdays
from notifications.kinds import CONTEXT_KEYS, TASK_KEYS

ROOT = Path(__file__).resolve().parents[1]
OFFICE = "Văn phòng UBND tỉnh Bình An"
AGENCY = "Sở Tài nguyên và Môi trường"
OTHER_AGENCY = "UBND huyện Đông Sơn"
APP = "https://nhiemvu.binhan.gov.vn"
AS_OF = "2026-11-26"
MESSAGE_ID = "<m42.x7k2@directives.binhan.gov.vn>"
SENDER = Person(OFFICE, "vanphong@binhan.gov.vn")
OFFICER = Person("Nguyễn Thị Mai", "mai.nt@binhan.gov.vn")
AGENCY_INBOX = Person(AGENCY, "vanthu.stnmt@binhan.gov.vn")
CHART_CID = "grid.20261126@directives.binhan.gov.vn"
CONTENTS = (
    "Rà soát, hoàn thiện hồ sơ điều chỉnh quy hoạch sử dụng đất đến năm 2030 của thành phố Bình An",
    "Tham mưu UBND tỉnh ban hành kế hoạch ứng phó sạt lở bờ sông mùa mưa lũ năm 2026",
    "Kiểm tra, xử lý dứt điểm tình trạng khai thác cát trái phép trên sông Trà Khúc",
    "Đề xuất phương án thu hồi đất thực hiện dự án đường ven biển đoạn qua xã Hải Đông",
)

# Per kind: how the task rows stand on the day of the run, and how many tasks the message has.
TASK_STATE: dict[str, dict[str, Any]] = {
    "assigned": {"days_left": 13, "days_late": None},
    "assigned_again": {"days_left": 11, "days_unacknowledged": 2},
    "due_soon": {"deadline": "2026-12-01", "days_left": 3, "days_late": None},
    "due_today": {"deadline": AS_OF, "days_left": 0, "days_late": None},
    "overdue": {"deadline": "2026-11-23", "days_left": None, "days_late": 3},
    "escalate_head": {"deadline": "2026-11-18", "days_left": None, "days_late": 6},
    "escalate_leader": {"deadline": "2026-11-10", "days_left": None, "days_late": 12},
    "extension_decided": {"deadline": "2026-12-31", "days_left": 24, "days_late": None},
    "report_returned": {"deadline": "2026-12-15", "days_left": 13, "days_late": None},
    "report_confirmed": {"deadline": "2026-11-30", "days_left": None, "days_late": None},
    "standing_nudge": {
        "deadline": None,
        "deadline_text": "Thường xuyên",
        "days_left": None,
        "days_late": None,
        "days_since_report": 21,
    },
}
SINGLE_TASK_KINDS = ("extension_decided", "report_returned", "report_confirmed")


def task(n: int, **overrides: Any) -> dict[str, Any]:
    """A realistic task row, numbered from NV26-0012."""
    code = f"NV26-{n + 12:04d}"
    row: dict[str, Any] = {
        "code": code,
        "content": CONTENTS[n % len(CONTENTS)],
        "directive": "245/TB-UBND",
        "directive_date": "2026-11-20",
        "directive_kind": "Thông báo kết luận",
        "lead_agency": AGENCY,
        "deadline": "2026-12-15",
        "deadline_text": "15 ngày làm việc",
        "days_left": 13,
        "days_late": None,
        "link": f"{APP}/tasks/{code}",
    }
    row.update(overrides)
    if "deadline" in overrides and "deadline_text" not in overrides:
        row["deadline_text"] = vndate(row["deadline"])  # stated as a date
    return row


def common() -> dict[str, Any]:
    """The keys every kind reads."""
    return {"office": OFFICE, "recipient": AGENCY, "app_url": APP, "as_of": AS_OF}


def digest_context(*, empty: bool = False) -> dict[str, Any]:
    """A vice-chairman's weekly digest; every section empty when ``empty``."""
    late = [task(i, days_left=None, days_late=12 + i, deadline="2026-11-05") for i in range(2)]
    other = [task(5, lead_agency=OTHER_AGENCY, days_left=None, days_late=4, deadline="2026-11-20")]
    counts = dict(within_term=41, due_soon=3, overdue=7, done_on_time=12, done_late=2, standing=9)
    return common() | {
        "recipient": "Đồng chí Lê Thị Hồng, Phó Chủ tịch UBND tỉnh",
        "leader": "Lê Thị Hồng",
        "grid": counts | {"change": dict.fromkeys(counts, 0) | {"overdue": 2, "done_late": -1}},
        "critical": [] if empty else late,
        "overdue_by_agency": []
        if empty
        else [{"agency": AGENCY, "tasks": late}, {"agency": OTHER_AGENCY, "tasks": other}],
        "due_next": [] if empty else [task(3, days_left=2, deadline="2026-11-30")],
        "completed": [] if empty else [task(4, days_left=None, deadline="2026-11-25")],
        "extension_requests": []
        if empty
        else [{"task": task(6), "requested_deadline": "2027-01-15", "reason": "Chờ ý kiến Bộ"}],
        "agencies": []
        if empty
        else [
            {"agency": AGENCY, "on_time_rate": 85.7, "overdue": 2, "completed": 6},
            {"agency": OTHER_AGENCY, "on_time_rate": None, "overdue": 1, "completed": 0},
        ],
        "charts": [] if empty else [{"cid": CHART_CID, "title": "Tình hình thực hiện theo tuần"}],
    }


def programme_context(*, final: bool = True) -> dict[str, Any]:
    """The work programme of November 2026, final or interim."""
    items = [
        ("Đề án phát triển du lịch tỉnh Bình An giai đoạn 2026–2030", "Đề án", "submitted_late"),
        ("Báo cáo tình hình kinh tế – xã hội tháng 11", "Báo cáo", "submitted_on_time"),
        ("Dự thảo Quyết định quy định giá đất năm 2027", "Dự thảo văn bản", "overdue"),
        ("Kế hoạch chuyển đổi số năm 2027", "Kế hoạch", "postponed"),
    ]
    return common() | {
        "recipient": "Đồng chí Trần Quốc Bảo, Chủ tịch UBND tỉnh",
        "month": "11/2026",
        "final": final,
        "items": [
            {
                "title": title,
                "kind": kind,
                "agency": AGENCY,
                "leader": "Lê Thị Hồng",
                "planned": "2026-11-20",
                "state": state,
                "code": f"CT2611-{n:03d}",
                "submitted_on": "2026-11-24" if state.startswith("submitted") else None,
                "document_number": "245/TTr-SVHTTDL" if state.startswith("submitted") else None,
                "carried_from": {"code": "CT2610-009", "month": "10/2026"} if n == 3 else None,
                "postponed_to": (
                    {"code": "CT2612-001", "month": "12/2026"} if state == "postponed" else None
                ),
            }
            for n, (title, kind, state) in enumerate(items, start=1)
        ],
        "summary": {
            "total": 4,
            "overdue": 1,
            "overdue_pct": 25.0,
            "submitted_on_time": 1,
            "submitted_late": 1,
            "carried_in": 1,
            "carried_over": 1,
        },
    }


def context_for(kind: str, n_tasks: int = 3) -> dict[str, Any]:
    """A realistic Vietnamese context for ``kind``."""
    if kind == "weekly_digest":
        return digest_context()
    if kind == "programme_status":
        return programme_context()
    n = 1 if kind in SINGLE_TASK_KINDS else n_tasks
    tasks = [task(i, **TASK_STATE[kind]) for i in range(n)]
    if kind == "escalate_leader":
        tasks[-1]["lead_agency"] = OTHER_AGENCY
    extras: dict[str, dict[str, Any]] = {
        "assigned": {"coordinating": False},
        "escalate_head": {
            "recipient": "Đồng chí Nguyễn Văn An, Giám đốc " + AGENCY,
            "agency": AGENCY,
        },
        "escalate_leader": {"recipient": "Đồng chí Lê Thị Hồng, Phó Chủ tịch UBND tỉnh"},
        "extension_decided": {
            "extension": {
                "approved": True,
                "original_deadline": "2026-11-30",
                "previous_deadline": "2026-12-10",
                "new_deadline": "2026-12-31",
                "requested_deadline": "2027-01-15",
                "decided_by": "Phó Chủ tịch UBND tỉnh Lê Thị Hồng",
                "note": "Chỉ gia hạn một lần, đề nghị không đề xuất thêm.",
            }
        },
        "report_returned": {"reason": "Báo cáo chưa có số liệu diện tích đất đã thu hồi."},
        "report_confirmed": {"completed_on": "2026-11-27", "timing": "early"},
    }
    return common() | {"tasks": tasks} | extras.get(kind, {})


def outgoing(kind: str, ctx: dict[str, Any] | None = None, **changes: Any) -> Outgoing:
    """An ``Outgoing`` of ``kind`` to the agency, copy to the officer who follows it."""
    fields: dict[str, Any] = dict(
        kind=kind,
        to=(AGENCY_INBOX,),
        cc=(OFFICER,),
        reply_to=OFFICER,
        sender=SENDER,
        message_id=MESSAGE_ID,
        notice_ids=(12, 13, 14),
        context=context_for(kind) if ctx is None else ctx,
        images=(),
    )
    if kind == "weekly_digest":
        fields["images"] = (InlineImage(CHART_CID, PNG, "tinh-hinh-thuc-hien.png"),)
    fields.update(changes)
    return Outgoing(**fields)


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def sent_and_parsed(o: Outgoing) -> EmailMessage:
    """``o`` built, serialized as it goes over SMTP, and parsed back."""
    raw = build(o, date=datetime(2026, 11, 26, 7, 0, tzinfo=timezone(timedelta(hours=7))))
    data = raw.as_bytes(policy=email.policy.SMTP)
    assert data == bytes(raw)
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def body(msg: EmailMessage, subtype: str) -> str:
    """The decoded text of the ``text/<subtype>`` body."""
    part = msg.get_body((subtype,))
    assert part is not None, subtype
    content = part.get_content()
    assert isinstance(content, str)
    return content


class Tags(HTMLParser):
    """Collects start tags with their attributes and checks tables, rows and cells close."""

    CHECKED = ("table", "thead", "tbody", "tr", "td", "th", "p", "ul", "ol", "li", "a", "h2")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))
        if tag in self.CHECKED:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.CHECKED:
            assert self.stack, tag
            assert self.stack[-1] == tag, (tag, self.stack)
            self.stack.pop()


def tags_of(html: str) -> Tags:
    """The parsed tags of ``html``, after checking every table tag is closed in order."""
    parser = Tags()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    return parser


def codes_of(ctx: dict[str, Any]) -> list[str]:
    """Every task code in a context."""
    return re.findall(r"NV\d\d-\d{4}", json.dumps(ctx))


# --- every kind, through the wire and back --------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_subject_round_trips_exactly_with_diacritics(kind: str) -> None:
    o = outgoing(kind)
    parsed = sent_and_parsed(o)
    expected = render(kind, o.context).subject
    assert parsed["Subject"] == expected
    assert "\n" not in expected
    assert "\r" not in expected
    assert re.search(r"[ạảãàáâậầấẩẫăắằặẳẵđêềếệểễôồốộổỗơờớợởỡưừứựửữ]", expected, re.I)


EXPECTED_SUBJECTS = {
    "assigned": f"[Giao nhiệm vụ] 3 nhiệm vụ mới – {AGENCY} (NV26-0012, …)",
    "assigned_again": f"[Nhắc xác nhận] 3 nhiệm vụ chưa xác nhận đã nhận – {AGENCY} (NV26-0012, …)",
    "due_soon": f"[Sắp đến hạn] 3 nhiệm vụ sắp đến hạn – {AGENCY} (NV26-0012, …)",
    "due_today": f"[Đến hạn hôm nay] 3 nhiệm vụ đến hạn hôm nay – {AGENCY} (NV26-0012, …)",
    "overdue": f"[Đôn đốc] 3 nhiệm vụ quá hạn – {AGENCY} (NV26-0012, …)",
    "escalate_head": "[Đôn đốc – Thủ trưởng đơn vị] 3 nhiệm vụ quá hạn từ 5 ngày làm việc – "
    f"{AGENCY} (NV26-0012, …)",
    "escalate_leader": "[Báo cáo Lãnh đạo] 3 nhiệm vụ quá hạn từ 10 ngày làm việc (NV26-0012, …)",
    "extension_decided": "[Gia hạn] NV26-0012: đồng ý gia hạn đến ngày 31/12/2026 – Rà soát, "
    "hoàn thiện hồ sơ điều chỉnh quy hoạch…",
    "report_returned": "[Trả lại báo cáo] NV26-0012: Rà soát, hoàn thiện hồ sơ điều chỉnh quy "
    "hoạch sử dụng đất đến năm…",
    "report_confirmed": "[Xác nhận hoàn thành] NV26-0012: Rà soát, hoàn thiện hồ sơ điều chỉnh "
    "quy hoạch sử dụng đất đến năm…",
    "standing_nudge": f"[Nhắc báo cáo] 3 nhiệm vụ thường xuyên chưa báo cáo – {AGENCY} "
    "(NV26-0012, …)",
    "weekly_digest": "[Tổng hợp tuần] Nhiệm vụ đến ngày 26/11/2026: 7 quá hạn, 3 sắp đến hạn, "
    "2 quá hạn nghiêm trọng – Lê Thị Hồng",
    "programme_status": "[Chương trình công tác] Tháng 11/2026: 1/4 nội dung quá hạn – số liệu "
    "chốt tháng",
}


@pytest.mark.parametrize("kind", KINDS)
def test_subject_names_the_count_the_first_code_and_the_recipient(kind: str) -> None:
    assert sent_and_parsed(outgoing(kind))["Subject"] == EXPECTED_SUBJECTS[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_display_names_round_trip(kind: str) -> None:
    parsed = sent_and_parsed(outgoing(kind))
    assert parsed["From"].addresses[0].display_name == OFFICE
    assert parsed["From"].addresses[0].addr_spec == SENDER.email
    assert [(a.display_name, a.addr_spec) for a in parsed["To"].addresses] == [
        (AGENCY, AGENCY_INBOX.email)
    ]
    assert parsed["Cc"].addresses[0].display_name == "Nguyễn Thị Mai"
    assert parsed["Reply-To"].addresses[0].addr_spec == OFFICER.email


@pytest.mark.parametrize("kind", KINDS)
def test_text_and_html_parts_carry_every_code_and_the_vietnamese_content(kind: str) -> None:
    o = outgoing(kind)
    parsed = sent_and_parsed(o)
    text, html = body(parsed, "plain"), body(parsed, "html")
    for part in (text, html):
        for code in codes_of(dict(o.context)):
            assert code in part
        assert OFFICE in part
        assert "Kính gửi" in part
        assert "Nguyễn Thị Mai" in part  # replying reaches the officer
        assert "26/11/2026" in part
    if kind != "programme_status":
        assert CONTENTS[0] in text
        assert CONTENTS[0] in html
    else:
        assert "Dự thảo Quyết định quy định giá đất năm 2027" in text
        assert "Dự thảo Quyết định quy định giá đất năm 2027" in html


@pytest.mark.parametrize("kind", KINDS)
def test_identity_headers_are_as_given(kind: str) -> None:
    parsed = sent_and_parsed(outgoing(kind))
    assert parsed["Message-ID"] == MESSAGE_ID
    assert parsed["X-Directives-Notices"] == "12,13,14"
    assert parsed["X-Directives-Kind"] == kind
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Date"].datetime == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("kind", KINDS)
def test_body_is_multipart_alternative_text_then_html_in_utf8(kind: str) -> None:
    parsed = sent_and_parsed(outgoing(kind))
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() in ("text/html", "multipart/related")
    for subtype in ("plain", "html"):
        part = parsed.get_body((subtype,))
        assert part is not None
        assert part.get_content_charset() == "utf-8"


@pytest.mark.parametrize("kind", KINDS)
def test_wire_form_is_seven_bit_with_crlf_lines_within_limits(kind: str) -> None:
    data = bytes(build(outgoing(kind)))
    assert data.isascii()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


@pytest.mark.parametrize("kind", KINDS)
def test_bodies_never_show_none_or_undefined(kind: str) -> None:
    parsed = sent_and_parsed(outgoing(kind))
    for part in (parsed["Subject"], body(parsed, "plain"), body(parsed, "html")):
        assert "None" not in part
        assert "undefined" not in part.lower()
        assert "{{" not in part
        assert "{%" not in part


@pytest.mark.parametrize("kind", KINDS)
def test_html_loads_nothing_remote_and_runs_no_script(kind: str) -> None:
    html = body(sent_and_parsed(outgoing(kind)), "html")
    tags = tags_of(html)
    names = {tag for tag, _ in tags.starts}
    assert "script" not in names
    assert "link" not in names
    assert "iframe" not in names
    for _tag, attrs in tags.starts:
        for attr in ("src", "background"):
            value = attrs.get(attr)
            assert value is None or value.startswith("cid:"), (attr, value)
        assert not any(name.startswith("on") for name in attrs)
    assert "url(" not in html
    assert "@import" not in html


@pytest.mark.parametrize("kind", KINDS)
def test_html_is_640px_table_layout_with_fonts_of_14px_or_more(kind: str) -> None:
    html = body(sent_and_parsed(outgoing(kind)), "html")
    assert "max-width:640px" in html
    assert "<div" not in html
    sizes = [int(px) for px in re.findall(r"font-size:\s*(\d+)px", html)]
    assert sizes
    assert min(sizes) >= 14


@pytest.mark.parametrize("kind", KINDS)
def test_text_body_is_plain_text(kind: str) -> None:
    text = body(sent_and_parsed(outgoing(kind)), "plain")
    assert not re.search(r"</?[a-z][a-z0-9]*[\s>/]", text)
    assert "&lt;" not in text
    assert "&amp;" not in text
    assert "\n\n\n" not in text


@pytest.mark.parametrize(
    ("kind", "key"), [(kind, key) for kind in KINDS for key in sorted(CONTEXT_KEYS[kind])]
)
def test_a_missing_context_key_raises_undefined_error(kind: str, key: str) -> None:
    ctx = context_for(kind)
    del ctx[key]
    with pytest.raises(jinja2.UndefinedError):
        render(kind, ctx)


@pytest.mark.parametrize("key", sorted(TASK_KEYS))
@pytest.mark.parametrize("kind", ["assigned", "escalate_leader"])
def test_a_missing_task_key_raises_undefined_error(kind: str, key: str) -> None:
    ctx = context_for(kind) | {"coordinating": True} if kind == "assigned" else context_for(kind)
    del ctx["tasks"][0][key]
    with pytest.raises(jinja2.UndefinedError, match=key):
        render(kind, ctx)


def test_documented_context_keys_cover_every_kind_and_nothing_else() -> None:
    assert tuple(CONTEXT_KEYS) == KINDS
    for kind in KINDS:
        assert set(context_for(kind)) == CONTEXT_KEYS[kind], kind
        for suffix in ("-subject", "-body.txt", "-body.html"):
            assert (ROOT / "notifications" / "templates" / f"{kind}{suffix}").is_file()


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_has_a_one_line_builder_that_renders_it(kind: str) -> None:
    builder: Callable[..., Any] = getattr(kind_builders, kind)
    assert builder(context_for(kind), OFFICER) == render(kind, context_for(kind), reply_to=OFFICER)


def test_unknown_kind_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'reminder'"):
        render("reminder", common())
    with pytest.raises(ValueError, match="'reminder'"):
        outgoing_from_json(outgoing_to_json(outgoing("overdue")) | {"kind": "reminder"})


def test_long_vietnamese_headers_survive_any_serializing_policy() -> None:
    # The standard folder would write "ngày làmviệc" here (a space outside the encoded words).
    long_name = "Ban Quản lý các Khu công nghiệp và Khu kinh tế tỉnh Bình An"
    o = outgoing("escalate_head", to=(Person(long_name, "bqlkcn@binhan.gov.vn"), AGENCY_INBOX))
    msg = build(o)
    wire = bytes(msg)
    assert max(len(line) for line in wire.split(b"\r\n")) <= 78
    for policy in (email.policy.SMTP, email.policy.default.clone(linesep="\r\n")):
        assert msg.as_bytes(policy=policy) == wire
    parsed = email.message_from_bytes(wire, policy=email.policy.default)
    assert parsed["Subject"] == EXPECTED_SUBJECTS["escalate_head"]
    assert [a.display_name for a in parsed["To"].addresses] == [long_name, AGENCY]


# --- header injection and escaping ----------------------------------------------------------


def test_crlf_in_a_display_name_never_adds_a_header() -> None:
    evil = Person("Sở X\r\nBcc: evil@x.vn", "vanthu.sox@binhan.gov.vn")
    parsed = sent_and_parsed(outgoing("overdue", to=(evil,), cc=()))
    assert parsed["Bcc"] is None
    assert "evil@x.vn" not in [a.addr_spec for a in parsed["To"].addresses]
    [to] = parsed["To"].addresses
    assert to.display_name == "Sở X Bcc: evil@x.vn"
    assert to.addr_spec == "vanthu.sox@binhan.gov.vn"
    assert envelope(outgoing("overdue", to=(evil,), cc=()))[1] == ["vanthu.sox@binhan.gov.vn"]


def test_crlf_in_task_content_or_agency_never_reaches_a_header() -> None:
    ctx = context_for("report_returned")
    ctx["tasks"][0]["content"] = "Báo cáo\r\nBcc: evil@x.vn\r\n\r\nthân thư giả"
    ctx["recipient"] = "Sở X\nX-Injected: 1"
    parsed = sent_and_parsed(outgoing("report_returned", ctx))
    assert parsed["Bcc"] is None
    assert parsed["X-Injected"] is None
    assert parsed["Subject"] == "[Trả lại báo cáo] NV26-0012: Báo cáo Bcc: evil@x.vn thân thư giả"
    assert "Báo cáo Bcc: evil@x.vn thân thư giả" in body(parsed, "plain")


def test_crlf_in_a_recipient_never_breaks_a_multi_task_subject() -> None:
    ctx = context_for("overdue")
    ctx["recipient"] = "Sở X\u2028Bcc: evil@x.vn\r\n"
    parsed = sent_and_parsed(outgoing("overdue", ctx))
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "[Đôn đốc] 3 nhiệm vụ quá hạn – Sở X Bcc: evil@x.vn (NV26-0012, …)"


@pytest.mark.parametrize(
    "address",
    [
        "vanthu@binhan.gov.vn\r\nBcc: evil@x.vn",
        "van thu@binhan.gov.vn",
        "<vanthu@binhan.gov.vn>",
        "vanthu.binhan.gov.vn",
        "vanthu@@binhan.gov.vn",
        "văn.thư@binhan.gov.vn",
        "",
    ],
)
def test_a_malformed_address_is_a_value_error_naming_it(address: str) -> None:
    bad = Person("Sở Xây dựng", address)
    for o in (
        outgoing("overdue", to=(bad,)),
        outgoing("overdue", cc=(bad,)),
        outgoing("overdue", reply_to=bad),
        outgoing("overdue", sender=bad),
    ):
        with pytest.raises(ValueError, match=re.escape(repr(address))):
            build(o)


def test_a_malformed_message_id_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="Message-ID"):
        build(outgoing("overdue", message_id="<m42@x.vn>\r\nBcc: evil@x.vn"))


def test_html_in_content_is_escaped_in_html_and_literal_in_text() -> None:
    ctx = context_for("overdue")
    ctx["tasks"][0]["content"] = 'Báo cáo <script>alert(1)</script> & "đánh giá"'
    ctx["tasks"][0]["link"] = "javascript:alert(1)"
    parsed = sent_and_parsed(outgoing("overdue", ctx))
    html, text = body(parsed, "html"), body(parsed, "plain")
    assert "<script>" not in html
    assert "Báo cáo &lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;đánh giá&#34;" in html
    assert "javascript:" not in html
    assert 'Báo cáo <script>alert(1)</script> & "đánh giá"' in text
    assert "javascript:" not in text


# --- structure ---------------------------------------------------------------------------------


def task_rows(html: str) -> list[dict[str, str | None]]:
    """The attributes of each task row of the HTML."""
    return [a for tag, a in tags_of(html).starts if tag == "tr" and a.get("class") == "task-row"]


def test_twelve_tasks_are_twelve_rows_of_one_table() -> None:
    ctx = context_for("overdue", n_tasks=12)
    parsed = sent_and_parsed(outgoing("overdue", ctx))
    html, text = body(parsed, "html"), body(parsed, "plain")
    tables = [a for tag, a in tags_of(html).starts if tag == "table" and a.get("class") == "tasks"]
    assert len(tables) == 1
    assert len(task_rows(html)) == 12
    assert [int(n) for n in re.findall(r"^(\d+)\. NV26-", text, re.M)] == list(range(1, 13))
    assert parsed["Subject"] == f"[Đôn đốc] 12 nhiệm vụ quá hạn – {AGENCY} (NV26-0012, …)"
    for column in ("Mã", "Nội dung", "Văn bản", "Thời hạn", "Còn/quá hạn"):
        assert f">{column}</th>" in html


def test_a_single_task_subject_is_its_code_and_clipped_content() -> None:
    ctx = context_for("assigned", n_tasks=1)
    parsed = sent_and_parsed(outgoing("assigned", ctx))
    assert parsed["Subject"] == (
        "[Giao nhiệm vụ] NV26-0012: Rà soát, hoàn thiện hồ sơ điều chỉnh quy hoạch sử dụng đất "
        "đến năm…"
    )


def test_assignment_gives_the_deadline_as_a_date_and_in_working_days() -> None:
    parsed = sent_and_parsed(outgoing("assigned"))
    text, html = body(parsed, "plain"), body(parsed, "html")
    assert "Thời hạn: 15/12/2026 (15 ngày làm việc) – còn 13 ngày làm việc" in text
    assert "còn 13 ngày làm việc" in html
    assert "15/12/2026" in html
    assert "Thông báo kết luận số 245/TB-UBND ngày 20/11/2026" in text
    assert "Xác nhận đã nhận nhiệm vụ" in text
    assert "NV26-0012" in text


def test_coordinating_copy_says_so_and_that_the_lead_agency_is_accountable() -> None:
    ctx = context_for("assigned") | {"coordinating": True, "recipient": OTHER_AGENCY}
    parsed = sent_and_parsed(outgoing("assigned", ctx))
    text, html = body(parsed, "plain"), body(parsed, "html")
    assert parsed["Subject"].startswith("[Phối hợp thực hiện] 3 nhiệm vụ phối hợp")
    assert "đơn vị phối hợp" in text
    assert "đơn vị phối hợp" in html
    assert "chịu trách nhiệm chính" in text
    assert f"Đơn vị chủ trì: {AGENCY}" in text
    assert f"Chủ trì: {AGENCY}" in html


def test_overdue_tasks_say_how_many_working_days_late() -> None:
    text = body(sent_and_parsed(outgoing("overdue")), "plain")
    assert "quá hạn 3 ngày làm việc" in text


def test_due_today_says_today_is_the_last_day() -> None:
    parsed = sent_and_parsed(outgoing("due_today"))
    assert "hôm nay là hạn cuối" in body(parsed, "plain")
    assert "hôm nay là hạn cuối" in body(parsed, "html")


def test_escalation_to_the_head_names_the_agency_formally() -> None:
    text = body(sent_and_parsed(outgoing("escalate_head")), "plain")
    assert f"{AGENCY} có 3 nhiệm vụ" in text
    assert "quá thời hạn từ 05 ngày làm việc" in text
    assert "Trân trọng." in text


def test_escalation_to_the_leader_groups_by_agency_and_marks_critical() -> None:
    parsed = sent_and_parsed(outgoing("escalate_leader"))
    text, html = body(parsed, "plain"), body(parsed, "html")
    assert "quá hạn nghiêm trọng" in text
    assert f"{AGENCY.upper()} (2 nhiệm vụ)" in text
    assert f"{OTHER_AGENCY.upper()} (1 nhiệm vụ)" in text
    assert f">{AGENCY} (2 nhiệm vụ)</td>" in html
    assert len(task_rows(html)) == 3
    assert [int(n) for n in re.findall(r"^(\d+)\. NV26-", text, re.M)] == [1, 2, 3]


def test_rejected_extension_keeps_the_current_deadline() -> None:
    ctx = context_for("extension_decided")
    ctx["extension"] |= {"approved": False, "new_deadline": None, "note": ""}
    parsed = sent_and_parsed(outgoing("extension_decided", ctx))
    text = body(parsed, "plain")
    assert parsed["Subject"].startswith("[Gia hạn] NV26-0012: không đồng ý gia hạn")
    assert "KHÔNG ĐỒNG Ý gia hạn" in text
    assert "vẫn là ngày 10/12/2026" in text
    assert "Thời hạn mới" not in text
    assert "Ý kiến" not in text


def test_approved_extension_lists_original_previous_requested_and_new_deadlines() -> None:
    text = body(sent_and_parsed(outgoing("extension_decided")), "plain")
    for line in (
        "Thời hạn ban đầu: 30/11/2026",
        "Thời hạn trước khi có quyết định này: 10/12/2026",
        "Thời hạn đơn vị đề nghị: 15/01/2027",
        "Thời hạn mới: 31/12/2026",
        "Ý kiến: Chỉ gia hạn một lần",
    ):
        assert line in text


def test_returned_report_gives_the_reason() -> None:
    parsed = sent_and_parsed(outgoing("report_returned"))
    assert "Lý do trả lại: Báo cáo chưa có số liệu diện tích đất đã thu hồi." in body(
        parsed, "plain"
    )


@pytest.mark.parametrize(
    ("timing", "phrase"),
    [
        ("early", "hoàn thành đúng hạn"),
        ("on_the_day", "hoàn thành đúng hạn"),
        ("late", "hoàn thành quá hạn"),
    ],
)
def test_confirmation_says_whether_the_task_was_done_on_time(timing: str, phrase: str) -> None:
    ctx = context_for("report_confirmed") | {"timing": timing}
    assert f"Kết quả được ghi nhận: {phrase}." in body(
        sent_and_parsed(outgoing("report_confirmed", ctx)), "plain"
    )


def test_standing_nudge_counts_working_days_since_the_last_report() -> None:
    parsed = sent_and_parsed(outgoing("standing_nudge"))
    text = body(parsed, "plain")
    assert "Chưa báo cáo tiến độ trong 21 ngày làm việc" in text
    assert "Thời hạn: Thường xuyên" in text


def test_weekly_digest_shows_the_grid_with_changes_and_every_section() -> None:
    parsed = sent_and_parsed(outgoing("weekly_digest"))
    text, html = body(parsed, "plain"), body(parsed, "html")
    assert "Quá hạn, chưa hoàn thành: 7 (tăng 2)" in text
    assert "Hoàn thành quá hạn: 2 (giảm 1)" in text
    assert "Đang thực hiện, trong hạn: 41 (không đổi)" in text
    assert f"{AGENCY}: tỷ lệ đúng hạn 85,7%" in text
    assert f"{OTHER_AGENCY}: tỷ lệ đúng hạn —" in text
    assert "Lý do: Chờ ý kiến Bộ" in text
    for heading in (
        "Nhiệm vụ quá hạn nghiêm trọng",
        "Nhiệm vụ quá hạn theo đơn vị",
        "Nhiệm vụ đến hạn trong tuần tới",
        "Nhiệm vụ hoàn thành trong tuần",
        "Đề nghị gia hạn chờ ý kiến",
        "Kết quả theo đơn vị",
    ):
        assert heading in html
        assert heading.upper() in text


def test_weekly_digest_with_nothing_to_report_omits_every_section() -> None:
    o = outgoing("weekly_digest", digest_context(empty=True), images=())
    parsed = sent_and_parsed(o)
    text, html = body(parsed, "plain"), body(parsed, "html")
    assert "Trong tuần không có nhiệm vụ cần lưu ý." in text
    assert "Nhiệm vụ quá hạn theo đơn vị" not in html
    assert "cid:" not in html
    assert parsed.get_body(("html",)) is not None
    assert "NV26-" not in text


def test_inline_chart_is_reachable_by_its_content_id() -> None:
    parsed = sent_and_parsed(outgoing("weekly_digest"))
    html_part = parsed.get_body(("html",))
    assert html_part is not None
    related = next(p for p in parsed.iter_parts() if p.get_content_type() == "multipart/related")
    images = [p for p in related.iter_parts() if p.get_content_maintype() == "image"]
    assert len(images) == 1
    assert images[0]["Content-ID"] == f"<{CHART_CID}>"
    assert images[0].get_content_type() == "image/png"
    assert images[0].get_content() == PNG
    assert images[0].get_filename() == "tinh-hinh-thuc-hien.png"
    assert f'src="cid:{CHART_CID}"' in body(parsed, "html")


def test_an_image_the_html_does_not_reference_is_refused() -> None:
    stray = InlineImage("stray.1@directives.binhan.gov.vn", PNG, "stray.png")
    with pytest.raises(ValueError, match=re.escape("stray.1@directives.binhan.gov.vn")):
        build(outgoing("overdue", images=(stray,)))


@pytest.mark.parametrize("final", [True, False])
def test_programme_status_lists_items_with_their_state(final: bool) -> None:
    parsed = sent_and_parsed(outgoing("programme_status", programme_context(final=final)))
    text, html = body(parsed, "plain"), body(parsed, "html")
    assert "Quá hạn, chưa trình: 1 (25%)" in text
    assert "Tình trạng: Đã trình chậm (trình ngày 24/11/2026, 245/TTr-SVHTTDL)" in text
    assert "Lùi thời gian trình" in html
    assert "sang tháng 12/2026" in html
    assert "(Dự thảo văn bản, CT2611-003, từ tháng 10/2026)" in text
    assert "Từ tháng trước chuyển sang: 1" in text
    assert len(task_rows(html)) == 4
    assert ("số liệu chốt tháng" in text) is final
    assert ("số liệu tạm tính đến ngày 26/11/2026" in text) is not final


# --- envelope, JSON, dates, filters, architecture ---------------------------------------------


def test_envelope_lists_every_recipient_once_ignoring_case() -> None:
    o = outgoing(
        "overdue",
        to=(AGENCY_INBOX, Person("Văn thư", "VANTHU.STNMT@binhan.gov.vn")),
        cc=(OFFICER, Person("Chánh Văn phòng", "chanhvp@binhan.gov.vn"), OFFICER),
    )
    assert envelope(o) == (
        SENDER.email,
        [AGENCY_INBOX.email, OFFICER.email, "chanhvp@binhan.gov.vn"],
    )


def test_outgoing_survives_a_json_round_trip_without_its_images() -> None:
    o = outgoing("weekly_digest")
    stored = json.loads(json.dumps(outgoing_to_json(o), ensure_ascii=False))
    back = outgoing_from_json(stored)
    assert back == outgoing("weekly_digest", images=())
    assert (
        build(back, date=datetime(2026, 11, 26, tzinfo=UTC))["Subject"]
        == (EXPECTED_SUBJECTS["weekly_digest"])
    )


def test_a_naive_date_is_refused_and_no_recipient_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        build(outgoing("overdue"), date=datetime(2026, 11, 26, 7, 0))
    with pytest.raises(ValueError, match="no recipient"):
        build(outgoing("overdue", to=()))


def test_without_a_date_the_message_is_dated_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    msg = build(outgoing("overdue"))
    assert before <= msg["Date"].datetime <= datetime.now(UTC)


def test_filters_speak_vietnamese() -> None:
    assert vndate("2026-11-26") == "26/11/2026"
    assert vndate("2026-11-26T07:00:00+07:00") == "26/11/2026"
    assert vndate(None) == ""
    assert wdays(3) == "còn 3 ngày làm việc"
    assert wdays(0) == "hôm nay là hạn cuối"
    assert wdays(5, late=True) == "quá hạn 5 ngày làm việc"
    assert wdays({"days_left": None, "days_late": 5}) == "quá hạn 5 ngày làm việc"
    assert wdays({"days_left": None, "days_late": None}) == "—"
    assert vnnum(1551) == "1.551"
    assert pct(85.71) == "85,7%"
    assert pct(None) == "—"
    assert clip("Một hai ba bốn năm sáu", 12) == "Một hai ba…"
    with pytest.raises(ValueError, match="'26/11/2026'"):
        vndate("26/11/2026")


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_notifications_never_imports_directives_or_flows() -> None:
    for path in (ROOT / "notifications").rglob("*.py"):
        for name in imported_modules(path):
            assert name.split(".")[0] not in ("directives", "flows"), (path, name)


@pytest.mark.parametrize(
    "module", ["addresses", "filters", "headers", "kinds", "message", "model", "render"]
)
def test_message_layer_uses_only_the_standard_library_and_jinja(module: str) -> None:
    for name in imported_modules(ROOT / "notifications" / f"{module}.py"):
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or top in ("jinja2", "notifications"), name
