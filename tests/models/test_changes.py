"""Change markers, and reads shared between identical open lists until something changes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, wait

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


def _waiting_read(compute, pool: ThreadPoolExecutor):
    def read():
        with db.session() as s:
            return changes.shared(s, 'dashboard', compute)

    return pool.submit(read)


def test_a_read_arriving_while_an_identical_one_runs_waits_for_its_result(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changes, 'SHARED_SECONDS', 0.0)  # the waiting reader takes it however long it took
    calls: list[str] = []
    running, release = threading.Event(), threading.Event()

    def slow() -> str:
        calls.append('first')
        running.set()
        release.wait(10)
        return 'first result'

    with ThreadPoolExecutor(2) as pool:
        first = _waiting_read(slow, pool)
        assert running.wait(10)
        second = _waiting_read(lambda: calls.append('second') or 'second result', pool)
        done, _ = wait([second], timeout=0.5)
        assert not done  # it waits for the read under way instead of reading the same rows again
        release.set()
        assert first.result(10) == second.result(10) == 'first result'
    assert calls == ['first']


def test_when_the_read_under_way_fails_the_waiting_one_reads_itself(database: str) -> None:
    running, release = threading.Event(), threading.Event()

    def failing() -> str:
        running.set()
        release.wait(10)
        raise RuntimeError('connection lost')

    with ThreadPoolExecutor(2) as pool:
        first = _waiting_read(failing, pool)
        assert running.wait(10)
        second = _waiting_read(lambda: 'second result', pool)
        wait([second], timeout=0.5)
        release.set()
        with pytest.raises(RuntimeError, match='connection lost'):
            first.result(10)
        assert second.result(10) == 'second result'
