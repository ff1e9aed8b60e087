"""The generated list view of every record type: filters, search, sort, paging, columns,
saved views, export and live updates, all kept in the URL."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import Request
from nicegui import run, ui

from models import changes, db, query, views
from models.accounts import Actor
from models.engine import REGISTRY, RecordType
from models.permissions import NotFound, can, require
from models.query import ListParams, filterable
from models.settings import get_settings
from models.values import display, ref_titles
from pages import live
from pages.forms import options_for
from pages.layout import first_paint, frame
from pages.readers import Reader
from pages.session import NotSignedIn, act_io, actor_by_id, current_actor, export_path, page


def record_type(slug: str, actor: Actor | None = None, action: str = 'view') -> type[RecordType]:
    """The record type of a page's URL; with `actor`, refused unless they may `action` it."""
    if slug not in REGISTRY:
        raise NotFound(f'There is no list called {slug!r}.')
    rt = REGISTRY[slug]
    if actor is not None:
        with db.session() as s:
            require(s, actor, rt, action)
    return rt


@page('/r/{slug}')
async def list_page(slug: str, request: Request) -> None:
    actor = current_actor()
    rt = record_type(slug)
    params = ListParams.from_query(rt, dict(request.query_params))
    setup = await run.io_bound(ListSetup.read, rt, actor, params)
    if setup is None:  # the app is stopping
        return
    with frame(rt.label_plural, actor):
        view = RecordList(rt, actor, params, setup)

    async def start() -> None:
        await view.load()
        live.on_change(rt.slug, view.reload)  # after the first load, so that no reload races it

    await first_paint(start())


def table_rows(session: Any, rt: type[RecordType], records: list[Any], names: list[str]) -> list[dict[str, Any]]:
    """Rows of display text for a table (references resolved in one query per field)."""
    tz = get_settings().tz
    refs = ref_titles(session, rt, records, names)
    return [{'id': r.id, **{n: display(rt.fields[n], getattr(r, n), tz, refs.get(n)) for n in names}} for r in records]


def _fetch(user_id: int, rt: type[RecordType], params: ListParams) -> tuple[list[dict], int, bool] | None:
    """The rows and count of a list for its user now (None once they are signed out or inactive);
    identical lists open at the same time share one read (`changes.shared`)."""
    with db.session() as s:  # one connection for the reader and their rows: this runs per open list per change
        try:
            actor = actor_by_id(user_id, s)
        except NotSignedIn:
            return None

        def read() -> tuple[list[dict], int, bool]:
            records = query.page(s, actor, rt, params)
            rows = table_rows(s, rt, records, params.visible_columns(rt))
            return (rows, *query.count(s, actor, rt, params))

        return changes.shared(s, query.result_key(s, actor, rt, params), read)


def _filter_options(session: Any, rt: type[RecordType]) -> dict[str, dict[Any, str]]:
    return {n: options_for(session, rt.fields[n]) for n in filterable(rt)}


@dataclasses.dataclass(frozen=True)
class ListSetup:
    """What a list page reads before it is built, on a worker thread (`read`): the build itself then
    waits for nothing, so a hundred lists opening at once do not hold the event loop on the database."""

    may_create: bool
    may_export: bool
    saved: dict[str, str]  # saved view query → name
    filter_options: dict[str, dict[Any, str]] | None  # read only when the URL filters: the panel opens

    @classmethod
    def read(cls, rt: type[RecordType], actor: Actor, params: ListParams) -> ListSetup:
        """Refused (`PermissionDenied`) unless `actor` may view `rt`."""
        with db.session() as s:
            require(s, actor, rt, 'view')
            saved = {v.query: v.name for v in views.for_user(s, actor.id, rt.slug)}
            active = params.filters or params.date_from or params.date_to
            options = _filter_options(s, rt) if active else None
            return cls(can(s, actor, rt, 'create'), can(s, actor, rt, 'export'), saved, options)


class RecordList:
    """Toolbar, filters and a server-side paged table for one record type."""

    def __init__(self, rt: type[RecordType], actor: Actor, params: ListParams, setup: ListSetup) -> None:
        self.rt = rt
        self.user_id = actor.id
        self.params = params
        self.base = f'/r/{rt.slug}'
        self.reload = live.coalesced(self.load, f'reload {rt.slug}', Reader(actor.id, rt))
        self.may_create, self.may_export, self.saved = setup.may_create, setup.may_export, setup.saved
        self._toolbar()
        self._filters(setup.filter_options)
        self.summary = ui.label('').classes('text-sm text-gray-600').mark('list-summary')
        self.table = (
            ui.table(columns=self._columns(), rows=[], row_key='id', pagination=self._pagination(0))
            .classes('w-full')
            .props(':grid="Quasar.Screen.lt.sm" flat bordered')
        )
        self.table.add_slot(
            'body-cell-' + self._link_column(),
            f"""
            <q-td :props="props"><a :href="'{self.base}/' + props.row.id" class="text-primary">
            {{{{ props.value || '#' + props.row.id }}}}</a></q-td>""",
        )
        self.table.add_slot(
            'item',
            f"""
            <div class="q-pa-xs col-12"><q-card flat bordered><q-card-section>
            <a :href="'{self.base}/' + props.row.id" class="text-primary text-weight-medium">
              {{{{ props.cols[0].value || '#' + props.row.id }}}}</a>
            <div v-for="col in props.cols.slice(1)" :key="col.name" class="text-caption">
              <span class="text-grey-7">{{{{ col.label }}}}:</span> {{{{ col.value }}}}</div>
            </q-card-section></q-card></div>""",
        )
        self.table.on('request', self._on_request)

    # ---- building ----

    def _toolbar(self) -> None:
        with ui.row().classes('w-full items-center gap-2'):
            ui.label(self.rt.label_plural).classes('text-xl font-medium')
            ui.space()
            if self.may_create:
                ui.button(
                    f'New {self.rt.label.lower()}', icon='add', on_click=lambda: ui.navigate.to(f'{self.base}/new')
                )
            if self.rt.workflow:
                ui.button(
                    'Board',
                    icon='view_kanban',
                    on_click=lambda: ui.navigate.to(
                        ListParams(filters=self.params.filters, q=self.params.q).url(f'{self.base}/board')
                    ),
                ).props('outline')
            if self.may_export:
                ui.button('Export', icon='download', on_click=self.export).props('outline')
            if self.rt.lookup and self.may_create:
                ui.button(
                    'Excel round trip',
                    icon='sync_alt',
                    on_click=lambda: ui.navigate.to(f'/admin/import/{self.rt.slug}'),
                ).props('outline')
        with ui.row().classes('w-full items-center gap-2'):
            self.search = (
                ui.input(placeholder='Search', value=self.params.q)
                .props('clearable dense outlined')
                .classes('grow min-w-[12rem]')
                .on('keydown.enter', self._apply)
            )
            self.search.on('clear', self._apply)
            ui.button(icon='search', on_click=self._apply).props('flat dense aria-label=Search')
            self.views = (
                ui.select({'': 'Saved views', **self.saved}, value='', on_change=self._open_view)
                .props('dense outlined')
                .classes('min-w-[10rem]')
            )
            save = ui.button(icon='bookmark_add', on_click=self._save_view).props('flat dense').mark('save-view')
            save.tooltip('Save this view')

    def _filters(self, options: dict[str, dict[Any, str]] | None) -> None:
        """The filter panel, open when the URL filters (`options` then given); otherwise its inputs are
        built when it first opens (a closed panel costs nothing: its selects of users or departments
        are most of what a list page takes to build)."""
        self.filters_built = False
        with (
            ui.expansion('Filters and columns', icon='filter_list', value=options is not None)
            .classes('w-full')
            .props('dense') as panel
        ):
            self.filter_row = ui.row().classes('w-full items-end gap-2')
        panel.on_value_change(self._open_filters)
        if options is not None:
            self._build_filters(options)

    async def _open_filters(self, event: Any) -> None:
        if event.value and not self.filters_built:
            self._build_filters(await run.io_bound(self._read_options))

    def _read_options(self) -> dict[str, dict[Any, str]]:
        with db.session() as s:
            return _filter_options(s, self.rt)

    def _build_filters(self, options: dict[str, dict[Any, str]]) -> None:
        if self.filters_built:
            return
        self.filters_built = True
        with self.filter_row:
            self.filter_inputs = {}
            for name, choices in options.items():
                self.filter_inputs[name] = self._filter_select(name, choices)
            if self.rt.date_field:
                label = self.rt.fields[self.rt.date_field].label
                self.date_from = ui.input(f'{label} from', value=self.params.date_from, on_change=self._apply).props(
                    'type=date dense outlined stack-label'
                )
                self.date_to = ui.input(f'{label} to', value=self.params.date_to, on_change=self._apply).props(
                    'type=date dense outlined stack-label'
                )
            if self.rt.owner_field or self.rt.assignee_field:
                self.mine = ui.checkbox('Mine', value=self.params.mine, on_change=self._apply)
            columns = {n: f.label for n, f in self.rt.fields.items()}
            self.columns = (
                ui.select(
                    columns,
                    label='Columns',
                    multiple=True,
                    value=self.params.visible_columns(self.rt),
                    on_change=self._apply,
                )
                .props('dense outlined use-chips')
                .classes('min-w-[14rem]')
            )

    def _filter_select(self, name: str, options: dict[Any, str]) -> ui.select:
        choices = {'': 'Any', '-': '(none)', **{str(k): v for k, v in options.items()}}
        current = self.params.filters.get(name, '')
        if current not in choices:  # e.g. 'open|responded' from a dashboard link: a choice of its own
            choices[current] = ' or '.join(choices.get(v, v) for v in current.split('|'))
        return (
            ui.select(
                choices,
                label=self.rt.fields[name].label,
                value=current,
                with_input=len(options) > 10,
                on_change=self._apply,
            )
            .props('dense outlined')
            .classes('min-w-[9rem]')
        )

    def _columns(self) -> list[dict[str, Any]]:
        return [
            {
                'name': n,
                'label': self.rt.fields[n].label,
                'field': n,
                'align': 'left',
                'sortable': self.rt.fields[n].kind != 'multi',
            }
            for n in self.params.visible_columns(self.rt)
        ]

    def _link_column(self) -> str:
        names = self.params.visible_columns(self.rt)
        title = self.rt.title_field.key
        return title if title in names else names[0]

    def _pagination(self, total: int) -> dict[str, Any]:
        sort = self.params.sort
        return {
            'page': self.params.page,
            'rowsPerPage': self.params.per_page,
            'rowsNumber': total,
            'sortBy': sort.lstrip('-') or None,
            'descending': sort.startswith('-'),
        }

    # ---- behaviour ----

    async def load(self) -> None:
        params = dataclasses.replace(self.params, filters=dict(self.params.filters), columns=list(self.params.columns))
        fetched = await run.io_bound(_fetch, self.user_id, self.rt, params)
        if fetched is None or live.gone(self.table):  # signed out, the app is stopping, or the page was closed
            return
        rows, total, capped = fetched
        self.table.columns = self._columns()
        self.table.rows = rows
        self.table.pagination = self._pagination(total)
        shown = f'{total:,}+' if capped else f'{total:,}'
        noun = self.rt.label.lower() if total == 1 and not capped else self.rt.label_plural.lower()
        self.summary.set_text(f'{shown} {noun}')
        self.table.update()

    async def _apply(self) -> None:
        p = self.params
        p.q = (self.search.value or '').strip()
        if self.filters_built:  # else the panel was never opened: its values are still the URL's
            self._read_filters()
        p.page = 1
        await self._navigate()

    def _read_filters(self) -> None:
        p = self.params
        p.filters = {n: str(el.value) for n, el in self.filter_inputs.items() if el.value not in (None, '')}
        if self.rt.date_field:
            p.date_from, p.date_to = self.date_from.value or '', self.date_to.value or ''
        if self.rt.owner_field or self.rt.assignee_field:
            p.mine = bool(self.mine.value)
        chosen = list(self.columns.value or [])
        p.columns = [] if chosen == list(self.rt.list_columns) or not chosen else chosen

    async def _on_request(self, event: Any) -> None:
        pagination = event.args.get('pagination', {})
        p = self.params
        p.page = int(pagination.get('page') or 1)
        p.per_page = min(query.MAX_PER_PAGE, max(1, int(pagination.get('rowsPerPage') or 25)))
        sort_by = pagination.get('sortBy')
        p.sort = (('-' if pagination.get('descending') else '') + sort_by) if sort_by else ''
        await self._navigate()

    async def _navigate(self) -> None:
        ui.navigate.history.replace(self.params.url(self.base))
        await self.load()

    def _open_view(self) -> None:
        if self.views.value:
            ui.navigate.to(f'{self.base}?{self.views.value}')

    def _save_view(self) -> None:
        with ui.dialog() as dialog, ui.card():
            name = ui.input('Name of this view').props('autofocus')

            async def save() -> None:
                title = (name.value or '').strip()
                if not title:
                    name.error = 'Give the view a name.'
                    return
                query_text = self.params.url('').lstrip('?')

                def store(actor: Actor) -> bool:
                    with db.session() as s:
                        views.save(s, actor.id, self.rt.slug, title[:100], query_text)
                    return True

                if not await act_io(store):
                    return
                self.views.options[query_text] = title
                self.views.update()
                dialog.close()
                ui.notify(f'Saved view "{title}".', type='positive')

            with ui.row():
                ui.button('Save', on_click=save)
                ui.button('Cancel', on_click=dialog.close).props('flat')
        dialog.open()

    async def export(self) -> None:
        from reports.export import export_filename, export_list

        actor = current_actor()
        done = {'rows': 0}
        with ui.dialog().props('persistent') as dialog, ui.card().classes('min-w-[18rem]'):
            ui.label(f'Exporting {self.rt.label_plural.lower()}…')
            progress = ui.label('0 rows')
            ui.timer(0.5, lambda: progress.set_text(f'{done["rows"]:,} rows'))
        dialog.open()
        path = export_path(export_filename(self.rt))
        try:
            count = await run.io_bound(
                export_list, actor, self.rt, self.params, path, lambda n: done.__setitem__('rows', n)
            )
        except Exception as exc:  # the user must hear of it; the log keeps the detail
            dialog.close()
            ui.notify(f'Export failed: {exc}', type='negative', multi_line=True)
            raise
        dialog.close()
        ui.download.file(path, path.name)
        ui.notify(f'Exported {count:,} rows.', type='positive')
