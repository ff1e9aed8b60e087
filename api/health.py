"""GET /healthz: database and task-queue status for monitors and the Docker health check."""

from __future__ import annotations

import datetime as dt

from fastapi.responses import JSONResponse
from nicegui import app, run
from sqlalchemy import text

from models import db
from models.base import utcnow


def _status() -> tuple[int, dict]:
    body: dict = {'status': 'ok'}
    try:
        with db.engine().connect() as conn:
            conn.execute(text('SELECT 1'))
        body['database'] = {'status': 'ok', 'dialect': db.engine().dialect.name}
    except Exception as exc:  # any failure to reach the database is the answer itself
        body['status'] = 'error'
        body['database'] = {'status': 'error', 'error': str(exc).splitlines()[0][:200]}
        return 503, body
    import tasks

    try:
        beat = tasks.last_heartbeat()
        age = (utcnow() - beat).total_seconds() if beat else None
        body['tasks'] = {
            'status': 'ok' if age is not None and age < 180 else 'stale',
            'pending': tasks.pending(),
            'last_heartbeat': beat.isoformat() if beat else None,
            'heartbeat_age_seconds': round(age) if age is not None else None,
        }
    except Exception as exc:  # the queue is secondary: report it, stay 200
        body['tasks'] = {'status': 'error', 'error': str(exc)[:200]}
    body['time'] = dt.datetime.now(dt.UTC).isoformat()
    return 200, body


async def healthz() -> JSONResponse:
    code, body = await run.io_bound(_status)
    return JSONResponse(body, status_code=code)


def mount() -> None:
    down = {503: {'description': 'The database cannot be reached (the body says why)'}}
    app.add_api_route('/healthz', healthz, methods=['GET'], tags=['health'], responses=down)
