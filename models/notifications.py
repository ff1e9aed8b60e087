"""The notification outbox: messages written in the caller's transaction, delivered later.

A change and the messages it causes commit together or not at all: `send` only adds rows to
the caller's session. Delivery happens outside any request (tasks/notify.py): `claim` takes
due rows, a channel sends each one, and `record_sent` / `record_failure` write the outcome.

Nothing is lost:
- a provider that is down: the row stays 'pending' and is retried with exponential backoff
  (1, 2, 4 … minutes, at most 60) for `MAX_ATTEMPTS` attempts (about six hours) before it is
  'failed', where an admin sees the error and can `retry` it;
- a process that dies mid-delivery: `claim` moved the row's `next_attempt_at` a few minutes
  ahead before sending, so the row is simply claimed again later (a message may then arrive
  twice, never not at all).

Channels: 'inapp' (the bell; stored as 'sent'), 'email' (SMTP), 'whatsapp' (an HTTP provider),
'console' (the log; stands in for email when SMTP is not configured).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, event, func, select, update
from sqlalchemy.orm import Mapped, Session, lazyload, mapped_column
from sqlalchemy.sql import ColumnElement

from models import audit
from models.accounts import Actor, User
from models.base import Base, utcnow
from models.permissions import NotFound, PermissionDenied
from models.settings import get_settings
from models.values import ValidationError

log = logging.getLogger('labdesk.notifications')

INAPP, EMAIL, WHATSAPP, CONSOLE = 'inapp', 'email', 'whatsapp', 'console'
CHANNELS = (INAPP, EMAIL, WHATSAPP, CONSOLE)
PENDING, SENT, FAILED = 'pending', 'sent', 'failed'
STATUSES = (PENDING, SENT, FAILED)

MAX_ATTEMPTS = 12
"""Attempts before a message is 'failed': with the backoff below, about six hours of retrying."""
BACKOFF_CAP = dt.timedelta(minutes=60)
CLAIM_FOR = dt.timedelta(minutes=5)
"""How long a claimed row is left alone; a delivery that has not finished by then is retried."""
SUBJECT_MAX = 255


class Notification(Base):
    """One message to one address on one channel; `read_at` is for the in-app bell only."""

    __tablename__ = 'notifications'
    __table_args__ = (
        Index('ix_notifications_due', 'status', 'next_attempt_at'),
        Index('ix_notifications_bell', 'user_id', 'channel', 'read_at'),
        CheckConstraint("channel IN ('inapp', 'email', 'whatsapp', 'console')", name='channel'),
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name='status'),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    channel: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey('users.id'))
    address: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    body: Mapped[str] = mapped_column(Text)
    record_type: Mapped[str | None] = mapped_column(String(60))
    record_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=PENDING, server_default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default='0')
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column()
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    provider_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    read_at: Mapped[dt.datetime | None] = mapped_column()
    attachment_path: Mapped[str | None] = mapped_column(String(500))

    @property
    def link(self) -> str | None:
        """Where the message's record opens, e.g. ``/r/hiccups/42``."""
        return f'/r/{self.record_type}/{self.record_id}' if self.record_type and self.record_id else None


# --- writing messages (in the caller's transaction) ---------------------------------------------

_waker: Callable[[], None] | None = None


def set_waker(wake: Callable[[], None] | None) -> None:
    """Called after a transaction that wrote messages commits (tasks/notify.py enqueues delivery)."""
    global _waker
    _waker = wake


def send(
    session: Session,
    *,
    user_ids: Iterable[int],
    subject: str,
    body: str,
    record_type: str | None = None,
    record_id: int | None = None,
    channels: Sequence[str] = (INAPP, EMAIL, WHATSAPP),
    attachment_path: str | None = None,
    now: dt.datetime | None = None,
) -> list[Notification]:
    """Queue a message to each user on each of `channels` they can receive; nothing is committed.

    The rows join the caller's transaction, so a change that rolls back sends nothing. Per user:
    'inapp' always; 'email' to their address when SMTP is configured, else a 'console' (log)
    row; 'whatsapp' when they have a phone and WhatsApp is configured; 'console' as asked.
    Repeated and inactive users are skipped.

    The CALLER decides who may learn of the record: pass only users allowed to see it, and for a
    confidential record write the subject and body so they say no more than those users may
    know (e.g. hiccups filter recipients with the record type's visibility rule).
    """
    unknown = set(channels) - set(CHANNELS)
    if unknown:
        raise ValueError(f'unknown notification channel(s): {", ".join(sorted(unknown))}')
    now = now or utcnow()
    ids = list(dict.fromkeys(user_ids))
    # only their addresses are needed here: not their roles and department (two more reads)
    found = select(User).options(lazyload(User.roles), lazyload(User.department))
    users = {u.id: u for u in session.scalars(found.where(User.id.in_(ids), User.active.is_(True)))}
    rows = []
    for user_id in ids:
        user = users.get(user_id)
        if user is None:
            continue
        for channel, address in _routes(user, channels):
            rows.append(_row(channel, user.id, address, subject, body, record_type, record_id, attachment_path, now))
    return _add(session, rows)


def _routes(user: User, channels: Sequence[str]) -> list[tuple[str, str | None]]:
    """(channel, address) pairs that reach `user`, without repeats."""
    settings = get_settings()
    routes: dict[tuple[str, str | None], None] = {}
    for channel in channels:
        if channel == INAPP:
            routes[INAPP, None] = None
        elif channel == EMAIL and user.email:
            routes[EMAIL if settings.smtp_configured else CONSOLE, user.email] = None
        elif channel == WHATSAPP and user.phone and settings.whatsapp_configured:
            routes[WHATSAPP, user.phone.strip()] = None
        elif channel == CONSOLE:
            routes[CONSOLE, user.email] = None
    return list(routes)


def send_to_group(
    session: Session,
    *,
    subject: str,
    body: str,
    record_type: str | None = None,
    record_id: int | None = None,
    attachment_path: str | None = None,
    now: dt.datetime | None = None,
) -> list[Notification]:
    """Queue a WhatsApp message to each of MANAGEMENT_GROUP_NUMBERS, in the caller's transaction.

    Without WHATSAPP_API_URL the messages go to the log ('console') instead; without numbers
    nothing is queued. These numbers belong to management, who see every record.
    """
    settings = get_settings()
    channel = WHATSAPP if settings.whatsapp_configured else CONSOLE
    now = now or utcnow()
    rows = [
        _row(channel, None, number, subject, body, record_type, record_id, attachment_path, now)
        for number in settings.management_numbers
    ]
    return _add(session, rows)


def _row(
    channel: str,
    user_id: int | None,
    address: str | None,
    subject: str,
    body: str,
    record_type: str | None,
    record_id: int | None,
    attachment_path: str | None,
    now: dt.datetime,
) -> Notification:
    inapp = channel == INAPP
    return Notification(
        created_at=now,
        channel=channel,
        user_id=user_id,
        address=address,
        subject=subject[:SUBJECT_MAX],
        body=body,
        record_type=record_type,
        record_id=record_id,
        status=SENT if inapp else PENDING,
        attempts=0,
        next_attempt_at=None if inapp else now,
        sent_at=now if inapp else None,
        attachment_path=None if inapp else attachment_path,
    )


def _add(session: Session, rows: list[Notification]) -> list[Notification]:
    session.add_all(rows)
    if any(r.status == PENDING for r in rows) and not session.info.get('notify_wake'):
        session.info['notify_wake'] = True
        event.listen(session, 'after_commit', _wake, once=True)
    return rows


def _wake(session: Session) -> None:
    """After the messages commit: ask for prompt delivery (the sweeper would find them anyway).

    A transaction that rolls back leaves the listener on its session, which is then dropped.
    """
    session.info.pop('notify_wake', None)
    try:
        if _waker is not None:
            _waker()
    except Exception:  # the messages are safe in the table; the sweeper delivers them within a minute
        log.warning('could not ask for prompt delivery of notifications', exc_info=True)


# --- the bell -----------------------------------------------------------------------------------


def _mine(user_id: int) -> ColumnElement[bool]:
    return (Notification.user_id == user_id) & (Notification.channel == INAPP)


def unread_count(session: Session, user_id: int) -> int:
    query = select(func.count()).select_from(Notification).where(_mine(user_id), Notification.read_at.is_(None))
    return session.scalar(query) or 0


def for_user(session: Session, user_id: int, limit: int = 50) -> list[Notification]:
    """The user's in-app messages, newest first."""
    query = select(Notification).where(_mine(user_id)).order_by(Notification.id.desc()).limit(limit)
    return list(session.scalars(query))


def mark_read(session: Session, user_id: int, ids: Iterable[int] | None = None, now: dt.datetime | None = None) -> int:
    """Mark the user's own unread messages read (all, or those in `ids`); returns how many."""
    query = update(Notification).where(_mine(user_id), Notification.read_at.is_(None))
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    return session.execute(query.values(read_at=now or utcnow())).rowcount


# --- the admin's view ---------------------------------------------------------------------------


def outbox(
    session: Session, actor: Actor, status: str | None = None, channel: str | None = None, limit: int = 100
) -> list[Notification]:
    """Messages other than in-app ones, newest first (admins only)."""
    _require_admin(actor)
    query = select(Notification).where(Notification.channel != INAPP)
    if status:
        query = query.where(Notification.status == status)
    if channel:
        query = query.where(Notification.channel == channel)
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def status_counts(session: Session, actor: Actor) -> dict[str, int]:
    _require_admin(actor)
    query = select(Notification.status, func.count()).where(Notification.channel != INAPP)
    counts = {status: n for status, n in session.execute(query.group_by(Notification.status))}
    return {s: counts.get(s, 0) for s in STATUSES}


def retry(session: Session, actor: Actor, notification_id: int, now: dt.datetime | None = None) -> Notification:
    """An admin sends a failed message again: it is pending with a fresh set of attempts. Audited."""
    _require_admin(actor)
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotFound('No such message.')
    if row.status != FAILED:
        raise ValidationError({'': 'Only a failed message can be retried.'})
    row.status, row.attempts, row.next_attempt_at = PENDING, 0, now or utcnow()
    note = f'{row.channel} to {row.address or "?"}; last error: {row.error or "none"}'
    audit.record(session, actor, 'notification_retry', record_type='notifications', record_id=row.id, note=note[:1000])
    _add(session, [row])
    return row


def _require_admin(actor: Actor) -> None:
    if not actor.has('admin'):
        raise PermissionDenied('Only administrators see the outbox.')


# --- delivery (called by tasks/notify.py) -------------------------------------------------------


def due(session: Session, limit: int = 100, now: dt.datetime | None = None) -> list[Notification]:
    """Pending messages whose next attempt has come, oldest first."""
    query = (
        select(Notification)
        .where(Notification.status == PENDING, Notification.next_attempt_at <= (now or utcnow()))
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def claim(session: Session, limit: int = 100, now: dt.datetime | None = None) -> list[int]:
    """Take due messages for delivery; commit before sending. Returns the ids this caller owns.

    Each row is taken by a conditional UPDATE (still pending and due), so two workers never take
    the same row; the claim counts as an attempt and moves `next_attempt_at` `CLAIM_FOR` ahead,
    so a delivery cut short by a crash is retried then. A row whose last attempt was cut short
    is failed instead of being tried more than `MAX_ATTEMPTS` times.
    """
    now = now or utcnow()
    claimed = []
    for row in due(session, limit, now):
        if row.attempts >= MAX_ATTEMPTS:
            _take(session, row.id, now, status=FAILED, error=_interrupted(row.error))
            continue
        if _take(session, row.id, now, attempts=row.attempts + 1, next_attempt_at=now + CLAIM_FOR):
            claimed.append(row.id)
    return claimed


def _interrupted(error: str | None) -> str:
    message = 'Delivery was interrupted (the process stopped)'
    return f'{message}; last error: {error}' if error else f'{message}.'


def _take(session: Session, row_id: int, now: dt.datetime, **values: object) -> bool:
    query = (
        update(Notification)
        .where(Notification.id == row_id, Notification.status == PENDING, Notification.next_attempt_at <= now)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return session.execute(query).rowcount == 1


def backoff(attempts: int) -> dt.timedelta:
    """Wait after the `attempts`-th failed attempt: 1, 2, 4 … minutes, at most `BACKOFF_CAP`."""
    return min(dt.timedelta(minutes=2 ** max(0, min(attempts - 1, 16))), BACKOFF_CAP)


def record_sent(session: Session, row_id: int, provider_id: str | None, now: dt.datetime | None = None) -> None:
    values = {'status': SENT, 'sent_at': now or utcnow(), 'next_attempt_at': None, 'error': None}
    values['provider_id'] = provider_id[:255] if provider_id else None
    session.execute(
        update(Notification)
        .where(Notification.id == row_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def record_failure(
    session: Session, row_id: int, error: str, *, permanent: bool = False, now: dt.datetime | None = None
) -> str:
    """Note a failed attempt: retried after the backoff, or 'failed' when attempts are used up.

    Returns the row's new status.
    """
    now = now or utcnow()
    row = session.get(Notification, row_id)
    if row is None:
        return FAILED
    row.error = error[:4000]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status, row.next_attempt_at = FAILED, None
    else:
        row.next_attempt_at = now + backoff(row.attempts)
    return row.status
