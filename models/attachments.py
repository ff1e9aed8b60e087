"""Files attached to records: checked by content, stored under random names."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import filetype
from sqlalchemy import ForeignKey, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, utcnow

#: What may be uploaded: detected type → extensions a file of that type may carry.
ALLOWED = {
    'application/pdf': {'.pdf'},
    'image/jpeg': {'.jpg', '.jpeg'},
    'image/png': {'.png'},
    'image/gif': {'.gif'},
    'image/webp': {'.webp'},
    'image/heic': {'.heic'},
    'application/zip': {'.docx', '.xlsx', '.pptx', '.odt', '.ods', '.zip'},
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document': {'.docx'},
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': {'.xlsx'},
    'text/plain': {'.txt', '.csv', '.log'},
}


class Attachment(Base):
    __tablename__ = 'attachments'
    __table_args__ = (Index('ix_attachments_record', 'record_type', 'record_id'),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey('users.id'))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UploadRejected(ValueError):
    """The file may not be stored; the message says why."""


def sniff(data: bytes, filename: str) -> str:
    """The content type of `data`, judged by its bytes; UploadRejected when not allowed."""
    ext = Path(filename).suffix.lower()
    kind = filetype.guess(data[:8192])
    if kind is None:
        if ext in ALLOWED['text/plain'] and _is_text(data):
            return 'text/plain'
        raise UploadRejected(f'{filename}: this kind of file is not accepted (PDF, images, Office files, text).')
    mime = kind.mime
    if mime not in ALLOWED:
        raise UploadRejected(f'{filename}: {mime} files are not accepted.')
    if ext not in ALLOWED[mime]:
        raise UploadRejected(f'{filename}: the name says {ext or "no type"} but the content is {mime}.')
    return mime


def _is_text(data: bytes) -> bool:
    try:
        data[:65536].decode('utf-8')
    except UnicodeDecodeError:
        return False
    return b'\x00' not in data[:65536]


def store(
    session: Session,
    uploads: Path,
    *,
    record_type: str,
    record_id: int,
    filename: str,
    data: bytes,
    max_bytes: int,
    uploaded_by_id: int | None,
) -> Attachment:
    """Check and save `data`; the row joins the caller's transaction."""
    if not data:
        raise UploadRejected(f'{filename}: the file is empty.')
    if len(data) > max_bytes:
        raise UploadRejected(f'{filename}: {len(data) / 2**20:.1f} MB is over the {max_bytes / 2**20:.0f} MB limit.')
    content_type = sniff(data, filename)
    stored = secrets.token_hex(16)
    uploads.mkdir(parents=True, exist_ok=True)
    (uploads / stored).write_bytes(data)
    row = Attachment(
        record_type=record_type,
        record_id=record_id,
        filename=Path(filename).name[:255],
        stored_name=stored,
        content_type=content_type,
        size=len(data),
        uploaded_by_id=uploaded_by_id,
    )
    session.add(row)
    return row


def for_record(session: Session, record_type: str, record_id: int) -> list[Attachment]:
    stmt = select(Attachment).where(Attachment.record_type == record_type, Attachment.record_id == record_id)
    return list(session.scalars(stmt.order_by(Attachment.id)))


def path_of(uploads: Path, attachment: Attachment) -> Path:
    return uploads / attachment.stored_name
