"""Labdesk: one process serving every screen and the API. Wiring only; see DESIGN.md."""

from __future__ import annotations

import gc
import logging
import os
import sys

from nicegui import app, ui

from models import db, migrate
from models.settings import reload_settings

log = logging.getLogger('labdesk')

# Python collects its youngest objects every 700 allocations by default. With a hundred pages open the
# short-lived rows of each live reload then outlive a few collections, reach the oldest generation and
# trigger full collections over half a million objects: pauses of 100-300 ms that stall every request
# and page (the slowest raises of `bench/`). Collecting the young every 10,000 lets those rows die young.
GC_THRESHOLD = (10_000, 10, 10)


def setup() -> None:
    """Settings, schema, first admin, routes and background work; ready for `ui.run`."""
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    gc.set_threshold(*GC_THRESHOLD)
    settings = reload_settings()
    if settings.problems():
        for problem in settings.problems():
            log.error('refusing to start: %s', problem)
        sys.exit(2)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    db.configure(settings.db_url)
    migrate.upgrade()
    migrate.seed_roles()
    if db.refresh_statistics(missing_only=True):  # SQLite never analysed (a new or an upgraded database)
        log.info('made the query planner statistics')
    generated = migrate.ensure_admin(settings.admin_email, settings.admin_password)
    if generated:
        log.warning(
            'created the first administrator %s with password: %s  (shown once; change it)',
            settings.admin_email or 'admin@labdesk.local',
            generated,
        )

    import api
    import tasks
    from pages import files, live, session

    app.add_middleware(session.AuthMiddleware)
    api.mount(app)
    files.mount()
    app.on_startup(live.start)
    if settings.embedded_worker:
        app.on_startup(tasks.start_embedded)
        app.on_shutdown(tasks.stop_embedded)


if __name__ in {'__main__', '__mp_main__'}:
    setup()
    if not os.environ.get('NICEGUI_STORAGE_PATH') and not os.environ.get('NICEGUI_USER_SIMULATION'):
        from nicegui.storage import Storage

        Storage.path = (reload_settings().data_dir / 'sessions').resolve()  # sessions live with the data
    import pages  # noqa: F401  registers the routes

    _settings = reload_settings()
    ui.run(
        title='Labdesk',
        port=_settings.port,
        storage_secret=_settings.secret_key,
        reload=False,
        show=False,
        favicon='🧪',
        reconnect_timeout=30,
        fastapi_docs={
            'title': 'Labdesk API',
            'version': '1',
            'description': 'Every record type: list, get, create, update, delete, workflow steps, '
            'comments, attachments, export. Authenticate with a token from '
            '/api/v1/auth/token or an API key, as "Authorization: Bearer ...".',
        },
    )
