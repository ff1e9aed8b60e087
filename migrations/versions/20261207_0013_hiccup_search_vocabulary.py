"""hiccup search vocabulary

On SQLite, the words of the hiccups' FTS5 index, readable by their start (an `fts5vocab` table: no
storage of its own, it reads the index). A search names the words that start like each searched word
instead of asking FTS5 for the prefix, which merges every such word's list before the first row
(`models.search._named`; bench/README.md, session 16: two common words at a million hiccups, the
page and count 81 → 29 ms). Nothing on MariaDB.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 19:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

from models import search

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        search.create_sqlite_vocabulary(op, 'hiccups')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        search.drop_sqlite_vocabulary(op, 'hiccups')
