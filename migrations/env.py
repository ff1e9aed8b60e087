"""Alembic environment: the URL comes from Labdesk's settings (or the caller's connection)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

import models
from models import search
from models.base import Base
from models.settings import get_settings

config = context.config
target_metadata = Base.metadata
assert models  # every record type's tables are registered on Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=get_settings().db_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
        include_name=search.include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get('connection')
    if connection is not None:
        _run(connection)
        return
    section = {'sqlalchemy.url': get_settings().db_url}
    connectable = engine_from_config(section, prefix='sqlalchemy.', poolclass=pool.NullPool)
    with connectable.connect() as conn:
        _run(conn)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=search.include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
