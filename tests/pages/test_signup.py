"""Self-registration through the pages: off by default; when on, a form that makes a reporter."""

from __future__ import annotations

import asyncio

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlalchemy import func, select

from models import db
from models.accounts import User as Account
from models.accounts import find_user
from models.settings import reload_settings


@pytest.fixture
def signup_on(data_dir, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv('ALLOW_SIGNUP', 'true')
    yield reload_settings()
    monkeypatch.delenv('ALLOW_SIGNUP')
    reload_settings()


def _users() -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Account))


def _fill(user: User, name: str, email: str, password: str, again: str) -> None:
    user.find(marker='signup-name').clear().type(name)
    user.find(marker='signup-email').clear().type(email)
    user.find(marker='signup-password').clear().type(password)
    user.find(marker='signup-again').clear().type(again)
    user.find(kind=ui.button, content='Create account').click()


def _error(user: User, marker: str) -> str | None:
    return next(iter(user.find(marker=marker).elements)).error


async def _wait_error(user: User, marker: str) -> str | None:
    """The field's error once the (asynchronous) submit has shown one."""
    for _ in range(50):
        if _error(user, marker):
            break
        await asyncio.sleep(0.05)
    return _error(user, marker)


async def test_signup_is_off_by_default(data_dir, user: User, monkeypatch) -> None:
    monkeypatch.delenv('ALLOW_SIGNUP', raising=False)
    reload_settings()
    await user.open('/login')
    await user.should_see('Sign in with your lab account')
    await user.should_not_see(marker='signup-link')
    await user.should_not_see('Create an account')
    before = _users()
    await user.open('/signup')
    await user.should_see('Self-registration is disabled.')
    await user.should_not_see(marker='signup-email')
    assert _users() == before == 1  # the first administrator only


async def test_signup_makes_a_reporter_and_signs_them_in(signup_on, user: User) -> None:
    await user.open('/login')
    await user.should_see(marker='signup-link')
    await user.open('/signup')
    await user.should_see('Create an account to report issues')
    _fill(user, 'Rita Reporter', 'Rita@Lab.Test', 'report-it-1', 'report-it-1')
    await user.should_see('Hello, Rita Reporter', retries=30)
    with db.session() as s:
        account = find_user(s, 'rita@lab.test')
        assert [r.name for r in account.roles] == ['reporter']
        assert account.department_id is None and account.active and account.last_login_at is not None


async def test_field_errors_are_shown_and_nothing_is_created(signup_on, user: User) -> None:
    await user.open('/signup')
    _fill(user, 'Rita Reporter', 'rita@lab.test', 'report-it-1', 'report-it-2')
    assert await _wait_error(user, 'signup-again') == 'The two passwords differ.'
    _fill(user, 'Rita Reporter', 'ADMIN@lab.test', 'short', 'short')
    assert 'already exists' in await _wait_error(user, 'signup-email')
    assert _error(user, 'signup-password') == 'Use at least 8 characters.'
    assert _error(user, 'signup-again') is None
    assert _users() == 1
    await user.should_see('Create account')  # still on the form, not signed in
