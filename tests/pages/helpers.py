"""Helpers for page tests with NiceGUI's simulated `user`."""

from __future__ import annotations

import asyncio

from nicegui import ui
from nicegui.testing import User


async def sign_in(user: User, email: str = 'admin@lab.test', password: str = 'admin-pass-123') -> None:
    await user.open('/login')
    user.find('Email').type(email)
    user.find('Password').type(password)
    user.find(kind=ui.button, content='Sign in').click()
    await user.should_see('Hello', retries=100)  # the password check runs on a worker thread


async def table_rows(user: User) -> list[dict]:
    """The list's rows once it has loaded (a list page loads its rows after the page is sent)."""
    for _ in range(100):
        summary = user.find(marker='list-summary').elements
        if summary and next(iter(summary)).text:
            break
        await asyncio.sleep(0.05)
    return user.find(ui.table).elements.pop().rows
