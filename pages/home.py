"""The start page: what this user can open, with counts."""

from __future__ import annotations

from nicegui import run, ui

from models import db, query
from models.accounts import Actor
from models.engine import REGISTRY
from models.permissions import can
from models.query import ListParams
from pages.layout import frame
from pages.session import current_actor, page


def _counts(actor: Actor) -> list[tuple[str, str, str, str]]:
    out = []
    with db.session() as s:
        for rt in REGISTRY.values():
            if can(s, actor, rt, 'view'):
                n, capped = query.count(s, actor, rt, ListParams(), cap=9999)
                out.append((rt.label_plural, rt.icon, f'/r/{rt.slug}', f'{n:,}{"+" if capped else ""}'))
    return out


@page('/')
async def home_page() -> None:
    actor = current_actor()
    with frame('Home', actor):
        ui.label(f'Hello, {actor.name}').classes('text-xl font-medium')
        grid = ui.grid().classes('w-full grid-cols-1 sm:grid-cols-3 gap-3')
    for label, icon, url, n in await run.io_bound(_counts, actor):
        with grid, ui.link(target=url).classes('no-underline'):
            _tile(label, icon, n)


def _tile(label: str, icon: str, count: str) -> None:
    with ui.card().classes('w-full hover:shadow-lg'), ui.row().classes('items-center gap-3'):
        ui.icon(icon).classes('text-2xl text-primary')
        ui.label(label).classes('text-lg text-gray-800')
        ui.space()
        ui.label(count).classes('text-gray-600')
