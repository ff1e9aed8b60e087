"""Helpers for page tests with NiceGUI's simulated `user`."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User


async def sign_in(user: User, email: str = 'admin@lab.test', password: str = 'admin-pass-123') -> None:
    await user.open('/login')
    user.find('Email').type(email)
    user.find('Password').type(password)
    user.find(kind=ui.button, content='Sign in').click()
    await user.should_see('Hello', retries=30)


def table_rows(user: User) -> list[dict]:
    return user.find(ui.table).elements.pop().rows
