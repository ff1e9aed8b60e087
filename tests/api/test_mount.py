"""Mounting the API leaves the app's lifespan as it was, however often it is mounted."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

import api


@pytest.mark.filterwarnings('ignore:Duplicate Operation ID')  # the same routes, three times on purpose
async def test_mounting_the_api_again_and_again_keeps_one_lifespan_that_still_starts_the_app() -> None:
    app = FastAPI()
    started: list[str] = []
    app.router.on_startup.append(lambda: started.append('started'))
    lifespan = app.router.lifespan_context
    for _ in range(3):  # NiceGUI's test harness mounts it once per test; each layer deepened every start-up
        api.mount(app)
    assert app.router.lifespan_context is lifespan
    assert '/api/v1/auth/token' in app.openapi()['paths']
    async with app.router.lifespan_context(app):
        assert started == ['started']
