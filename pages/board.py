"""The board (kanban) of a record type with a workflow: a column per state.

Dropping a card on another column runs the transition between the two states, through the
same rules as the button on the detail page (roles, required fields, record checks).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from nicegui import background_tasks, run, ui

from models import db, query
from models.accounts import Actor
from models.engine import RecordType
from models.permissions import can
from models.query import ListParams
from models.settings import get_settings
from models.values import display, ref_titles
from models.workflow import Transition
from pages import live
from pages.layout import first_paint, frame
from pages.readers import Reader
from pages.records import record_type
from pages.session import NotSignedIn, act_io, actor_by_id, current_actor, page
from pages.workflow import transition_dialog

PER_COLUMN = 50


@page('/r/{slug}/board')
async def board_page(slug: str, request: Request) -> None:
    actor = current_actor()
    rt = record_type(slug, actor)
    if rt.workflow is None:
        ui.navigate.to(f'/r/{slug}')
        return
    params = ListParams.from_query(rt, dict(request.query_params))
    with frame(f'{rt.label_plural} board', actor):
        board = Board(rt, params, actor.id)

    async def start() -> None:
        await board.load()
        live.on_change(rt.slug, board.reload)  # after the first load, so that no reload races it

    await first_paint(start())


def _columns(user_id: int, rt: type[RecordType], params: ListParams) -> dict[str, tuple[list[dict], int]] | None:
    """Per state: the first cards (under the list's filters and visibility) and the count, for the
    user as they are now (None once they are signed out or inactive)."""
    out = {}
    field = rt.workflow.field.key
    tz = get_settings().tz
    subtitle = [n for n in rt.list_columns if n not in (field, rt.title_field.key)][:2]
    with db.session() as s:
        try:
            actor = actor_by_id(user_id, s)
        except NotSignedIn:
            return None
        for state, _ in rt.workflow.states:
            p = ListParams(
                q=params.q,
                filters={**params.filters, field: state},
                date_from=params.date_from,
                date_to=params.date_to,
                mine=params.mine,
                sort=params.sort,
                per_page=PER_COLUMN,
            )
            records = query.page(s, actor, rt, p)
            total, _ = query.count(s, actor, rt, p, cap=999)
            refs = ref_titles(s, rt, records, subtitle)
            cards = [
                {
                    'id': r.id,
                    'version': r.version,
                    'title': rt.title_of(r),
                    'lines': [display(rt.fields[n], getattr(r, n), tz, refs.get(n)) for n in subtitle],
                }
                for r in records
            ]
            out[state] = (cards, total)
    return out


class Board:
    def __init__(self, rt: type[RecordType], params: ListParams, user_id: int) -> None:
        self.rt = rt
        self.user_id = user_id
        self.params = params
        self.dragged: dict[str, Any] | None = None
        self.reload = live.coalesced(self.load, f'board {rt.slug}', Reader(user_id, rt))
        with ui.row().classes('w-full items-center'):
            ui.label(f'{rt.label_plural} board').classes('text-xl font-medium')
            ui.space()
            ui.button('List', icon='list', on_click=lambda: ui.navigate.to(params.url(f'/r/{rt.slug}'))).props(
                'outline'
            )
        self.area = ui.row().classes('w-full flex-nowrap overflow-x-auto gap-3 items-start')

    async def load(self) -> None:
        columns = await run.io_bound(_columns, self.user_id, self.rt, self.params)
        if columns is None or live.gone(self.area):  # the app is stopping, or the page was closed
            return
        self.area.clear()
        with self.area:
            for state, label in self.rt.workflow.states:
                cards, total = columns[state]
                self._column(state, label, cards, total)

    def _column(self, state: str, label: str, cards: list[dict], total: int) -> None:
        column = ui.column().classes('bg-gray-100 rounded p-2 min-w-[16rem] w-64 gap-2').mark(f'column-{state}')
        column.on('dragover.prevent', lambda: None)
        column.on('drop', lambda st=state: self._drop(st))
        with column:
            ui.label(f'{label} ({total})').classes('font-medium')
            for card in cards:
                with (
                    ui.card().classes('w-full cursor-grab p-2').props('draggable').mark(f'card-{card["id"]}') as element
                ):
                    ui.link(card['title'] or f'#{card["id"]}', f'/r/{self.rt.slug}/{card["id"]}')
                    for line in card['lines']:
                        if line:
                            ui.label(line).classes('text-xs text-gray-600')
                element.on('dragstart', lambda c=card, st=state: self._start(c, st))
            if total > len(cards):
                ui.label(f'and {total - len(cards)} more in the list').classes('text-xs text-gray-500')

    def _start(self, card: dict, state: str) -> None:
        self.dragged = {**card, 'state': state}

    async def _drop(self, target: str) -> None:
        card, self.dragged = self.dragged, None
        if card is None or card['state'] == target:
            return
        await self.move(card['id'], card['version'], card['state'], target)

    def _allowed(self, actor: Actor, steps: list[Transition]) -> list[Transition]:
        with db.session() as s:
            return [t for t in steps if can(s, actor, self.rt, t.action)]

    async def move(self, record_id: int, version: int, source: str, target: str) -> None:
        """Move a card: the transition from `source` to `target` that this user may run."""
        steps = self.rt.workflow.between(source, target)
        allowed = await act_io(lambda actor: self._allowed(actor, steps))
        if allowed is None:  # signed out meanwhile
            return
        if not allowed:
            label = self.rt.workflow.state_label
            why = 'You may not' if steps else 'The workflow does not'
            ui.notify(f'{why} move a {self.rt.label.lower()} from {label(source)} to {label(target)}.', type='negative')
            return
        # the mover's own step shows at once (a live `reload` may wait its turn among many open pages)
        await transition_dialog(
            self.rt, record_id, allowed[0], version, lambda: background_tasks.create(self.load(), name='board moved')
        )
