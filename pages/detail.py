"""Generated record pages: create, edit, and the detail view with workflow, timeline and files."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from nicegui import background_tasks, events, run, ui

from models import attachments, audit, comments, db, query, records
from models.accounts import Actor
from models.engine import REGISTRY, RecordType
from models.permissions import NotFound, can, get_visible
from models.query import ListParams
from models.settings import get_settings
from models.values import ValidationError, display, ref_titles
from models.workflow import Transition
from pages import live, markup
from pages.forms import FormFields, RecordForm
from pages.layout import frame
from pages.records import record_type
from pages.session import NotSignedIn, act_io, actor_by_id, current_actor, flash, page
from pages.workflow import transition_dialog

#: Module-specific additions to a detail page: slug → fn(record_id, actor), drawn under the fields.
DETAIL_EXTRAS: dict[str, Callable[[int, Actor], None]] = {}
SIGNED_OUT, GONE = 'signed out', 'gone'


@page('/r/{slug}/new')
async def new_page(slug: str) -> None:
    actor = current_actor()
    rt = record_type(slug, actor, 'create')
    fields = await run.io_bound(_new_fields, rt, actor)
    if fields is None:  # the app is stopping
        return
    with frame(f'New {rt.label.lower()}', actor):
        ui.label(f'New {rt.label.lower()}').classes('text-xl font-medium')
        form = RecordForm(rt, fields)
        files = PendingFiles()

        def create(actor: Actor, s: Any) -> Any:
            record = records.create(s, actor, rt, form.data())
            for name, data in files.items:  # in the same transaction: a rejected file saves nothing
                records.attach(s, actor, rt, record.id, name, data)
            return record

        _form_buttons(rt, form, create, f'/r/{rt.slug}')


def _new_fields(rt: type[RecordType], actor: Actor) -> FormFields:
    with db.session() as s:
        return FormFields.read(s, rt, rt.settable(actor, rt.form_fields), initial=rt.defaults(actor))


def _edit_fields(rt: type[RecordType], actor: Actor, record_id: int) -> tuple[Any, FormFields]:
    """The record as `actor` may see it (`NotFound` otherwise) and its form's fields."""
    with db.session() as s:
        record = get_visible(s, actor, rt, record_id)
        return record, FormFields.read(s, rt, rt.settable(actor, rt.form_fields), record=record)


class PendingFiles:
    """Files chosen on the New form, attached when the record is saved (so a phone user raises
    a record with its photos in one go)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []
        max_mb = get_settings().max_upload_mb
        with ui.column().classes('w-full gap-1'):
            ui.upload(
                label=f'Attach photos or files (up to {max_mb} MB each)',
                multiple=True,
                auto_upload=True,
                max_file_size=max_mb * 2**20,
                on_upload=self._add,
            ).props('flat bordered accept=image/*,*/*').classes('w-full').mark('new-files')
            self.names = ui.label('').classes('text-sm text-gray-600')

    async def _add(self, event: events.UploadEventArguments) -> None:
        self.items.append((event.file.name, await event.file.read()))
        self.names.set_text('To attach: ' + ', '.join(n for n, _ in self.items))


@page('/r/{slug}/{record_id:int}/edit')
async def edit_page(slug: str, record_id: int) -> None:
    actor = current_actor()
    rt = record_type(slug, actor, 'edit')
    read = await run.io_bound(_edit_fields, rt, actor, record_id)
    if read is None:  # the app is stopping
        return
    record, fields = read
    title = rt.title_of(record)
    with frame(f'Edit {title}', actor):
        ui.label(f'Edit {rt.label.lower()}: {title}').classes('text-xl font-medium')
        form = RecordForm(rt, fields, readonly=list(rt.readonly_fields))
        before = form.data()

        def update(actor: Actor, s: Any) -> Any:
            changed = {k: v for k, v in form.data().items() if v != before[k]}
            return records.update(s, actor, rt, record.id, changed, version=record.version)

        _form_buttons(rt, form, update, f'/r/{rt.slug}/{record.id}')


def _form_buttons(rt: type[RecordType], form: RecordForm, save: Callable[[Actor, Any], Any], cancel: str) -> None:
    """Save (showing field errors, or going to the saved record) and Cancel."""

    async def submit() -> None:
        def work(actor: Actor) -> Any:
            with db.session() as s:
                return save(actor, s)

        button.disable()  # one save at a time: a second tap while this one runs would save twice
        try:
            saved = await act_io(work)
        except ValidationError as exc:
            form.show_errors(exc.errors)
            return
        except attachments.UploadRejected as exc:
            ui.notify(f'Nothing was saved: {exc}', type='negative', multi_line=True)
            return
        finally:
            button.enable()
        if saved is not None:
            flash(f'{rt.label} saved.')
            ui.navigate.to(f'/r/{rt.slug}/{saved.id}')

    with ui.row():
        button = ui.button('Save', icon='save', on_click=submit)
        ui.button('Cancel', on_click=lambda: ui.navigate.to(cancel)).props('flat')


@page('/r/{slug}/{record_id:int}')
async def detail_page(slug: str, record_id: int) -> None:
    actor = current_actor()
    rt = record_type(slug, actor)
    view = RecordDetail(rt, record_id, actor.id)
    shown = await run.io_bound(view.read, True)
    if shown == SIGNED_OUT:  # meanwhile
        raise NotSignedIn
    if not isinstance(shown, Shown):  # the app is stopping
        return
    with frame(rt.title_of(shown.record), actor):
        view.place(shown)
    live.on_change(rt.slug, live.coalesced(view.check, f'check {rt.slug} {record_id}'))


@dataclasses.dataclass(frozen=True)
class Related:
    rt: type[RecordType]
    params: ListParams
    rows: list[Any]
    total: int
    capped: bool


@dataclasses.dataclass(frozen=True)
class Shown:
    """Everything a detail page draws, read on a worker thread (`RecordDetail.read`): drawing it then
    reads nothing, so opening or redrawing a record does not hold the event loop on the database."""

    actor: Actor
    record: Any
    seen: tuple[int, int]  # (version, newest audit id): what identifies this state of the record
    may_edit: bool
    may_delete: bool
    steps: list[Transition]  # the workflow steps this reader may run now
    refs: dict[str, dict[Any, str]]  # reference titles of the record's fields
    related: list[Related]
    files: list[Any]
    may_attach: bool
    timeline: list[tuple[dt.datetime, str, str]]  # (at, who, what), newest first


class RecordDetail:
    """The fields, workflow buttons, attachments and timeline of one record; refreshable."""

    def __init__(self, rt: type[RecordType], record_id: int, user_id: int) -> None:
        self.rt = rt
        self.record_id = record_id
        self.user_id = user_id
        self.container: ui.column | None = None
        self.seen: tuple[int, int] | None = None  # (version, newest audit id) of what is shown

    def place(self, shown: Shown) -> None:
        """Build the page's part here, showing `shown`."""
        self.container = ui.column().classes('w-full gap-3')
        self._show(shown)

    # ---- reading (worker threads) ----

    def read(self, refuse: bool = False) -> Shown | str:
        """What the reader sees of the record now, or why nothing (`SIGNED_OUT`, `GONE`; with `refuse`,
        `NotFound` is raised instead of `GONE`)."""
        with db.session() as s:
            found = self._reader_and_record(s, refuse)
            return found if isinstance(found, str) else self._gather(s, *found)

    def _seen_now(self) -> tuple[int, int] | str:
        """What identifies the record as its reader may see it now (`_seen`), or why nothing."""
        with db.session() as s:
            found = self._reader_and_record(s)
            return found if isinstance(found, str) else self._seen(s, found[1])

    def _reader_and_record(self, s: Any, refuse: bool = False) -> tuple[Actor, Any] | str:
        try:
            actor = actor_by_id(self.user_id, s)
            return actor, get_visible(s, actor, self.rt, self.record_id)
        except NotSignedIn:
            return SIGNED_OUT
        except NotFound:
            if refuse:
                raise
            return GONE

    def _seen(self, s: Any, record: Any) -> tuple[int, int]:
        """(version, newest audit id): what identifies this state of the record and its timeline."""
        return (getattr(record, 'version', 0), audit.latest_id(s, self.rt.slug, record.id))

    def _gather(self, s: Any, actor: Actor, record: Any) -> Shown:
        rt = self.rt
        state = getattr(record, rt.workflow.field.key) if rt.workflow else None
        steps = [
            step
            for step in (rt.workflow.available(state) if rt.workflow else [])
            if can(s, actor, rt, step.action) and rt.can_transition(actor, record, step.name) is None
        ]
        owner = rt.owner_field and getattr(record, rt.owner_field) == actor.id
        may_edit = can(s, actor, rt, 'edit')
        return Shown(
            actor=actor,
            record=record,
            seen=self._seen(s, record),
            may_edit=may_edit,
            may_delete=can(s, actor, rt, 'delete'),
            steps=steps,
            refs=ref_titles(s, rt, [record], [n for n in rt.fields if n != 'id']),
            related=self._read_related(s, actor, record),
            files=attachments.for_record(s, rt.slug, record.id),
            may_attach=bool(owner or may_edit),
            timeline=self._read_timeline(s, record),
        )

    def _read_related(self, s: Any, actor: Actor, record: Any) -> list[Related]:
        """Records of other types that refer to this one (an NC's hiccups and actions, …)."""
        out = []
        for other, field in related_types(self.rt):
            if not can(s, actor, other, 'view'):
                continue
            params = ListParams(filters={field: str(record.id)}, per_page=10)
            rows = query.page(s, actor, other, params)
            if rows:
                out.append(Related(other, params, rows, *query.count(s, actor, other, params, cap=999)))
        return out

    def _read_timeline(self, s: Any, record: Any) -> list[tuple[dt.datetime, str, str]]:
        entries = [
            (e.at, e.actor, _describe(self.rt, e))
            for e in audit.history(s, self.rt.slug, record.id)
            if e.action != 'comment'
        ]  # the comment itself is shown instead
        entries += [(c.at, c.author, c.body) for c in comments.for_record(s, self.rt.slug, record.id)]
        return sorted(entries, key=lambda e: e[0], reverse=True)

    # ---- refreshing (event loop) ----

    async def check(self) -> None:
        """On a live change of the record type: redraw if what the reader sees of the record changed.
        Any change of its type checks, not only its own: the reader may have been moved to another
        department meanwhile. Every open page of the type checks every change, so the check reads
        only the record's version and newest audit entry."""
        if self.container is None or live.gone(self.container):
            return
        seen = await run.io_bound(self._seen_now)
        if seen in (None, SIGNED_OUT) or seen == self.seen or (seen == GONE and self.seen is None):
            return
        await self.refresh()

    async def refresh(self) -> None:
        """Read the record again and redraw it if it (or the reader's access to it) changed."""
        if self.container is None or live.gone(self.container):
            return
        if self._held_by_dialog():
            return
        shown = await run.io_bound(self.read)
        if shown not in (None, SIGNED_OUT) and not live.gone(self.container):
            self._show(shown)

    def refresh_soon(self) -> None:
        """`refresh` from a synchronous handler."""
        background_tasks.create(self.refresh(), name=f'refresh {self.rt.slug} {self.record_id}')

    def _show(self, shown: Shown | str) -> None:
        if shown == GONE:
            self.seen = None  # shown again in full once the reader may see it again
            self.container.clear()
            with self.container:
                ui.label(f'This {self.rt.label.lower()} is no longer available to you.').classes('text-lg')
            return
        if shown.seen == self.seen:  # e.g. the live echo of this page's own change: nothing new to show
            return
        if self._held_by_dialog():  # opened while the record was read
            return
        self.seen = shown.seen
        self.container.clear()
        with self.container:
            self._draw(shown)

    # ---- drawing (no database) ----

    def _draw(self, shown: Shown) -> None:
        self._header(shown)
        self._fields(shown)
        if self.rt.slug in DETAIL_EXTRAS:
            DETAIL_EXTRAS[self.rt.slug](shown.record.id, shown.actor)
        self._related(shown)
        self._files(shown)
        self._timeline(shown)

    def _held_by_dialog(self) -> bool:
        """Whether a dialog (a step, delete or reset being filled in) is open on the page; if so the
        redraw waits for it: `refresh` again in a second. NiceGUI keeps dialogs at the page's root, and
        deletes one when the element it was opened from is cleared."""
        if not any(isinstance(e, ui.dialog) and e.value for e in self.container.client.layout):
            return False
        with self.container:
            ui.timer(1.0, self.refresh, once=True)
        return True

    def _header(self, shown: Shown) -> None:
        rt, record = self.rt, shown.record
        with ui.row().classes('w-full items-center gap-2'):
            ui.label(rt.title_of(record)).classes('text-xl font-medium')
            if rt.workflow:
                state = getattr(record, rt.workflow.field.key)
                ui.badge(rt.workflow.state_label(state)).props('outline').classes('text-sm')
            ui.space()
            if shown.may_edit:
                ui.button('Edit', icon='edit', on_click=lambda: ui.navigate.to(f'/r/{rt.slug}/{record.id}/edit')).props(
                    'outline'
                )
            if shown.may_delete:
                ui.button(
                    'Delete' if not rt.lookup else 'Delete or deactivate',
                    icon='delete',
                    on_click=lambda: self._delete(record.version),
                ).props('outline color=negative')
        if rt.workflow:
            with ui.row().classes('gap-2'):
                for step in shown.steps:
                    ui.button(
                        step.title,
                        on_click=lambda st=step, v=record.version: transition_dialog(
                            self.rt, self.record_id, st, v, self.refresh_soon
                        ),
                    ).props(f'color={step.color}')

    def _fields(self, shown: Shown) -> None:
        tz = get_settings().tz
        names = [n for n in self.rt.fields if n != 'id']
        with ui.card().classes('w-full'), ui.grid().classes('w-full grid-cols-1 sm:grid-cols-2 gap-x-6 gap-y-2'):
            for name in names:
                field = self.rt.fields[name]
                with ui.column().classes('gap-0' + (' sm:col-span-2' if field.kind == 'text' else '')):
                    ui.label(field.label).classes('text-xs text-gray-500')
                    value = getattr(shown.record, name)
                    if field.markdown and value:
                        markup.markdown(value).props(f'data-field={name}')
                        continue
                    text = display(field, value, tz, shown.refs.get(name)) or '—'
                    ui.label(text).classes('whitespace-pre-wrap break-words').props(f'data-field={name}')

    def _related(self, shown: Shown) -> None:
        for related in shown.related:
            other = related.rt
            with ui.card().classes('w-full'):
                more = '+' if related.capped else ''
                ui.label(f'{other.label_plural} ({related.total}{more})').classes('font-medium')
                for row in related.rows:
                    ui.link(other.title_of(row) or f'#{row.id}', f'/r/{other.slug}/{row.id}')
                if related.total > len(related.rows):
                    ui.link('See all', related.params.url(f'/r/{other.slug}'))

    def _files(self, shown: Shown) -> None:
        with ui.card().classes('w-full'):
            ui.label(f'Attachments ({len(shown.files)})').classes('font-medium')
            for f in shown.files:
                with ui.row().classes('items-center gap-2'):
                    ui.icon('attach_file')
                    ui.link(f.filename, f'/files/{f.id}', new_tab=True)
                    ui.label(f'{f.size / 1024:.0f} KB').classes('text-xs text-gray-500')
            if shown.may_attach:
                max_mb = get_settings().max_upload_mb
                ui.upload(
                    label=f'Add files (up to {max_mb} MB each)',
                    multiple=True,
                    auto_upload=True,
                    max_file_size=max_mb * 2**20,
                    on_upload=self._upload,
                ).props('flat bordered').classes('w-full')

    async def _upload(self, event: events.UploadEventArguments) -> None:
        data = await event.file.read()  # read now: large uploads live in a temp file that goes with the event

        def store(actor: Actor) -> Any:
            with db.session() as s:
                return records.attach(s, actor, self.rt, self.record_id, event.file.name, data)

        try:
            saved = await act_io(store)
        except attachments.UploadRejected as exc:
            ui.notify(str(exc), type='negative', multi_line=True)
            return
        if saved is not None:
            ui.notify(f'Attached {saved.filename}.', type='positive')
            await self.refresh()

    def _timeline(self, shown: Shown) -> None:
        tz = get_settings().tz
        with ui.card().classes('w-full'):
            ui.label('Timeline').classes('font-medium')
            body = ui.textarea(placeholder='Add a comment').props('autogrow outlined dense').classes('w-full')
            body.mark('comment-body')
            ui.button('Comment', on_click=lambda: self._comment(body)).props('outline dense')
            with ui.timeline(side='right').classes('w-full'):
                for at, who, text in shown.timeline:
                    with ui.timeline_entry(subtitle=f'{at.astimezone(tz):%d %b %Y %H:%M} · {who}'):
                        ui.label(text).classes('whitespace-pre-wrap break-words')

    async def _comment(self, body: Any) -> None:
        def add(actor: Actor) -> None:
            with db.session() as s:
                records.comment(s, actor, self.rt, self.record_id, body.value)

        try:
            await act_io(add)
        except ValidationError as exc:
            body.error = exc.errors.get('body')
            return
        await self.refresh()

    def _delete(self, version: int) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label(f'Delete this {self.rt.label.lower()}?')
            if self.rt.lookup:
                ui.label('A value still in use is deactivated instead.').classes('text-sm text-gray-600')

            async def confirm() -> None:
                def remove(actor: Actor) -> str:
                    with db.session() as s:
                        return records.delete(s, actor, self.rt, self.record_id)

                outcome = await act_io(remove)
                dialog.close()
                if outcome == 'deleted':
                    flash(f'{self.rt.label} deleted.')
                    ui.navigate.to(f'/r/{self.rt.slug}')
                elif outcome == 'deactivated':
                    ui.notify(f'{self.rt.label} is in use, so it was deactivated.', type='warning')
                    await self.refresh()

            with ui.row():
                ui.button('Delete', on_click=confirm).props('color=negative').mark('confirm-delete')
                ui.button('Cancel', on_click=dialog.close).props('flat')
        dialog.open()


def related_types(rt: type[RecordType]) -> list[tuple[type[RecordType], str]]:
    """(record type, reference field) pairs that point at `rt`; lookups and users are left out
    (a department is referred to by everything)."""
    if rt.lookup or rt.slug == 'users':
        return []
    return [
        (other, f.name)
        for other in REGISTRY.values()
        for f in other.fields.values()
        if f.kind == 'ref' and f.target is rt.model
    ]


def _describe(rt: type[RecordType], entry: audit.AuditEntry) -> str:
    details = entry.details
    if entry.action == 'create':
        return 'Created'
    if entry.action.startswith('transition:'):
        step = rt.workflow.transition(entry.action.split(':', 1)[1]) if rt.workflow else None
        return step.title if step else entry.action
    if entry.action == 'update':
        parts = []
        for name, change in details.items():
            label = rt.fields[name].label if name in rt.fields else name
            old, new = change if isinstance(change, list) and len(change) == 2 else (None, change)
            parts.append(f'{label}: {old if old not in (None, "") else "—"} → {new if new not in (None, "") else "—"}')
        return 'Changed ' + '; '.join(parts)
    if entry.action == 'attach':
        return f'Attached {details.get("file", ["", ""])[1]}'
    return entry.action.replace('_', ' ').capitalize() + (f' ({entry.note})' if entry.note else '')
