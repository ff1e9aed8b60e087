"""A small key/value table for process-wide state: heartbeats and admin settings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, utcnow


class AppState(Base):
    __tablename__ = 'app_state'

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def put(session: Session, key: str, value: str) -> None:
    """Insert or update; safe when two processes write the same key at once."""
    if session.get(AppState, key) is None:
        try:
            with session.begin_nested():
                session.add(AppState(key=key, value=value, updated_at=utcnow()))
            return
        except IntegrityError:
            pass  # the other writer won the insert: update its row below
    session.execute(update(AppState).where(AppState.key == key).values(value=value, updated_at=utcnow()))


def get(session: Session, key: str) -> AppState | None:
    return session.scalar(select(AppState).where(AppState.key == key))
