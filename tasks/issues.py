"""Scheduled issue-tracker jobs (times in TIMEZONE): the daily stats row and attachment retention."""

from __future__ import annotations

import datetime as dt
import logging

from models import db
from models.base import utcnow
from models.issues import expire_attachments, record_daily_stats
from models.settings import get_settings
from tasks import huey, local_crontab

log = logging.getLogger('labdesk.tasks.issues')


@huey.periodic_task(local_crontab(minute='*/30'))
def issue_stats() -> None:
    update_daily_stats(utcnow())


@huey.periodic_task(local_crontab(minute='0', hour='2'))
def attachment_retention() -> None:
    remove_expired_attachments(utcnow())


def update_daily_stats(now: dt.datetime) -> None:
    day = now.astimezone(get_settings().tz).date()
    with db.session() as s:
        row = record_daily_stats(s, day)
        log.info('issue stats for %s: %d issues, %d open', day, row.total, row.open)


def remove_expired_attachments(now: dt.datetime) -> int:
    """With ATTACHMENT_RETENTION_DAYS set, remove the files of issues done longer ago; else nothing."""
    settings = get_settings()
    if settings.attachment_retention_days is None:
        return 0
    with db.session() as s:
        paths = expire_attachments(s, settings.uploads_dir, now, settings.attachment_retention_days)
    for path in paths:  # only once the rows and their audit are committed
        path.unlink(missing_ok=True)
    log.info('attachment retention removed %d files', len(paths))
    return len(paths)
