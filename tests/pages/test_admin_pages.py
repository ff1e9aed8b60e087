"""Admin pages: the permission matrix and user administration."""

from __future__ import annotations

import threading

from nicegui import ui
from nicegui.testing import User
from sqlalchemy import select

from models import db
from models.accounts import User as UserRow
from models.accounts import verify_password
from models.audit import AuditEntry
from models.engine import get
from models.permissions import can, invalidate
from tests.conftest import make_user, statements
from tests.pages.helpers import sign_in


async def test_admin_grants_a_permission_in_the_matrix_and_it_is_audited(database, user: User) -> None:
    staff = make_user('tech@lab.test', 'staff')
    await sign_in(user)
    with statements(threading.main_thread()) as on_loop:  # read and saved on worker threads
        await user.open('/admin/permissions')
        assert user.find(marker='perm-departments-staff-create').elements.pop().value is False
        assert user.find(marker='perm-departments-admin-create').elements.pop().value is True
        user.find(marker='perm-departments-staff-create').click()
        await user.should_see('staff: create on departments allowed.')
    assert on_loop == []
    invalidate()
    with db.session() as s:
        assert can(s, staff, get('departments'), 'create')
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == 'permission'))
        assert entry.details == {'staff:create': [False, True]}


async def test_only_admins_open_the_matrix(database, user: User) -> None:
    make_user('mgr@lab.test', 'management', password='mgr-pass-12')
    await sign_in(user, 'mgr@lab.test', 'mgr-pass-12')
    await user.open('/admin/permissions')
    await user.should_see('Only administrators may change permissions.')


async def test_admin_creates_a_user_with_roles_and_resets_their_password(database, user: User) -> None:
    await sign_in(user)
    await user.open('/r/users/new')
    user.find(marker='field-name').type('Asha Rao')
    user.find(marker='field-email').type('asha@lab.test')
    with db.session() as s:
        hod = s.scalar(select(get('roles').model.id).where(get('roles').model.name == 'hod'))
    user.find(marker='field-roles').elements.pop().value = [hod]
    user.find(kind=ui.button, content='Save').click()
    await user.should_see('User saved.')
    with db.session() as s:
        asha = s.scalar(select(UserRow).where(UserRow.email == 'asha@lab.test'))
        assert asha.role_names == {'hod'}
    await user.open(f'/r/users/{asha.id}')
    with statements(threading.main_thread()) as on_loop:
        user.find(kind=ui.button, content='Reset password').click()
        await user.should_see('New password (shown once')
    assert on_loop == []
    new_password = user.find(marker='new-password').elements.pop().text
    with db.session() as s:
        assert verify_password(s.get(UserRow, asha.id), new_password)
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.action == 'password_reset'))


async def test_a_deactivated_user_is_signed_out_on_their_next_page(database, user: User) -> None:
    tech = make_user('tech@lab.test', 'staff', password='tech-pass-1')
    await sign_in(user, 'tech@lab.test', 'tech-pass-1')
    with db.session() as s:
        s.get(UserRow, tech.id).active = False
    await user.open('/')
    await user.should_see('Sign in with your lab account')


async def test_admin_issues_an_api_key_shown_once_and_revokes_it(database, user: User) -> None:
    from models import apikeys

    await sign_in(user)
    with statements(threading.main_thread()) as on_loop:
        await user.open('/admin/api-keys')
        user.find(marker='key-user').elements.pop().value = 1
        user.find(marker='key-name').type('LIS bridge')
        user.find(kind=ui.button, content='Issue key').click()
        await user.should_see('shown once')
        await user.should_see('last used never')
    assert on_loop == []
    key = user.find(marker='issued-key').elements.pop().text
    with db.session() as s:
        assert apikeys.authenticate(s, key).email == 'admin@lab.test'
    response = await user.http_client.get('/api/v1/users/me', headers={'Authorization': f'Bearer {key}'})
    assert response.json()['email'] == 'admin@lab.test'
    await user.open('/admin/api-keys')
    await user.should_see('LIS bridge · admin@lab.test')
    with statements(threading.main_thread()) as on_loop:
        user.find(kind=ui.button, content='Revoke').click()
        await user.should_see('Key revoked.')
        await user.should_see('revoked')
    assert on_loop == []
    response = await user.http_client.get('/api/v1/users/me', headers={'Authorization': f'Bearer {key}'})
    assert response.status_code == 401


async def test_admin_sets_the_follow_up_days_and_the_change_is_audited(database, user: User) -> None:
    from models.hiccups import follow_up_days

    await sign_in(user)
    with statements(threading.main_thread()) as on_loop:
        await user.open('/admin/settings')
        assert user.find(marker='follow-up-days').elements.pop().value == 7
        user.find(marker='follow-up-days').elements.pop().value = 10
        user.find(kind=ui.button, content='Save').click()
        await user.should_see('Saved.')
    assert on_loop == []
    with db.session() as s:
        assert follow_up_days(s) == 10
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == 'setting'))
        assert entry.details == {'hiccups.follow_up_days': [7, 10]}
