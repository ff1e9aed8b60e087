"""Saved list views: a user's named filter, sort and columns for a record type."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base


class SavedView(Base):
    __tablename__ = 'saved_views'
    __table_args__ = (UniqueConstraint('user_id', 'record_type', 'name'),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('users.id', ondelete='CASCADE'))
    record_type: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(Text)


def for_user(session: Session, user_id: int, record_type: str) -> list[SavedView]:
    stmt = select(SavedView).where(SavedView.user_id == user_id, SavedView.record_type == record_type)
    return list(session.scalars(stmt.order_by(SavedView.name)))


def save(session: Session, user_id: int, record_type: str, name: str, query: str) -> SavedView:
    row = session.scalar(select(SavedView).filter_by(user_id=user_id, record_type=record_type, name=name))
    if row is None:
        row = SavedView(user_id=user_id, record_type=record_type, name=name, query=query)
        session.add(row)
    row.query = query
    return row
