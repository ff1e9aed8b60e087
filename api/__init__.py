"""The JSON API (`/api/v1`), generated from the record-type declarations, and /healthz."""

from __future__ import annotations

from typing import Any


def mount(app: Any) -> None:
    from api import auth, errors, health, hiccups, issues, records

    errors.mount(app)
    health.mount()
    app.include_router(auth.router)
    app.include_router(hiccups.router())
    app.include_router(issues.router())  # before records: /issues/dashboard/stats is not a record
    app.include_router(records.router())
