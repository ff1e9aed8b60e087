"""Comments on records; they show on the detail page's timeline."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, utcnow


class Comment(Base):
    __tablename__ = 'comments'
    __table_args__ = (Index('ix_comments_record', 'record_type', 'record_id'),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int | None] = mapped_column(ForeignKey('users.id'))
    author: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def for_record(session: Session, record_type: str, record_id: int) -> list[Comment]:
    stmt = select(Comment).where(Comment.record_type == record_type, Comment.record_id == record_id)
    return list(session.scalars(stmt.order_by(Comment.id)))
