"""The app-wide live-update poll ends when its task is cancelled (a stopping app, a test's teardown)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from types import ModuleType

import pytest

from tests.pages.helpers import page_module


@pytest.fixture
def live() -> Iterator[ModuleType]:
    """`pages.live`, imported for this test only."""
    with page_module('pages.live') as module:
        yield module


async def test_the_live_poll_ends_when_cancelled_during_a_query(
    live: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:

    polling, release = threading.Event(), threading.Event()

    def slow_poll() -> set[str]:
        polling.set()
        release.wait(5)
        return set()

    monkeypatch.setattr(live, '_poll', slow_poll)
    task = asyncio.create_task(live._loop())
    while not polling.is_set():
        await asyncio.sleep(0.01)
    task.cancel()  # NiceGUI's run.io_bound swallows this and returns None…
    release.set()
    done, _ = await asyncio.wait([task], timeout=5)
    assert task in done  # …and the loop must stop rather than poll forever


def test_with_many_pages_open_each_reloads_less_often(live: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """Live reloads are a bounded share of the process: the more pages open, the longer each waits."""
    monkeypatch.setattr(live.changed, 'callbacks', [object()] * 2)
    few = live.spacing()
    monkeypatch.setattr(live.changed, 'callbacks', [object()] * 100)
    assert few < 0.1  # two open pages reload as soon as the change is seen
    assert live.spacing() == pytest.approx(3.0)  # a hundred: each every 3 s at most


async def test_a_page_reloads_for_changes_only_some_readers_see_only_if_they_concern_it(
    live: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[asyncio.Task] = []
    monkeypatch.setattr(
        live.background_tasks, 'create', lambda aw, name='': started.append(asyncio.ensure_future(aw)) or started[-1]
    )
    monkeypatch.setattr(live.changed, 'callbacks', [])  # no other page open: no spacing
    loads: list[int] = []
    asked: list[set[int]] = []

    async def load() -> None:
        loads.append(len(loads) + 1)

    def concerns(ids: set[int]) -> bool:
        asked.append(ids)
        return 7 in ids  # the reader may see record 7 only

    reload = live.coalesced(load, 'test', concerns)

    async def change(ids: set[int] | None) -> None:
        reload(ids)
        await asyncio.gather(*started)

    await change({5})
    assert loads == []  # a new record the reader may not see: no reload
    await change({5, 7})
    assert loads == [1]
    await change(None)  # an edit: it may have left the reader's view, so reload without asking
    assert loads == [1, 2]
    assert asked == [{5}, {5, 7}]


async def test_live_reloads_of_many_pages_run_a_few_at_a_time_and_none_is_dropped(
    live: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change that concerns 30 open pages must not start 30 reloads at once: the requests users wait
    for would queue behind them."""
    started: list[asyncio.Task] = []
    monkeypatch.setattr(
        live.background_tasks, 'create', lambda aw, name='': started.append(asyncio.ensure_future(aw)) or started[-1]
    )
    monkeypatch.setattr(live.changed, 'callbacks', [])  # no spacing between one page's reloads
    monkeypatch.setitem(live._state, 'slots', asyncio.Semaphore(live.RELOADS_AT_ONCE))  # of this test's loop
    running, most, done = 0, 0, []

    def page(n: int):
        async def load() -> None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            await asyncio.sleep(0)  # let every other page try to start its reload meanwhile
            await asyncio.sleep(0)
            running -= 1
            done.append(n)

        return live.coalesced(load, f'page {n}')

    for reload in [page(n) for n in range(30)]:
        reload(None)
    await asyncio.gather(*started)
    assert sorted(done) == list(range(30))  # every page reloaded once
    assert most == live.RELOADS_AT_ONCE > 1
