"""an index on tasks.confirmed_on, for the decision's scan of the open tasks

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 07:00:00

The scheduled jobs decide over the tasks open on a day, which (as of any day) have no
confirmation yet or one after that day: ``confirmed_on IS NULL OR confirmed_on > :day``. A
national register holds a million tasks of which nine in ten were confirmed long ago. With
this index SQLite reads the open ones through a multi-index OR instead of scanning the table
(0.41 s -> 0.19 s for that step at national scale), and PostgreSQL through a bitmap OR.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tasks_confirmed_on", "tasks", ["confirmed_on"])


def downgrade() -> None:
    op.drop_index("ix_tasks_confirmed_on", table_name="tasks")
