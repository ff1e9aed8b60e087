"""hiccup search words

On MariaDB/MySQL, the hiccups' search moves from InnoDB's FULLTEXT index to a table of words
(`hiccups_words`: one row per word of a hiccup's reference, title and description, folded to lower
case without accents), filled here from the hiccups there are and kept by every write
(`models.search`). InnoDB's full-text search evaluated a whole search before its first row: a common
word's first page and count took 0.2 to 1 s at a million hiccups, and it skipped words under three
letters ('QC', 'K2') and its stopwords, which LIKE then searched by reading every row
(bench/README.md, session 18). Nothing on SQLite, whose FTS5 index stays.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 00:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

from models import search

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name in search.MYSQL:
        search.create_words_table(op, 'hiccups')
        op.execute(f'DROP INDEX {search.fulltext_index("hiccups")} ON hiccups')


def downgrade() -> None:
    if op.get_bind().dialect.name in search.MYSQL:
        columns = ', '.join(search.FULLTEXT['hiccups'])
        op.execute(f'CREATE FULLTEXT INDEX {search.fulltext_index("hiccups")} ON hiccups ({columns})')
        op.execute(f'DROP TABLE {search.words_table("hiccups")}')
