"""Turning input into field values (with a message naming the field) and values into text."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.engine import Field, RecordType, for_model


class ValidationError(ValueError):
    """Input that cannot be saved: field name → message (``''`` for the whole record)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__('; '.join(f'{k}: {v}' if k else v for k, v in errors.items()))
        self.errors = errors


def coerce(field: Field, raw: Any, tz: ZoneInfo) -> Any:
    """The value of `field` for input `raw`; ValueError with a user message when it is not one."""
    if raw is None or (isinstance(raw, str) and raw.strip() == '' and field.kind != 'multi'):
        return None
    kind = field.kind
    if kind in ('str', 'text'):
        value = str(raw).strip() if kind == 'str' else str(raw)
        if field.max_length and len(value) > field.max_length:
            raise ValueError(f'At most {field.max_length} characters ({len(value)} given).')
        return value
    if kind in {'int', 'ref'}:
        return _int(raw)
    if kind == 'float':
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ValueError('Enter a number.') from None
    if kind == 'bool':
        return _bool(raw)
    if kind == 'date':
        return _date(raw)
    if kind == 'datetime':
        return _datetime(raw, tz)
    if kind == 'enum':
        return _choice(field, raw)
    if kind == 'multi':
        items = raw if isinstance(raw, list | tuple | set) else [s for s in str(raw).split(',') if s.strip()]
        return sorted({_int(i) for i in items})
    raise ValueError(f'Unknown field kind {kind}')


def _int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError('Enter a whole number.')
    try:
        value = int(raw) if not isinstance(raw, float) or raw.is_integer() else None
    except (TypeError, ValueError):
        value = None
    if value is None or abs(value) > 2**31 - 1:  # an INTEGER column (MySQL/MariaDB INT)
        raise ValueError('Enter a whole number.')
    return value


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ('1', 'true', 'yes', 'y', 'on'):
        return True
    if text in ('0', 'false', 'no', 'n', 'off'):
        return False
    raise ValueError('Enter yes or no.')


def _date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return _in_range(raw.date())
    if isinstance(raw, dt.date):
        return _in_range(raw)
    try:
        day = dt.date.fromisoformat(str(raw).strip()[:10])
    except ValueError:
        raise ValueError('Enter a date as YYYY-MM-DD.') from None
    return _in_range(day)


def _in_range(day: dt.date) -> dt.date:
    """What a DATE/DATETIME column holds (MySQL), a day inside so that a time-zone shift stays in range."""
    if not dt.date(1000, 1, 2) <= day <= dt.date(9999, 12, 30):
        raise ValueError('Enter a date between 1000 and 9999.')
    return day


def _datetime(raw: Any, tz: ZoneInfo) -> dt.datetime:
    """Aware values keep their zone; naive ones are local time in `tz` (what forms show)."""
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, dt.date):
        value = dt.datetime.combine(raw, dt.time())
    else:
        try:
            value = dt.datetime.fromisoformat(str(raw).strip().replace('Z', '+00:00'))
        except ValueError:
            raise ValueError('Enter a date and time as YYYY-MM-DD HH:MM.') from None
    _in_range(value.date())
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(dt.UTC)


def _choice(field: Field, raw: Any) -> Any:
    if field.enum is not None:
        if isinstance(raw, field.enum):
            return raw
        for member in field.enum:
            if str(raw) in (member.name, str(member.value)):
                return member
        raise ValueError(f'Choose one of: {", ".join(str(m.value) for m in field.enum)}.')
    keys = [k for k, _ in field.choices]
    if str(raw) in keys:
        return str(raw)
    for key, label in field.choices:
        if str(raw) == label:
            return key
    raise ValueError(f'Choose one of: {", ".join(keys)}.')


def check_refs(session: Session, field: Field, value: Any, old: Any) -> None:
    """A reference must exist and, when it is new, be an active value."""
    ids = value if field.kind == 'multi' else [value]
    old_ids = set(old if isinstance(old, list) else [old])
    target = field.target
    if target is None or not ids:
        return
    found = {row.id: row for row in session.scalars(select(target).where(target.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValueError(f'No {field.label.lower()} with id {missing[0]}.')
    inactive = [i for i in ids if i not in old_ids and getattr(found[i], 'active', True) is False]
    if inactive:
        raise ValueError(f'{title(found[inactive[0]])} is no longer active.')


def title(record: Any) -> str:
    rt = for_model(type(record))
    return rt.title_of(record) if rt else str(record.id)


def local(value: dt.datetime | None, tz: ZoneInfo) -> dt.datetime | None:
    return value.astimezone(tz) if value is not None else None


def display(field: Field, value: Any, tz: ZoneInfo, refs: dict[int, str] | None = None) -> str:
    """How a value reads on a screen."""
    if value is None or value == []:
        return ''
    kind = field.kind
    if kind == 'datetime':
        return value.astimezone(tz).strftime('%d %b %Y %H:%M')
    if kind == 'date':
        return value.strftime('%d %b %Y')
    if kind == 'bool':
        return 'Yes' if value else 'No'
    if kind == 'enum':
        if isinstance(value, enum.Enum):
            return str(value.value)
        return dict(field.choices).get(value, str(value))
    if kind == 'ref':
        return (refs or {}).get(value, f'#{value}')
    if kind == 'multi':
        return ', '.join(title(v) for v in value)
    return str(value)


def ref_titles(
    session: Session, rt: type[RecordType], records: list[Any], names: list[str]
) -> dict[str, dict[int, str]]:
    """For each reference field in `names`: id → title of the referenced records, one query each."""
    out: dict[str, dict[int, str]] = {}
    for name in names:
        field = rt.fields[name]
        if field.kind != 'ref' or field.target is None:
            continue
        ids = {getattr(r, name) for r in records} - {None}
        target_rt = for_model(field.target)
        if not ids or target_rt is None:
            out[name] = {}
            continue
        col = target_rt.title_field
        rows = session.execute(select(field.target.id, col).where(field.target.id.in_(ids)))
        out[name] = {i: str(t) for i, t in rows}
    return out


def raw_value(record: Any, field: Field) -> Any:
    value = getattr(record, field.name)
    if field.kind == 'multi':
        return sorted(v.id for v in value)
    return value
