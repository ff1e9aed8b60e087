"""Change markers, and reads shared between identical open lists until something changes."""

from __future__ import annotations

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
