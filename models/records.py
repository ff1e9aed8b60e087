"""Saving records: create, update, transition, delete, comment, attach.

Every path that changes a record (form, board, API, import, task) comes through here, so
each change is permission-checked, validated field by field, version-checked, audited and
marked for live updates in one transaction.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

from sqlalchemy import exists, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from models import attachments, audit, changes
from models.accounts import Actor
from models.base import Base
from models.comments import Comment
from models.engine import RecordType
from models.permissions import PermissionDenied, get_visible, require
from models.settings import get_settings
from models.values import ValidationError, check_refs, coerce, raw_value


class Conflict(Exception):
    """The record changed since the caller read it; nothing was saved."""


def create(session: Session, actor: Actor, rt: type[RecordType], data: dict[str, Any]) -> Any:
    require(session, actor, rt, 'create')
    record = rt.model()
    values = clean(session, rt, data, _form_names(rt), record=None)
    _check_field_roles(rt, actor, {k: v for k, v in values.items() if v not in (None, '', [])}, None)
    values = {k: v for k, v in values.items() if v is not None or not _not_null(rt, k)}  # defaults apply
    if rt.workflow:
        values[rt.workflow.field.key] = rt.workflow.start
    if rt.owner_field and values.get(rt.owner_field) is None:
        values[rt.owner_field] = actor.id
    _apply(session, rt, record, values)
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor,
        'create',
        record_type=rt.slug,
        record_id=record.id,
        changes={k: [None, _plain(v)] for k, v in values.items() if v not in (None, [], '')},
    )
    _after(session, rt, record, 'create', actor)
    return record


def update(
    session: Session, actor: Actor, rt: type[RecordType], record_id: Any, data: dict[str, Any], version: Any
) -> Any:
    require(session, actor, rt, 'edit')
    record = get_visible(session, actor, rt, record_id)
    _check_version(session, rt, record, version)
    editable = [n for n in _form_names(rt) if n not in rt.readonly_fields]
    unknown = set(data) - set(editable)
    if unknown:
        raise ValidationError({n: 'This field cannot be changed here.' for n in sorted(unknown)})
    values = clean(session, rt, data, list(data), record=record)
    _check_field_roles(rt, actor, values, record)
    diff = _apply(session, rt, record, values)
    if diff:
        audit.record(session, actor, 'update', record_type=rt.slug, record_id=record.id, changes=diff)
        _after(session, rt, record, 'update', actor)
    return record


def transition(
    session: Session,
    actor: Actor,
    rt: type[RecordType],
    record_id: Any,
    name: str,
    data: dict[str, Any],
    version: Any = None,
) -> Any:
    """Run workflow step `name`, filling in the step's fields from `data`."""
    step = rt.workflow.transition(name) if rt.workflow else None
    if step is None:
        raise ValidationError({'': f'{rt.label} has no step {name!r}.'})
    require(session, actor, rt, step.action)
    record = get_visible(session, actor, rt, record_id)
    if version is not None:
        _check_version(session, rt, record, version)
    state = getattr(record, rt.workflow.field.key)
    if state not in step.source:
        raise PermissionDenied(
            f'"{step.title}" is not possible while the {rt.label.lower()} is {rt.workflow.state_label(state)}.'
        )
    refusal = rt.can_transition(actor, record, name)
    if refusal:
        raise PermissionDenied(refusal)
    unknown = set(data) - set(step.field_names())
    if unknown:
        raise ValidationError({n: f'Not part of "{step.title}".' for n in sorted(unknown)})
    values = clean(session, rt, data, list(data), record=record)
    _check_field_roles(rt, actor, values, record)
    missing = {
        n: 'Required for this step.'
        for n in step.required_names()
        if values.get(n, getattr(record, n)) in (None, '', [])
    }
    if missing:
        raise ValidationError(missing)
    values[rt.workflow.field.key] = step.target
    diff = _apply(session, rt, record, values)
    audit.record(session, actor, f'transition:{name}', record_type=rt.slug, record_id=record.id, changes=diff)
    _after(session, rt, record, f'transition:{name}', actor)
    return record


def delete(session: Session, actor: Actor, rt: type[RecordType], record_id: Any) -> str:
    """Delete a record, keeping its values in the audit row; a lookup value (or anything with an
    `active` field, e.g. a user) in use is deactivated; any other record in use is a Conflict.

    Returns ``'deleted'`` or ``'deactivated'``.
    """
    require(session, actor, rt, 'delete')
    record = get_visible(session, actor, rt, record_id)
    used = in_use(session, record)
    if used and not (rt.lookup or 'active' in rt.fields):
        raise Conflict(f'This {rt.label.lower()} is still referred to by other records, so it cannot be deleted.')
    if used:
        if record.active:
            record.active = False
            audit.record(
                session,
                actor,
                'update',
                record_type=rt.slug,
                record_id=record.id,
                changes={'active': [True, False]},
                note='in use: deactivated instead of deleted',
            )
            _after(session, rt, record, 'update', actor)
        return 'deactivated'
    snapshot = {f.name: _plain(raw_value(record, f)) for f in rt.fields.values()}
    audit.record(session, actor, 'delete', record_type=rt.slug, record_id=record.id, changes=snapshot)
    rt.on_change(session, record, 'delete', actor)
    changes.mark(session, rt.slug, record.id)
    session.delete(record)
    return 'deleted'


def comment(session: Session, actor: Actor, rt: type[RecordType], record_id: Any, body: str) -> Comment:
    record = get_visible(session, actor, rt, record_id)
    body = (body or '').strip()
    if not body:
        raise ValidationError({'body': 'Write something first.'})
    if len(body) > 10000:
        raise ValidationError({'body': 'At most 10,000 characters.'})
    row = Comment(record_type=rt.slug, record_id=record.id, author_id=actor.id, author=actor.label, body=body)
    session.add(row)
    session.flush()
    audit.record(session, actor, 'comment', record_type=rt.slug, record_id=record.id, changes={'comment_id': row.id})
    changes.mark(session, rt.slug, record.id, changes.RECORD)
    return row


def attach(
    session: Session, actor: Actor, rt: type[RecordType], record_id: Any, filename: str, data: bytes
) -> attachments.Attachment:
    """Store an upload on a record the actor may see and edit (or raised themselves)."""
    record = get_visible(session, actor, rt, record_id)
    owner = rt.owner_field and getattr(record, rt.owner_field) == actor.id
    if not owner:
        require(session, actor, rt, 'edit')
    settings = get_settings()
    row = attachments.store(
        session,
        settings.uploads_dir,
        record_type=rt.slug,
        record_id=record.id,
        filename=filename,
        data=data,
        max_bytes=settings.max_upload_mb * 2**20,
        uploaded_by_id=actor.id,
    )
    session.flush()
    audit.record(
        session,
        actor,
        'attach',
        record_type=rt.slug,
        record_id=record.id,
        changes={'file': [None, row.filename]},
        note=f'{row.size} bytes, {row.content_type}',
    )
    changes.mark(session, rt.slug, record.id, changes.RECORD)
    return row


def attachment_for(session: Session, actor: Actor, attachment_id: Any) -> tuple[attachments.Attachment, Path]:
    """The attachment and its file, if `actor` may see its record."""
    from models.engine import REGISTRY
    from models.permissions import NotFound

    try:
        row = session.get(attachments.Attachment, int(attachment_id))
    except (TypeError, ValueError):
        row = None
    if row is None or row.record_type not in REGISTRY:
        raise NotFound('No such file.')
    get_visible(session, actor, REGISTRY[row.record_type], row.record_id)
    return row, attachments.path_of(get_settings().uploads_dir, row)


def in_use(session: Session, record: Any) -> bool:
    """Whether any row of any table refers to `record`."""
    table = record.__table__
    own = {rel.secondary for rel in inspect(type(record)).relationships if rel.secondary is not None}
    for other in Base.metadata.tables.values():
        if other in own:  # the record's own many-to-many rows (e.g. an issue's tags) go with it
            continue
        for fk in other.foreign_keys:
            if fk.column.table is table and session.scalar(select(exists().where(fk.parent == record.id))):
                return True
    return False


def _check_field_roles(rt: type[RecordType], actor: Actor, values: dict[str, Any], record: Any | None) -> None:
    """Refuse a value for a field the actor may not set (an unchanged value passes)."""
    errors = {
        name: f'Only {" or ".join(sorted(rt.field_roles[name]))} users may set this.'
        for name, value in values.items()
        if not rt.may_set(actor, name) and (record is None or value != raw_value(record, rt.fields[name]))
    }
    if errors:
        raise ValidationError(errors)


def _form_names(rt: type[RecordType]) -> list[str]:
    return list(rt.form_fields)


def clean(
    session: Session, rt: type[RecordType], data: dict[str, Any], names: list[str], record: Any | None
) -> dict[str, Any]:
    """Validate `data` as every path does (conversion, required, references, cross-field, unique);
    returns the values to save, or raises ValidationError naming each bad field. Saves nothing."""
    tz = get_settings().tz
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in names:
        field = rt.fields.get(name)
        if field is None:
            errors[name] = 'No such field.'
            continue
        raw = data.get(name)
        try:
            value = coerce(field, raw, tz)
            if field.is_relation and value not in (None, []):
                check_refs(session, field, value, raw_value(record, field) if record is not None else None)
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if value in (None, '') and (
            (field.required and (record is None or name in data)) or (record is not None and _not_null(rt, name))
        ):
            errors[name] = 'Required.'
            continue
        values[name] = value
    if record is None:
        for name in names:
            if rt.fields[name].required and name not in values and name not in errors:
                errors[name] = 'Required.'
    if not errors:
        errors = rt.validate(values, record)
    if not errors:
        errors = _unique_errors(session, rt, values, record)
    if errors:
        raise ValidationError(errors)
    return values


def _not_null(rt: type[RecordType], name: str) -> bool:
    col = rt.model.__table__.columns.get(name)
    return col is not None and not col.nullable and not col.primary_key


def _unique_errors(session: Session, rt: type[RecordType], values: dict[str, Any], record: Any) -> dict[str, str]:
    errors = {}
    for col in rt.model.__table__.columns:
        if col.unique and values.get(col.key) is not None:
            stmt = select(rt.model.id).where(getattr(rt.model, col.key) == values[col.key])
            if record is not None:
                stmt = stmt.where(rt.model.id != record.id)
            if session.scalar(stmt.limit(1)) is not None:
                errors[col.key] = f'{values[col.key]!s} is already used.'
    return errors


def _apply(session: Session, rt: type[RecordType], record: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    diff = {}
    for name, value in values.items():
        field = rt.fields[name]
        old = raw_value(record, field) if record.id is not None else None
        if field.kind == 'multi':
            if value != old:
                setattr(record, name, list(session.scalars(select(field.target).where(field.target.id.in_(value)))))
                diff[name] = [old, value]
            continue
        if value != old:
            setattr(record, name, value)
            diff[name] = [_plain(old), _plain(value)]
    return diff


def _after(session: Session, rt: type[RecordType], record: Any, action: str, actor: Actor) -> None:
    rt.on_change(session, record, action, actor)
    changes.mark(session, rt.slug, record.id, changes.RECORD if action == 'create' else changes.ALL)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(f'Someone else saved this {rt.label.lower()} just now. Reload to see their change.') from None


def _check_version(session: Session, rt: type[RecordType], record: Any, version: Any) -> None:
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise ValidationError({'version': 'The version you read is needed to save changes.'}) from None
    if record.version != version:
        last = session.scalar(
            select(audit.AuditEntry)
            .where(audit.AuditEntry.record_type == rt.slug, audit.AuditEntry.record_id == record.id)
            .order_by(audit.AuditEntry.id.desc())
            .limit(1)
        )
        who = f' by {last.actor}' if last else ''
        raise Conflict(
            f'This {rt.label.lower()} was changed{who} since you opened it. '
            'Nothing was saved; reload to see the change, then edit again.'
        )


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.name
    return value
