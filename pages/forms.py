"""Form inputs generated from a record type's fields, and their values back out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any

from nicegui import ui
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.engine import Field, RecordType, for_model
from models.settings import get_settings
from models.values import raw_value


def options_for(session: Session, field: Field, keep: Any = None) -> dict[Any, str]:
    """Choices of a select: enum/state labels, or the active values of the referenced table
    (plus whatever the record already refers to, so an inactive value still shows)."""
    if field.kind == 'enum':
        if field.enum is not None:
            return {m.name: str(m.value) for m in field.enum}
        return dict(field.choices)
    if field.kind == 'bool':
        return {'true': 'Yes', 'false': 'No'}
    target_rt = for_model(field.target) if field.target is not None else None
    if target_rt is None:
        return {}
    model = field.target
    title = target_rt.title_field
    stmt = select(model.id, title).order_by(title)
    keep_ids = keep if isinstance(keep, list) else [keep] if keep is not None else []
    if hasattr(model, 'active'):
        stmt = stmt.where(model.active.is_(True) | model.id.in_(keep_ids or [-1]))
    return {i: str(t) for i, t in session.execute(stmt.limit(5000))}


def form_value(field: Field, value: Any) -> Any:
    """A stored value as its input holds it."""
    if value is None:
        return [] if field.kind == 'multi' else None
    if field.kind == 'datetime':
        return value.astimezone(get_settings().tz).strftime('%Y-%m-%dT%H:%M')
    if field.kind == 'date':
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.name
    return value


@dataclasses.dataclass(frozen=True)
class FormFields:
    """What a form shows, read before it is built (on a worker thread: building it then reads nothing):
    each field's starting value as its input holds it and, for choices, the options."""

    values: dict[str, Any]
    options: dict[str, dict[Any, str]]

    @classmethod
    def read(
        cls,
        session: Session,
        rt: type[RecordType],
        names: list[str],
        record: Any | None = None,
        initial: dict[str, Any] | None = None,
    ) -> FormFields:
        """`names` of `rt`, valued from `record` when given, else from `initial` or the field's default."""
        values, options = {}, {}
        for name in names:
            field = rt.fields[name]
            value = raw_value(record, field) if record is not None else (initial or {}).get(name, _default(field))
            values[name] = form_value(field, value)
            if field.kind in ('enum', 'ref', 'multi'):
                options[name] = options_for(session, field, keep=values[name])
        return cls(values, options)


class RecordForm:
    """Inputs for the fields of `FormFields`, one column on a phone, two on a wide screen."""

    def __init__(self, rt: type[RecordType], fields: FormFields, readonly: list[str] | None = None) -> None:
        self.rt = rt
        self.inputs: dict[str, Any] = {}
        with ui.grid().classes('w-full grid-cols-1 sm:grid-cols-2 gap-x-4 gap-y-1'):
            for name, value in fields.values.items():
                field = rt.fields[name]
                element = self._input(field, value, fields.options.get(name, {}))
                if name in (readonly or []):
                    element.props('readonly')
                if field.kind in ('text', 'multi'):
                    element.classes('sm:col-span-2')
                self.inputs[name] = element

    def _input(self, field: Field, value: Any, options: dict[Any, str]) -> Any:
        label = field.label + (' *' if field.required else '')
        kind = field.kind
        if kind in ('enum', 'ref', 'multi'):
            element = ui.select(
                options,
                label=label,
                value=value,
                multiple=kind == 'multi',
                with_input=kind != 'enum',
                clearable=not field.required,
            )
            if kind == 'multi':
                element.props('use-chips')
        elif kind == 'bool':
            element = ui.switch(label, value=bool(value))
        elif kind == 'text':
            element = ui.textarea(label, value=value or '').props('autogrow')
        elif kind in ('int', 'float'):
            element = ui.number(label, value=value, format='%.0f' if kind == 'int' else None)
        elif kind == 'date':
            element = ui.input(label, value=value or '').props('type=date stack-label')
        elif kind == 'datetime':
            element = ui.input(label, value=value or '').props('type=datetime-local stack-label')
        else:
            element = ui.input(label, value=value or '')
            if field.max_length:
                element.props(f'maxlength={field.max_length}')
        if field.help:
            element.props(f'hint="{field.help}"')
        return element.classes('w-full').mark(f'field-{field.name}')

    def data(self) -> dict[str, Any]:
        return {name: element.value for name, element in self.inputs.items()}

    def show_errors(self, errors: dict[str, str]) -> None:
        for name, element in self.inputs.items():
            message = errors.get(name)
            if isinstance(element, ui.switch):
                if message:
                    ui.notify(f'{self.rt.fields[name].label}: {message}', type='negative')
                continue
            element.error = message
        general = [m for k, m in errors.items() if k not in self.inputs]
        for message in general:
            ui.notify(message, type='negative', multi_line=True)


def _default(field: Field) -> Any:
    if field.kind == 'bool':
        return field.name == 'active'
    if field.kind == 'datetime' and field.required:
        return dt.datetime.now(dt.UTC)
    return None
