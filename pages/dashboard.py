"""Dashboards: counts and charts of the records the user may see, with filters in the URL.

One `Dashboard` class draws any `DashboardSpec`: a chart registry (`reports.hiccup_stats.Chart`
entries), a filters class read from and written to the URL, and the filter bar's selects.
Two are declared here:

- ``/dashboard``, hiccups: occurred-at date range in TIMEZONE and departments, like the list:
  ``/dashboard?from=2026-01-01&to=2026-03-31&f.department_id=3|5`` (`reports.hiccup_stats`);
- ``/issues/dashboard``, issues: created-at date range, severities and (for those who see every
  issue) assignees: ``/issues/dashboard?from=…&to=…&f.severity=HIGH|CRITICAL`` (`reports.issue_stats`).

Each chart's query runs on a worker thread; a click on a bar opens the list filtered to it,
and each chart's data downloads as an Excel sheet (with the export permission).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from fastapi import Request
from nicegui import run, ui
from sqlalchemy.orm import Session

from models import db
from models.accounts import Actor
from models.engine import RecordType
from models.hiccups import Hiccups
from models.issues import Issues
from models.permissions import can, require
from pages import live
from pages.forms import options_for
from pages.layout import first_paint, frame
from pages.session import NotSignedIn, act_io, actor_by_id, current_actor, export_path, page
from reports import hiccup_stats, issue_stats
from reports.hiccup_stats import Chart

PLOT_CONFIG = {'displaylogo': False, 'responsive': True, 'modeBarButtonsToRemove': ['select2d', 'lasso2d']}
CLICK = '(e) => emit({customdata: e?.points?.[0]?.customdata ?? null})'  # only the link goes to the server


@dataclasses.dataclass(frozen=True)
class Select:
    """A multiple select of the filter bar: the filters attribute it sets, and its choices for a user
    (None: not offered to that user)."""

    attr: str  # e.g. 'department_ids', also the keyword of the filters class's `of`
    label: str
    marker: str
    options: Callable[[Session, Actor, Any], dict[Any, str] | None]


@dataclasses.dataclass(frozen=True)
class DashboardSpec:
    """What one dashboard shows and where. `filters` is a class with ``from_query(query)``,
    ``of(start, end, **{select.attr: values})``, ``to_query()``, ``start`` and ``end``."""

    url: str
    page_title: str
    heading: str
    rt: type[RecordType]  # its view permission opens the page, its export one the Excel buttons
    charts: Mapping[str, Chart]  # 'headline' (no figure): the cards
    filters: Any
    list_url: str  # only links to this list are followed from a click on a chart
    date_label: str  # 'Occurred' → 'Occurred from' / 'Occurred to'
    selects: tuple[Select, ...]
    export_chart: Callable[..., int]  # (actor, chart, df, filters, path) -> rows
    export_filename: Callable[[Chart, Any], str]
    card_value: str = 'value'  # the headline's value column (its 'display' column, if any, is shown)
    card_style: Mapping[str, str] = dataclasses.field(default_factory=dict)
    empty: str = 'Nothing in this range.'


def _setup(spec: DashboardSpec, actor: Actor, filters: Any) -> tuple[bool, dict[str, dict[Any, str]]]:
    """Refuse without the view permission; whether the user may export; each offered select's choices."""
    with db.session() as s:
        require(s, actor, spec.rt, 'view')
        choices = {sel.attr: sel.options(s, actor, filters) for sel in spec.selects}
        return can(s, actor, spec.rt, 'export'), {k: v for k, v in choices.items() if v is not None}


def _chart(spec: DashboardSpec, user_id: int, key: str, filters: Any) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """One chart's data and figure (as plain JSON) for the user as they are now: run on a thread."""
    chart = spec.charts[key]
    df = chart.load(actor_by_id(user_id), filters)
    figure = chart.figure(df, filters).to_plotly_json() if chart.figure else None
    return df, figure


async def show(spec: DashboardSpec, request: Request) -> None:
    actor = current_actor()
    filters = spec.filters.from_query(dict(request.query_params))
    may_export, choices = await run.io_bound(_setup, spec, actor, filters)
    with frame(spec.page_title, actor):
        board = Dashboard(spec, actor, filters, choices, may_export)
    await first_paint(board.load())


# ---- the two dashboards ----


def _departments(s: Session, actor: Actor, filters: hiccup_stats.Filters) -> dict[Any, str]:
    return options_for(s, Hiccups.fields['department_id'], keep=list(filters.department_ids))


def _severities(s: Session, actor: Actor, filters: issue_stats.IssueFilters) -> dict[Any, str]:
    return options_for(s, Issues.fields['severity'])


def _assignees(s: Session, actor: Actor, filters: issue_stats.IssueFilters) -> dict[Any, str] | None:
    """The users, for those who see every issue (a reporter is not shown the staff list)."""
    if Issues.visible_to(actor) is not None:
        return None
    return options_for(s, Issues.fields['assignee_id'], keep=list(filters.assignee_ids))


HICCUPS = DashboardSpec(
    url='/dashboard',
    page_title='Dashboard',
    heading='Hiccups dashboard',
    rt=Hiccups,
    charts=hiccup_stats.CHARTS,
    filters=hiccup_stats.Filters,
    list_url=hiccup_stats.LIST_URL,
    date_label='Occurred',
    selects=(Select('department_ids', 'Departments (all when empty)', 'departments', _departments),),
    export_chart=hiccup_stats.export_chart,
    export_filename=hiccup_stats.export_filename,
    card_value='hiccups',
    card_style={'Total': 'text-gray-800', 'Open': 'text-primary', 'Overdue': 'text-red-700'},
    empty='No hiccups in this range.',
)

ISSUES = DashboardSpec(
    url='/issues/dashboard',
    page_title='Issues dashboard',
    heading='Issues dashboard',
    rt=Issues,
    charts=issue_stats.CHARTS,
    filters=issue_stats.IssueFilters,
    list_url=issue_stats.LIST_URL,
    date_label='Created',
    selects=(
        Select('severities', 'Severities (all when empty)', 'severities', _severities),
        Select('assignee_ids', 'Assignees (all when empty)', 'assignees', _assignees),
    ),
    export_chart=issue_stats.export_chart,
    export_filename=issue_stats.export_filename,
    card_style={
        'Total': 'text-gray-800',
        'Unresolved': 'text-primary',
        'Critical unresolved': 'text-red-700',
        'Resolved': 'text-green-700',
    },
    empty='No issues in this range.',
)


@page('/dashboard')
async def dashboard_page(request: Request) -> None:
    await show(HICCUPS, request)


@page('/issues/dashboard')
async def issue_dashboard_page(request: Request) -> None:
    await show(ISSUES, request)


class Dashboard:
    """Filter bar, headline cards and one panel per chart; `load` fills them in."""

    def __init__(
        self, spec: DashboardSpec, actor: Actor, filters: Any, choices: dict[str, dict[Any, str]], may_export: bool
    ) -> None:
        self.spec = spec
        self.user_id = actor.id
        self.filters = filters
        self.may_export = may_export
        self.frames: dict[str, pd.DataFrame] = {}
        self.generation = 0  # a load started before the latest filter change is dropped
        self.empty: dict[str, ui.label] = {}
        self.notes: dict[str, ui.label] = {}
        self.selects: dict[str, ui.select] = {}
        ui.label(spec.heading).classes('text-xl font-medium')
        self._filter_bar(choices)
        with ui.row().classes('w-full items-stretch gap-3'):
            self.cards = ui.row().classes('grow items-stretch gap-3')
            self._export_button('headline')
        with ui.grid().classes('w-full grid-cols-1 lg:grid-cols-2 gap-3'):
            self.plots = {key: self._panel(key) for key, chart in spec.charts.items() if chart.figure}

    # ---- building ----

    def _filter_bar(self, choices: dict[str, dict[Any, str]]) -> None:
        label = self.spec.date_label
        with ui.row().classes('w-full items-end gap-2'):
            self.date_from = ui.input(f'{label} from', value=self.filters.start.isoformat(), on_change=self.apply)
            self.date_to = ui.input(f'{label} to', value=self.filters.end.isoformat(), on_change=self.apply)
            for el in (self.date_from, self.date_to):
                el.props('type=date dense outlined stack-label')
            for sel in self.spec.selects:
                if sel.attr not in choices:
                    continue
                options = choices[sel.attr]
                self.selects[sel.attr] = (
                    ui.select(
                        options,
                        label=sel.label,
                        multiple=True,
                        value=[v for v in getattr(self.filters, sel.attr) if v in options],
                        on_change=self.apply,
                    )
                    .props('dense outlined use-chips clearable')
                    .classes('min-w-[16rem]')
                    .mark(sel.marker)
                )

    def _panel(self, key: str) -> ui.plotly:
        chart = self.spec.charts[key]
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
            self.notes[key] = ui.label('').classes('text-xs text-gray-500').mark(f'note-{key}')
            self.notes[key].set_visibility(False)
        return plot

    def _export_button(self, key: str) -> None:
        if self.may_export:
            button = ui.button(icon='download', on_click=lambda: self.export(key)).mark(f'export-{key}')
            button.props(f'flat dense round aria-label="Export {self.spec.charts[key].title} to Excel"').tooltip(
                'Export to Excel'
            )

    def _show_cards(self, df: pd.DataFrame) -> None:
        self.cards.clear()
        shown = df['display'] if 'display' in df.columns else [f'{n:,}' for n in df[self.spec.card_value]]
        with self.cards:
            for measure, text, link in zip(df['measure'], shown, df['link'], strict=True):
                with (
                    ui.link(target=link).classes('no-underline grow') if link else ui.element().classes('grow'),
                    ui.card().classes('min-w-[9rem]' + (' hover:shadow-lg' if link else '')),
                ):
                    ui.label(measure).classes('text-sm text-gray-600')
                    count_label = ui.label(text).mark(f'count-{measure.lower().replace(" ", "-")}')
                    count_label.classes(f'text-3xl font-medium {self.spec.card_style.get(measure, "")}')

    # ---- behaviour ----

    async def load(self) -> None:
        self.generation += 1
        await asyncio.gather(*(self._load(key, self.generation) for key in self.spec.charts))

    async def _load(self, key: str, generation: int) -> None:
        try:
            result = await run.io_bound(_chart, self.spec, self.user_id, key, self.filters)
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
        self.empty[key].set_text(self.spec.empty if df.empty else '')
        self.empty[key].set_visibility(df.empty)
        note = df.attrs.get('note', '')
        self.notes[key].set_text(note)
        self.notes[key].set_visibility(bool(note))
        self.plots[key].update_figure({**figure, 'config': PLOT_CONFIG})

    async def apply(self) -> None:
        chosen = {attr: list(select.value or []) for attr, select in self.selects.items()}
        self.filters = self.spec.filters.of(self.date_from.value, self.date_to.value, **chosen)
        self.frames.clear()
        ui.navigate.history.replace(f'{self.spec.url}?{urlencode(self.filters.to_query())}')
        await self.load()

    def _open(self, event: Any) -> None:
        """A click on a bar: open the list filtered to it (only list URLs are followed)."""
        link = event.args.get('customdata') if isinstance(event.args, dict) else None
        base = self.spec.list_url
        if isinstance(link, str) and (link == base or link.startswith(base + '?')):
            ui.navigate.to(link)

    async def export(self, key: str) -> None:
        spec, filters, df = self.spec, self.filters, self.frames.get(key)
        chart = spec.charts[key]
        if df is None:
            ui.notify('The chart is still loading; try again in a moment.')
            return

        def write(actor: Actor) -> Any:
            path = export_path(spec.export_filename(chart, filters))
            return path, spec.export_chart(actor, chart, df, filters, path)

        done = await act_io(write)
        if done is not None:
            path, count = done
            ui.download.file(path, path.name)
            ui.notify(f'Exported {count:,} rows of "{chart.title}".', type='positive')
