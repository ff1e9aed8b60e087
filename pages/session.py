"""The signed-in user of a browser session, idle expiry, and the sign-in guard."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import inspect
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, run, ui
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.middleware.base import BaseHTTPMiddleware

from models import db, notifications, permissions
from models.accounts import Actor
from models.permissions import NotFound, PermissionDenied
from models.records import Conflict
from models.settings import get_settings

T = TypeVar('T')
PUBLIC_PREFIXES = ('/_nicegui', '/login', '/signup', '/healthz', '/api', '/docs', '/openapi.json', '/favicon')


class NotSignedIn(Exception):
    """The browser session has no (or no longer a) signed-in user."""


@dataclasses.dataclass
class _Preload:
    """What `page` reads on a worker thread before a page is built, so that building it reads nothing
    on the event loop: the signed-in user, their unread count (the header's bell) and, when stale, the
    role permissions (`permissions.warm`). Valid only while the page is built: `page` empties it
    after, and tasks started during the build (which copy the build's context, holder included) then
    read afresh."""

    user_id: int | None = None
    actor: Actor | None = None
    unread: int | None = None  # None: not read (or could not be)


_preload: contextvars.ContextVar[_Preload | None] = contextvars.ContextVar('page preload', default=None)


def _read_for_page(user_id: int) -> _Preload:
    with db.session() as s:
        preload = _Preload(user_id, Actor.load(s, user_id))
        permissions.warm(s)  # the page's permission checks (its menu, its buttons) then read nothing
        if preload.actor is not None:
            with contextlib.suppress(SQLAlchemyError):  # the bell reads (and logs) again; the page is built
                preload.unread = notifications.unread_count(s, user_id)
    return preload


async def _preloaded() -> _Preload:
    """The preload of the page about to be built (empty when nobody live is signed in)."""
    storage = app.storage.user
    user_id = storage.get('user_id')
    if user_id is None or _expired(storage):
        return _Preload()
    return await run.io_bound(_read_for_page, user_id) or _Preload()  # None: the app is stopping


def preloaded_unread(user_id: int) -> int | None:
    """The unread count `page` read for `user_id` before building this page, if it did."""
    preload = _preload.get()
    return preload.unread if preload is not None and preload.user_id == user_id else None


def sign_in(actor: Actor) -> None:
    app.storage.user.update({'user_id': actor.id, 'seen': time.time()})


def flash(message: str) -> None:
    """A confirmation to show on the next page this browser opens (a toast dies with its page)."""
    app.storage.user['flash'] = message


def take_flash() -> str | None:
    return app.storage.user.pop('flash', None)


def export_path(filename: str) -> Path:
    """Where a download is written; `tasks.prune_exports` removes old ones."""
    folder = get_settings().data_dir / 'exports' / secrets.token_hex(8)
    folder.mkdir(parents=True)
    return folder / filename


def sign_out() -> None:
    app.storage.user.pop('user_id', None)


def _expired(storage: dict) -> bool:
    idle = get_settings().session_idle_minutes * 60
    return time.time() - float(storage.get('seen', 0)) > idle


def _signed_in_id() -> int:
    """The browser session's user id (its idle clock starts again); `NotSignedIn` when nobody is signed
    in or the session has been idle too long."""
    storage = app.storage.user
    user_id = storage.get('user_id')
    if user_id is None or _expired(storage):
        sign_out()
        raise NotSignedIn
    storage['seen'] = time.time()
    return user_id


def current_actor() -> Actor:
    """The signed-in user, re-read from the database on every call (roles and active may change)."""
    user_id = _signed_in_id()
    preload = _preload.get()
    if preload is not None and preload.user_id == user_id and preload.actor is not None:
        actor = preload.actor
    else:
        try:
            actor = actor_by_id(user_id)
        except NotSignedIn:
            sign_out()
            raise
    return actor


def actor_by_id(user_id: int, session: Session | None = None) -> Actor:
    """A user as they are now; for work outside a request, e.g. a live refresh of an open page.
    Read in `session` when given: the refresh's own reads then share its connection."""
    if session is None:
        with db.session() as s:
            return actor_by_id(user_id, s)
    actor = Actor.load(session, user_id)
    if actor is None:
        raise NotSignedIn
    return actor


def actor_or_none() -> Actor | None:
    try:
        return current_actor()
    except NotSignedIn:
        return None


class AuthMiddleware(BaseHTTPMiddleware):
    """Sends a browser without a live session to the sign-in page (the API has its own tokens)."""

    async def dispatch(self, request: Request, call_next):
        path = request.url.path
        if not path.startswith(PUBLIC_PREFIXES):
            storage = app.storage.user
            if storage.get('user_id') is None or _expired(storage):
                target = path + (f'?{request.url.query}' if request.url.query else '')
                return RedirectResponse(f'/login?next={quote(target)}')
        return await call_next(request)


async def act_io(handler: Callable[[Actor], T]) -> T | None:
    """Run a UI action as the signed-in user on a worker thread, the reading of the user included, so
    that a slow query or a save blocks nobody else: the event loop serves every connected browser. The
    engine's refusals become a message (and None); field errors (`ValidationError`) are left to the
    caller, which shows them on the fields. Signed out: to the sign-in page."""
    try:
        user_id = _signed_in_id()
        with _refusals_shown():
            return await run.io_bound(lambda: handler(actor_by_id(user_id)))
    except NotSignedIn:
        sign_out()
        ui.navigate.to('/login')
    return None


@contextlib.contextmanager
def _refusals_shown() -> Iterator[None]:
    try:
        yield
    except (PermissionDenied, NotFound, Conflict) as exc:
        ui.notify(str(exc), type='negative', multi_line=True, close_button=True, timeout=8000)


def page(path: str) -> Callable[[Callable[..., Any]], Any]:
    """`ui.page` for signed-in pages: refusals (not signed in, not found, not allowed) become a
    message to the user rather than an error page. The signed-in user is read on a worker thread
    before the build (`_Preload`), so `current_actor` while building does not wait on the database."""

    def decorator(builder: Callable[..., Any]) -> Any:
        @functools.wraps(builder)
        async def guarded(*args: Any, **kwargs: Any) -> None:
            preload = await _preloaded()
            token = _preload.set(preload)
            try:
                result = builder(*args, **kwargs)
                if inspect.isawaitable(result):
                    await result
            except NotSignedIn:
                ui.navigate.to('/login')
            except (NotFound, PermissionDenied) as exc:
                with ui.card().classes('absolute-center'):
                    ui.label(str(exc) or 'Not found.').classes('text-lg')
                    ui.link('Back to the start page', '/')
            finally:
                preload.user_id = preload.actor = preload.unread = None
                _preload.reset(token)

        return ui.page(path)(guarded)

    return decorator
