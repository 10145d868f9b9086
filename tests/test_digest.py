"""The weekly digest: first working day of the week, once per leader, only with something to say."""

from __future__ import annotations

import email
from datetime import date
from email.policy import default

from sqlalchemy import select

from directives.db.outbox_tables import OutboxMessage
from directives.domain import LeaderRole
from directives.importing import LeaderRow
from directives.runtime import Runtime
from directives.services import registry
from directives.services.history import apply_history
from flows import jobs
from flows.dispatch import dispatch
from tests.test_replay import SYSTEM, _load


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
        msg = email.message_from_bytes(f.read_bytes(), policy=default)
        if msg["X-Directives-Kind"] == "weekly_digest":
            texts.append(msg.get_body(("plain",)).get_content())
    assert len(texts) == len(digests)
    assert any("QUÁ HẠN NGHIÊM TRỌNG" in t for t in texts)
