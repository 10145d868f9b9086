"""Intake of a whole file: the bulk path writes what the row-by-row path wrote, all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from directives.db.outbox_tables import Notice, OutboxMessage
from directives.db.tables import (
    Agency,
    CodeCounter,
    Directive,
    Leader,
    Officer,
    Task,
    TaskCoordinator,
    TaskEvent,
)
from directives.errors import ImportFileError
from directives.importing import (
    read_agency_rows,
    read_leader_rows,
    read_officer_rows,
    read_task_rows,
)
from directives.recurrence import Recurrence
from directives.runtime import Runtime
from directives.services import intake, registry
from directives.services.calendar import compute_deadline, load_calendar
from directives.services.mailing import MailSettings, notify_assigned
from directives.workflow import Actor, Role, State

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
OFFICE = Actor(Role.SECRETARIAT, "Văn phòng UBND tỉnh")
MAIL = MailSettings("Văn phòng UBND tỉnh <vanphong@binhan.gov.vn>", "Văn phòng UBND tỉnh")
HEADER = (
    "Số ký hiệu,Ngày ban hành,Loại văn bản,Người ký,Trích yếu,Nội dung nhiệm vụ,Đơn vị chủ trì,"
    "Đơn vị phối hợp,Thời hạn,Lãnh đạo phụ trách,Chuyên viên theo dõi,Lĩnh vực,Độ khẩn,Nguồn,"
    "Mã nhiệm vụ\n"
)
# What examples/directives.csv lacks: periodic deadlines, a code given in the file, a directive
# of the year before, a task without leader or officer, coordinators named twice.
EXTRA = (
    "77/CV-UBND,15/12/2025,công văn,PCT1,Về báo cáo định kỳ,Báo cáo thu chi ngân sách,"
    "STC,SXD; SKHDT,Ngày 20 hằng tháng,PCT1,CV02,Tài chính,thường,Mục 1,BC-TC-01\n"
    "77/CV-UBND,15/12/2025,công văn,PCT1,Về báo cáo định kỳ,Rà soát hồ sơ cấp phép,"
    "SXD,,10 ngày làm việc,,,,khẩn,,\n"
    "77/CV-UBND,15/12/2025,công văn,PCT1,Về báo cáo định kỳ,Báo cáo quý về đầu tư công,"
    "SKHDT,STC; STC; UBNDTP,hằng quý ngày 15,,CV03,Đầu tư,hỏa tốc,Mục 3,\n"
    "78/CV-UBND,03/01/2026,công văn,CT,Về việc chuẩn bị Tết,Bảo đảm hàng hóa dịp Tết,"
    "SCT,STC,31/01/2026,CT,CV04,Công Thương,khẩn,,TET-2026\n"
)


def sample(tmp_path: Path) -> list[intake.NewDirective]:
    """The example file's directives, then the extra ones."""
    extra = tmp_path / "extra.csv"
    extra.write_text(HEADER + EXTRA, encoding="utf-8")
    rows = [*read_task_rows(EXAMPLES / "directives.csv"), *read_task_rows(extra)]
    return intake.directives_from_rows(rows)


def seed_registry(rt: Runtime) -> None:
    with rt.unit_of_work() as s:
        registry.upsert_agencies(s, read_agency_rows(EXAMPLES / "agencies.csv"))
        registry.upsert_leaders(s, read_leader_rows(EXAMPLES / "leaders.csv"))
        registry.upsert_officers(s, read_officer_rows(EXAMPLES / "officers.csv"))


def row_by_row(session: Session, directives: Sequence[intake.NewDirective], rt: Runtime) -> None:
    """The intake as it was before the bulk path (one directive at a time): the reference."""
    agencies = {a.code: a for a in session.scalars(select(Agency))}
    leaders = {x.code: x for x in session.scalars(select(Leader))}
    officers = {o.code: o for o in session.scalars(select(Officer))}
    calendar = load_calendar(session)
    now = rt.clock.now()
    for d in directives:
        directive = Directive(
            number=d.number,
            year=d.issued_on.year,
            issued_on=d.issued_on,
            kind=d.kind.value,
            signer_id=leaders[d.signer].id,
            summary=d.summary.strip(),
            source_ref=d.source_ref,
            created_at=now,
        )
        session.add(directive)
        session.flush()
        wanted = sum(1 for t in d.tasks if not t.code)
        auto = iter(intake._allocate_codes(session, d.issued_on.year, wanted))
        rows = []
        for position, t in enumerate(d.tasks, start=1):
            stated, period = t.deadline.on, None
            if t.deadline.recurrence is not None:
                rule = Recurrence(*intake._split_rule(t.deadline.recurrence))
                period = rule.first_period(d.issued_on)
                stated = rule.due_date(period)
            deadline = compute_deadline(calendar, d.issued_on, stated, t.deadline.working_days)
            rows.append(
                {
                    "code": t.code or next(auto),
                    "directive_id": directive.id,
                    "position": position,
                    "content": t.content.strip(),
                    "lead_agency_id": agencies[t.lead_agency].id,
                    "leader_id": leaders[t.leader or d.signer].id,
                    "officer_id": officers[t.officer].id if t.officer else None,
                    "sector": t.sector,
                    "priority": t.priority.value,
                    "source_ref": t.source_ref,
                    "stated_deadline": stated,
                    "recurrence": t.deadline.recurrence,
                    "period": period,
                    "deadline_working_days": t.deadline.working_days,
                    "original_deadline": deadline,
                    "deadline": deadline,
                    "state": State.ASSIGNED.value,
                    "assigned_on": d.issued_on,
                    "has_extensions": False,
                    "has_pauses": False,
                    "created_at": now,
                }
            )
        ids = session.scalars(
            insert(Task).returning(Task.id, sort_by_parameter_order=True), rows
        ).all()
        session.execute(
            update(Task)
            .where(
                Task.directive_id == directive.id,
                Task.recurrence.is_not(None),
                Task.series_id.is_(None),
            )
            .values(series_id=Task.id)
            .execution_options(synchronize_session=False)
        )
        coordinators = [
            {"task_id": task_id, "agency_id": agencies[code].id}
            for task_id, t in zip(ids, d.tasks, strict=True)
            for code in dict.fromkeys(t.coordinating_agencies)
        ]
        if coordinators:
            session.execute(insert(TaskCoordinator), coordinators)
        session.execute(
            insert(TaskEvent),
            [
                {
                    "task_id": task_id,
                    "kind": "assigned",
                    "on": d.issued_on,
                    "recorded_at": now,
                    "actor": OFFICE.describe(),
                    "note": None,
                    "data": {
                        "deadline": row["deadline"].isoformat() if row["deadline"] else None,
                        "deadline_text": t.deadline.text(),
                    },
                }
                for task_id, row, t in zip(ids, rows, d.tasks, strict=True)
            ],
        )


def written(session: Session) -> dict[str, Any]:
    """Every row the intake writes, with ids replaced by the natural keys they stand for."""
    session.flush()
    directive_key = {
        d.id: (d.number, d.year) for d in session.execute(select(Directive.__table__)).all()
    }
    task_code = dict(session.execute(select(Task.id, Task.code)).all())

    def rows(table: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in session.execute(select(table)).all()]

    directives = sorted(
        (tuple(sorted((k, v) for k, v in r.items() if k != "id")))
        for r in rows(Directive.__table__)
    )
    tasks = {}
    for r in rows(Task.__table__):
        r["directive_id"] = directive_key[r["directive_id"]]
        r["series_id"] = task_code.get(r["series_id"])
        tasks[r.pop("code")] = {k: v for k, v in r.items() if k != "id"}
    events = sorted(
        (task_code[r["task_id"]], r["kind"], r["on"], r["recorded_at"], r["actor"], r["note"],
         sorted(r["data"].items()))
        for r in rows(TaskEvent.__table__)
    )  # fmt: skip
    coordinators = sorted(
        (task_code[r["task_id"]], r["agency_id"]) for r in rows(TaskCoordinator.__table__)
    )
    counters = {r["scope"]: r["next_value"] for r in rows(CodeCounter.__table__)}
    return {
        "directives": directives,
        "tasks": tasks,
        "events": events,
        "coordinators": coordinators,
        "counters": counters,
    }


def messages(session: Session) -> list[tuple[Any, ...]]:
    """The enqueued messages: kind, subject, recipients and the task codes each one carries.

    Recipients sorted: the officers copied come from a set, in no fixed order.
    """
    task_code = dict(session.execute(select(Task.id, Task.code)).all())
    carried: dict[int | None, list[str]] = {}
    for notice in session.scalars(select(Notice)):
        assert (notice.rule, notice.threshold) == ("assigned", 0)
        carried.setdefault(notice.message_id, []).append(task_code[notice.task_id])
    return sorted(
        (m.kind, m.subject, tuple(sorted(m.recipients)), tuple(sorted(carried.get(m.id, ()))))
        for m in session.scalars(select(OutboxMessage))
    )


@pytest.mark.parametrize("with_mail", [False, True], ids=["without_mail", "with_mail"])
def test_bulk_intake_writes_the_rows_the_row_by_row_path_wrote(
    rt: Runtime, tmp_path: Path, with_mail: bool
) -> None:
    seed_registry(rt)
    batch = sample(tmp_path)
    with rt.sessions() as s:
        row_by_row(s, batch, rt)
        if with_mail:
            task_ids = list(s.scalars(select(Task.id).order_by(Task.id)))
            notify_assigned(s, task_ids, on=rt.clock.now().date(), now=rt.clock.now(), mail=MAIL)
        before, sent_before = written(s), messages(s)
        s.rollback()
    with rt.unit_of_work() as s:
        stored = intake.issue_directives(
            s,
            batch,
            actor=OFFICE,
            clock=rt.clock,
            source="sample",
            mail=MAIL if with_mail else None,
        )
        after, sent_after = written(s), messages(s)
        assert [d.number for d in stored] == [d.number for d in batch]
        assert [t.position for t in stored[0].tasks] == list(range(1, len(batch[0].tasks) + 1))

    assert after == before
    assert sent_after == sent_before
    assert len(after["tasks"]) == sum(len(d.tasks) for d in batch) == 81
    assert {"BC-TC-01", "TET-2026", "NV25-0002", "NV26-0001"} <= set(after["tasks"])
    periodic = [c for c, t in after["tasks"].items() if t["recurrence"] is not None]
    assert len(periodic) == 2
    assert all(after["tasks"][c]["series_id"] == c for c in periodic)
    assert [c for c, _ in after["coordinators"] if c == "NV25-0002"] == ["NV25-0002"] * 2
    if with_mail:
        # One message per lead agency, and a copy for each coordinating agency.
        leads = {t["lead_agency_id"] for t in after["tasks"].values()}
        helpers = {a for _, a in after["coordinators"]}
        kinds = [m[0] for m in sent_after]
        assert len(kinds) == len(leads) + len(helpers)
    else:
        assert sent_after == []


def test_every_bad_row_is_reported_and_nothing_is_stored(rt: Runtime, tmp_path: Path) -> None:
    seed_registry(rt)
    batch = sample(tmp_path)
    with rt.unit_of_work() as s:
        intake.issue_directives(s, batch[:3], actor=OFFICE, clock=rt.clock, source="first")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + EXTRA.replace("SCT,STC,31/01/2026", "SCT,KHONGCO,31/01/2026")
        + "79/CV-UBND,05/01/2026,công văn,PCT9,Về việc khác,Việc một,SXD,,,,CV99,,,,BC-TC-01\n"
        + "285/TB-UBND,02/07/2026,thông báo kết luận,CT,Trùng số,Việc hai,SXD,,,,,,,,\n",
        encoding="utf-8",
    )
    with rt.unit_of_work() as s:
        before = written(s)
        with pytest.raises(ImportFileError) as caught:
            intake.issue_directives(
                s,
                intake.directives_from_rows(read_task_rows(bad)),
                actor=OFFICE,
                clock=rt.clock,
                source="bad.csv",
                mail=MAIL,
            )
        assert written(s) == before
        assert messages(s) == []
    found = [(e.row, e.column, e.value) for e in caught.value.errors]
    assert found == [
        (5, "coordinating_agencies", "KHONGCO"),
        (6, "signer", "PCT9"),
        (6, "officer", "CV99"),
        (6, "task_code", "BC-TC-01"),
        (7, "directive_number", "285/TB-UBND"),
    ]
    assert caught.value.source == "bad.csv"


def test_codes_continue_the_years_series_across_imports(rt: Runtime, tmp_path: Path) -> None:
    seed_registry(rt)
    batch = sample(tmp_path)
    with rt.unit_of_work() as s:
        intake.issue_directives(s, batch[:2], actor=OFFICE, clock=rt.clock)
    with rt.unit_of_work() as s:
        intake.issue_directives(s, batch[2:4], actor=OFFICE, clock=rt.clock)
        codes = list(s.scalars(select(Task.code).order_by(Task.id)))
    wanted = sum(len(d.tasks) for d in batch[:4])
    assert codes == [f"NV26-{i:04d}" for i in range(1, wanted + 1)]


def test_a_large_batch_is_stored_in_rounds_with_progress(rt: Runtime, tmp_path: Path) -> None:
    seed_registry(rt)
    template = sample(tmp_path)[0]
    batch = [replace(template, number=f"{i}/TB-UBND") for i in range(1, intake.CHUNK + 7)]
    seen: list[int] = []
    with rt.unit_of_work() as s:
        stored = intake.issue_directives(
            s, batch, actor=OFFICE, clock=rt.clock, progress=seen.append
        )
        assert len(stored) == len(batch)
        assert stored[-1].number == f"{intake.CHUNK + 6}/TB-UBND"
        tasks = list(s.execute(select(Task.directive_id, Task.position, Task.code)).all())
    assert seen == [intake.CHUNK, 6]
    assert len(tasks) == len(batch) * len(template.tasks)
    assert len({t.code for t in tasks}) == len(tasks)


AWKWARD_TEXT = (
    "Cột một\tcột hai",
    "dòng một\ndòng hai\r\ndòng ba",
    "C:\\thư mục\\tệp \\N \\. \\t",
    'Ủy ban "nhân dân"; {a,b} NULL',
)


def test_awkward_text_is_stored_as_entered(rt: Runtime, tmp_path: Path) -> None:
    seed_registry(rt)
    template = sample(tmp_path)[0]
    tasks = tuple(
        intake.NewTask(
            content=f"Nội dung {i}: {text}",
            lead_agency=template.tasks[0].lead_agency,
            sector=text[:100],
            source_ref=text,
        )
        for i, text in enumerate(AWKWARD_TEXT)
    )
    new = intake.NewDirective(
        number="501/TB-UBND",
        issued_on=template.issued_on,
        kind=template.kind,
        signer=template.signer,
        summary=AWKWARD_TEXT[1],
        tasks=tasks,
    )
    with rt.unit_of_work() as s:
        intake.issue_directives(s, [new], actor=OFFICE, clock=rt.clock)
    with rt.unit_of_work() as s:
        stored = s.scalars(select(Task).order_by(Task.position)).all()
        got = [(t.content, t.sector, t.source_ref) for t in stored]
        summary = s.scalars(select(Directive.summary)).one()
    assert got == [(t.content, t.sector, t.source_ref) for t in tasks]
    assert summary == AWKWARD_TEXT[1]


# PostgreSQL only: SQLite does not enforce VARCHAR lengths, and no check before the writes
# limits a sector's length, so the database's refusal is what this exercises.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_value_refused_in_a_late_round_leaves_nothing_stored(rt: Runtime, tmp_path: Path) -> None:
    seed_registry(rt)
    template = sample(tmp_path)[0]
    late = intake.NewTask(content="Việc cuối", lead_agency="SXD", sector="Lĩnh vực " * 20)
    batch = [
        replace(
            template,
            number=f"{i}/TB-UBND",
            tasks=template.tasks if i <= intake.CHUNK else (*template.tasks, late),
        )
        for i in range(1, intake.CHUNK + 3)
    ]
    seen: list[int] = []
    with pytest.raises(DataError, match="sector"), rt.unit_of_work() as s:
        intake.issue_directives(s, batch, actor=OFFICE, clock=rt.clock, progress=seen.append)
    assert seen == [intake.CHUNK]  # the first round was written, then undone
    with rt.unit_of_work() as s:
        nothing = {"directives": [], "tasks": {}, "events": [], "coordinators": [], "counters": {}}
        assert written(s) == nothing
