"""The references a notice holds, kept whole without foreign keys (see ``Notice``).

Every notice names an existing task; a notice with a message names an existing one, and that
message lists it; deleting a task or a message by hand leaves no dangling reference; and the
migration that moved a notice's first carrier into ``notices.message_id`` kept the copies.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import create_engine, delete, func, select, text

from directives.db import migrate
from directives.db.outbox_tables import DeliveryAttempt, Notice, OutboxMessage, message_notices
from directives.db.tables import Task
from directives.domain import DeadlineSpec
from directives.runtime import Runtime
from flows import jobs
from tests.builders import issue, seed_registry
from tests.test_grid_sql import _random_histories
from tests.test_migrations import empty_url  # noqa: F401  (the fixture)


def dangling(rt: Runtime) -> dict[str, int]:
    """How many notices lack their task, or their message; messages not listing a notice."""
    with rt.unit_of_work() as s:
        no_task = s.scalar(
            select(func.count())
            .select_from(Notice)
            .where(~select(Task.id).where(Task.id == Notice.task_id).exists())
        )
        no_message = s.scalar(
            select(func.count())
            .select_from(Notice)
            .where(
                Notice.message_id.is_not(None),
                ~select(OutboxMessage.id).where(OutboxMessage.id == Notice.message_id).exists(),
            )
        )
        listed = {
            m.id: set(m.payload.get("notice_ids", []))
            for m in s.scalars(select(OutboxMessage).where(OutboxMessage.kind != "digest"))
        }
        unlisted = 0
        for notice_id, message_id in s.execute(
            select(Notice.id, Notice.message_id).where(Notice.message_id.is_not(None))
        ):
            unlisted += notice_id not in listed.get(message_id, set())
        for message_id, notice_id in s.execute(select(message_notices)):
            unlisted += notice_id not in listed.get(message_id, set())
    return {"no_task": no_task or 0, "no_message": no_message or 0, "unlisted": unlisted}


def test_notices_keep_their_task_and_message_through_weeks_of_jobs(rt: Runtime) -> None:
    _random_histories(rt, seed=21)
    with rt.unit_of_work() as s:
        (copied,) = issue(
            s,
            rt.clock,
            number="77/TB-UBND",
            issued_on=date(2026, 11, 2),
            tasks=[("SXD", DeadlineSpec(on=date(2026, 11, 20)))],
        )
    day = date(2026, 11, 23)
    for _ in range(15):
        jobs.chase(rt, as_of=day)
        jobs.escalate(rt, as_of=day)
        day += timedelta(days=1)
    with rt.unit_of_work() as s:
        assert (
            s.scalar(select(func.count()).select_from(Notice).where(Notice.message_id.is_(None)))
            == 0
        )
        assert s.scalar(select(func.count()).select_from(Notice)) > 50
    assert dangling(rt) == {"no_task": 0, "no_message": 0, "unlisted": 0}
    assert copied


def test_an_assignment_copied_to_a_coordinator_is_carried_by_both_messages(rt: Runtime) -> None:
    from directives.services import intake
    from directives.services.mailing import MailSettings
    from tests.builders import OFFICE

    with rt.unit_of_work() as s:
        seed_registry(s)
        (directive,) = intake.issue_directives(
            s,
            [
                intake.NewDirective(
                    number="78/TB-UBND",
                    issued_on=date(2026, 11, 2),
                    kind=intake.DirectiveKind.CONCLUSION_NOTICE,
                    signer="PCT1",
                    summary="Kết luận về giải phóng mặt bằng",
                    tasks=(
                        intake.NewTask(
                            content="Giải phóng mặt bằng dự án đường ven biển",
                            lead_agency="SXD",
                            coordinating_agencies=("STC",),
                            deadline=DeadlineSpec(on=date(2026, 12, 1)),
                        ),
                    ),
                )
            ],
            actor=OFFICE,
            clock=rt.clock,
            mail=MailSettings.from_settings(rt.settings),
        )
        s.flush()
        task_id = directive.tasks[0].id
    with rt.unit_of_work() as s:
        (notice,) = s.scalars(select(Notice).where(Notice.task_id == task_id))
        copies = list(s.scalars(select(message_notices.c.message_id)))
        assert notice.message_id is not None
        assert len(copies) == 1
        assert copies[0] != notice.message_id
        kinds = {m.id: m.payload["to"][0]["email"] for m in s.scalars(select(OutboxMessage))}
        assert kinds[notice.message_id].endswith(".sxd@binhan.gov.vn")
        assert kinds[copies[0]].endswith(".stc@binhan.gov.vn")
    assert dangling(rt) == {"no_task": 0, "no_message": 0, "unlisted": 0}


def test_deleting_a_task_or_a_message_by_hand_leaves_no_dangling_notice(rt: Runtime) -> None:
    with rt.unit_of_work() as s:
        seed_registry(s)
        codes = issue(
            s,
            rt.clock,
            number="79/TB-UBND",
            issued_on=date(2026, 11, 2),
            tasks=[
                ("SXD", DeadlineSpec(on=date(2026, 11, 10))),
                ("STC", DeadlineSpec(on=date(2026, 11, 10))),
            ],
        )
    jobs.chase(rt, as_of=date(2026, 11, 26))
    with rt.unit_of_work() as s:
        first = s.scalar(select(Task.id).where(Task.code == codes[0]))
        assert s.scalar(select(func.count()).where(Notice.task_id == first)) == 2  # assigned, chase
        carrier = s.scalar(
            select(Notice.message_id).where(Notice.task_id != first, Notice.rule == "chase")
        )
        s.execute(text("DELETE FROM tasks WHERE id = :id"), {"id": first})
        s.execute(delete(DeliveryAttempt).where(DeliveryAttempt.message_id == carrier))
        s.execute(delete(OutboxMessage).where(OutboxMessage.id == carrier))
    with rt.unit_of_work() as s:
        assert s.scalar(select(func.count()).where(Notice.task_id == first)) == 0
        assert s.scalar(select(func.count()).where(Notice.message_id == carrier)) == 0
    assert dangling(rt)["no_task"] == dangling(rt)["no_message"] == 0


def test_the_migration_keeps_each_notices_first_message_and_its_copies(
    empty_url: str,  # noqa: F811
) -> None:
    engine = create_engine(empty_url)
    migrate.upgrade(engine, "0007")
    now = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    with engine.begin() as conn:
        # Only the rows this migration moves: the key checks are off for them (SQLite
        # checks none without the pragma; PostgreSQL skips its key triggers as a replica).
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            text(
                "INSERT INTO notices (id, rule, task_id, deadline_key, threshold, decided_on, "
                "created_at) VALUES (1, 'assigned', 1, '', 0, '2026-11-02', :now), "
                "(2, 'chase', 1, '2026-11-10', 1, '2026-11-11', :now)"
            ),
            {"now": now},
        )
        for message in (1, 2, 3):
            conn.execute(
                text(
                    "INSERT INTO outbox_messages (id, kind, message_id, subject, recipients, "
                    "delivered, refused, payload, status, attempts, next_attempt_at, created_at) "
                    "VALUES (:m, 'assigned', :mid, '', '[]', '[]', '{}', '{}', 'sent', 1, :now, "
                    ":now)"
                ),
                {"m": message, "mid": f"<{message}@x>", "now": now},
            )
        conn.execute(
            text(
                "INSERT INTO message_notices (message_id, notice_id) VALUES (2, 1), (1, 1), (3, 2)"
            )
        )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT id, message_id FROM notices ORDER BY id")).all()) == {
            1: 1,
            2: 3,
        }
        assert conn.execute(text("SELECT message_id, notice_id FROM message_notices")).all() == [
            (2, 1)
        ]
    engine.dispose()
