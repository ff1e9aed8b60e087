"""The task queue: crontabs in local time, the heartbeat, and the embedded consumer."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import text

import tasks
from models import db
from models.settings import reload_settings


def test_local_crontab_matches_local_time_not_utc(monkeypatch):
    monkeypatch.setenv('TIMEZONE', 'Asia/Kolkata')
    reload_settings()
    at_eleven = tasks.local_crontab(minute='0', hour='11')
    assert at_eleven(dt.datetime(2026, 11, 22, 5, 30))  # 05:30 UTC is 11:00 in Kolkata
    assert not at_eleven(dt.datetime(2026, 11, 22, 11, 0))


def test_the_heartbeat_is_recorded_for_the_health_check(database):
    tasks.huey.immediate = True
    try:
        tasks.heartbeat.call_local()
    finally:
        tasks.huey.immediate = False
    beat = tasks.last_heartbeat()
    assert beat is not None
    assert (dt.datetime.now(dt.UTC) - beat).total_seconds() < 60


def test_sqlite_gets_its_query_planner_statistics_at_start_and_at_night(database, backend):
    if backend != 'sqlite':
        tasks.refresh_statistics.call_local()
        assert db.refresh_statistics(missing_only=True) is db.refresh_statistics() is False  # MariaDB keeps its own
        return
    assert db.refresh_statistics(missing_only=True) is True  # a database never analysed: the app's start does it
    assert db.refresh_statistics(missing_only=True) is False  # once
    with db.session() as s:
        s.execute(text('DELETE FROM sqlite_stat1'))
    tasks.refresh_statistics.call_local()
    with db.session() as s:
        analysed = set(s.scalars(text('SELECT DISTINCT tbl FROM sqlite_stat1')))
    assert 'roles' in analysed  # a seeded table; the planner of each new connection reads its row counts


def test_the_embedded_consumer_runs_tasks_and_stops_cleanly(database):
    before = tasks.last_heartbeat()
    tasks.start_embedded()
    try:
        for _ in range(100):
            if tasks.last_heartbeat() not in (None, before):
                break
            time.sleep(0.1)
    finally:
        tasks.stop_embedded()
    assert tasks.last_heartbeat() not in (None, before)
    assert tasks._consumer is None


def test_old_export_folders_are_removed_and_new_ones_kept(tmp_path):
    import os

    old, new = tmp_path / 'old', tmp_path / 'new'
    old.mkdir()
    new.mkdir()
    (old / 'a.xlsx').write_bytes(b'x')
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert tasks.remove_older_than(tmp_path, dt.timedelta(hours=1)) == 1
    assert not old.exists() and new.exists()


def test_a_task_lock_left_by_a_killed_run_is_cleared_when_the_consumer_starts(database):
    from tasks import hiccups as jobs

    lock = tasks.huey.lock_task('summarize-hiccup-days')
    lock.acquire()  # held by a run that never finished
    try:
        tasks.start_embedded()
        tasks.stop_embedded()
        assert not lock.is_locked()
        assert jobs.summarize_days.call_local() is None  # runs rather than refusing the lock
    finally:
        lock.release()  # the queue's file outlives the test
