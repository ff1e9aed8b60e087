"""The app-wide live-update poll ends when its task is cancelled (a stopping app, a test's teardown)."""

from __future__ import annotations

import asyncio
import threading

import pytest


async def test_the_live_poll_ends_when_cancelled_during_a_query(monkeypatch: pytest.MonkeyPatch) -> None:
    from pages import live  # not at import: importing `pages` during collection registers its routes too early

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
