"""The one Huey instance and the periodic housekeeping tasks.

In the embedded default the consumer runs as threads inside the app process
(`start_embedded`); in production `huey_consumer tasks.huey -w 2 -k thread` runs it as its
own process. Tasks are thin: they call functions in `models` or `reports`.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from huey import SqliteHuey, crontab
from huey.consumer import Consumer

from models import appstate, changes, db
from models.base import utcnow
from models.settings import get_settings

log = logging.getLogger('labdesk.tasks')
HEARTBEAT_KEY = 'tasks.heartbeat'


def _make_huey() -> SqliteHuey:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not db.is_configured():
        db.configure(settings.db_url)
    return SqliteHuey('labdesk', filename=str(settings.data_dir / 'huey.db'), utc=True)


huey = _make_huey()


def local_crontab(**schedule: str | int) -> Callable[[dt.datetime], bool]:
    """A crontab written in local time (TIMEZONE); Huey itself matches in UTC."""
    match_local = crontab(**schedule)
    tz = get_settings().tz

    def validate(utc_naive: dt.datetime) -> bool:
        return match_local(utc_naive.replace(tzinfo=dt.UTC).astimezone(tz).replace(tzinfo=None))

    return validate


@huey.periodic_task(crontab(minute='*'))
def heartbeat() -> None:
    """Proves the consumer and its scheduler are alive; /healthz shows the time."""
    with db.session() as s:
        appstate.put(s, HEARTBEAT_KEY, utcnow().isoformat())


@huey.periodic_task(local_crontab(minute='15', hour='3'))
def prune_change_markers() -> None:
    with db.session() as s:
        removed = changes.prune(s)
    log.info('pruned %d live-update markers', removed)


@huey.periodic_task(local_crontab(minute='45', hour='3'))
def refresh_statistics() -> None:
    """SQLite's query planner statistics, renewed at night (`models.db.refresh_statistics`)."""
    started = time.monotonic()
    if db.refresh_statistics():
        log.info('renewed the query planner statistics in %.1f s', time.monotonic() - started)


@huey.periodic_task(crontab(minute='7'))
def prune_exports() -> None:
    """Downloads are written under DATA_DIR/exports; an hour is plenty to fetch one."""
    removed = remove_older_than(get_settings().data_dir / 'exports', dt.timedelta(hours=1))
    log.info('removed %d old export folders', removed)


def remove_older_than(folder: Path, age: dt.timedelta) -> int:
    if not folder.is_dir():
        return 0
    cutoff = time.time() - age.total_seconds()
    old = [d for d in folder.iterdir() if d.stat().st_mtime < cutoff]
    for d in old:
        shutil.rmtree(d, ignore_errors=True)
    return len(old)


def last_heartbeat() -> dt.datetime | None:
    with db.session() as s:
        row = appstate.get(s, HEARTBEAT_KEY)
    return dt.datetime.fromisoformat(row.value) if row else None


def pending() -> int:
    return huey.pending_count()


class _EmbeddedConsumer(Consumer):
    """Runs inside the app: leaves SIGINT/SIGTERM to uvicorn so Ctrl-C still stops the app."""

    def _set_signal_handlers(self) -> None:
        pass


_consumer: Consumer | None = None


def start_embedded() -> None:
    global _consumer
    if _consumer is None and not huey.immediate:
        # flush_locks: a task lock left by a process killed mid-task (`lock_task`) would hold that task off for good
        _consumer = _EmbeddedConsumer(
            huey, workers=2, worker_type='thread', check_worker_health=False, flush_locks=True
        )
        _consumer.start()
        heartbeat()  # a first beat now rather than at the next whole minute


def stop_embedded() -> None:
    global _consumer
    if _consumer is not None:
        _consumer.stop(graceful=True)
        _consumer = None


from tasks import hiccups, issues, notify  # noqa: E402,F401  registers the schedules and the outbox tasks
