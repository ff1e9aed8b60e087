"""Shared fixtures: a migrated database per test on SQLite, and on MariaDB when TEST_MYSQL_URL is set."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from nicegui import app as nicegui_app
from nicegui.app.app import State
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from models import db, migrate, permissions
from models.accounts import Actor, Role, User, hash_password
from models.base import Base
from models.settings import reload_settings

MYSQL_URL = os.environ.get('TEST_MYSQL_URL', '')
BACKENDS = ['sqlite', 'mysql'] if MYSQL_URL else ['sqlite']


def _fresh_mysql(url: str) -> str:
    """Create (or empty) the test database named in `url`."""
    parsed = make_url(url)
    server = create_engine(parsed.set(database=''))
    with server.begin() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS `{parsed.database}`'))
        conn.execute(text(f'CREATE DATABASE `{parsed.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci'))
    server.dispose()
    return url


@pytest.fixture(autouse=True)
def _nicegui_stopped() -> None:
    """One failing page test stays one failure.

    NiceGUI's lifespan runs its shutdown only when a test ends cleanly; after a `user` test fails in
    teardown (e.g. on an ERROR log) the app stays "started" and every later `user` fixture refuses to
    start ("Unable to register another startup handler"), hiding the one real failure under dozens.
    """
    if nicegui_app.is_started:
        nicegui_app._state = State.STOPPED  # the harness has no public reset for it
    live = sys.modules.get('pages.live')  # not re-imported per test: its subscriptions would pile up,
    if live is not None:  # and live reloads space themselves by how many pages are subscribed
        live.changed.callbacks.clear()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv('DATA_DIR', str(tmp_path / 'data'))
    monkeypatch.setenv('EMBEDDED_WORKER', 'false')
    monkeypatch.setenv('SECRET_KEY', 'test-secret-key-0123456789')
    monkeypatch.setenv('ADMIN_EMAIL', 'admin@lab.test')
    monkeypatch.setenv('ADMIN_PASSWORD', 'admin-pass-123')
    monkeypatch.delenv('DATABASE_URL', raising=False)
    (tmp_path / 'data').mkdir()
    return tmp_path / 'data'


@pytest.fixture
def database(data_dir: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated, seeded, empty database; yields its URL."""
    if backend == 'mysql':
        monkeypatch.setenv('DATABASE_URL', _fresh_mysql(MYSQL_URL))
    settings = reload_settings()
    permissions.invalidate()
    db.configure(settings.db_url)
    migrate.upgrade()
    migrate.seed_roles()
    yield settings.db_url
    db.engine().dispose()


@functools.cache
def _hashed(password: str) -> str:
    """Argon2 is slow on purpose; tests reuse a few passwords, so hash each once."""
    return hash_password(password)


def make_user(email: str, *roles: str, department_id: int | None = None, password: str = 'pass-word-1') -> Actor:
    """A saved user with `roles`; returns it as an Actor."""
    with db.session() as s:
        role_rows = [r for r in s.query(Role).all() if r.name in roles]
        user = User(
            email=email,
            name=email.split('@', maxsplit=1)[0].title(),
            password_hash=_hashed(password),
            department_id=department_id,
            roles=role_rows,
        )
        s.add(user)
        s.flush()
        return Actor.of(user)


@contextlib.contextmanager
def statements(thread: threading.Thread | None = None) -> Iterator[list[str]]:
    """The SQL statements sent to the database inside the block, in order; with `thread`, only those
    sent from it (`threading.main_thread()`: the event loop's thread in page tests)."""
    seen: list[str] = []

    def listener(_conn, _cursor, statement: str, *_rest) -> None:
        if thread is None or threading.current_thread() is thread:
            seen.append(statement)

    event.listen(db.engine(), 'before_cursor_execute', listener)
    try:
        yield seen
    finally:
        event.remove(db.engine(), 'before_cursor_execute', listener)


@pytest.fixture
def admin(database: str) -> Actor:
    return make_user('boss@lab.test', 'admin')


assert Base  # tables registered
