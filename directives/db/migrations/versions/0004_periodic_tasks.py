"""periodic tasks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 19:45:12.833895
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX: on SQLite a batch rebuild of `tasks` would drop the
    # old table, and with foreign keys on that cascades to every task's events.
    op.add_column('tasks', sa.Column('recurrence', sa.String(length=30), nullable=True))
    op.add_column('tasks', sa.Column('series_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
    op.add_column('tasks', sa.Column('period', sa.String(length=10), nullable=True))
    op.create_index('uq_tasks_series_period', 'tasks', ['series_id', 'period'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_tasks_series_period', table_name='tasks')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('period')
        batch_op.drop_column('series_id')
        batch_op.drop_column('recurrence')
