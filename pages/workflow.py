"""Running a workflow step from the UI: the detail page's buttons and the board's drops."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from models import db, records
from models.accounts import Actor
from models.engine import RecordType
from models.values import ValidationError
from models.workflow import Transition
from pages.forms import FormFields, RecordForm
from pages.session import act_io


def _step_fields(rt: type[RecordType], record_id: int, step: Transition) -> FormFields:
    with db.session() as s:
        return FormFields.read(s, rt, step.field_names(), record=s.get(rt.model, record_id))


async def transition_dialog(
    rt: type[RecordType], record_id: int, step: Transition, version: int | None, done: Any
) -> None:
    """Ask for the step's fields (if any, read on a worker thread), then run it; shared by the detail
    page and the board."""
    fields = await run.io_bound(_step_fields, rt, record_id, step) if step.field_names() else None
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg'):
        ui.label(step.title).classes('text-lg font-medium')
        form = RecordForm(rt, fields) if fields else None

        async def run_step() -> None:
            data = form.data() if form else {}

            def go(actor: Actor) -> Any:
                with db.session() as s:
                    return records.transition(s, actor, rt, record_id, step.name, data, version)

            button.disable()  # one run at a time: a second tap meanwhile would only meet a conflict
            try:
                saved = await act_io(go)
            except ValidationError as exc:
                if form:
                    form.show_errors(exc.errors)
                else:
                    ui.notify(str(exc), type='negative')
                return
            finally:
                button.enable()
            dialog.close()
            if saved is not None:
                ui.notify(f'{step.title}: done.', type='positive')
            done()

        with ui.row():
            button = ui.button(step.title, on_click=run_step).props(f'color={step.color}').mark('run-step')
            ui.button('Cancel', on_click=dialog.close).props('flat')
    dialog.open()
