"""The bell in the header, the user's in-app notifications, and the admins' outbox."""

from __future__ import annotations

import datetime as dt
import logging

from nicegui import run, ui
from sqlalchemy.exc import SQLAlchemyError

from models import db, notifications
from models.accounts import Actor
from models.permissions import PermissionDenied
from models.settings import get_settings
from models.values import ValidationError
from pages.layout import frame
from pages.session import act_io, current_actor, page, preloaded_unread

log = logging.getLogger('labdesk.pages')
BELL_SECONDS = 15
PAGE_SIZE = 100


def _when(at: dt.datetime | None) -> str:
    return at.astimezone(get_settings().tz).strftime('%d %b %Y %H:%M') if at else ''


def _unread(user_id: int) -> int | None:
    try:
        with db.session() as s:
            return notifications.unread_count(s, user_id)
    except SQLAlchemyError:  # the header must render even when the outbox cannot be read
        log.warning('could not count unread notifications', exc_info=True)
        return None


def bell(actor: Actor) -> None:
    """The header's bell: unread count as a badge, refreshed every `BELL_SECONDS`; opens /notifications."""
    if actor.id is None:
        return
    user_id = actor.id
    button = ui.button(icon='notifications', on_click=lambda: ui.navigate.to('/notifications'))
    button.props('flat round color=white aria-label=Notifications').mark('bell')
    with button:
        badge = ui.badge('', color='red').props('floating rounded').mark('bell-count')
        tip = ui.tooltip('Notifications')

    def show(count: int | None) -> None:
        badge.text = '99+' if (count or 0) > 99 else str(count or 0)
        badge.set_visibility(bool(count))
        tip.text = f'{count} unread' if count else 'Notifications'

    async def refresh() -> None:
        show(await run.io_bound(_unread, user_id))

    preloaded = preloaded_unread(user_id)
    show(_unread(user_id) if preloaded is None else preloaded)
    # not `immediate`: the count is shown already, and an immediate timer waits for the browser's
    # connection, which makes NiceGUI send an async page before it is built (a list without its rows)
    ui.timer(BELL_SECONDS, refresh, immediate=False)


@page('/notifications')
async def notifications_page() -> None:
    actor = current_actor()
    rows = await run.io_bound(_inbox, actor.id or 0)
    with frame('Notifications', actor):
        Inbox(actor, rows or [])


def _inbox(user_id: int) -> list[notifications.Notification]:
    with db.session() as s:
        return notifications.for_user(s, user_id, PAGE_SIZE)


def _mark_read(user_id: int, ids: list[int] | None = None) -> int:
    with db.session() as s:
        return notifications.mark_read(s, user_id, ids)


class Inbox:
    """The signed-in user's in-app messages, newest first; unread ones in bold. Reads and writes on
    worker threads."""

    def __init__(self, actor: Actor, rows: list[notifications.Notification]) -> None:
        self.user_id = actor.id or 0
        with ui.row().classes('w-full items-center'):
            ui.label('Notifications').classes('text-xl font-medium')
            ui.space()
            if actor.has('admin'):
                ui.link('Outbox', '/admin/outbox').classes('text-sm')
            ui.button('Mark all read', icon='done_all', on_click=self.mark_all).props('outline')
        self.listing = ui.column().classes('w-full gap-2')
        self._fill(rows)

    async def show(self) -> None:
        self._fill(await run.io_bound(_inbox, self.user_id) or [])

    def _fill(self, rows: list[notifications.Notification]) -> None:
        self.listing.clear()
        with self.listing:
            if not rows:
                ui.label('Nothing yet.').classes('text-gray-600')
            for row in rows:
                self._entry(row)

    def _entry(self, row: notifications.Notification) -> None:
        unread = row.read_at is None
        with ui.card().classes('w-full p-3' + (' border-l-4 border-blue-600' if unread else ' opacity-80')):
            with ui.row().classes('w-full items-baseline gap-2'):
                ui.label(row.subject).classes('font-medium' if unread else '')
                ui.space()
                ui.label(_when(row.created_at)).classes('text-xs text-gray-500')
            if row.body:
                ui.label(row.body).classes('text-sm whitespace-pre-line text-gray-700')
            if row.link:
                ui.button('Open', icon='open_in_new', on_click=lambda r=row: self.open(r.id, r.link)).props(
                    'flat dense'
                ).mark(f'open-{row.id}')

    async def open(self, row_id: int, link: str) -> None:
        await run.io_bound(_mark_read, self.user_id, [row_id])
        ui.navigate.to(link)

    async def mark_all(self) -> None:
        count = await run.io_bound(_mark_read, self.user_id)
        await self.show()
        ui.notify(f'Marked {count} as read.' if count else 'Nothing unread.')


@page('/admin/outbox')
async def outbox_page(status: str = '') -> None:
    actor = current_actor()
    if not actor.has('admin'):
        raise PermissionDenied('Only administrators see the outbox.')
    with frame('Outbox', actor):
        outbox = Outbox(status if status in notifications.STATUSES else '')
    await outbox.show()


class Outbox:
    """Email, WhatsApp and log messages with their delivery state; failed ones can be retried."""

    def __init__(self, status: str) -> None:
        ui.label('Outbox').classes('text-xl font-medium')
        hint = 'Messages are retried with growing pauses for about six hours, then marked failed.'
        ui.label(hint).classes('text-gray-600')
        with ui.row().classes('items-center gap-3'):
            options = {'': 'All', **{s: s.title() for s in notifications.STATUSES}}
            self.status = ui.select(options, value=status, label='Status', on_change=self.show).classes('min-w-[10rem]')
            self.status.mark('outbox-status')
            self.counts = ui.label().classes('text-sm text-gray-600').mark('outbox-counts')
        self.listing = ui.column().classes('w-full gap-1')

    async def show(self) -> None:
        """Read the messages (on a worker thread) and list them."""

        def load(actor: Actor) -> tuple[dict[str, int], list[notifications.Notification]]:
            with db.session() as s:
                counts = notifications.status_counts(s, actor)
                return counts, notifications.outbox(s, actor, self.status.value or None, limit=PAGE_SIZE)

        loaded = await act_io(load)
        if loaded is None:
            return
        counts, rows = loaded
        self.counts.text = ' · '.join(f'{n} {s}' for s, n in counts.items())
        self.listing.clear()
        with self.listing:
            if not rows:
                ui.label('No messages.').classes('text-gray-600')
            for row in rows:
                self._entry(row)

    def _entry(self, row: notifications.Notification) -> None:
        colour = {'sent': 'text-green-700', 'failed': 'text-red-700'}.get(row.status, 'text-amber-700')
        with ui.card().classes('w-full p-2').mark(f'message-{row.id}'), ui.row().classes('w-full items-center gap-3'):
            ui.label(f'#{row.id}').classes('text-xs text-gray-500')
            ui.label(row.channel).classes('text-sm font-medium')
            ui.label(row.address or '-').classes('text-sm')
            ui.label(row.subject).classes('text-sm truncate max-w-xs')
            ui.label(row.status).classes(f'text-sm font-medium {colour}')
            ui.label(f'{row.attempts} attempt{"s" if row.attempts != 1 else ""}').classes('text-xs')
            when = f'sent {_when(row.sent_at)}' if row.sent_at else f'next {_when(row.next_attempt_at)}'
            ui.label(when if row.status != 'failed' else _when(row.created_at)).classes('text-xs text-gray-500')
            if row.error:
                ui.label(row.error).classes('text-xs text-red-700 break-all w-full')
            if row.status == notifications.FAILED:
                ui.button('Retry', icon='replay', on_click=lambda r=row.id: self.retry(r)).props(
                    'flat dense color=primary'
                ).mark(f'retry-{row.id}')

    async def retry(self, row_id: int) -> None:
        def work(actor: Actor) -> None:
            with db.session() as s:
                notifications.retry(s, actor, row_id)

        try:
            await act_io(work)
        except ValidationError as exc:
            ui.notify(str(exc), type='warning')
            return
        await self.show()
        ui.notify(f'Message #{row_id} will be sent again.', type='positive')
