"""Personal API keys that admins issue to integrations: shown once, stored hashed, revocable."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import audit
from models.accounts import Actor, User
from models.base import Base, utcnow

PREFIX = 'ldk_'


class ApiKey(Base):
    __tablename__ = 'api_keys'

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('users.id', ondelete='CASCADE'), index=True)
    name: Mapped[str] = mapped_column(String(100))
    lookup: Mapped[str] = mapped_column(String(16), unique=True)  # the public part, to find the row
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the whole key
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()

    user: Mapped[User] = relationship(lazy='joined')

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue(session: Session, actor: Actor, user_id: int, name: str) -> tuple[ApiKey, str]:
    """A new key for `user_id`; returns the row and the key itself, which is never stored."""
    from models.values import ValidationError

    if not actor.has('admin'):
        raise ValidationError({'': 'Only administrators issue API keys.'})
    name = (name or '').strip()
    if not name:
        raise ValidationError({'name': 'Name the integration that will use this key.'})
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise ValidationError({'user_id': 'Choose an active user.'})
    lookup = secrets.token_hex(6)
    key = f'{PREFIX}{lookup}_{secrets.token_urlsafe(32)}'
    row = ApiKey(user_id=user.id, name=name[:100], lookup=lookup, digest=_digest(key))
    session.add(row)
    session.flush()
    audit.record(
        session, actor, 'api_key_issue', record_type='users', record_id=user.id, note=f'key {row.id} "{row.name}"'
    )
    return row, key


def revoke(session: Session, actor: Actor, key_id: int) -> None:
    row = session.get(ApiKey, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            session,
            actor,
            'api_key_revoke',
            record_type='users',
            record_id=row.user_id,
            note=f'key {row.id} "{row.name}"',
        )


def authenticate(session: Session, key: str) -> Actor | None:
    """The actor a key stands for, or None; notes when the key was last used."""
    parts = key.removeprefix(PREFIX).split('_', 1)
    if not key.startswith(PREFIX) or len(parts) != 2:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.lookup == parts[0]))
    if row is None or not hmac.compare_digest(row.digest, _digest(key)):
        return None
    if row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        row.last_used_at = now
    return Actor.of(row.user, via=f'api key "{row.name}"')


def for_listing(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())))
