"""hiccup list indexes

The status, default-order and title indexes of the hiccups carry the id and what staff
visibility reads (department, confidential, raised by), so a list page takes its ids from the
index alone and reads only the page's rows (bench/README.md: a staff member's title sort on
MariaDB at a million hiccups 474 to 541 → 8 ms, their "open" count 239 to 285 → 4 ms, page 200 89 → 15 ms).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 00:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VISIBILITY = ['department_id', 'confidential', 'raised_by_id']
NEW = {
    'ix_hiccups_status_created': ['status', 'created_at', 'id', *VISIBILITY],
    'ix_hiccups_created_visibility': ['created_at', 'id', *VISIBILITY],
    'ix_hiccups_title': ['title', 'id', *VISIBILITY],
}
OLD = {
    'ix_hiccups_status_created': ['status', 'created_at'],
    'ix_hiccups_created_visibility': ['created_at', *VISIBILITY],
    'ix_hiccups_title': ['title'],
}


def _replace(indexes: dict[str, list[str]]) -> None:
    # not in a batch: on SQLite a batch could copy the table, which drops the search triggers
    for name, columns in indexes.items():
        op.drop_index(name, table_name='hiccups')
        op.create_index(name, 'hiccups', columns, unique=False)


def upgrade() -> None:
    _replace(NEW)


def downgrade() -> None:
    _replace(OLD)
