"""Alembic owns the schema: the migrations build exactly what the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import db, search
from models.base import Base


def test_migrations_match_the_models(database: str) -> None:
    with db.engine().connect() as conn:
        opts = {'compare_type': True, 'render_as_batch': True, 'include_name': search.include_name}
        context = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
