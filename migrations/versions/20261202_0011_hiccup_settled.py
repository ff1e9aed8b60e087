"""hiccup settled, and the day summary by confidentiality

Whether a hiccup is settled (responded to, closed, in a final state), computed by the database on
each read (a virtual column, nothing stored in the rows), with an index by it and the date that holds
what the dashboard reads (on SQLite, of the unsettled hiccups only: a partial index). The
dashboard reads the settled hiccups of past days from its day summary and counts the others from the
hiccups; at a million hiccups over three years they are 14,000, which without this index were found
by walking the whole range's index (bench/README.md, session 14).

The day summary's rows gain confidentiality in their key, so that readers who see their department's
hiccups but not its confidential ones can use it, and its counts are summed per month too
(`hiccup_months`), for the monthly buckets of long ranges. Its tables are made again empty, and the
summing task starts afresh (the cutoff is removed).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import MEDIUMBLOB

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTLED = "closed_at IS NOT NULL AND responded_at IS NOT NULL AND status IN ('closed', 'escalated', 'followed_up')"
NAME = 'ix_hiccups_unsettled'
COLUMNS = [
    'settled',
    'occurred_at',
    'department_id',
    'category_id',
    'status',
    'confidential',
    'raised_by_id',
    'created_at',
    'responded_at',
    'closed_at',
    'response_due_at',
    'closure_due_at',
]
BLOB = sa.LargeBinary().with_variant(MEDIUMBLOB(), 'mysql', 'mariadb')
COUNTS = ('hiccups', 'response_met', 'response_missed', 'closure_met', 'closure_missed')
CUTOFF_KEY = 'hiccups.summary.cutoff'


def upgrade() -> None:
    # not in a batch: on SQLite a batch could copy the table, which drops the search triggers. SQLite adds
    # a virtual column in place (a stored one it cannot add); InnoDB adds it without copying the table.
    op.add_column('hiccups', sa.Column('settled', sa.Boolean(), sa.Computed(SETTLED), nullable=True))
    op.create_index(NAME, 'hiccups', COLUMNS, unique=False, sqlite_where=sa.text('settled = 0'))
    _summary_tables(confidential=True)


def downgrade() -> None:
    _summary_tables(confidential=False)
    op.drop_index(NAME, table_name='hiccups')
    op.drop_column('hiccups', 'settled')  # SQLite drops a column in place since 3.35


def _summary_tables(*, confidential: bool) -> None:
    """The summary's tables made again, empty, with or without confidentiality in their key (and the
    month rows, which came with it)."""
    op.drop_table('hiccup_days')
    op.drop_table('hiccup_day_hours')
    op.execute(sa.table('hiccup_stale_days').delete())
    app_state = sa.table('app_state', sa.column('key'))
    op.execute(app_state.delete().where(app_state.c.key == CUTOFF_KEY))
    keys = ['confidential'] if confidential else []

    def secret() -> list[sa.Column]:
        return [sa.Column('confidential', sa.Boolean(), autoincrement=False, nullable=False)] if confidential else []

    _counts_table('hiccup_days', 'day', secret(), keys)
    if confidential:
        _counts_table('hiccup_months', 'month', secret(), keys)
    else:
        op.drop_table('hiccup_months')
    op.create_table(
        'hiccup_day_hours',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('department_id', sa.Integer(), autoincrement=False, nullable=False),
        *secret(),
        sa.Column('response_hours', BLOB, nullable=False),
        sa.Column('closure_hours', BLOB, nullable=False),
        sa.PrimaryKeyConstraint('day', 'department_id', *keys, name=op.f('pk_hiccup_day_hours')),
    )


def _counts_table(name: str, period: str, secret: list[sa.Column], keys: list[str]) -> None:
    op.create_table(
        name,
        sa.Column(period, sa.Date(), nullable=False),
        sa.Column('department_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('category_id', sa.Integer(), autoincrement=False, nullable=False),
        *secret,
        *(sa.Column(count, sa.Integer(), nullable=False) for count in COUNTS),
        sa.PrimaryKeyConstraint(period, 'department_id', 'category_id', *keys, name=op.f(f'pk_{name}')),
    )
