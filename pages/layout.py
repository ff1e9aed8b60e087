"""The shared frame: header, navigation drawer and user menu around every signed-in page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import groupby

from nicegui import ui

from models import db
from models.accounts import Actor
from models.engine import REGISTRY
from models.permissions import can
from pages.session import take_flash

NAV_ORDER = ['Records', 'Lookups', 'Admin']


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
        ui.link('Home', '/').classes('block py-1 font-medium')
        for group, items in groupby(nav_entries(actor), key=lambda e: e[0]):
            ui.label(group).classes('text-xs uppercase text-gray-500 mt-3')
            for _, label, icon, url in items:
                with ui.link(target=url).classes('flex items-center gap-2 py-1 no-underline text-gray-800'):
                    ui.icon(icon).classes('text-gray-600')
                    ui.label(label)
    message = take_flash()
    if message:
        ui.notify(message, type='positive')
    with ui.column().classes('w-full max-w-6xl mx-auto p-2 sm:p-4 gap-3'):
        yield


def error_card(message: str) -> None:
    with ui.card().classes('w-full bg-red-50'):
        ui.label(message).classes('text-red-800')
