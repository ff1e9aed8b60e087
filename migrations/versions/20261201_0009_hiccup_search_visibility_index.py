"""hiccup search visibility index

On SQLite a search's matches come from the FTS5 table as ids; a staff member's count then applies
the visibility rule to each match. With what that rule reads in an index by id, SQLite reads the
index instead of each match's row (bench/README.md, session 11: the staff count of a common word at
a million hiccups 45 → 14 ms). MariaDB's full-text search reads each match's row whatever the
indexes; there the index costs an insert a little and changes no list's plan (bench/README.md).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 'ix_hiccups_id_visibility'


def upgrade() -> None:
    # not in a batch: on SQLite a batch could copy the table, which drops the search triggers
    op.create_index(NAME, 'hiccups', ['id', 'department_id', 'confidential', 'raised_by_id'], unique=False)


def downgrade() -> None:
    op.drop_index(NAME, table_name='hiccups')
