"""The bell in the header, the in-app notifications page, and the admins' outbox."""

from __future__ import annotations

import threading

from nicegui import ui
from nicegui.testing import User
from sqlalchemy import select

from models import db, notifications, records
from models.accounts import SYSTEM
from models.accounts import User as UserRow
from models.audit import AuditEntry
from models.engine import get
from models.notifications import Notification
from tests.conftest import make_user, statements
from tests.pages.helpers import sign_in


def _notify(user_id: int, subject: str, **kwargs) -> int:
    with db.session() as s:
        row = notifications.send(s, user_ids=[user_id], subject=subject, channels=['inapp'], **kwargs)[0]
        s.flush()
        return row.id


def _badge(user: User) -> ui.badge:
    return user.find(marker='bell-count').elements.pop()


async def test_the_bell_counts_unread_and_the_page_lists_them_newest_first(database, user: User) -> None:
    tech = make_user('tech@lab.test', 'staff', password='tech-pass-1')
    other = make_user('other@lab.test', 'staff')
    _notify(tech.id, 'HIC-2026-00001 was raised', body='Sample haemolysed at reception')
    _notify(tech.id, 'HIC-2026-00002 was closed', body='Closed by management')
    _notify(other.id, 'Not for tech', body='')
    await sign_in(user, 'tech@lab.test', 'tech-pass-1')
    assert _badge(user).text == '2'
    with statements(threading.main_thread()) as on_loop:  # the inbox reads and writes on worker threads
        user.find(marker='bell').click()
        await user.should_see('HIC-2026-00002 was closed')
        await user.should_see('Sample haemolysed at reception')
        await user.should_not_see('Not for tech')
        labels = user.current_layout.descendants()
        texts = [e.text for e in labels if isinstance(e, ui.label) and e.text.startswith('HIC-')]
        assert texts == ['HIC-2026-00002 was closed', 'HIC-2026-00001 was raised']
        user.find(kind=ui.button, content='Mark all read').click()
        await user.should_see('Marked 2 as read.')
    assert on_loop == []
    await user.open('/')
    await user.should_not_see(marker='bell-count')  # no unread: no badge
    with db.session() as s:
        assert notifications.unread_count(s, tech.id) == 0
        assert notifications.unread_count(s, other.id) == 1


async def test_opening_a_notification_goes_to_its_record_and_marks_it_read(database, user: User) -> None:
    with db.session() as s:
        dept = records.create(s, SYSTEM, get('departments'), {'name': 'Haematology'})
        admin_id = s.scalar(select(UserRow.id).where(UserRow.email == 'admin@lab.test'))
    row_id = _notify(admin_id, 'Haematology was added', body='', record_type='departments', record_id=dept.id)
    await sign_in(user)
    await user.open('/notifications')
    user.find(marker=f'open-{row_id}').click()
    await user.should_see('Timeline')
    await user.should_see('Haematology')
    with db.session() as s:
        assert s.get(Notification, row_id).read_at is not None


async def test_an_admin_sees_the_outbox_and_retries_a_failed_message(database, user: User) -> None:
    tech = make_user('tech@lab.test', 'staff')
    with db.session() as s:
        rows = notifications.send(s, user_ids=[tech.id], subject='Daily summary', body='B', channels=['console'])
        s.flush()
        rows[0].status, rows[0].attempts, rows[0].error = 'failed', 12, 'SMTPAuthenticationError: 535 bad credentials'
        failed_id = rows[0].id
        sent = notifications.send(s, user_ids=[tech.id], subject='Sent one', body='B', channels=['console'])[0]
        sent.status = 'sent'
    await sign_in(user)
    await user.open('/admin/outbox?status=failed')
    await user.should_see('535 bad credentials')
    await user.should_see('1 failed')
    await user.should_not_see('Sent one')
    user.find(marker=f'retry-{failed_id}').click()
    await user.should_see(f'Message #{failed_id} will be sent again.')
    with db.session() as s:
        row = s.get(Notification, failed_id)
        assert (row.status, row.attempts) == ('pending', 0)
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == 'notification_retry'))
        assert entry.record_id == failed_id
    await user.should_see('No messages.')  # the failed filter is now empty


async def test_only_admins_open_the_outbox(database, user: User) -> None:
    make_user('mgr@lab.test', 'management', password='mgr-pass-12')
    await sign_in(user, 'mgr@lab.test', 'mgr-pass-12')
    await user.open('/admin/outbox')
    await user.should_see('Only administrators see the outbox.')
