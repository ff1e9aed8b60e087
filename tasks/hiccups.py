"""Scheduled hiccup jobs (times in TIMEZONE). Each is a thin call into reports/ and models/;
what was sent is marked on the hiccup in the same transaction, so a breach is told once and a
lost run is only a delay."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time

from sqlalchemy import select

from models import appstate, db, notifications
from models.accounts import Actor, User
from models.base import utcnow
from models.hiccups import summary, user_ids_with_role, users_with_role
from models.hiccups.rules import notify
from models.settings import get_settings
from reports import hiccup_digests as digests
from tasks import huey, local_crontab

log = logging.getLogger('labdesk.tasks.hiccups')


@huey.periodic_task(local_crontab(minute='*/10'))
@huey.lock_task('summarize-hiccup-days')
def summarize_days() -> None:
    """The dashboard's day summary (`models.hiccups.summary`): the newly past days, and those changed since."""
    started = time.monotonic()
    days = summary.summarize()
    if days:
        log.info('summed %d days of hiccups for the dashboard in %.1f s', days, time.monotonic() - started)


@huey.periodic_task(local_crontab(minute='0', hour='11'))
def daily_summary() -> None:
    send_daily_summary(utcnow())


@huey.periodic_task(local_crontab(minute='5'))
def sla_check() -> None:
    check_sla(utcnow())


@huey.periodic_task(local_crontab(minute='20', hour='*/6'))
def follow_up_reminders() -> None:
    remind_follow_ups(utcnow())


@huey.periodic_task(local_crontab(minute='30', hour='8'))
def trend_check() -> None:
    alert_trends(utcnow())


@huey.periodic_task(local_crontab(minute='0', hour='7', day='1'))
def learning_digest() -> None:
    send_learning_digest(utcnow())


def send_daily_summary(now: dt.datetime) -> None:
    with db.session() as s:
        subject, body = digests.daily_summary(s, now)
        notifications.send_to_group(s, subject=subject, body=body)
        notifications.send(
            s,
            user_ids=user_ids_with_role(s, 'management'),
            subject=subject,
            body=body,
            channels=('email', 'inapp'),
        )


def check_sla(now: dt.datetime) -> int:
    """Tell of each new breach once (responder and management who may see the hiccup)."""
    told = 0
    with db.session() as s:
        for kind in digests.CLOCKS:
            for hiccup in digests.breaches(s, kind, now):
                setattr(hiccup, f'{kind}_breach_noticed_at', now)
                notify(s, hiccup, f'sla:{kind}')
                told += 1
    return told


def remind_follow_ups(now: dt.datetime) -> int:
    with db.session() as s:
        due = digests.follow_ups_due(s, now)
        for hiccup in due:
            hiccup.follow_up_reminded_at = now
            notify(s, hiccup, 'follow_up')
    return len(due)


def alert_trends(now: dt.datetime) -> list[digests.Trend]:
    """Alert management of each trend at most once a week."""
    with db.session() as s:
        fresh = []
        for trend in digests.trend_alerts(s, now):
            key = f'hiccups.trend.{trend.kind}.{trend.key}'
            last = appstate.get(s, key)
            if last and now - dt.datetime.fromisoformat(last.value) < dt.timedelta(days=7):
                continue
            appstate.put(s, key, now.isoformat())
            fresh.append(trend)
        if fresh:
            body = '\n'.join(t.text for t in fresh)
            managers = user_ids_with_role(s, 'management')
            notifications.send(s, user_ids=managers, subject='Hiccup trend alert', body=body)
            notifications.send_to_group(s, subject='Hiccup trend alert', body=body)
    return fresh


def send_learning_digest(now: dt.datetime) -> int:
    """Last month's lessons to management and HODs, each with only what they may see."""
    tz = get_settings().tz
    local = now.astimezone(tz)
    end = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = (end - dt.timedelta(days=1)).replace(day=1)
    month = start.strftime('%B %Y')
    folder = get_settings().data_dir / 'digests'
    folder.mkdir(parents=True, exist_ok=True)
    with db.session() as s:
        readers = {u.id: u for role in ('management', 'hod') for u in users_with_role(s, role)}
        for user in readers.values():
            path = folder / f'learning-{start:%Y-%m}-{user.id}-{secrets.token_hex(4)}.xlsx'
            rows = digests.learning_rows(s, Actor.of(user), start, end)
            subject, body = digests.learning_digest(rows, month, path)
            notifications.send(
                s,
                user_ids=[user.id],
                subject=subject,
                body=body,
                channels=('email', 'inapp'),
                attachment_path=str(path),
            )
    return len(readers)


assert select and User  # re-exported for tests that build data
