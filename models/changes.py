"""Change markers for live updates.

Every saved change appends a row here in the same transaction. The app polls the newest id
with one timer and tells open pages which record types changed (and, for new records, comments and
attachments, which records); pages then re-run their own query under their user's visibility rule,
so a marker reveals nothing by itself. Rows from
other processes (the task consumer) arrive the same way.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models import db
from models.base import Base, utcnow

T = TypeVar('T')
#: How long a stored shared result is served at most, even when no marker has arrived since (a write
#: that bypassed the engine shows within this time, plus the time of a read under way that it waited for).
SHARED_SECONDS = 2.0
#: How long a read waits for an identical one under way before it reads itself (a read that hangs
#: must not hang every reader of the same rows with it).
WAIT_SECONDS = 10.0
SHARED_MAX = 512
_shared: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
_running: dict[tuple, _Read] = {}  # reads under way
_shared_lock = threading.Lock()


class Change(Base):
    __tablename__ = 'changes'

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    record_type: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[int | None] = mapped_column(Integer)
    #: Who may see the change: `ALL` readers of the record type (an edit or a deletion can take a record
    #: into or out of someone's view), or only the readers who may see the record itself now (`RECORD`: a
    #: new record, a comment, an attachment change no record's visibility).
    scope: Mapped[str] = mapped_column(String(10), default='all', server_default='all')


ALL, RECORD = 'all', 'record'


def mark(session: Session, record_type: str, record_id: int | None, scope: str = ALL) -> None:
    session.add(Change(record_type=record_type, record_id=record_id, scope=scope))


def summary(rows: list[Change]) -> dict[str, set[int] | None]:
    """Record type → the ids of its records whose changes only their readers can see; None when
    a change of that type may show to any of its readers (see `Change.scope`)."""
    out: dict[str, set[int] | None] = {}
    for row in rows:
        ids = out.get(row.record_type, set())
        if ids is None or row.scope != RECORD or row.record_id is None:
            out[row.record_type] = None
        else:
            out[row.record_type] = ids | {row.record_id}
    return out


def latest_id(session: Session) -> int:
    return session.scalar(select(func.max(Change.id))) or 0


def since(session: Session, after_id: int, limit: int = 500) -> list[Change]:
    return list(session.scalars(select(Change).where(Change.id > after_id).order_by(Change.id).limit(limit)))


def prune(session: Session, older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    return session.execute(delete(Change).where(Change.at < utcnow() - older_than)).rowcount


def shared(session: Session, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, or the result of an identical read made since the last change marker.

    When a hundred open lists reload on the same change, those that run the very same query
    (equal `key`: the whole SELECT with its values, visibility included, so no reader gets rows of
    another's rule) share one result instead of a hundred reads. The result is keyed by the newest
    marker, read in `session` before `compute` reads, so a result is only ever reused for a read that
    would have seen no newer change; a stored result is served for `SHARED_SECONDS` at most.

    A read that arrives while an identical one is under way (same key, same marker) waits for it and
    takes its result, or its error (the charts of a dashboard, which load side by side, share one read
    this way); after `WAIT_SECONDS` it stops waiting and reads itself."""
    full = (db.generation(), latest_id(session), key)
    with _shared_lock:
        hit = _shared.get(full)
        if hit is not None and time.monotonic() - hit[0] < SHARED_SECONDS:
            return hit[1]
        read = _running.get(full)
        mine = read is None
        if mine:
            read = _running[full] = _Read()
    if not mine:
        return read.result() if read.done.wait(WAIT_SECONDS) else compute()
    started = time.monotonic()
    try:
        read.value = compute()
    except BaseException as error:
        read.error = error
        raise
    else:
        with _shared_lock:
            _shared[full] = (started, read.value)
            _shared.move_to_end(full)
            while len(_shared) > SHARED_MAX:
                _shared.popitem(last=False)
        return read.value
    finally:
        with _shared_lock:
            del _running[full]
        read.done.set()


class _Read:
    """A read under way in `shared`; once `done` is set, its value or its error."""

    __slots__ = ('done', 'error', 'value')

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.value: Any = None

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def forget_shared() -> None:
    """Drop every shared result: the next read of each key reads the database (for measuring reads)."""
    with _shared_lock:
        _shared.clear()
