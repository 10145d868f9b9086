"""notices carry their message's id; no row-by-row key checks on notices

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 00:30:00

A notice now names the message that carries it (``notices.message_id``); ``message_notices``
keeps only the further messages carrying a notice (an assignment's copies to coordinating
agencies). The foreign key from notices to tasks goes, and the unique key leads with the task
so that it also serves a task's timeline (its separate index goes too): on PostgreSQL a key is
checked row by row, and a first chase over a large register spent most of its time there. In
their place, triggers keep the references whole if a task or a message is ever deleted. On
PostgreSQL, message payloads are compressed with lz4 where the server has it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

PG_TRIGGERS = [
    """
    CREATE FUNCTION notices_follow_task() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM notices WHERE task_id = OLD.id;
        RETURN OLD;
    END $$
    """,
    "CREATE TRIGGER tasks_delete_notices AFTER DELETE ON tasks "
    "FOR EACH ROW EXECUTE FUNCTION notices_follow_task()",
    """
    CREATE FUNCTION notices_follow_message() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE notices SET message_id = NULL WHERE message_id = OLD.id;
        RETURN OLD;
    END $$
    """,
    "CREATE TRIGGER outbox_messages_delete_notices AFTER DELETE ON outbox_messages "
    "FOR EACH ROW EXECUTE FUNCTION notices_follow_message()",
]
SQLITE_TRIGGERS = [
    "CREATE TRIGGER tasks_delete_notices AFTER DELETE ON tasks "
    "BEGIN DELETE FROM notices WHERE task_id = OLD.id; END",
    "CREATE TRIGGER outbox_messages_delete_notices AFTER DELETE ON outbox_messages "
    "BEGIN UPDATE notices SET message_id = NULL WHERE message_id = OLD.id; END",
]


def upgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_id", BIG, nullable=True))
        batch_op.drop_constraint("fk_notices_task_id_tasks", type_="foreignkey")
        batch_op.drop_index("ix_notices_task_id")
        batch_op.drop_constraint("uq_notices_key", type_="unique")
        batch_op.create_unique_constraint(
            "uq_notices_key", ["task_id", "rule", "deadline_key", "threshold"]
        )
    # Each notice's first carrier becomes its own; the others stay listed as copies.
    op.execute(
        "UPDATE notices SET message_id = (SELECT min(mn.message_id) FROM message_notices mn "
        "WHERE mn.notice_id = notices.id)"
    )
    op.execute(
        "DELETE FROM message_notices WHERE message_id = "
        "(SELECT n.message_id FROM notices n WHERE n.id = message_notices.notice_id)"
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in PG_TRIGGERS if postgres else SQLITE_TRIGGERS:
        op.execute(statement)
    if postgres:
        # A first chase writes tens of megabytes of payload: lz4 compresses it three times
        # faster than the default pglz. A server built without lz4 keeps pglz.
        op.execute(
            "DO $$ BEGIN "
            "ALTER TABLE outbox_messages ALTER COLUMN payload SET COMPRESSION lz4; "
            "EXCEPTION WHEN OTHERS THEN NULL; END $$"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER outbox_messages_delete_notices ON outbox_messages")
        op.execute("DROP TRIGGER tasks_delete_notices ON tasks")
        op.execute("DROP FUNCTION notices_follow_message()")
        op.execute("DROP FUNCTION notices_follow_task()")
    else:
        op.execute("DROP TRIGGER outbox_messages_delete_notices")
        op.execute("DROP TRIGGER tasks_delete_notices")
    op.execute(
        "INSERT INTO message_notices (message_id, notice_id) "
        "SELECT message_id, id FROM notices WHERE message_id IS NOT NULL"
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notices_key", type_="unique")
        batch_op.create_unique_constraint(
            "uq_notices_key", ["rule", "task_id", "deadline_key", "threshold"]
        )
        batch_op.create_index("ix_notices_task_id", ["task_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_notices_task_id_tasks", "tasks", ["task_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.drop_column("message_id")
