"""The outbox: who gets which rows, in whose transaction; the bell's queries; claims and backoff."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from models import db, notifications
from models.accounts import User
from models.audit import AuditEntry
from models.notifications import Notification
from models.permissions import PermissionDenied
from models.settings import reload_settings
from models.values import ValidationError
from tests.conftest import make_user

T0 = dt.datetime(2026, 11, 22, 5, 30, tzinfo=dt.UTC)


@pytest.fixture
def channels(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SMTP and WhatsApp both configured."""
    monkeypatch.setenv('SMTP_HOST', 'smtp.lab.test')
    monkeypatch.setenv('WHATSAPP_API_URL', 'http://wa.lab.test/send')
    monkeypatch.setenv('MANAGEMENT_GROUP_NUMBERS', '+911111, +912222,,+911111')
    reload_settings()
    yield
    monkeypatch.undo()
    reload_settings()


def _with_phone(email: str, phone: str | None, *roles: str) -> int:
    actor = make_user(email, *roles)
    with db.session() as s:
        s.get(User, actor.id).phone = phone
    return actor.id


def _rows() -> list[Notification]:
    with db.session() as s:
        return list(s.scalars(select(Notification).order_by(Notification.id)))


def _count() -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Notification))


def test_messages_commit_with_the_change_or_not_at_all(database: str) -> None:
    asha = _with_phone('asha@lab.test', None, 'staff')
    with pytest.raises(RuntimeError), db.session() as s:
        notifications.send(s, user_ids=[asha], subject='Lost', body='rolled back')
        s.flush()
        raise RuntimeError('the change failed')
    assert _count() == 0
    with db.session() as s:
        notifications.send(s, user_ids=[asha], subject='Kept', body='committed')
    assert {r.subject for r in _rows()} == {'Kept'}


def test_each_user_gets_the_channels_they_can_receive_once(database: str, channels: None) -> None:
    asha = _with_phone('asha@lab.test', '+919800000001', 'staff')
    ravi = _with_phone('ravi@lab.test', None, 'hod')
    gone = _with_phone('gone@lab.test', '+919800000003', 'staff')
    with db.session() as s:
        s.get(User, gone).active = False
    with db.session() as s:
        rows = notifications.send(
            s, user_ids=[asha, ravi, asha, gone], subject='HIC-1', body='New hiccup', record_type='hiccups', record_id=7
        )
    got = {(r.user_id, r.channel, r.address, r.status) for r in rows}
    assert got == {
        (asha, 'inapp', None, 'sent'),
        (asha, 'email', 'asha@lab.test', 'pending'),
        (asha, 'whatsapp', '+919800000001', 'pending'),
        (ravi, 'inapp', None, 'sent'),
        (ravi, 'email', 'ravi@lab.test', 'pending'),
    }
    assert all(r.record_type == 'hiccups' and r.record_id == 7 for r in rows)
    assert len(_rows()) == 5


def test_without_smtp_email_goes_to_the_log_and_whatsapp_is_skipped(database: str) -> None:
    asha = _with_phone('asha@lab.test', '+919800000001', 'staff')
    with db.session() as s:
        rows = notifications.send(s, user_ids=[asha], subject='S', body='B', channels=['email', 'whatsapp', 'console'])
    assert [(r.channel, r.address) for r in rows] == [('console', 'asha@lab.test')]
    with pytest.raises(ValueError, match='pigeon'), db.session() as s:
        notifications.send(s, user_ids=[asha], subject='S', body='B', channels=['pigeon'])


def test_the_management_group_gets_whatsapp_or_the_log(database: str, channels: None, monkeypatch) -> None:
    with db.session() as s:
        rows = notifications.send_to_group(s, subject='Daily summary', body='3 open', attachment_path='/tmp/x.xlsx')
    assert [(r.channel, r.address, r.user_id) for r in rows] == [
        ('whatsapp', '+911111', None),
        ('whatsapp', '+912222', None),
    ]
    monkeypatch.delenv('WHATSAPP_API_URL')
    reload_settings()
    with db.session() as s:
        assert {r.channel for r in notifications.send_to_group(s, subject='S', body='B')} == {'console'}
    monkeypatch.delenv('MANAGEMENT_GROUP_NUMBERS')
    reload_settings()
    with db.session() as s:
        assert notifications.send_to_group(s, subject='S', body='B') == []


def test_the_bell_counts_lists_and_marks_only_your_own(database: str) -> None:
    asha = _with_phone('asha@lab.test', None, 'staff')
    ravi = _with_phone('ravi@lab.test', None, 'staff')
    with db.session() as s:
        for n in range(3):
            notifications.send(s, user_ids=[asha], subject=f'A{n}', body='', channels=['inapp'])
        notifications.send(s, user_ids=[ravi], subject='R', body='', channels=['inapp', 'console'])
    with db.session() as s:
        assert notifications.unread_count(s, asha) == 3
        assert [n.subject for n in notifications.for_user(s, asha, 2)] == ['A2', 'A1']
        ravi_row = notifications.for_user(s, ravi)[0]
        assert notifications.mark_read(s, asha, [ravi_row.id]) == 0  # not hers
        first = notifications.for_user(s, asha)[-1]
        assert notifications.mark_read(s, asha, [first.id]) == 1
    with db.session() as s:
        assert notifications.unread_count(s, asha) == 2
        assert notifications.mark_read(s, asha) == 2
        assert notifications.unread_count(s, asha) == 0
        assert notifications.unread_count(s, ravi) == 1  # the console row is not in the bell


def test_an_admin_retries_a_failed_message_and_it_is_audited(database: str, admin) -> None:
    staff = make_user('tech@lab.test', 'staff')
    with db.session() as s:
        row = notifications.send(s, user_ids=[staff.id], subject='S', body='B', channels=['console'])[0]
    with db.session() as s:
        with pytest.raises(ValidationError):
            notifications.retry(s, admin, row.id)  # still pending
        failed = s.get(Notification, row.id)
        failed.status, failed.attempts, failed.error = 'failed', 12, 'SMTP down'
    with db.session() as s, pytest.raises(PermissionDenied):
        notifications.retry(s, staff, row.id)
    with db.session() as s:
        notifications.retry(s, admin, row.id, now=T0)
    with db.session() as s:
        again = s.get(Notification, row.id)
        assert (again.status, again.attempts, again.next_attempt_at) == ('pending', 0, T0)
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == 'notification_retry'))
        assert (entry.record_type, entry.record_id, entry.actor_id) == ('notifications', row.id, admin.id)
        assert 'SMTP down' in entry.note


def test_the_backoff_doubles_from_a_minute_to_an_hour() -> None:
    minutes = [notifications.backoff(n).total_seconds() / 60 for n in range(1, 13)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60]


def test_a_claimed_message_is_taken_once_and_left_alone_until_the_claim_expires(database: str) -> None:
    asha = _with_phone('asha@lab.test', None, 'staff')
    with db.session() as s:
        row = notifications.send(s, user_ids=[asha], subject='S', body='B', channels=['console'], now=T0)[0]
    with db.session() as s:
        assert [r.id for r in notifications.due(s, now=T0)] == [row.id]
        assert notifications.due(s, now=T0 - dt.timedelta(seconds=1)) == []
        assert notifications.claim(s, now=T0) == [row.id]
        assert notifications.claim(s, now=T0) == []  # a second worker finds nothing
    with db.session() as s:
        assert notifications.due(s, now=T0 + notifications.CLAIM_FOR - dt.timedelta(seconds=1)) == []
        assert notifications.claim(s, now=T0 + notifications.CLAIM_FOR) == [row.id]
        assert s.get(Notification, row.id).attempts == 2
