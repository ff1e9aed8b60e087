"""Pydantic schemas generated from a record type's fields, for validation docs and OpenAPI."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, create_model

from models.engine import Field as EngineField
from models.engine import RecordType
from models.values import raw_value

#: Largest id or integer an INT column holds (MySQL/MariaDB); nothing outside it can exist.
MAX_INT = 2**31 - 1
#: Characters a TEXT column holds for sure (65,535 bytes in MySQL, 4 bytes per character at worst).
TEXT_MAX = 16_000
#: Dates a DATETIME column holds (MySQL), a day inside so that a time-zone shift stays in range.
FIRST_DAY, LAST_DAY = dt.date(1000, 1, 2), dt.date(9999, 12, 30)

# Numbers, yes/no and dates in a body are strict: `true` is not 1, "1" not true, 1700000000 not a date.
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_INT)]
VERSION_HELP = 'The version you read (a stale one is refused with 409)'
Version = Annotated[int, Field(strict=True, ge=0, le=MAX_INT, description=VERSION_HELP)]


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError('write it as ISO 8601 text, e.g. 2026-11-22 or 2026-11-22T14:30')  # not a timestamp
    return value


def _in_range(value: Any) -> Any:
    day = value.date() if isinstance(value, dt.datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f'must be between {FIRST_DAY} and {LAST_DAY}')
    return value


def _enum_keys(field: EngineField) -> tuple[str, ...]:
    return tuple(m.name for m in field.enum) if field.enum is not None else tuple(k for k, _ in field.choices)


def _type(field: EngineField) -> Any:
    """The type of a field's value as the API returns it."""
    if field.kind == 'enum':
        return Literal[_enum_keys(field)]
    return {
        'str': str,
        'text': str,
        'int': int,
        'ref': int,
        'float': float,
        'bool': bool,
        'date': dt.date,
        'datetime': dt.datetime,
        'multi': list[int],
    }[field.kind]


def _input_type(field: EngineField) -> Any:
    """The type of a field's value as the API accepts it: bounded to what the database can store."""
    kind = field.kind
    if kind in ('str', 'text'):
        limit = field.max_length or (TEXT_MAX if kind == 'text' else None)
        return Annotated[str, StringConstraints(max_length=limit)] if limit else str
    if kind == 'int':
        return Annotated[int, Field(strict=True, ge=-MAX_INT - 1, le=MAX_INT)]
    if kind == 'ref':
        return Id
    if kind == 'multi':
        return list[Id]
    if kind == 'float':
        return Annotated[float, Field(strict=True, allow_inf_nan=False)]
    if kind == 'bool':
        return Annotated[bool, Field(strict=True)]
    if kind in ('date', 'datetime'):
        return Annotated[_type(field), BeforeValidator(_iso_text), AfterValidator(_in_range)]
    return _type(field)


def _name(rt: type[RecordType], suffix: str) -> str:
    return ''.join(part.capitalize() for part in rt.slug.split('_')) + suffix


def _described(field: EngineField) -> dict[str, Any]:
    text = field.label + (f'. {field.help}' if field.help else '')
    if field.kind == 'datetime':
        text += '. ISO 8601; a time without offset is taken as local time (TIMEZONE)'
    if field.kind in ('ref', 'multi') and field.target is not None:
        text += f' (id of {field.target.__name__})'
    return {'description': text}


def exposed(rt: type[RecordType]) -> dict[str, EngineField]:
    """The fields the API shows: all of the record type's but private names (``_x``)."""
    return {name: f for name, f in rt.fields.items() if not name.startswith('_')}


def output_model(rt: type[RecordType]) -> type[BaseModel]:
    fields: dict[str, Any] = {'id': (int, ...)}
    if hasattr(rt.model, 'version'):
        fields['version'] = (int, Field(..., description='Send it back with PATCH (optimistic locking)'))
    for name, f in exposed(rt).items():
        if name != 'id':
            fields[name] = (_type(f) | None, Field(None, **_described(f)))
    return create_model(_name(rt, 'Out'), **fields)


def input_model(
    rt: type[RecordType],
    names: list[str],
    suffix: str,
    *,
    partial: bool,
    version: bool,
    needed: list[str] | None = None,
) -> type[BaseModel]:
    """A request body of `names`; unknown fields are refused (422 naming them).

    `needed` fields are described as needed (a workflow step's); the engine decides, as it
    counts a value the record already has.
    """
    fields: dict[str, Any] = {}
    for name in names:
        f = rt.fields[name]
        must = f.required and not partial
        described = _described(f)
        if name in (needed or []):
            described['description'] += '. Needed by this step unless the record has it already'
        fields[name] = (_input_type(f) if must else _input_type(f) | None, Field(... if must else None, **described))
    if version:
        fields['version'] = (Version, ...)
    return create_model(_name(rt, suffix), __config__=ConfigDict(extra='forbid'), **fields)


def page_model(rt: type[RecordType], item: type[BaseModel]) -> type[BaseModel]:
    return create_model(
        _name(rt, 'Page'),
        items=(list[item], ...),
        page=(int, ...),
        per_page=(int, ...),
        total=(int, ...),
        total_capped=(bool, Field(..., description='total is a lower bound')),
        next=(str | None, Field(None, description='URL of the next page, if any')),
    )


def to_json(rt: type[RecordType], record: Any) -> dict[str, Any]:
    out = {'id': record.id}
    if hasattr(record, 'version'):
        out['version'] = record.version
    for name, f in exposed(rt).items():
        value = raw_value(record, f)
        out[name] = value.name if isinstance(value, enum.Enum) else value
    return out


class CommentIn(BaseModel):
    model_config = ConfigDict(extra='forbid')
    body: str = Field(description='The comment (at most 10,000 characters)')


class CommentOut(BaseModel):
    id: int
    author: str
    body: str
    at: dt.datetime


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    uploaded_at: dt.datetime
    url: str


class Deleted(BaseModel):
    result: Literal['deleted', 'deactivated']
