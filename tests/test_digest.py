"""The weekly digest: first working day of the week, once per leader, only with something to say.

A small province is built by hand through the services, with the answers written below: the
digest's day is Monday 23/11/2026, a week ago is 16/11. Between October and December the working
days are Monday to Friday, except Tuesday 24/11 (Vietnamese Culture Day, a holiday from 2026).
"""

from __future__ import annotations

import email
import json
import re
import struct
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from sqlalchemy import func, select

from directives.db.outbox_tables import OutboxMessage
from directives.db.tables import Task
from directives.domain import DeadlineSpec, DirectiveKind, LeaderRole
from directives.importing import LeaderRow
from directives.runtime import Runtime
from directives.services import grid_sql, intake, lifecycle, registry
from directives.services.calendar import load_calendar
from directives.services.digest import digest_contexts, enqueue_digests, grid_by_task
from directives.services.history import apply_history
from directives.services.mailing import MailSettings
from flows import jobs
from flows.dispatch import dispatch, render_bytes
from notifications import build, outgoing_from_json, outgoing_to_json, render
from notifications.charts import HEIGHT_PX, WIDTH_PX
from tests.builders import OFFICE, seed_registry
from tests.test_replay import SYSTEM, _load

DAY = date(2026, 11, 23)  # a Monday
MAIL = MailSettings(
    sender="Văn phòng UBND tỉnh Bình An <vanphong@binhan.gov.vn>",
    office="Văn phòng UBND tỉnh Bình An",
    app_url="https://nhiemvu.binhan.gov.vn",
)
STC, SKHDT, SXD, UBNDTP = (
    "Sở Tài chính",
    "Sở Kế hoạch và Đầu tư",
    "Sở Xây dựng",
    "UBND thành phố Bình An",
)

# label: (directive, lead agency, deadline, sector); directives: (number, issued on, signer)
DIRECTIVES = {
    "A": ("101/TB-UBND", date(2026, 6, 15), "PCT1"),
    "B": ("245/TB-UBND", date(2026, 10, 15), "PCT1"),
    "C": ("88/TB-UBND", date(2026, 4, 1), "CT"),
    "D": ("250/TB-UBND", date(2026, 10, 15), "CT"),
}
TASKS: dict[str, tuple[str, str, date, str | None]] = {
    "T1": ("A", "STC", date(2026, 7, 15), None),  # open: overdue over 60 working days
    "T4": ("A", "SKHDT", date(2026, 9, 30), None),  # open: 38 days, over 30
    "T12": ("A", "STC", date(2026, 10, 30), None),  # done early, confirmed 02/11
    "T2": ("B", "STC", date(2026, 11, 2), None),  # open: 15 days
    "T14": ("B", "STC", date(2026, 11, 9), None),  # 10 days on the day; confirmed after it
    "T11": ("B", "STC", date(2026, 11, 10), None),  # reported 17/11, confirmed 18/11: late
    "T3": ("B", "STC", date(2026, 11, 18), None),  # open: 3 days
    "T5": ("B", "SKHDT", date(2026, 11, 20), None),  # open: 1 day
    "T10": ("B", "SKHDT", date(2026, 11, 20), None),  # reported 19/11, confirmed 20/11: early
    "T9": ("B", "STC", date(2026, 11, 23), None),  # due today
    "T6": ("B", "SKHDT", date(2026, 11, 27), None),  # due in 3 working days (24/11 is off)
    "T8": ("B", "STC", date(2026, 12, 1), None),  # due in 5: the last day of "due next"
    "T7": ("B", "STC", date(2026, 12, 4), None),  # due in 8: not yet
    "T13": ("B", "SKHDT", date(2026, 12, 15), None),  # extension asked 20/11, pending
    "T17": ("C", "UBNDTP", date(2026, 5, 4), "Nội vụ"),  # open: over 120 working days
    "T15": ("D", "SXD", date(2026, 11, 13), "Xây dựng"),  # open: 6 days
    "T16": ("D", "UBNDTP", date(2026, 12, 31), "Xây dựng"),  # asked 18/11, rejected 24/11
    "T18": ("D", "SXD", date(2026, 11, 25), "Xây dựng"),  # cancelled 10/11
}


def _build(rt: Runtime) -> dict[str, str]:
    """The province above; returns each label's task code."""
    codes: dict[str, str] = {}
    with rt.unit_of_work() as s:
        seed_registry(s)
        registry.upsert_leaders(
            s,
            [
                LeaderRow(4, "PCT2", "Võ Văn Sơn", "Phó Chủ tịch UBND tỉnh",
                          LeaderRole.VICE_CHAIRMAN, "pct2@binhan.gov.vn", ("Xây dựng",)),
                LeaderRow(5, "PCT9", "Đỗ Văn Rảnh", "Phó Chủ tịch UBND tỉnh",
                          LeaderRole.VICE_CHAIRMAN, "pct9@binhan.gov.vn", ("Du lịch",)),
            ],
        )  # fmt: skip
        for key, (number, issued_on, signer) in DIRECTIVES.items():
            labels = [label for label, t in TASKS.items() if t[0] == key]
            (directive,) = intake.issue_directives(
                s,
                [
                    intake.NewDirective(
                        number=number,
                        issued_on=issued_on,
                        kind=DirectiveKind.CONCLUSION_NOTICE,
                        signer=signer,
                        summary="Kết luận của lãnh đạo UBND tỉnh tại cuộc họp giao ban",
                        tasks=tuple(
                            intake.NewTask(
                                content=f"Nhiệm vụ {label}: rà soát, báo cáo tiến độ dự án",
                                lead_agency=TASKS[label][1],
                                deadline=DeadlineSpec(on=TASKS[label][2]),
                                officer="CV01",
                                sector=TASKS[label][3],
                            )
                            for label in labels
                        ),
                    )
                ],
                actor=OFFICE,
                clock=rt.clock,
            )
            s.flush()
            ordered = sorted(directive.tasks, key=lambda t: t.position)
            codes |= {label: t.code for label, t in zip(labels, ordered, strict=True)}

    def done(label: str, reported: date, confirmed: date) -> None:
        with rt.unit_of_work() as s:
            lifecycle.report(s, codes[label], on=reported, text="Đã hoàn thành", final=True,
                             actor=OFFICE, clock=rt.clock)  # fmt: skip
            lifecycle.confirm(s, codes[label], on=confirmed, actor=OFFICE, clock=rt.clock)

    def ask(label: str, on: date, until: date) -> None:
        with rt.unit_of_work() as s:
            lifecycle.request_extension(s, codes[label], on=on, new_deadline=until,
                                        reason="Chờ ý kiến của Bộ Tài chính", actor=OFFICE,
                                        clock=rt.clock)  # fmt: skip

    done("T12", date(2026, 10, 29), date(2026, 11, 2))
    done("T11", date(2026, 11, 17), date(2026, 11, 18))
    done("T10", date(2026, 11, 19), date(2026, 11, 20))
    done("T14", date(2026, 11, 24), date(2026, 11, 25))  # after the digest's day
    ask("T13", date(2026, 11, 20), date(2027, 1, 15))
    ask("T16", date(2026, 11, 18), date(2027, 2, 26))
    with rt.unit_of_work() as s:
        lifecycle.cancel(s, codes["T18"], on=date(2026, 11, 10), reason="Không còn phù hợp",
                         actor=OFFICE, clock=rt.clock)  # fmt: skip
        lifecycle.decide_extension(s, codes["T16"], on=date(2026, 11, 24), approve=False,
                                   actor=OFFICE, clock=rt.clock)  # fmt: skip
    return codes


@pytest.fixture
def province(rt: Runtime) -> dict[str, str]:
    return _build(rt)


def _contexts(rt: Runtime) -> dict[str, dict[str, Any] | None]:
    with rt.unit_of_work() as s:
        return digest_contexts(s, DAY, MAIL)


def _labels(codes: dict[str, str], rows: list[dict[str, Any]]) -> list[str]:
    label_of = {code: label for label, code in codes.items()}
    return [label_of[r["code"]] for r in rows]


def _late(rt: Runtime, deadline: date) -> int:
    with rt.unit_of_work() as s:
        return load_calendar(s).wd(deadline, DAY)


def test_vice_chairman_digest_has_every_section_of_their_own_tasks(
    rt: Runtime, province: dict[str, str]
) -> None:
    ctx = _contexts(rt)["PCT1"]
    assert ctx is not None
    grid = ctx["grid"]
    assert {k: grid[k] for k in grid if k not in ("change", "aging", "totals")} == {
        "within_term": 3,  # T7, T8, T13
        "due_soon": 2,  # T6, T9
        "overdue": 6,  # T1, T2, T3, T4, T5, T14
        "done_on_time": 2,  # T10, T12
        "done_late": 1,  # T11
        "standing": 0,
    }
    # a week ago: within T5–T10, T13; due soon T3; overdue T1, T2, T4, T11, T14; done T12
    assert grid["change"] == {
        "within_term": -4,
        "due_soon": 1,
        "overdue": 1,
        "done_on_time": 1,
        "done_late": 1,
        "standing": 0,
    }
    assert grid["aging"] == {"over_30": 2, "over_60": 1, "over_120": 0}
    assert grid["totals"] == {
        "critical": 4,
        "due_next": 3,
        "completed": 2,
        "extension_requests": 1,
    }
    # critical: escalation level 2, 10 working days or more, longest overdue first
    assert _labels(province, ctx["critical"]) == ["T1", "T4", "T2", "T14"]
    assert [t["days_late"] for t in ctx["critical"]] == [
        _late(rt, date(2026, 7, 15)),
        38,
        15,
        10,
    ]
    assert ctx["critical"][0]["lead_agency"] == STC
    groups = ctx["overdue_by_agency"]
    assert [(g["agency"], g["code"], g["count"], g["critical"]) for g in groups] == [
        (STC, "STC", 4, 3),
        (SKHDT, "SKHDT", 2, 1),
    ]
    assert groups[0]["max_days_late"] == ctx["critical"][0]["days_late"]
    assert groups[1]["max_days_late"] == 38
    assert groups[0]["aging"] == {"over_30": 1, "over_60": 1, "over_120": 0}
    assert groups[1]["aging"] == {"over_30": 1, "over_60": 0, "over_120": 0}
    assert [_labels(province, g["tasks"]) for g in groups] == [["T3"], ["T5"]]
    assert [g["tasks"][0]["days_late"] for g in groups] == [3, 1]
    assert [g["more"] for g in groups] == [0, 0]
    assert _labels(province, ctx["due_next"]) == ["T9", "T6", "T8"]
    assert [t["days_left"] for t in ctx["due_next"]] == [0, 3, 5]
    done = ctx["completed"]
    assert _labels(province, done) == ["T10", "T11"]  # latest confirmation first
    assert [(t["completed_on"], t["timing"], t["days_late"]) for t in done] == [
        ("2026-11-19", "early", None),
        ("2026-11-17", "late", 5),
    ]
    [request] = ctx["extension_requests"]
    assert request["task"]["code"] == province["T13"]
    assert request["requested_on"] == "2026-11-20"
    assert request["requested_deadline"] == "2027-01-15"
    assert request["reason"] == "Chờ ý kiến của Bộ Tài chính"
    # fell due this year: STC T1, T2, T3, T9, T11, T12, T14 (T12 on time); SKHDT T4, T5, T10
    assert ctx["agencies"] == [
        {"agency": STC, "code": "STC", "fell_due": 7, "on_time": 1, "on_time_rate": 14.3,
         "overdue": 4, "completed": 2},
        {"agency": SKHDT, "code": "SKHDT", "fell_due": 3, "on_time": 1, "on_time_rate": 33.3,
         "overdue": 2, "completed": 1},
    ]  # fmt: skip
    assert ctx["charts"] == [
        {
            "cid": "overdue-by-agency",
            "title": "Nhiệm vụ quá hạn theo đơn vị chủ trì",
            "kind": "barh",
            "labels": [STC, SKHDT],
            "values": [4, 2],
        },
        {
            "cid": "overdue-weekly",
            "title": "Nhiệm vụ quá hạn chưa hoàn thành qua 8 tuần",
            "kind": "line",
            "labels": ["05/10", "12/10", "19/10", "26/10", "02/11", "09/11", "16/11", "23/11"],
            # T1, T4 all along; T2 from 9/11; T11 and T14 on 16/11; T3, T5 on 23/11
            "values": [2, 2, 2, 2, 2, 3, 5, 6],
        },
    ]
    assert ctx["recipient"] == "Phó Chủ tịch UBND tỉnh Lê Thị Hồng"


def test_chairman_sees_every_task_and_a_vice_chairman_their_sectors_too(
    rt: Runtime, province: dict[str, str]
) -> None:
    contexts = _contexts(rt)
    ct, pct2 = contexts["CT"], contexts["PCT2"]
    assert ct is not None
    assert pct2 is not None
    assert contexts["PCT9"] is None  # nothing in their charge
    assert ct["grid"]["overdue"] == 8  # PCT1's six, T15, T17
    assert ct["grid"]["within_term"] == 4  # PCT1's three, T16
    assert ct["grid"]["change"]["overdue"] == 1
    assert ct["grid"]["aging"] == {"over_30": 3, "over_60": 2, "over_120": 1}
    assert _labels(province, ct["critical"]) == ["T17", "T1", "T4", "T2", "T14"]
    assert [g["code"] for g in ct["overdue_by_agency"]] == ["UBNDTP", "STC", "SKHDT", "SXD"]
    assert ct["overdue_by_agency"][0]["tasks"] == []  # its only task is listed as critical
    assert ct["overdue_by_agency"][0]["max_days_late"] == _late(rt, date(2026, 5, 4))
    assert [r["task"]["code"] for r in ct["extension_requests"]] == [
        province["T16"],  # asked first; decided only after the digest's day
        province["T13"],
    ]
    assert [a["code"] for a in ct["agencies"]] == ["STC", "SKHDT", "SXD", "UBNDTP"]
    assert ct["agencies"][2]["on_time_rate"] == 0.0
    assert ct["charts"][0]["values"] == [4, 2, 1, 1]
    assert ct["charts"][1]["values"] == [3, 3, 3, 3, 3, 4, 7, 8]
    # PCT2 leads nothing, but the construction sector is theirs: T15, T16 (T18 was cancelled)
    assert {k: pct2["grid"][k] for k in ("within_term", "overdue", "due_soon")} == {
        "within_term": 1,
        "overdue": 1,
        "due_soon": 0,
    }
    assert set(pct2["grid"]["change"].values()) == {0}
    assert pct2["critical"] == []
    [group] = pct2["overdue_by_agency"]
    assert (group["agency"], group["max_days_late"]) == (SXD, 6)
    assert _labels(province, group["tasks"]) == ["T15"]
    assert [r["task"]["code"] for r in pct2["extension_requests"]] == [province["T16"]]
    assert pct2["agencies"] == [
        {"agency": SXD, "code": "SXD", "fell_due": 1, "on_time": 0, "on_time_rate": 0.0,
         "overdue": 1, "completed": 0},
    ]  # fmt: skip
    assert pct2["charts"][1]["values"] == [0, 0, 0, 0, 0, 0, 1, 1]
    assert province["T15"] not in json.dumps(contexts["PCT1"])


def test_nothing_to_say_means_no_digest_and_a_second_run_enqueues_nothing(
    rt: Runtime, province: dict[str, str]
) -> None:
    now = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)

    def digests() -> int:
        with rt.unit_of_work() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.kind == "weekly_digest")
                )
                or 0
            )

    with rt.unit_of_work() as s:
        assert enqueue_digests(s, DAY, now=now, mail=MAIL) == ["CT", "PCT1", "PCT2"]
    assert digests() == 3
    with rt.unit_of_work() as s:
        assert enqueue_digests(s, DAY, now=now, mail=MAIL) == []
        assert enqueue_digests(s, date(2026, 11, 25), now=now, mail=MAIL) == []  # Wednesday
    assert digests() == 3
    with rt.unit_of_work() as s:
        recipients = s.scalars(select(OutboxMessage.recipients)).all()
    assert ["pct9@binhan.gov.vn"] not in recipients


def _parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_digest_goes_out_with_two_inline_charts_of_the_intended_size(
    rt: Runtime, province: dict[str, str]
) -> None:
    with rt.unit_of_work() as s:
        enqueue_digests(s, DAY, now=datetime(2026, 11, 23, tzinfo=UTC), mail=MAIL)
        payload = s.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.message_id.like("<digest-pct1-%"))
        ).one()
    # the dispatcher's path: stored JSON → Outgoing (charts drawn again) → MIME → bytes
    stored = outgoing_from_json(json.loads(json.dumps(payload, ensure_ascii=False)))
    again = outgoing_from_json(json.loads(json.dumps(outgoing_to_json(stored))))
    assert again == stored  # the same PNG bytes from the same data
    when = datetime(2026, 11, 23, tzinfo=UTC)
    msg = _parse(bytes(build(again, date=when)))
    dispatched = render_bytes(payload, when)  # what flows.dispatch sends
    assert isinstance(dispatched, bytes)
    html_part = msg.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    images = [p for p in msg.walk() if p.get_content_maintype() == "image"]
    assert [p.get_content_type() for p in images] == ["image/png", "image/png"]
    assert [p["Content-ID"] for p in images] == ["<overdue-by-agency>", "<overdue-weekly>"]
    for part in images:
        assert f'src="cid:{part["Content-ID"].strip("<>")}"' in html
        png = part.get_content()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        length, chunk, width, height = struct.unpack(">I4sII", png[8:24])
        assert (length, chunk, width, height) == (13, b"IHDR", WIDTH_PX, HEIGHT_PX)
        assert part.get_content_disposition() == "inline"
    assert [
        p.get_content() for p in _parse(dispatched).walk() if p.get_content_maintype() == "image"
    ] == [p.get_content() for p in images]
    expected = render("weekly_digest", stored.context)
    assert msg["Subject"] == expected.subject
    assert msg["Subject"] == (
        "[Tổng hợp tuần] Nhiệm vụ đến ngày 23/11/2026: 6 quá hạn, 2 sắp đến hạn, "
        "4 quá hạn nghiêm trọng – Lê Thị Hồng"
    )
    text_part = msg.get_body(("plain",))
    assert text_part is not None
    text = text_part.get_content().replace("\r\n", "\n")  # CRLF on the wire
    assert text == expected.text
    for body in (text, html):
        assert "Lê Thị Hồng" in body
        assert "quá hạn trên 30 ngày làm việc" in body
        assert "Chờ ý kiến của Bộ Tài chính" in body
        for code in (province[x] for x in ("T1", "T3", "T5", "T9", "T10", "T13")):
            assert code in body
    assert "Sở Tài chính: 4 nhiệm vụ quá hạn" in html
    assert "SỞ TÀI CHÍNH: 4 NHIỆM VỤ QUÁ HẠN" in text
    assert "Sở Tài chính: tỷ lệ đúng hạn 14,3% (1/7)" in text
    assert "Hoàn thành: ngày 17/11/2026, quá hạn 5 ngày làm việc" in text
    assert re.search(r"- 23/11: 6\n", text)  # the weekly series, for plain-text readers


def test_digest_classifies_every_task_as_grid_sql_does(
    rt: Runtime, province: dict[str, str]
) -> None:
    with rt.unit_of_work() as s:  # an approved extension, a pause resumed, one still running
        lifecycle.request_extension(s, province["T5"], on=date(2026, 11, 19),
                                    new_deadline=date(2026, 12, 10), reason="Chờ số liệu",
                                    actor=OFFICE, clock=rt.clock)  # fmt: skip
        lifecycle.decide_extension(s, province["T5"], on=date(2026, 11, 20), approve=True,
                                   actor=OFFICE, clock=rt.clock)  # fmt: skip
        lifecycle.pause(s, province["T7"], on=date(2026, 11, 5), reason="Chờ quy hoạch",
                        actor=OFFICE, clock=rt.clock)  # fmt: skip
        lifecycle.resume(s, province["T7"], on=date(2026, 11, 12), actor=OFFICE, clock=rt.clock)
        lifecycle.pause(s, province["T6"], on=date(2026, 11, 18), reason="Chờ quy hoạch",
                        actor=OFFICE, clock=rt.clock)  # fmt: skip
    days = [date(2026, 10, 1), *(date(2026, 11, n) for n in (5, 12, 16, 19, 20, 23, 26, 30))]
    with rt.unit_of_work() as s:
        for day in days:
            expected = dict(s.execute(select(Task.id, grid_sql.grid(day, load_calendar(s)))).all())
            assert grid_by_task(s, day) == expected, day
        t6 = s.scalars(select(Task.id).where(Task.code == province["T6"])).one()
        assert grid_by_task(s, DAY)[t6] == "paused"


def test_each_leader_gets_one_digest_on_the_first_working_day_with_something_to_say(
    rt: Runtime,
) -> None:
    by_day = _load(rt)
    with rt.unit_of_work() as s:
        apply_history(
            s, [r for d in sorted(by_day) for r in by_day[d]], actor=SYSTEM, clock=rt.clock
        )
        registry.upsert_leaders(
            s,
            [
                LeaderRow(
                    row=2,
                    code="PCT9",
                    name="Đỗ Văn Rảnh",
                    title="Phó Chủ tịch UBND tỉnh",
                    role=LeaderRole.VICE_CHAIRMAN,
                    email="pct9@binhan.gov.vn",
                    sectors=(),
                )
            ],
        )
    monday = date(2026, 11, 23)
    summary = jobs.digest(rt, as_of=monday)
    assert "CT" in summary.extra["leaders"]
    assert "PCT9" not in summary.extra["leaders"]  # nothing in their charge: nothing sent
    assert jobs.digest(rt, as_of=monday).extra["leaders"] == []  # once a week
    assert jobs.digest(rt, as_of=date(2026, 11, 25)).extra.get("leaders") == []  # Wednesday
    assert jobs.digest(rt, as_of=date(2026, 11, 24)).working_day is False  # a holiday
    with rt.unit_of_work() as s:
        digests = list(
            s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "weekly_digest"))
        )
    assert len(digests) == len(summary.extra["leaders"])
    chairman = next(m for m in digests if m.recipients == ["chutich@binhan.gov.vn"])
    context = chairman.payload["context"]
    assert context["critical"]
    assert all(t["days_late"] >= 10 for t in context["critical"])
    lates = [t["days_late"] for t in context["critical"]]
    assert lates == sorted(lates, reverse=True)
    assert dispatch(rt).as_dict()["sent"] >= len(digests)
    files = list(rt.settings.mail_dir.glob("*.eml"))
    texts = []
    for f in files:
        msg = _parse(f.read_bytes())
        if msg["X-Directives-Kind"] == "weekly_digest":
            plain = msg.get_body(("plain",))
            assert plain is not None
            texts.append(plain.get_content())
            images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
            assert len(images) == len(_charts_of(msg, digests)) == 2
    assert len(texts) == len(digests)
    assert any("QUÁ HẠN NGHIÊM TRỌNG" in t for t in texts)


def _charts_of(msg: EmailMessage, digests: list[OutboxMessage]) -> list[Any]:
    """The chart specs stored with the digest ``msg`` was built from."""
    [row] = [m for m in digests if m.message_id == msg["Message-ID"]]
    charts: list[Any] = row.payload["context"]["charts"]
    return charts
