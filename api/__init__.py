"""The JSON API (`/api/v1`), generated from the record-type declarations, and /healthz."""

from __future__ import annotations

from typing import Any


def mount(app: Any) -> None:
    from api import auth, errors, health, hiccups, issues, records

    errors.mount(app)
    health.mount()
    # FastAPI wraps the app's lifespan in a new layer per `include_router`, even for routers without
    # one of their own (as ours are). Keep the app's: NiceGUI's test harness mounts the API again for
    # every test, and the layers grew until the app's start-up ran out of recursion depth.
    lifespan = app.router.lifespan_context
    app.include_router(auth.router)
    app.include_router(hiccups.router())
    app.include_router(issues.router())  # before records: /issues/dashboard/stats is not a record
    app.include_router(records.router())
    app.router.lifespan_context = lifespan
