"""The database binding: a busy app reuses its server connections instead of opening new ones."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, text

from models import db


def _busy_round(workers: int) -> None:
    """`workers` threads each holding a session with a query in it, all at the same time."""
    together = threading.Barrier(workers)

    def work() -> None:
        with db.session() as s:
            s.execute(text('SELECT 1'))
            together.wait(timeout=30)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_a_server_database_keeps_a_busy_apps_connections_open_for_the_next_requests(database: str) -> None:
    if database.startswith('sqlite'):
        pytest.skip('SQLite opens a file, not a server connection')
    opened: list[object] = []
    event.listen(db.engine(), 'connect', lambda connection, _record: opened.append(connection))
    _busy_round(12)  # as many threads as the app's workers may read at once
    first = len(opened)
    _busy_round(12)
    assert len(opened) == first  # the second round found every connection it needed open
