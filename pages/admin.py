"""Admin pages: the permission matrix, the lookup tables' Excel round trip, password resets."""

from __future__ import annotations

import dataclasses
from typing import Any

from nicegui import events, run, ui
from sqlalchemy import select

from models import apikeys, db
from models.accounts import Actor, Role, User, change_password, generate_password
from models.engine import REGISTRY, RecordType
from models.permissions import PermissionDenied, require, role_allows, set_permission
from models.settings import get_settings
from models.values import ValidationError
from pages.detail import DETAIL_EXTRAS
from pages.layout import frame
from pages.records import record_type
from pages.session import act_io, current_actor, export_path, page


def _require(actor: Actor, rt: type[RecordType], action: str) -> None:
    with db.session() as s:
        require(s, actor, rt, action)


def _admin_only(actor: Actor) -> None:
    if not actor.has('admin'):
        raise PermissionDenied('Only administrators may change permissions.')


@page('/admin/permissions')
async def permissions_page() -> None:
    actor = current_actor()
    _admin_only(actor)
    roles, allowed = await run.io_bound(_read_matrix)
    with frame('Permissions', actor):
        ui.label('Permissions by role').classes('text-xl font-medium')
        ui.label("Ticks start from each record type's defaults; every change is audited.").classes('text-gray-600')
        for rt in REGISTRY.values():
            with ui.expansion(rt.label_plural, icon=rt.icon).classes('w-full').props('dense'):
                _matrix(rt, roles, allowed)


def _read_matrix() -> tuple[list[str], dict[tuple[str, str, str], bool]]:
    """The active roles, and whether each may do each action on each record type: (slug, role, action)."""
    with db.session() as s:
        roles = list(s.scalars(select(Role.name).where(Role.active.is_(True)).order_by(Role.name)))
        allowed = {
            (rt.slug, role, action): role_allows(s, role, rt, action)
            for rt in REGISTRY.values()
            for role in roles
            for action in rt.actions()
        }
    return roles, allowed


def _matrix(rt: type[RecordType], roles: list[str], allowed: dict[tuple[str, str, str], bool]) -> None:
    actions = rt.actions()
    with ui.grid(columns=len(actions) + 1).classes('gap-x-3 gap-y-0 items-center overflow-x-auto'):
        ui.label('Role').classes('font-medium')
        for action in actions:
            ui.label(action.replace('transition:', '→ ')).classes('text-xs font-medium')
        for role in roles:
            ui.label(role)
            for action in actions:
                ui.checkbox(
                    value=allowed[(rt.slug, role, action)],
                    on_change=lambda e, r=role, a=action: _set(rt, r, a, e.value),
                ).props('dense').mark(f'perm-{rt.slug}-{role}-{action}')


async def _set(rt: type[RecordType], role: str, action: str, allowed: bool) -> None:
    def save(actor: Actor) -> bool:
        _admin_only(actor)
        with db.session() as s:
            set_permission(s, actor, role, rt, action, allowed)
        return True

    if await act_io(save):
        ui.notify(f'{role}: {action} on {rt.label_plural.lower()} {"allowed" if allowed else "removed"}.')


@page('/admin/import/{slug}')
async def import_page(slug: str) -> None:
    actor = current_actor()
    rt = record_type(slug)
    await run.io_bound(_require, actor, rt, 'edit')
    if not rt.lookup:
        raise PermissionDenied(f'{rt.label_plural} are not a lookup table.')
    with frame(f'{rt.label_plural}: Excel round trip', actor):
        LookupImport(rt)


class LookupImport:
    """Download the table, edit it in Excel, upload it, check the preview, apply all or nothing."""

    def __init__(self, rt: type[RecordType]) -> None:
        self.rt = rt
        self.data: bytes | None = None
        ui.label(f'{rt.label_plural}: Excel round trip').classes('text-xl font-medium')
        ui.markdown(
            '1. Download the table. 2. Edit names, add rows (leave **id** empty), set **active** to FALSE to '
            'deactivate. Rows you delete from the file are left as they are. 3. Upload it and check the '
            'preview. 4. Apply: every change is saved, or none is.'
        )
        ui.button('Download current table', icon='download', on_click=self.download).props('outline')
        ui.upload(
            label='Upload the edited .xlsx', auto_upload=True, max_file_size=10 * 2**20, on_upload=self.uploaded
        ).props('accept=.xlsx flat bordered').classes('w-full max-w-md')
        self.preview_area = ui.column().classes('w-full')

    async def download(self) -> None:
        from reports.export import export_filename
        from reports.imports import export_lookup

        path = export_path(export_filename(self.rt))
        count = await act_io(lambda actor: export_lookup(actor, self.rt, path))
        if count is not None:
            ui.download.file(path, path.name)

    async def uploaded(self, event: events.UploadEventArguments) -> None:
        from reports.imports import preview

        self.data = await event.file.read()
        try:
            result = await act_io(lambda actor: preview(actor, self.rt, self.data))
        except ValueError as exc:
            self._show_error(str(exc))
            return
        if result is not None:
            self._show(result)

    def _show_error(self, message: str) -> None:
        self.preview_area.clear()
        with self.preview_area:
            ui.label(message).classes('text-red-700')

    def _show(self, result: Any) -> None:
        self.preview_area.clear()
        with self.preview_area:
            ui.label(
                f'Preview: {len(result.inserts)} new, {len(result.updates)} changed, '
                f'{len(result.deactivations)} deactivated, {result.unchanged} unchanged, '
                f'{len(result.errors)} errors'
            ).classes('font-medium').props('data-test=preview-summary')
            _section('New', [_describe_row(r) for r in result.inserts])
            _section('Changed', [_describe_row(r) for r in result.updates])
            _section('Deactivated', [_describe_row(r) for r in result.deactivations])
            _section('Errors', [_describe_row(r) for r in result.errors], error=True)
            if result.errors:
                ui.label('Fix the errors in the file and upload it again; nothing has been saved.').classes(
                    'text-red-700'
                )
            elif result.inserts or result.updates or result.deactivations:
                ui.button('Apply all changes', icon='done_all', on_click=self.apply)

    async def apply(self) -> None:
        from reports.imports import apply

        try:
            result = await act_io(lambda actor: apply(actor, self.rt, self.data))
        except (ValidationError, ValueError) as exc:
            self._show_error(f'Nothing was saved: {exc}')
            return
        if result is not None:
            self.preview_area.clear()
            with self.preview_area:
                ui.label(
                    f'Applied: {len(result.inserts)} new, {len(result.updates)} changed, '
                    f'{len(result.deactivations)} deactivated.'
                ).classes('text-green-800 font-medium')
            ui.notify('Import applied.', type='positive')


def _section(title: str, lines: list[str], error: bool = False) -> None:
    if not lines:
        return
    ui.label(title).classes('font-medium mt-2' + (' text-red-700' if error else ''))
    for line in lines[:500]:
        ui.label(line).classes('text-sm' + (' text-red-700' if error else ''))
    if len(lines) > 500:
        ui.label(f'… and {len(lines) - 500} more').classes('text-sm')


def _describe_row(row: Any) -> str:
    """One preview line; rows are dataclasses or dicts from reports.imports."""
    data = row if isinstance(row, dict) else vars(row)
    parts = [f'row {data.get("row")}'] if data.get('row') is not None else []
    parts += [f'{k}: {v}' for k, v in data.items() if k != 'row' and v not in (None, '', {}, [])]
    return ' · '.join(parts)


def _reset_password(user_id: int, actor: Actor) -> None:
    if not actor.has('admin'):
        return

    async def reset() -> None:
        new = generate_password()

        def save(admin: Actor) -> bool:
            with db.session() as s:
                change_password(s, admin, user_id, new)
            return True

        if not await act_io(save):
            return
        with ui.dialog() as dialog, ui.card():
            ui.label('New password (shown once; give it to the user):')
            ui.label(new).classes('font-mono text-lg').mark('new-password')
            ui.button('Done', on_click=dialog.close)
        dialog.open()

    ui.button('Reset password', icon='key', on_click=reset).props('outline')


DETAIL_EXTRAS['users'] = _reset_password


@page('/admin/api-keys')
async def api_keys_page() -> None:
    actor = current_actor()
    if not actor.has('admin'):
        raise PermissionDenied('Only administrators manage API keys.')
    users, keys = await run.io_bound(_read_keys)
    with frame('API keys', actor):
        ApiKeys(users).show(keys)


@dataclasses.dataclass(frozen=True)
class KeyShown:
    id: int
    name: str
    email: str
    active: bool
    last_used: str


def _read_keys() -> tuple[dict[int, str], list[KeyShown]]:
    """The active users a key may be issued for, and every key, newest first and revoked last."""
    with db.session() as s:
        users = {
            u.id: f'{u.name} <{u.email}>'
            for u in s.scalars(select(User).where(User.active.is_(True)).order_by(User.name))
        }
        return users, _keys(s)


def _keys(s: Any) -> list[KeyShown]:
    tz = get_settings().tz
    return [
        KeyShown(
            key.id,
            key.name,
            key.user.email,
            key.active,
            key.last_used_at.astimezone(tz).strftime('%d %b %Y %H:%M') if key.last_used_at else 'never',
        )
        for key in apikeys.for_listing(s)
    ]


class ApiKeys:
    """Issue a key for an integration (shown once), see when each was last used, revoke."""

    def __init__(self, users: dict[int, str]) -> None:
        ui.label('API keys').classes('text-xl font-medium')
        ui.label(
            "A key acts as the user it is issued for, with that user's roles. Send it as "
            '"Authorization: Bearer <key>".'
        ).classes('text-gray-600')
        with ui.row().classes('items-end gap-2'):
            self.user = ui.select(users, label='For user', with_input=True).classes('min-w-[16rem]').mark('key-user')
            self.name = ui.input('Integration name').mark('key-name')
            ui.button('Issue key', icon='vpn_key', on_click=self.issue)
        self.listing = ui.column().classes('w-full')

    def show(self, keys: list[KeyShown]) -> None:
        self.listing.clear()
        with self.listing:
            for key in keys:
                with ui.row().classes('items-center gap-3' + ('' if key.active else ' opacity-50')):
                    ui.label(f'{key.name} · {key.email}').classes('font-medium')
                    ui.label(f'last used {key.last_used}').classes('text-sm text-gray-600')
                    if key.active:
                        ui.button('Revoke', on_click=lambda k=key.id: self.revoke(k)).props('flat dense color=negative')
                    else:
                        ui.label('revoked').classes('text-sm')

    async def issue(self) -> None:
        user_id, name = self.user.value or 0, self.name.value

        def work(actor: Actor) -> tuple[str, list[KeyShown]]:
            with db.session() as s:
                key = apikeys.issue(s, actor, user_id, name)[1]
            with db.session() as s:
                return key, _keys(s)

        try:
            done = await act_io(work)
        except ValidationError as exc:
            self.user.error = exc.errors.get('user_id')
            self.name.error = exc.errors.get('name')
            return
        if done:
            key, keys = done
            self.show(keys)
            with ui.dialog() as dialog, ui.card():
                ui.label('The key (shown once; store it in the integration now):')
                ui.label(key).classes('font-mono break-all').mark('issued-key')
                ui.button('Done', on_click=dialog.close)
            dialog.open()

    async def revoke(self, key_id: int) -> None:
        def work(actor: Actor) -> list[KeyShown]:
            with db.session() as s:
                apikeys.revoke(s, actor, key_id)
            with db.session() as s:
                return _keys(s)

        keys = await act_io(work)
        if keys is not None:
            self.show(keys)
            ui.notify('Key revoked.')


@page('/admin/settings')
async def settings_page() -> None:
    from models.hiccups.rules import follow_up_days, set_follow_up_days

    actor = current_actor()
    if not actor.has('admin'):
        raise PermissionDenied('Only administrators change settings.')
    current = await run.io_bound(_read, follow_up_days)
    with frame('Settings', actor):
        ui.label('Settings').classes('text-xl font-medium')
        days = (
            ui.number('Hiccup follow-up due after closure (days)', value=current, min=1, max=90, format='%.0f')
            .classes('w-72')
            .mark('follow-up-days')
        )

        async def save() -> None:
            def store(admin: Actor) -> bool:
                with db.session() as s:
                    set_follow_up_days(s, admin, days.value)
                return True

            try:
                saved = await act_io(store)
            except ValidationError as exc:
                days.error = exc.errors.get('days') or exc.errors.get('')
                return
            if saved:
                days.error = None
                ui.notify('Saved.', type='positive')

        ui.button('Save', on_click=save)


def _read(reader: Any) -> Any:
    with db.session() as s:
        return reader(s)
