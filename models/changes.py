"""Change markers for live updates.

Every saved change appends a row here in the same transaction. The app polls the newest id
with one timer and tells open pages which record types changed; pages then re-run their own
query under their user's visibility rule, so a marker reveals nothing by itself. Rows from
other processes (the task consumer) arrive the same way.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, utcnow


class Change(Base):
    __tablename__ = 'changes'

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    record_type: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[int | None] = mapped_column(Integer)


def mark(session: Session, record_type: str, record_id: int | None) -> None:
    session.add(Change(record_type=record_type, record_id=record_id))


def latest_id(session: Session) -> int:
    return session.scalar(select(func.max(Change.id))) or 0


def since(session: Session, after_id: int, limit: int = 500) -> list[Change]:
    return list(session.scalars(select(Change).where(Change.id > after_id).order_by(Change.id).limit(limit)))


def prune(session: Session, older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    return session.execute(delete(Change).where(Change.at < utcnow() - older_than)).rowcount
