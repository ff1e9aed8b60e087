"""Who may do what: the one place permissions and row visibility are decided.

A role's permission on a record type is the declaration's default unless an admin has
overridden it in the matrix (a `RolePermission` row). Row visibility is the record type's
`visible_to(actor)` filter. Every path that lets a record out calls `visible_query`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Boolean, Select, String, UniqueConstraint, bindparam, false, literal, select, true, union_all
from sqlalchemy.orm import Mapped, Session, mapped_column

from models import audit
from models.accounts import Actor
from models.base import Base, IdMixin
from models.engine import RecordType

_CACHE_SECONDS = 5.0
UNION_MAX = 100  # readers asked in one statement (SQLite allows 500 parts in a compound SELECT)
MAX_ID = 2**31 - 1  # the largest INTEGER id column value (MySQL/MariaDB INT)
_cache: dict[str, Any] = {'at': 0.0, 'rows': {}}


class RolePermission(IdMixin, Base):
    __tablename__ = 'role_permissions'
    __table_args__ = (UniqueConstraint('role', 'record_type', 'action'),)

    role: Mapped[str] = mapped_column(String(50))
    record_type: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(80))
    allowed: Mapped[bool] = mapped_column(Boolean)


class PermissionDenied(Exception):
    """The actor may not do this; the message says what, in the user's terms."""


class NotFound(Exception):
    """No such record, or not one the actor may see (the two are never told apart)."""


def _overrides(session: Session) -> dict[tuple[str, str, str], bool]:
    now = time.monotonic()
    if now - _cache['at'] > _CACHE_SECONDS:
        rows = session.execute(
            select(RolePermission.role, RolePermission.record_type, RolePermission.action, RolePermission.allowed)
        )
        _cache['rows'] = {(r, t, a): ok for r, t, a, ok in rows}
        _cache['at'] = now
    return _cache['rows']


def warm(session: Session) -> None:
    """Re-read the role permissions now if they are stale, so that the checks that follow read nothing."""
    _overrides(session)


def invalidate() -> None:
    _cache['at'] = 0.0


def role_allows(session: Session, role: str, rt: type[RecordType], action: str) -> bool:
    override = _overrides(session).get((role, rt.slug, action))
    return rt.default_allows(role, action) if override is None else override


def can(session: Session, actor: Actor, rt: type[RecordType], action: str) -> bool:
    return any(role_allows(session, role, rt, action) for role in actor.roles)


def require(session: Session, actor: Actor, rt: type[RecordType], action: str) -> None:
    if not can(session, actor, rt, action):
        verb = action.rsplit(':', maxsplit=1)[-1].replace('_', ' ')
        raise PermissionDenied(f'You may not {verb} {rt.label_plural.lower()}.')


def visibility(actor: Actor, rt: type[RecordType]) -> Any:
    """The SQL filter of the rows of `rt` that `actor` may see (true when all)."""
    rule = rt.visible_to(actor)
    return rule if rule is not None else true()


def visible_query(session: Session, actor: Actor, rt: type[RecordType]) -> Select[Any]:
    """SELECT of the records `actor` may see; nothing at all without the view permission."""
    stmt = select(rt.model)
    if not can(session, actor, rt, 'view'):
        return stmt.where(false())
    rule = rt.visible_to(actor)
    return stmt if rule is None else stmt.where(rule)


def get_visible(session: Session, actor: Actor, rt: type[RecordType], record_id: Any) -> Any:
    """The record if `actor` may see it; NotFound otherwise."""
    try:
        record_id = int(record_id)
    except (TypeError, ValueError):
        raise NotFound(f'No {rt.label.lower()} {record_id!r}.') from None
    if not 0 < record_id <= MAX_ID:  # no such row can exist (and SQLite cannot even bind it)
        raise NotFound(f'No {rt.label.lower()} {record_id}.')
    stmt = visible_query(session, actor, rt).where(rt.model.id == record_id)
    record = session.scalar(stmt)
    if record is None:
        raise NotFound(f'No {rt.label.lower()} {record_id}.')
    return record


def set_permission(session: Session, actor: Actor, role: str, rt: type[RecordType], action: str, allowed: bool) -> None:
    """Override one cell of the matrix, with an audit row of old → new."""
    before = role_allows(session, role, rt, action)
    row = session.scalar(select(RolePermission).filter_by(role=role, record_type=rt.slug, action=action))
    if row is None:
        session.add(RolePermission(role=role, record_type=rt.slug, action=action, allowed=allowed))
    else:
        row.allowed = allowed
    audit.record(session, actor, 'permission', record_type=rt.slug, changes={f'{role}:{action}': [before, allowed]})
    invalidate()


def seers(
    session: Session, actors: Sequence[Actor], rt: type[RecordType], record_ids: Iterable[int]
) -> dict[int, set[int]]:
    """For each of these records, which of `actors` (by position) may see it. For many readers at once
    (a new record and every open list's reader): one query per `UNION_MAX` readers, each reader's part
    being their `visible_query`, instead of one query each."""
    ids = list(record_ids)
    seen: dict[int, set[int]] = {record_id: set() for record_id in ids}
    these = rt.model.id.in_(bindparam('record_ids', ids, expanding=True))  # one parameter for every part
    for start in range(0, len(actors), UNION_MAX):
        parts = [
            visible_query(session, actor, rt).with_only_columns(literal(position), rt.model.id).where(these)
            for position, actor in enumerate(actors[start : start + UNION_MAX], start)
        ]
        for position, record_id in session.execute(union_all(*parts)):
            seen[record_id].add(position)
    return seen
