"""The hiccup dashboard: counts and charts of the hiccups the user may see.

Filters (occurred-at date range in TIMEZONE, departments) live in the URL like the list's:
``/dashboard?from=2026-01-01&to=2026-03-31&f.department_id=3|5``. The numbers come from
`reports.hiccup_stats`, each chart's query on a worker thread; a click on a bar opens the
hiccup list filtered to it, and each chart's data downloads as an Excel sheet.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from fastapi import Request
from nicegui import run, ui

from models import db
from models.accounts import Actor
from models.hiccups import Hiccups
from models.permissions import can, require
from pages import live
from pages.forms import options_for
from pages.layout import frame
from pages.session import NotSignedIn, act_io, actor_by_id, current_actor, export_path, page
from reports.hiccup_stats import CHARTS, LIST_URL, Filters, export_chart, export_filename

PLOT_CONFIG = {'displaylogo': False, 'responsive': True, 'modeBarButtonsToRemove': ['select2d', 'lasso2d']}
CLICK = '(e) => emit({customdata: e?.points?.[0]?.customdata ?? null})'  # only the link goes to the server
CARD_STYLE = {'Total': 'text-gray-800', 'Open': 'text-primary', 'Overdue': 'text-red-700'}


def _setup(actor: Actor, filters: Filters) -> tuple[bool, dict[Any, str]]:
    """Refuse without the view permission; whether the user may export; the department choices."""
    with db.session() as s:
        require(s, actor, Hiccups, 'view')
        departments = options_for(s, Hiccups.fields['department_id'], keep=list(filters.department_ids))
        return can(s, actor, Hiccups, 'export'), departments


def _chart(user_id: int, key: str, filters: Filters) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """One chart's data and figure (as plain JSON) for the user as they are now: run on a thread."""
    chart = CHARTS[key]
    df = chart.load(actor_by_id(user_id), filters)
    figure = chart.figure(df, filters).to_plotly_json() if chart.figure else None
    return df, figure


@page('/dashboard')
async def dashboard_page(request: Request) -> None:
    actor = current_actor()
    filters = Filters.from_query(dict(request.query_params))
    may_export, departments = await run.io_bound(_setup, actor, filters)
    with frame('Dashboard', actor):
        board = Dashboard(actor, filters, departments, may_export)
    await board.load()


class Dashboard:
    """Filter bar, headline cards and one panel per chart; `load` fills them in."""

    def __init__(self, actor: Actor, filters: Filters, departments: dict[Any, str], may_export: bool) -> None:
        self.user_id = actor.id
        self.filters = filters
        self.may_export = may_export
        self.frames: dict[str, pd.DataFrame] = {}
        self.generation = 0  # a load started before the latest filter change is dropped
        self.empty: dict[str, ui.label] = {}
        ui.label('Hiccups dashboard').classes('text-xl font-medium')
        self._filter_bar(departments)
        with ui.row().classes('w-full items-stretch gap-3'):
            self.cards = ui.row().classes('grow items-stretch gap-3')
            self._export_button('headline')
        with ui.grid().classes('w-full grid-cols-1 lg:grid-cols-2 gap-3'):
            self.plots = {key: self._panel(key) for key, chart in CHARTS.items() if chart.figure}

    # ---- building ----

    def _filter_bar(self, departments: dict[Any, str]) -> None:
        with ui.row().classes('w-full items-end gap-2'):
            self.date_from = ui.input('Occurred from', value=self.filters.start.isoformat(), on_change=self.apply)
            self.date_to = ui.input('Occurred to', value=self.filters.end.isoformat(), on_change=self.apply)
            for el in (self.date_from, self.date_to):
                el.props('type=date dense outlined stack-label')
            self.departments = (
                ui.select(
                    departments,
                    label='Departments (all when empty)',
                    multiple=True,
                    value=[d for d in self.filters.department_ids if d in departments],
                    on_change=self.apply,
                )
                .props('dense outlined use-chips clearable')
                .classes('min-w-[16rem]')
                .mark('departments')
            )

    def _panel(self, key: str) -> ui.plotly:
        chart = CHARTS[key]
        with ui.card().classes('w-full p-2'):
            with ui.row().classes('w-full items-center'):
                ui.label(chart.title).classes('text-base font-medium')
                ui.space()
                self._export_button(key)
            self.empty[key] = ui.label('Loading…').classes('text-sm text-gray-500')
            plot = (
                ui.plotly({'data': [], 'layout': {'height': 360}, 'config': PLOT_CONFIG})
                .classes('w-full')
                .mark(f'chart-{key}')
            )
            plot.on('plotly_click', self._open, js_handler=CLICK)
        return plot

    def _export_button(self, key: str) -> None:
        if self.may_export:
            button = ui.button(icon='download', on_click=lambda: self.export(key)).mark(f'export-{key}')
            button.props(f'flat dense round aria-label="Export {CHARTS[key].title} to Excel"').tooltip(
                'Export to Excel'
            )

    def _show_cards(self, df: pd.DataFrame) -> None:
        self.cards.clear()
        with self.cards:
            for measure, count, link in df[['measure', 'hiccups', 'link']].itertuples(index=False):
                with (
                    ui.link(target=link).classes('no-underline grow'),
                    ui.card().classes('min-w-[9rem] hover:shadow-lg'),
                ):
                    ui.label(measure).classes('text-sm text-gray-600')
                    count_label = ui.label(f'{count:,}').mark(f'count-{measure.lower()}')
                    count_label.classes(f'text-3xl font-medium {CARD_STYLE.get(measure, "")}')

    # ---- behaviour ----

    async def load(self) -> None:
        self.generation += 1
        await asyncio.gather(*(self._load(key, self.generation) for key in CHARTS))

    async def _load(self, key: str, generation: int) -> None:
        try:
            result = await run.io_bound(_chart, self.user_id, key, self.filters)
        except NotSignedIn:
            ui.navigate.to('/login')
            return
        if result is None or live.gone(self.cards) or generation != self.generation:
            return  # the app is stopping, the page was closed, or the filters changed meanwhile
        df, figure = result
        self.frames[key] = df
        if key == 'headline':
            self._show_cards(df)
            return
        self.empty[key].set_text('No hiccups in this range.' if df.empty else '')
        self.empty[key].set_visibility(df.empty)
        self.plots[key].update_figure({**figure, 'config': PLOT_CONFIG})

    async def apply(self) -> None:
        departments = [d for d in self.departments.value or [] if isinstance(d, int)]
        self.filters = Filters.of(self.date_from.value, self.date_to.value, departments)
        self.frames.clear()
        ui.navigate.history.replace(f'/dashboard?{urlencode(self.filters.to_query())}')
        await self.load()

    def _open(self, event: Any) -> None:
        """A click on a bar: open the hiccup list filtered to it (only list URLs are followed)."""
        link = event.args.get('customdata') if isinstance(event.args, dict) else None
        if isinstance(link, str) and (link == LIST_URL or link.startswith(LIST_URL + '?')):
            ui.navigate.to(link)

    async def export(self, key: str) -> None:
        chart, filters, df = CHARTS[key], self.filters, self.frames.get(key)
        if df is None:
            ui.notify('The chart is still loading; try again in a moment.')
            return

        def write(actor: Actor) -> Any:
            path = export_path(export_filename(chart, filters))
            return path, export_chart(actor, chart, df, filters, path)

        done = await act_io(write)
        if done is not None:
            path, count = done
            ui.download.file(path, path.name)
            ui.notify(f'Exported {count:,} rows of "{chart.title}".', type='positive')
