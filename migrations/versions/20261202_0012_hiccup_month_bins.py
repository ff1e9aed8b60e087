"""hiccup month bins: the summary's durations per month, by bins of hours

The dashboard's medians and p90s over whole months read how many durations fall in each bin of
hours (`hiccup_month_hours`, one row per month, department and confidentiality) and then the
durations of just the bins the quantiles fall in (`hiccup_month_bins`), instead of every duration of
the range: three years at a million hiccups are 16 MB of durations (bench/README.md, session 15).
The summary is emptied, and the summing task starts afresh (the cutoff is removed) to fill them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import MEDIUMBLOB

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BLOB = sa.LargeBinary().with_variant(MEDIUMBLOB(), 'mysql', 'mariadb')
CUTOFF_KEY = 'hiccups.summary.cutoff'
SUMMARY = ('hiccup_days', 'hiccup_months', 'hiccup_day_hours', 'hiccup_stale_days')


def upgrade() -> None:
    _forget_summary()
    key = [
        sa.Column('department_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('confidential', sa.Boolean(), autoincrement=False, nullable=False),
    ]
    op.create_table(
        'hiccup_month_hours',
        sa.Column('month', sa.Date(), nullable=False),
        *key,
        sa.Column('response_bins', sa.LargeBinary(), nullable=False),
        sa.Column('closure_bins', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('month', 'department_id', 'confidential', name=op.f('pk_hiccup_month_hours')),
    )
    op.create_table(
        'hiccup_month_bins',
        sa.Column('department_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('measure', sa.String(length=8), nullable=False),
        sa.Column('bin', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('confidential', sa.Boolean(), autoincrement=False, nullable=False),
        sa.Column('hours', BLOB, nullable=False),
        sa.PrimaryKeyConstraint(
            'department_id', 'measure', 'bin', 'month', 'confidential', name=op.f('pk_hiccup_month_bins')
        ),
    )


def downgrade() -> None:
    op.drop_table('hiccup_month_bins')
    op.drop_table('hiccup_month_hours')
    _forget_summary()


def _forget_summary() -> None:
    """The summary emptied: the summing task sums every day again."""
    for name in SUMMARY:
        op.execute(sa.table(name).delete())
    app_state = sa.table('app_state', sa.column('key'))
    op.execute(app_state.delete().where(app_state.c.key == CUTOFF_KEY))
