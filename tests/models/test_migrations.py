"""Alembic owns the schema: the migrations build exactly what the models declare."""

from __future__ import annotations

import re

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from models import db, migrate, search
from models.base import Base
from models.hiccups.tables import SETTLED_SQL


def test_migrations_match_the_models(database: str) -> None:
    with db.engine().connect() as conn:
        opts = {'compare_type': True, 'render_as_batch': True, 'include_name': search.include_name}
        context = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_every_migration_downgrades_and_upgrades_again(database: str) -> None:
    config = migrate.alembic_config()
    command.downgrade(config, 'base')
    with db.engine().connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {'alembic_version'}
    migrate.upgrade()
    test_migrations_match_the_models(database)


def test_the_settled_column_is_computed_as_the_model_says(database: str) -> None:
    """Alembic does not compare a computed column's expression: the migrated `hiccups.settled` must be
    the model's `SETTLED_SQL`, which the dashboard's reads of the hiccups rely on (summary.SETTLED)."""
    with db.engine().connect() as conn:
        column = next(c for c in inspect(conn).get_columns('hiccups') if c['name'] == 'settled')

    def plain(sql: str) -> str:
        return re.sub(r'[\s`"()]', '', sql).lower()

    assert plain(column['computed']['sqltext']) == plain(SETTLED_SQL)
