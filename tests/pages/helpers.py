"""Helpers for page tests with NiceGUI's simulated `user`."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from nicegui import ui
from nicegui.testing import User


@contextmanager
def page_module(name: str) -> Iterator[ModuleType]:
    """A module of `pages`, imported for one test only.

    Importing `pages` registers its routes. NiceGUI's `user` fixture re-imports page modules for
    every app it starts, but only those it saw registered inside its own run: a copy imported here
    and left in `sys.modules` would make every later `import pages` a no-op (and /login a 404).
    """
    before = set(sys.modules)
    try:
        yield importlib.import_module(name)
    finally:
        for loaded in set(sys.modules) - before:
            if loaded.split('.')[0] == 'pages':
                del sys.modules[loaded]


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
