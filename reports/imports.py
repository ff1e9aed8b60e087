"""Excel round trip of lookup tables: export, edit in Excel, preview the changes, apply them.

The file's columns are `template_columns(rt)`: ``id`` then the form fields, by field name
(field labels are accepted too, and case does not matter). `export_lookup` writes such a
file with every row the actor may see, inactive ones included.

How a file is read:

- A row with an ``id`` updates that record; an id that is not one of the table's records
  is an error on the ``id`` field.
- A row without an ``id`` inserts a record, unless its name (the title field, compared
  ignoring case) matches an existing record: then it updates that record.
- Setting ``active`` from TRUE to FALSE is a deactivation, listed only among the
  deactivations (with any other change of that row).
- A name (or other unique value) or a record that appears on more than one row is an error
  on each of those rows.
- Values are checked by the same engine code as the form (`models.records`): each field's
  conversion, required fields, references, the record type's cross-field rule and unique
  values against the database as it is now, so the messages are the form's. A rename onto
  a name another record holds is refused even if the file renames that record too (swap
  names in two imports).
- Columns that are not fields are one error naming them.
- Rows missing from the file are left unchanged: an import never deletes or deactivates a
  record it does not mention.

`apply` applies a file only when its preview has no errors, in one transaction through
`models.records.create` / `update` (permission-checked and audited per record): if
anything fails, nothing is saved.
"""

from __future__ import annotations

import contextlib
import dataclasses
import decimal
import enum
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from models import audit, db, records
from models.accounts import Actor
from models.engine import Field, RecordType
from models.permissions import can, require, visible_query
from models.query import ListParams, build
from models.settings import get_settings
from models.values import ValidationError, coerce, raw_value
from reports import xlsx
from reports.export import stream_rows


@dataclasses.dataclass
class RowChange:
    """One row of the file that changes a record: `changes` is field → (old, new)."""

    row: int
    id: int | None  # None for an insert (until applied)
    changes: dict[str, tuple[Any, Any]]
    #: the validated values that are saved (for an update, only the changed fields)
    values: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)


@dataclasses.dataclass
class RowError:
    """A problem in the file: Excel row number (1 = the headers), field name ('' = the row or file), message."""

    row: int
    field: str
    message: str


@dataclasses.dataclass
class Preview:
    """What importing a file would do (or, returned by `apply`, did)."""

    columns: list[str] = dataclasses.field(default_factory=list)  # the file's columns as field names
    inserts: list[RowChange] = dataclasses.field(default_factory=list)
    updates: list[RowChange] = dataclasses.field(default_factory=list)
    deactivations: list[RowChange] = dataclasses.field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changes(self) -> int:
        return len(self.inserts) + len(self.updates) + len(self.deactivations)


class ImportRefused(ValidationError):
    """The file has errors and nothing was saved; `preview.errors` lists them by row."""

    def __init__(self, preview: Preview) -> None:
        errors: dict[str, str] = {}
        for e in preview.errors:
            key = f'row {e.row}, {e.field}' if e.field else f'row {e.row}'
            errors[key] = f'{errors[key]} {e.message}' if key in errors else e.message
        super().__init__(errors)
        self.preview = preview


def template_columns(rt: type[RecordType]) -> list[str]:
    """The columns of a lookup table's import file: ``id`` then the form fields."""
    if not rt.lookup:
        raise ValueError(f'{rt.label_plural} is not a lookup table; only lookup tables are imported from Excel.')
    return ['id', *rt.form_fields]


def export_lookup(
    actor: Actor, rt: type[RecordType], path: str | Path, progress: Callable[[int], None] | None = None
) -> int:
    """Write every row of lookup `rt` that `actor` may see, in the import layout; return the row count.

    Values are written so that importing the file unchanged changes nothing: references as
    ids, multi fields as comma-separated ids, enums as their labels, datetimes in local time.
    Needs the 'export' permission and is audited like any export.
    """
    names = template_columns(rt)
    tz = get_settings().tz
    path = Path(path)
    columns = [xlsx.Column(n, _template_kind(rt.fields[n])) for n in names]

    def cell(field: Field, value: Any, refs: dict[int, str] | None) -> Any:
        return _raw_cell(field, value, tz)

    count = None
    try:
        with db.session() as session:
            require(session, actor, rt, 'export')
            stmt = build(session, actor, rt, ListParams())
            count = xlsx.write(path, rt.label_plural, columns, stream_rows(session, rt, stmt, names, cell), progress)
            audit.record(
                session,
                actor,
                'export',
                record_type=rt.slug,
                changes={'rows': count, 'query': {}},
                note='import layout',
            )
    except BaseException:
        if count is not None:  # written, but its audit row was not saved: no file without one
            path.unlink(missing_ok=True)
        raise
    return count


def preview(actor: Actor, rt: type[RecordType], data: bytes) -> Preview:
    """What importing the .xlsx file `data` into lookup `rt` would change; nothing is saved.

    Raises `ValueError` when the file cannot be read as a sheet (see `reports.xlsx.read`)
    and `PermissionDenied` when the actor may not make the changes the file asks for.
    """
    template_columns(rt)
    with db.session() as session:
        return _preview(session, actor, rt, data)


def apply(actor: Actor, rt: type[RecordType], data: bytes) -> Preview:
    """Import the file: all of it in one transaction, or nothing.

    Recomputes the preview; with any error raises `ImportRefused` (a `ValidationError`
    whose `preview` lists the errors) and saves nothing. Otherwise saves every insert,
    update and deactivation in file order through `models.records` and returns the preview
    (inserts then carry their new ids).
    """
    template_columns(rt)
    with db.session() as session:
        result = _preview(session, actor, rt, data)
        if result.errors:
            raise ImportRefused(result)
        for change in sorted([*result.inserts, *result.updates, *result.deactivations], key=lambda c: c.row):
            if change.id is None:
                change.id = records.create(session, actor, rt, change.values).id
            else:
                current = session.get(rt.model, change.id)
                records.update(session, actor, rt, change.id, change.values, version=current.version)
        audit.record(
            session,
            actor,
            'import',
            record_type=rt.slug,
            changes={
                'inserts': len(result.inserts),
                'updates': len(result.updates),
                'deactivations': len(result.deactivations),
                'unchanged': result.unchanged,
            },
        )
    return result


# ---- the preview ----------------------------------------------------------------------


@dataclasses.dataclass
class _Row:
    number: int
    data: dict[str, Any]  # field name → cell value (id excluded)
    record: Any | None = None
    failed: bool = False  # the id is wrong: nothing more is checked


def _preview(session: Session, actor: Actor, rt: type[RecordType], data: bytes) -> Preview:
    if not (can(session, actor, rt, 'create') or can(session, actor, rt, 'edit')):
        require(session, actor, rt, 'edit')  # raises, naming what is refused
    headers, cells = xlsx.read(data)
    result = Preview()
    mapping = _map_headers(rt, headers, result)
    result.columns = list(mapping.values())
    tz = get_settings().tz
    title = rt.title_field.key
    existing = list(session.scalars(visible_query(session, actor, rt)))
    by_id = {r.id: r for r in existing}
    by_title = {_fold(getattr(r, title)): r for r in existing if getattr(r, title) is not None}

    rows: list[_Row] = []
    for number, values in cells:
        row = _Row(number, {mapping[h]: v for h, v in values.items() if h in mapping})
        raw_id = row.data.pop('id', None)
        if raw_id is not None:
            try:
                record_id = coerce(rt.fields['id'], raw_id, tz)
            except ValueError as exc:
                result.errors.append(RowError(number, 'id', str(exc)))
                row.failed = True
            else:
                row.record = by_id.get(record_id)
                if row.record is None:
                    result.errors.append(RowError(number, 'id', f'No {rt.label.lower()} with id {record_id}.'))
                    row.failed = True
        elif title in row.data:
            with contextlib.suppress(ValueError):  # a bad name is reported by the field check below
                row.record = by_title.get(_fold(coerce(rt.fields[title], row.data[title], tz)))
        rows.append(row)

    _duplicates(rt, rows, result, tz)
    for row in rows:
        if not row.failed:
            _check_row(session, rt, row, result)

    if result.inserts:
        require(session, actor, rt, 'create')
    if result.updates or result.deactivations:
        require(session, actor, rt, 'edit')
    result.errors.sort(key=lambda e: e.row)
    return result


def _map_headers(rt: type[RecordType], headers: list[str], result: Preview) -> dict[str, str]:
    """File header → field name, by name or label ignoring case; unknown headers are one error."""
    names = template_columns(rt)
    known = {n.casefold(): n for n in names}
    for n in names:
        known.setdefault(rt.fields[n].label.casefold(), n)
    mapping: dict[str, str] = {}
    unknown = []
    for header in headers:
        name = known.get(header.casefold())
        if name is None:
            unknown.append(header)
        elif name in mapping.values():
            other = next(h for h, n in mapping.items() if n == name)
            result.errors.append(RowError(1, name, f'Columns "{other}" and "{header}" are both {name}; keep one.'))
        else:
            mapping[header] = name
    if unknown:
        result.errors.append(
            RowError(
                1,
                '',
                f'Unknown columns: {", ".join(unknown)}. '
                f'The columns of {rt.label_plural.lower()} are: {", ".join(names)}.',
            )
        )
    return mapping


def _duplicates(rt: type[RecordType], rows: list[_Row], result: Preview, tz: Any) -> None:
    """Flag each row whose unique value (e.g. the name) or whose record is on another row too."""
    unique = [c.key for c in rt.model.__table__.columns if c.unique and c.key != 'id']
    title = rt.title_field.key
    if title not in unique:
        unique.insert(0, title)
    flagged: set[int] = set()
    for name in unique:
        groups: dict[str, list[_Row]] = {}
        for row in rows:
            try:
                value = coerce(rt.fields[name], row.data.get(name), tz)
            except ValueError:
                continue
            if value is not None:
                groups.setdefault(_fold(value), []).append(row)
        for group in groups.values():
            if len(group) > 1:
                text = str(group[0].data[name]).strip()
                for row in group:
                    result.errors.append(
                        RowError(row.number, name, f'"{text}" is on more than one row ({_rows_text(group)}).')
                    )
                    row.failed = True
                    flagged.add(row.number)
    by_record: dict[int, list[_Row]] = {}
    for row in rows:
        if row.record is not None:
            by_record.setdefault(row.record.id, []).append(row)
    for record_id, group in by_record.items():
        if len(group) > 1:
            for row in group:
                if row.number not in flagged:
                    result.errors.append(
                        RowError(
                            row.number,
                            'id',
                            f'{rt.label} {record_id} '
                            f'({rt.title_of(row.record)}) is on more than '
                            f'one row ({_rows_text(group)}).',
                        )
                    )
                    row.failed = True


def _check_row(session: Session, rt: type[RecordType], row: _Row, result: Preview) -> None:
    """Validate one row as the form would and file it as insert, update, deactivation or unchanged."""
    record = row.record
    data = dict(row.data)
    errors: list[RowError] = []
    if record is not None:
        columns = rt.model.__table__.columns
        for name in list(data):
            if name in rt.readonly_fields:
                if data.pop(name) is not None:
                    errors.append(RowError(row.number, name, 'This field cannot be changed here.'))
            elif data[name] is None and name in columns and not columns[name].nullable:
                # a blank cell would store NULL in a NOT NULL column (e.g. active): the value is needed
                data.pop(name)
                errors.append(RowError(row.number, name, 'Required.'))
    names = list(rt.form_fields) if record is None else list(data)
    try:
        # the form's own checks (conversion, required, references, cross-field, unique), so messages match
        values = records.clean(session, rt, data, names, record=record)
    except ValidationError as exc:
        errors.extend(RowError(row.number, field, message) for field, message in exc.errors.items())
    if errors:
        result.errors.extend(errors)
        return
    if record is None:
        changes = {n: (None, v) for n, v in values.items() if v not in (None, '', [])}
        result.inserts.append(RowChange(row.number, None, changes, values))
        return
    changes = {}
    for name, value in values.items():
        old = raw_value(record, rt.fields[name])
        if value != old:
            changes[name] = (old, value)
    if not changes:
        result.unchanged += 1
        return
    change = RowChange(row.number, record.id, changes, {n: values[n] for n in changes})
    if changes.get('active') == (True, False):
        result.deactivations.append(change)
    else:
        result.updates.append(change)


def _rows_text(group: list[_Row]) -> str:
    numbers = [str(r.number) for r in group]
    return 'rows ' + (', '.join(numbers[:-1]) + ' and ' + numbers[-1])


def _fold(value: Any) -> str:
    return str(value).strip().casefold()


def _template_kind(field: Field) -> str:
    if field.name == 'id' or field.kind == 'ref':
        return 'int'
    if field.kind == 'multi':
        return 'str'
    return field.kind


def _raw_cell(field: Field, value: Any, tz: Any) -> Any:
    """A value as the import reads it back (see `models.values.coerce`)."""
    if value is None:
        return None
    if field.kind == 'datetime':
        return value.astimezone(tz).replace(tzinfo=None)
    if field.kind == 'multi':
        return ','.join(str(i) for i, _ in value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value
