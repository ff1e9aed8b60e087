"""hiccup indexes and search

Covering indexes for the dashboard and the list, and full-text search on the hiccups'
reference, title and description (models/search.py): an FTS5 table kept in sync by triggers
on SQLite, a FULLTEXT index on MariaDB/MySQL. Existing hiccups are indexed here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 12:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

from models import search

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DASHBOARD_COLUMNS = [
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


def upgrade() -> None:
    with op.batch_alter_table('hiccups', schema=None) as batch_op:
        batch_op.create_index(
            'ix_hiccups_dashboard', ['occurred_at', 'department_id', *DASHBOARD_COLUMNS], unique=False
        )
        batch_op.create_index(
            'ix_hiccups_dashboard_department', ['department_id', 'occurred_at', *DASHBOARD_COLUMNS], unique=False
        )
        batch_op.create_index(
            'ix_hiccups_created_visibility',
            ['created_at', 'department_id', 'confidential', 'raised_by_id'],
            unique=False,
        )
        batch_op.create_index('ix_hiccups_title', ['title'], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        search.create_sqlite_objects(op, 'hiccups', rebuild=True)
    elif dialect in ('mysql', 'mariadb'):
        columns = ', '.join(search.FULLTEXT['hiccups'])
        op.execute(f'CREATE FULLTEXT INDEX {search.fulltext_index("hiccups")} ON hiccups ({columns})')


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        search.drop_sqlite_objects(op, 'hiccups')
    elif dialect in ('mysql', 'mariadb'):
        op.execute(f'DROP INDEX {search.fulltext_index("hiccups")} ON hiccups')
    with op.batch_alter_table('hiccups', schema=None) as batch_op:
        batch_op.drop_index('ix_hiccups_title')
        batch_op.drop_index('ix_hiccups_created_visibility')
        batch_op.drop_index('ix_hiccups_dashboard_department')
        batch_op.drop_index('ix_hiccups_dashboard')
