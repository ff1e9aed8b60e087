"""The database engine and sessions; configured once per process by `configure`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None
_generation = 0
POOL_SIZE = 20  # connections a server database keeps open (as many again may be opened beyond it)
STATISTICS_PICKUP_SECONDS = 3600


def configure(url: str, **kwargs: Any) -> Engine:
    """(Re)bind the process to the database at `url`."""
    global _engine, _sessionmaker, _generation
    _generation += 1
    if _engine is not None:
        _engine.dispose()
    if url.startswith('sqlite'):
        kwargs.setdefault('connect_args', {'check_same_thread': False, 'timeout': 30})
        # a connection reads the planner's statistics when it opens: renewed hourly, it takes up the
        # statistics `refresh_statistics` writes (in this process or in the task consumer's)
        kwargs.setdefault('pool_recycle', STATISTICS_PICKUP_SECONDS)
    else:
        kwargs.setdefault('pool_pre_ping', True)
        kwargs.setdefault('pool_recycle', 3600)
        # Kept open for reuse: a new connection costs a TCP and login handshake, and PyMySQL builds a TLS
        # context for it (50 ms of CPU on the bench machine). With SQLAlchemy's default of 5, a busy app,
        # whose worker threads each hold one while they read, opened and closed one every few requests.
        kwargs.setdefault('pool_size', POOL_SIZE)
        kwargs.setdefault('max_overflow', POOL_SIZE)
    _engine = create_engine(url, **kwargs)
    if url.startswith('sqlite'):
        event.listen(_engine, 'connect', _sqlite_pragmas)
    elif url.startswith(('mysql', 'mariadb')):
        event.listen(_engine, 'connect', _mysql_session)
    _sessionmaker = sessionmaker(_engine, expire_on_commit=False)
    return _engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.execute('PRAGMA synchronous=NORMAL')
    cursor.close()


def refresh_statistics(missing_only: bool = False) -> bool:
    """SQLite: renew the query planner's statistics (`ANALYZE`), or with `missing_only` make them
    if the database has none yet (the app's start); True if it ran.

    SQLite chooses between indexes by the row counts `ANALYZE` leaves in ``sqlite_stat1`` and
    gathers none by itself: without them a staff member's list at a million hiccups reads every row
    of their department and sorts them, where with them it walks one covering index and reads only
    the page (tests/hiccups/test_list_plans.py). A full `ANALYZE` reads every index (4-20 s at a
    million hiccups) and holds off writers meanwhile (they wait, up to the 30 s timeout), so it runs
    at night (`tasks.refresh_statistics`), and at the app's start if there are none. MariaDB keeps its
    statistics up to date itself."""
    if engine().dialect.name != 'sqlite':
        return False
    with engine().begin() as conn:
        if missing_only and conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
            return False
        conn.exec_driver_sql('ANALYZE')
    return True


def _mysql_session(dbapi_connection: Any, _record: Any) -> None:
    """MariaDB answers a staff member's list (`raised_by_id = me OR department_id = mine AND NOT
    confidential ORDER BY created_at DESC LIMIT 25`) with an index-merge union of every visible row
    and a sort: 3 s at a million hiccups, where walking the created_at index takes milliseconds
    (bench/README.md). Both switches exist in MySQL 8 too."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET SESSION optimizer_switch='index_merge_union=off,index_merge_sort_union=off'")
    cursor.close()


def generation() -> int:
    """Changes whenever the process is bound to a database anew (what was read from the last one is stale)."""
    return _generation


def is_configured() -> bool:
    return _engine is not None


def engine() -> Engine:
    if _engine is None:
        raise RuntimeError('models.db.configure(url) has not been called')
    return _engine


@contextmanager
def session() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    if _sessionmaker is None:
        raise RuntimeError('models.db.configure(url) has not been called')
    with _sessionmaker() as s, s.begin():
        yield s
