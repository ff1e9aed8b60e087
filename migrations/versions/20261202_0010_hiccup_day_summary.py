"""hiccup day summary

The settled hiccups of each past day, summed once for the dashboard of long ranges
(models/hiccups/summary.py): counts per day, department and category, durations per day and
department, and the days a change has made stale. Filled by the `summarize_hiccup_days` task.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import MEDIUMBLOB

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BLOB = sa.LargeBinary().with_variant(MEDIUMBLOB(), 'mysql', 'mariadb')


def upgrade() -> None:
    op.create_table(
        'hiccup_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('department_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('category_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('hiccups', sa.Integer(), nullable=False),
        sa.Column('response_met', sa.Integer(), nullable=False),
        sa.Column('response_missed', sa.Integer(), nullable=False),
        sa.Column('closure_met', sa.Integer(), nullable=False),
        sa.Column('closure_missed', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'department_id', 'category_id', name=op.f('pk_hiccup_days')),
    )
    op.create_table(
        'hiccup_day_hours',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('department_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('response_hours', BLOB, nullable=False),
        sa.Column('closure_hours', BLOB, nullable=False),
        sa.PrimaryKeyConstraint('day', 'department_id', name=op.f('pk_hiccup_day_hours')),
    )
    op.create_table(
        'hiccup_stale_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_hiccup_stale_days')),
    )


def downgrade() -> None:
    op.drop_table('hiccup_stale_days')
    op.drop_table('hiccup_day_hours')
    op.drop_table('hiccup_days')
