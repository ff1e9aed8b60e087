"""Signing in and out through the pages, with lockout."""

from __future__ import annotations

import asyncio

from nicegui import ui
from nicegui.testing import User
from sqlalchemy import select

from models import db
from models.audit import AuditEntry
from tests.pages.helpers import sign_in


async def test_pages_need_a_signed_in_user(data_dir, user: User) -> None:
    await user.open('/r/departments')
    await user.should_see('Sign in with your lab account')


async def test_admin_signs_in_and_sees_the_lookup_tables(data_dir, user: User) -> None:
    await sign_in(user)
    await user.should_see('Departments')
    await user.should_see('Categories')
    with db.session() as s:
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.action == 'login')) == 'login'


def _audited(action: str) -> int:
    with db.session() as s:
        return list(s.scalars(select(AuditEntry.action))).count(action)


async def test_wrong_password_is_refused_and_five_failures_lock_the_account(data_dir, user: User) -> None:
    await user.open('/login')
    user.find('Email').type('admin@lab.test')
    for attempt in range(1, 6):
        user.find('Password').type('wrong-password')
        user.find(kind=ui.button, content='Sign in').click()
        for _ in range(100):  # each attempt is checked off the event loop: wait for its audit row
            if _audited('login_failed') == attempt:
                break
            await asyncio.sleep(0.05)
        await user.should_see('Wrong email or password.' if attempt < 5 else 'Too many failed attempts', retries=30)
    user.find('Password').clear().type('admin-pass-123')
    user.find(kind=ui.button, content='Sign in').click()
    for _ in range(100):
        if _audited('login_locked'):
            break
        await asyncio.sleep(0.05)
    await user.should_see('Too many failed attempts', retries=30)
    await user.should_not_see('Hello')
    with db.session() as s:
        actions = list(s.scalars(select(AuditEntry.action)))
    assert actions.count('login_failed') == 5
    assert 'lockout' in actions and 'login_locked' in actions


async def test_change_own_password(data_dir, user: User) -> None:
    await sign_in(user)
    await user.open('/account')
    user.find(marker='current').type('admin-pass-123')
    user.find(marker='new').type('new-secret-42')
    user.find(marker='again').type('new-secret-42')
    user.find(kind=ui.button, content='Change password').click()
    await user.should_see('Password changed.', retries=100)  # the hashes run on a worker thread
    await user.open('/logout')
    await sign_in(user, password='new-secret-42')


async def test_an_idle_session_must_sign_in_again(data_dir, user: User, monkeypatch) -> None:
    from models.settings import reload_settings

    await sign_in(user)
    monkeypatch.setenv('SESSION_IDLE_MINUTES', '0')
    reload_settings()
    await user.open('/r/departments')
    await user.should_see('Sign in with your lab account')


async def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(data_dir, user: User) -> None:
    await user.open('/login?next=/r/departments')
    user.find('Email').type('admin@lab.test')
    user.find('Password').type('admin-pass-123')
    user.find(kind=ui.button, content='Sign in').click()
    await user.should_see('New department', retries=100)
    await user.open('/logout')
    await user.open('/login?next=//evil.example/x')
    user.find('Email').type('admin@lab.test')
    user.find('Password').type('admin-pass-123')
    user.find(kind=ui.button, content='Sign in').click()
    await user.should_see('Hello', retries=100)
