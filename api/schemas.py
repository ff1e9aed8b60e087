"""Pydantic schemas generated from a record type's fields, for validation docs and OpenAPI."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

from models.engine import Field as EngineField
from models.engine import RecordType
from models.values import raw_value


def _type(field: EngineField) -> Any:
    kind = field.kind
    if kind == 'str':
        return Annotated[str, StringConstraints(max_length=field.max_length)] if field.max_length else str
    if kind == 'enum':
        keys = [m.name for m in field.enum] if field.enum is not None else [k for k, _ in field.choices]
        return Literal[tuple(keys)]
    return {
        'text': str,
        'int': int,
        'ref': int,
        'float': float,
        'bool': bool,
        'date': dt.date,
        'datetime': dt.datetime,
        'multi': list[int],
    }[kind]


def _name(rt: type[RecordType], suffix: str) -> str:
    return ''.join(part.capitalize() for part in rt.slug.split('_')) + suffix


def _described(field: EngineField) -> dict[str, Any]:
    text = field.label + (f'. {field.help}' if field.help else '')
    if field.kind == 'datetime':
        text += '. ISO 8601; a time without offset is taken as local time (TIMEZONE)'
    if field.kind in ('ref', 'multi') and field.target is not None:
        text += f' (id of {field.target.__name__})'
    return {'description': text}


def output_model(rt: type[RecordType]) -> type[BaseModel]:
    fields: dict[str, Any] = {'id': (int, ...)}
    if hasattr(rt.model, 'version'):
        fields['version'] = (int, Field(..., description='Send it back with PATCH (optimistic locking)'))
    for name, f in rt.fields.items():
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
    required: list[str] | None = None,
) -> type[BaseModel]:
    """A request body of `names`; unknown fields are refused (422 naming them)."""
    fields: dict[str, Any] = {}
    for name in names:
        f = rt.fields[name]
        must = (f.required and not partial) or name in (required or [])
        fields[name] = (_type(f) if must else _type(f) | None, Field(... if must else None, **_described(f)))
    if version:
        fields['version'] = (int, Field(..., description='The version you read (a stale one is refused with 409)'))
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
    for name, f in rt.fields.items():
        value = raw_value(record, f)
        out[name] = value.name if isinstance(value, enum.Enum) else value
    return out


class CommentIn(BaseModel):
    model_config = ConfigDict(extra='forbid')
    body: str


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
