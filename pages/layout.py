"""The shared frame: header, navigation drawer and user menu around every signed-in page."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from html import escape
from itertools import groupby

from nicegui import background_tasks, ui

from models import db
from models.accounts import Actor
from models.engine import REGISTRY
from models.permissions import can
from pages.session import take_flash

NAV_ORDER = ['Records', 'Lookups', 'Admin']

#: How long an async page waits for its first data before NiceGUI sends it: data read by then comes
#: with the page itself (no empty table first, no second round trip); slower data follows over the
#: websocket once read. NiceGUI itself gives up on a page after 3 s.
FIRST_PAINT_SECONDS = 0.3


def nav_entries(actor: Actor) -> list[tuple[str, str, str, str]]:
    """(group, label, icon, url) of every record type `actor` may view."""
    with db.session() as s:
        entries = [
            (rt.nav_group, rt.label_plural, rt.icon, f'/r/{rt.slug}')
            for rt in REGISTRY.values()
            if can(s, actor, rt, 'view')
        ]
        if 'hiccups' in REGISTRY and can(s, actor, REGISTRY['hiccups'], 'view'):
            entries.append(('Quality', 'Dashboard', 'insights', '/dashboard'))
        if 'issues' in REGISTRY and can(s, actor, REGISTRY['issues'], 'view'):
            entries.append((REGISTRY['issues'].nav_group, 'Issues dashboard', 'insights', '/issues/dashboard'))
    if actor.has('admin'):
        entries.append(('Admin', 'Permissions', 'admin_panel_settings', '/admin/permissions'))
        entries.append(('Admin', 'API keys', 'vpn_key', '/admin/api-keys'))
        entries.append(('Admin', 'Settings', 'settings', '/admin/settings'))
        entries.append(('Admin', 'Outbox', 'outbox', '/admin/outbox'))
    rank = {g: i for i, g in enumerate(NAV_ORDER)}
    return sorted(entries, key=lambda e: (rank.get(e[0], -1), e[0]))


def nav_html(entries: list[tuple[str, str, str, str]]) -> str:
    """The drawer's links as one block of HTML: built on every page, and one element costs the server
    far less than the fifty or so of a link, an icon and a label per entry."""
    parts = ['<a href="/" class="block py-1 font-medium">Home</a>']
    for group, items in groupby(entries, key=lambda e: e[0]):
        parts.append(f'<div class="text-xs uppercase text-gray-500 mt-3">{escape(group)}</div>')
        for _, label, icon, url in items:
            parts.append(
                f'<a href="{escape(url)}" class="flex items-center gap-2 py-1 no-underline text-gray-800">'
                f'<i class="q-icon notranslate material-icons text-gray-600" aria-hidden="true">{escape(icon)}</i>'
                f'<span>{escape(label)}</span></a>'
            )
    return ''.join(parts)


@contextmanager
def frame(title: str, actor: Actor) -> Iterator[None]:
    """Header, drawer and a centred content column; page content goes inside the `with`."""
    ui.page_title(f'{title} · Labdesk')
    ui.colors(primary='#1f5f8b')
    with ui.header().classes('items-center px-2 py-1 gap-1'):
        menu = ui.button(icon='menu').props('flat round color=white aria-label=Menu')
        ui.link('Labdesk', '/').classes('text-white text-lg font-bold no-underline')
        ui.label(title).classes('text-white opacity-80 truncate hidden sm:block')
        ui.space()
        from pages.notifications import bell  # here: pages.notifications itself uses frame()

        bell(actor)
        with ui.button(icon='account_circle').props('flat round color=white aria-label=Account'), ui.menu():
            ui.menu_item(actor.name, lambda: ui.navigate.to('/account'))
            ui.menu_item('Change password', lambda: ui.navigate.to('/account'))
            ui.menu_item('Sign out', lambda: ui.navigate.to('/logout'))
    with ui.left_drawer(value=False).props('bordered width=240') as drawer:
        menu.on_click(drawer.toggle)
        ui.html(nav_html(nav_entries(actor)), sanitize=False)
    message = take_flash()
    if message:
        ui.notify(message, type='positive')
    with ui.column().classes('w-full max-w-6xl mx-auto p-2 sm:p-4 gap-3'):
        yield


async def first_paint(load: Awaitable[None]) -> None:
    """A page's first `load`, awaited at most FIRST_PAINT_SECONDS: past that the page is sent as built
    so far and `load` goes on in the page's context (its elements then update over the websocket)."""
    task = background_tasks.create(load, name='first paint', context=ui.context.slot)
    await asyncio.wait([task], timeout=FIRST_PAINT_SECONDS)


def error_card(message: str) -> None:
    with ui.card().classes('w-full bg-red-50'):
        ui.label(message).classes('text-red-800')
