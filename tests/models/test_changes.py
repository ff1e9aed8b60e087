"""Change markers, and reads shared between identical open lists until something changes."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from models import changes, db


def _read(key: str, calls: list[int]) -> int:
    with db.session() as s:
        return changes.shared(s, key, lambda: calls.append(len(calls) + 1) or len(calls))


def test_identical_reads_share_one_result_until_a_change_is_marked(database: str) -> None:
    calls: list[int] = []
    assert _read('list', calls) == 1
    assert _read('list', calls) == 1  # the second reader got the first one's result
    with db.session() as s:
        changes.mark(s, 'departments', 1)
    assert _read('list', calls) == 2  # a change since: read again
    assert _read('another list', calls) == 3  # a different read is never shared


def test_a_shared_result_is_served_for_a_short_time_only(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    assert _read('list', calls) == 1
    monkeypatch.setattr(changes, 'SHARED_SECONDS', 0.0)  # e.g. a write that left no marker
    assert _read('list', calls) == 2


def test_a_result_read_from_another_database_is_never_served(database: str, tmp_path) -> None:
    calls: list[int] = []
    assert _read('list', calls) == 1
    db.configure(f'sqlite:///{tmp_path / "other.db"}')
    from models import migrate

    migrate.upgrade()
    assert _read('list', calls) == 2


def _read_in(pool: ThreadPoolExecutor, compute) -> Future:
    def read():
        with db.session() as s:
            return changes.shared(s, 'dashboard', compute)

    return pool.submit(read)


class _Watched(threading.Event):
    """The event of a read under way, telling when another reader waits on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waited_on = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waited_on.set()
        return super().wait(timeout)


def _first_read_under_way(pool: ThreadPoolExecutor, compute) -> tuple[Future, _Watched]:
    """Start a read whose `compute` blocks; return it and its event, once it is under way."""
    future = _read_in(pool, compute)
    for _ in range(1000):
        if changes._running:
            break
        time.sleep(0.01)
    (read,) = changes._running.values()
    read.done = watched = _Watched()  # not set yet: the read is blocked in `compute`
    return future, watched


def test_a_read_arriving_while_an_identical_one_runs_waits_for_its_result(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changes, 'SHARED_SECONDS', 0.0)  # the waiting reader takes it however long it took
    calls: list[str] = []
    release = threading.Event()

    def slow() -> str:
        calls.append('first')
        release.wait(10)
        return 'first result'

    with ThreadPoolExecutor(2) as pool:
        first, watched = _first_read_under_way(pool, slow)
        second = _read_in(pool, lambda: calls.append('second') or 'second result')
        assert watched.waited_on.wait(10)  # it waits for the read under way instead of reading the same rows
        release.set()
        assert first.result(10) == second.result(10) == 'first result'
    assert calls == ['first']


def test_a_reader_waiting_for_a_read_that_fails_gets_its_error(database: str) -> None:
    calls: list[str] = []
    release = threading.Event()

    def failing() -> str:
        release.wait(10)
        raise RuntimeError('connection lost')

    with ThreadPoolExecutor(2) as pool:
        first, watched = _first_read_under_way(pool, failing)
        second = _read_in(pool, lambda: calls.append('second') or 'second result')
        assert watched.waited_on.wait(10)
        release.set()
        for future in (first, second):
            with pytest.raises(RuntimeError, match='connection lost'):
                future.result(10)
    assert calls == []  # not one more read of a query that just failed, one waiter after another
    with db.session() as s:
        assert changes.shared(s, 'dashboard', lambda: 'read again') == 'read again'  # nothing kept of it


def test_a_reader_stops_waiting_for_a_read_that_hangs(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(changes, 'WAIT_SECONDS', 0.1)
    release = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        first, _ = _first_read_under_way(pool, lambda: release.wait(10) and 'first result')
        assert _read_in(pool, lambda: 'its own result').result(10) == 'its own result'
        release.set()
        assert first.result(10) == 'first result'
