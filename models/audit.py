"""The audit trail: append-only rows for every change, export, sign-in and permission change."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, utcnow


class AuditEntry(Base):
    __tablename__ = 'audit_log'
    __table_args__ = (Index('ix_audit_log_record', 'record_type', 'record_id', 'id'),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey('users.id'), index=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(60), index=True)
    record_type: Mapped[str | None] = mapped_column(String(60))
    record_id: Mapped[int | None] = mapped_column(Integer)
    changes: Mapped[str | None] = mapped_column(Text)  # JSON: {field: [old, new]} or details
    note: Mapped[str | None] = mapped_column(Text)

    @property
    def details(self) -> dict[str, Any]:
        return json.loads(self.changes) if self.changes else {}


def record(
    session: Session,
    actor: Any,
    action: str,
    *,
    record_type: str | None = None,
    record_id: int | None = None,
    changes: dict[str, Any] | None = None,
    note: str | None = None,
) -> AuditEntry:
    """Append one audit row in the caller's transaction. `actor` is an Actor or a plain label."""
    entry = AuditEntry(
        actor_id=getattr(actor, 'id', None),
        actor=getattr(actor, 'label', None) or str(actor),
        action=action,
        record_type=record_type,
        record_id=record_id,
        changes=json.dumps(changes, default=str, ensure_ascii=False) if changes else None,
        note=note,
    )
    session.add(entry)
    return entry


def history(session: Session, record_type: str, record_id: int, limit: int = 200) -> list[AuditEntry]:
    rows = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.record_type == record_type, AuditEntry.record_id == record_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    return list(rows)


def latest_id(session: Session, record_type: str, record_id: int) -> int:
    """The id of a record's newest audit row (0 when none): changes whenever the record or its
    comments and files do."""
    of_record = (AuditEntry.record_type == record_type, AuditEntry.record_id == record_id)
    return session.scalar(select(func.max(AuditEntry.id)).where(*of_record)) or 0
