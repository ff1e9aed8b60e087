"""Delivering the notification outbox: the channels, the sweeper and the prompt-delivery task.

Rows are claimed in one short transaction, sent with no transaction open, and their outcome
written in another; see models/notifications.py for why this loses nothing. The sweeper runs
every minute; `deliver_soon()` is enqueued after any commit that wrote messages (through
`notifications.set_waker`), so messages usually leave within seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import mimetypes
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from huey import crontab

from models import db, notifications
from models.notifications import Notification
from models.settings import Settings, get_settings
from tasks import huey

log = logging.getLogger('labdesk.notify')
WHATSAPP_TIMEOUT = 10
SMTP_TIMEOUT = 30
CLAIM_BATCH = 5  # x the longest timeout stays well under notifications.CLAIM_FOR


class PermanentError(Exception):
    """Retrying cannot help (e.g. the attachment is gone): the message is failed at once."""


@dataclass(frozen=True)
class Outgoing:
    """What a channel needs of a message, read before any network call."""

    id: int
    channel: str
    address: str | None
    subject: str
    body: str
    attachment_path: str | None

    @classmethod
    def of(cls, row: Notification) -> Outgoing:
        return cls(row.id, row.channel, row.address, row.subject, row.body, row.attachment_path)


# --- channels: each returns the provider's id for the message, or None --------------------------


def send_console(message: Outgoing, settings: Settings) -> str | None:
    attached = f'\n(attachment: {message.attachment_path})' if message.attachment_path else ''
    log.info(
        'notification %d to %s: %s\n%s%s', message.id, message.address or '-', message.subject, message.body, attached
    )
    return None


def send_inapp(message: Outgoing, settings: Settings) -> str | None:
    return None  # stored is delivered: the bell reads the table


def send_email(message: Outgoing, settings: Settings) -> str | None:
    if not message.address:
        raise PermanentError('no email address')
    email = EmailMessage()
    email['Subject'] = message.subject
    email['From'] = settings.smtp_from
    email['To'] = message.address
    email['Message-ID'] = make_msgid(domain=settings.smtp_from.rpartition('@')[2] or 'labdesk')
    email.set_content(message.body)
    if message.attachment_path:
        _attach(email, Path(message.attachment_path))
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(email)
    return email['Message-ID']


def _attach(email: EmailMessage, path: Path) -> None:
    if not path.is_file():
        raise PermanentError(f'attachment {path.name} is missing')
    ctype, _ = mimetypes.guess_type(path.name)
    maintype, subtype = (ctype or 'application/octet-stream').split('/', 1)
    email.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)


def send_whatsapp(message: Outgoing, settings: Settings) -> str | None:
    if not message.address:
        raise PermanentError('no phone number')
    if not settings.whatsapp_api_url.startswith(('http://', 'https://')):
        raise PermanentError('WHATSAPP_API_URL must start with http:// or https://')
    text = f'{message.subject}\n\n{message.body}' if message.subject else message.body
    request = urllib.request.Request(
        settings.whatsapp_api_url,
        data=json.dumps({'to': message.address, 'message': text}).encode(),
        headers={'Content-Type': 'application/json', 'Authorization': f'Bearer {settings.whatsapp_api_token}'},
        method='POST',
    )
    try:
        with urllib.request.urlopen(request, timeout=WHATSAPP_TIMEOUT) as response:
            return _provider_id(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode(errors='replace')
        error = f'WhatsApp provider answered {exc.code}: {detail}'
        if exc.code in (400, 404, 422):  # the message itself is refused: sending it again cannot help
            raise PermanentError(error) from None
        raise RuntimeError(error) from None


def _provider_id(payload: bytes) -> str | None:
    try:
        data = json.loads(payload or b'null')
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    found = data.get('id') or data.get('message_id')
    return str(found) if found is not None else None


CHANNELS: dict[str, Callable[[Outgoing, Settings], str | None]] = {
    notifications.CONSOLE: send_console,
    notifications.INAPP: send_inapp,
    notifications.EMAIL: send_email,
    notifications.WHATSAPP: send_whatsapp,
}


# --- delivery -----------------------------------------------------------------------------------


def deliver_due(limit: int = 200, now: dt.datetime | None = None) -> dict[str, int]:
    """Send what is due, claiming a few at a time; returns how many ended sent, pending and failed.

    Small claims keep every claimed message well inside `CLAIM_FOR`, so a slow provider never
    lets another worker take (and send again) a message this one is still sending.
    """
    outcome = {notifications.SENT: 0, notifications.PENDING: 0, notifications.FAILED: 0}
    done = 0
    while done < limit:
        with db.session() as s:
            ids = notifications.claim(s, min(CLAIM_BATCH, limit - done), now)
        if not ids:
            break
        for row_id in ids:
            outcome[deliver_one(row_id, now)] += 1
        done += len(ids)
    return outcome


def deliver_one(row_id: int, now: dt.datetime | None = None) -> str:
    """Send one claimed message and record the outcome; returns its new status."""
    with db.session() as s:
        row = s.get(Notification, row_id)
        message = Outgoing.of(row) if row is not None else None
    if message is None:
        return notifications.FAILED
    try:
        provider_id = CHANNELS[message.channel](message, get_settings())
    except Exception as exc:
        permanent = isinstance(exc, PermanentError)
        log.warning('notification %d by %s failed: %s', row_id, message.channel, _describe(exc))
        with db.session() as s:
            return notifications.record_failure(s, row_id, _describe(exc), permanent=permanent, now=now)
    with db.session() as s:
        notifications.record_sent(s, row_id, provider_id, now)
    return notifications.SENT


def _describe(exc: Exception) -> str:
    return f'{type(exc).__name__}: {exc}' if not isinstance(exc, (PermanentError, RuntimeError)) else str(exc)


@huey.periodic_task(crontab(minute='*'))
def sweep_outbox() -> None:
    """Every minute: whatever is due, including retries and deliveries a crash cut short."""
    outcome = deliver_due()
    if any(outcome.values()):
        log.info('outbox: %(sent)d sent, %(pending)d to retry, %(failed)d failed', outcome)


@huey.task()
def deliver_soon() -> None:
    """Enqueue this after committing messages for delivery within seconds rather than a minute."""
    deliver_due()


notifications.set_waker(deliver_soon)
