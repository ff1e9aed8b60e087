"""Live updates: one app-wide poll of the change markers, fanned out to open pages.

Pages subscribe to `changed` and re-run their own query (under their user's visibility)
when a record type they show has changed. Markers written by other processes (the task
consumer, another app instance) are seen the same way, within `INTERVAL` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import Event, background_tasks, run, ui

from models import changes, db

INTERVAL = 1.0
#: Seconds between two reloads of one page, per page open: with many pages open each reloads less
#: often (10 pages: every 0.3 s at most; 100: every 3 s), so reloads stay a bounded share of the
#: process however many lists are open (a busy lab must not spend itself on refreshing lists).
SPACING_PER_PAGE = 0.03
#: How many live reloads run at once in the whole process. Reloads are background work: unbounded, one
#: new hiccup that concerns a department's open lists starts a reload thread for each, and the requests
#: users are waiting for (a raise, a page) queue behind them for the interpreter (the GIL).
RELOADS_AT_ONCE = 2
log = logging.getLogger('labdesk.live')

#: Emitted with what changed since the last poll: record-type slug → the ids of the records whose
#: changes only their readers can see, or None when any reader of that type may see a change
#: (`models.changes.summary`).
changed: Event[dict[str, set[int] | None]] = Event()
_state: dict[str, Any] = {'last': -1, 'slots': asyncio.Semaphore(RELOADS_AT_ONCE)}


def _poll() -> dict[str, set[int] | None]:
    with db.session() as s:
        if _state['last'] < 0:
            _state['last'] = changes.latest_id(s)
            return {}
        rows = changes.since(s, _state['last'])
    if rows:
        _state['last'] = rows[-1].id
    return changes.summary(rows)


async def _loop() -> None:
    while True:
        try:
            found = await run.io_bound(_poll)
        except Exception:  # a lost poll is only a delay; keep polling
            log.exception('live update poll failed')
            found = {}
        if found is None:  # cancelled (NiceGUI's run swallows the cancellation) or the app is stopping
            return
        if found:
            try:
                changed.emit(found)
            except Exception:  # one page's failing refresh must not stop the others' updates
                log.exception('live update failed')
        await asyncio.sleep(INTERVAL)


def start() -> None:
    _state['last'] = -1
    _state['slots'] = asyncio.Semaphore(RELOADS_AT_ONCE)  # of this event loop
    background_tasks.create(_loop(), name='live-updates')


def on_change(slug: str, refresh: Callable[[set[int] | None], object]) -> None:
    """In a page: call `refresh(ids)` whenever records of `slug` change; `ids` as in `changed`."""
    changed.subscribe(lambda found: refresh(found[slug]) if slug in found else None)


def coalesced(
    load: Callable[[], Awaitable[object]], name: str, concerns: Callable[[set[int]], bool] | None = None
) -> Callable[[set[int] | None], None]:
    """A reload for `changed`: at most one `load` of a page runs at a time, changes that arrive
    while it runs cause one more load, not one each, and a page's loads are `spacing()` apart; at
    most `RELOADS_AT_ONCE` loads of all pages run at once (the others wait their turn).
    With `concerns` (run off the event loop), a change only some readers can see (`ids`) reloads the
    page only if `concerns(ids)`: a list need not reload for a new record its reader may not see."""
    state: dict[str, Any] = {'running': False, 'again': False, 'last': float('-inf'), 'ids': set()}

    async def wanted() -> bool:
        ids, state['ids'] = state['ids'], set()
        if concerns is None or ids is None:
            return True
        return bool(ids) and bool(await run.io_bound(concerns, ids))

    async def run_loads() -> None:
        state['running'] = True
        try:
            while True:
                gap = spacing()
                # at a random moment within the gap: pages that saw the same change reload one after another,
                # not all in the same instant (a hundred at once would stall every other request meanwhile)
                wait = max(state['last'] + gap - time.monotonic(), random.uniform(0, gap))
                if wait > 0:
                    await asyncio.sleep(wait)
                async with _state['slots']:
                    state['again'] = False
                    if await wanted():
                        state['last'] = time.monotonic()
                        await load()
                if not state['again']:
                    return
        finally:
            state['running'] = False

    def reload(ids: set[int] | None = None) -> None:
        state['ids'] = None if ids is None or state['ids'] is None else state['ids'] | ids
        if state['running']:
            state['again'] = True
        else:
            background_tasks.create(run_loads(), name=name)

    return reload


def spacing() -> float:
    """The least time between two live reloads of one page, given how many pages are open."""
    return len(changed.callbacks) * SPACING_PER_PAGE


def gone(element: ui.element) -> bool:
    """Whether the page holding `element` has been closed (skip refreshing it)."""
    client = element._client()
    return element.is_deleted or client is None or client.is_deleted
