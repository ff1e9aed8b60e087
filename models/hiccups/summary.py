"""The settled hiccups of each past day, summed up once, so the dashboard of a long range need not
read every hiccup in it.

A hiccup is *settled* when it is responded to, closed and in a final state (`SETTLED`). Nothing
about a settled hiccup changes with time: it is neither open nor overdue, and each of its SLA clocks
was met or missed for good. So its part of the dashboard can be summed once:

- `HiccupDay`, per local day of occurrence (TIMEZONE), department, category and confidentiality: how
  many settled hiccups, and their response and closure clocks met and missed;
- `HiccupDayHours`, per local day, department and confidentiality: every settled hiccup's hours from
  raised to responded and to closed, as packed float64 arrays (`pack`), from which the dashboard takes
  exact medians and p90s;
- per calendar month, the same rows summed: `HiccupMonth` (the counts), `HiccupMonthHours` (how many
  durations fall in each bin of hours, `HOUR_BINS`) and `HiccupMonthBin` (the durations of each bin).
  A median over whole months then needs the durations of the one bin it falls in, not all of them.

`summarize` (a Huey task every few minutes) sums the days up to the day before yesterday; app_state
`CUTOFF_KEY` holds the first day it has not summed, and a generation new with each of its transactions
(`Summary.generation`). Any change that could alter a past day (a hiccup settled before or after it,
raised late, edited, moved, stepped or deleted, whose day of occurrence is before today) marks that day
stale in the same transaction: flush hooks on every session note the days and mark them at commit
(`StaleDay`). Readers count a stale day from the hiccups themselves until `summarize` has summed it
again. A reader's part from the hiccups is therefore: every hiccup that is not settled (`UNSETTLED`),
and every hiccup of a day that is not summed (`Summary.unsummed`).

Readers take the summary's rows that their visibility rule lets through whole: every row for those who
see every hiccup, their department's rows that are not confidential for the others
(`Hiccups.seen_in_department`); the settled hiccups they see only as their raiser are counted from the
hiccups (`reports.hiccup_stats`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import (
    Integer,
    LargeBinary,
    String,
    and_,
    case,
    delete,
    event,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy import insert as sa_insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.mysql import MEDIUMBLOB
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.exc import ObjectDeletedError

from models import appstate, db
from models.base import Base, utcnow
from models.hiccups.rules import met_missed
from models.hiccups.tables import FINAL, Hiccup
from models.query import Rare, duration_hours, within_days
from models.settings import get_settings, local_day

CUTOFF_KEY = 'hiccups.summary.cutoff'  # '<first day not summed, ISO> <timezone> <generation>'
DAYS_PER_TRANSACTION = 31
# What a settled hiccup's part of the dashboard depends on: a change to any of these marks its day stale.
WATCHED = (
    'occurred_at',
    'department_id',
    'confidential',
    'category_id',
    'status',
    'created_at',
    'responded_at',
    'closed_at',
    'response_due_at',
    'closure_due_at',
)
SETTLED = and_(Hiccup.closed_at.is_not(None), Hiccup.responded_at.is_not(None), Hiccup.status.in_(FINAL))
# The same, as the database computes it into `Hiccup.settled`: its index finds the few hiccups not settled
# (`Rare` tells SQLite, whose statistics know only that the column has two values).
UNSETTLED = Rare(Hiccup.settled == false())
# Up to 16 MB on MariaDB (two million durations a day and department); BLOB's 64 kB would be 8,000.
HOURS_BLOB = LargeBinary().with_variant(MEDIUMBLOB(), 'mysql', 'mariadb')
HOURS_TYPE = 'd'  # durations are packed as native float64 (array typecode; numpy reads them as 'd' too)
ONE = literal_column('1')  # not a bound parameter: PyMySQL's executemany cannot take one in ON DUPLICATE KEY
NOTED = 'hiccups.summary.noted'  # session.info: the days this transaction's flushes noted
UNKNOWN = object()
MAX_RUNS = 100  # runs of summed and unsummed days a read may combine; more (many stale days) reads the hiccups
COUNTS = ('hiccups', 'response_met', 'response_missed', 'closure_met', 'closure_missed')
MEASURES = ('response', 'closure')  # the durations kept: hours from raised to responded, to closed
# The bins of hours a month's durations are kept by (`HiccupMonthBin`): eight per doubling, from about a
# minute to 14 years, each edge an exact float. Bin b holds the hours h with EDGES[b-1] <= h < EDGES[b]
# (`bin_of`); bin 0 what is below a minute (zero too), the last what is above 14 years. Changing them
# needs the month rows made again (a migration that empties the summary).
HOUR_EDGES = tuple(2.0**e * (1 + j / 8) for e in range(-6, 17) for j in range(8))
HOUR_BINS = len(HOUR_EDGES) + 1
BIN_COUNT_TYPE = 'I'  # bin counts are packed as native uint32 (numpy 'I' reads them the same)


class _Counts:
    """The settled hiccups of a department, category and confidentiality in a period (`HiccupDay`,
    `HiccupMonth`): how many, and their SLA clocks met and missed. The period's own key comes first."""

    department_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, sort_order=1)
    category_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, sort_order=2)
    confidential: Mapped[bool] = mapped_column(primary_key=True, autoincrement=False, sort_order=3)
    hiccups: Mapped[int] = mapped_column(Integer, sort_order=4)
    response_met: Mapped[int] = mapped_column(Integer, sort_order=5)
    response_missed: Mapped[int] = mapped_column(Integer, sort_order=6)
    closure_met: Mapped[int] = mapped_column(Integer, sort_order=7)
    closure_missed: Mapped[int] = mapped_column(Integer, sort_order=8)


class HiccupDay(_Counts, Base):
    __tablename__ = 'hiccup_days'

    day: Mapped[dt.date] = mapped_column(primary_key=True, sort_order=0)


class HiccupMonth(_Counts, Base):
    """`HiccupDay`'s rows summed per calendar month (`month`, its first day), made again whenever one of its
    days is summed. A reader takes a month's row only while it holds every day of that month."""

    __tablename__ = 'hiccup_months'

    month: Mapped[dt.date] = mapped_column(primary_key=True, sort_order=0)


class HiccupDayHours(Base):
    __tablename__ = 'hiccup_day_hours'

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    confidential: Mapped[bool] = mapped_column(primary_key=True, autoincrement=False)
    response_hours: Mapped[bytes] = mapped_column(HOURS_BLOB)
    closure_hours: Mapped[bytes] = mapped_column(HOURS_BLOB)


class HiccupMonthHours(Base):
    """A month's `HiccupDayHours` counted per bin of hours (`HOUR_BINS` packed uint32 counts): which bin a
    rank falls in, without reading the durations."""

    __tablename__ = 'hiccup_month_hours'

    month: Mapped[dt.date] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    confidential: Mapped[bool] = mapped_column(primary_key=True, autoincrement=False)
    response_bins: Mapped[bytes] = mapped_column(LargeBinary)
    closure_bins: Mapped[bytes] = mapped_column(LargeBinary)


class HiccupMonthBin(Base):
    """A month's durations of one measure (`MEASURES`) in one bin of hours (`bin_of`), packed as
    `HiccupDayHours`'. Keyed by what a read asks for (department, measure, bin), then the months. No index
    by month: SQLite would take it for a read's list of months and read every bin of them; making a
    month's rows again (`_sum_months`) reads the table instead."""

    __tablename__ = 'hiccup_month_bins'

    department_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    measure: Mapped[str] = mapped_column(String(8), primary_key=True)
    bin: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    month: Mapped[dt.date] = mapped_column(primary_key=True)
    confidential: Mapped[bool] = mapped_column(primary_key=True, autoincrement=False)
    hours: Mapped[bytes] = mapped_column(HOURS_BLOB)


class StaleDay(Base):
    """A summed day that a change may have made wrong: counted from the hiccups until summed again."""

    __tablename__ = 'hiccup_stale_days'

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped by each change; see `_resum_stale`


def pack(values: Iterable[float]) -> bytes:
    return array(HOURS_TYPE, values).tobytes()


def bin_of(hours: float) -> int:
    """The bin of hours (`HOUR_EDGES`) a duration is kept in; numpy's `searchsorted(HOUR_EDGES, hours,
    side='right')` gives the same."""
    return bisect_right(HOUR_EDGES, hours)


# ---- what readers use ----


@dataclasses.dataclass(frozen=True)
class Summary:
    """Which days a read may take from the summary: those before `cutoff` that are not `stale`. `generation`
    is new with each summing transaction: a read that sees it change (`reports.hiccup_stats._steady`) knows the
    summary changed under it, even where the cutoff and the stale days are as they were (a day marked
    and summed again in between)."""

    cutoff: dt.date
    stale: frozenset[dt.date]
    generation: int = 0

    def holds(self, day: dt.date) -> bool:
        return day < self.cutoff and day not in self.stale

    def summed(self, start: dt.date, end: dt.date, but: Sequence[dt.date] = ()) -> list[tuple[dt.date, dt.date]]:
        """The runs of days from `start` to `end` (inclusive) that the summary holds, as (first, last),
        leaving out the days of the months `but` (by their first day)."""
        skip = set(but)
        return _runs(d for d in _days(start, end) if self.holds(d) and d.replace(day=1) not in skip)

    def months(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """The calendar months (by their first day) within `start`..`end` that it holds every day of."""
        out = []
        first = start if start.day == 1 else next_month(start)
        while (last := next_month(first) - dt.timedelta(days=1)) <= end:
            if all(self.holds(d) for d in _days(first, last)):
                out.append(first)
            first = last + dt.timedelta(days=1)
        return out

    def unsummed(self, start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
        """The runs of days from `start` to `end` (inclusive) that it does not hold: a read counts their
        settled hiccups from the hiccups, and the unsettled hiccups of every day (`UNSETTLED`)."""
        return _runs(d for d in _days(start, end) if not self.holds(d))

    def day_filter(self, column: Any, start: dt.date, end: dt.date, but: Sequence[dt.date] = ()) -> Any:
        """The condition for the summary rows (by their `column` of days) a read takes, but for those of
        the months `but`."""
        return or_(false(), *(column.between(a, b) for a, b in self.summed(start, end, but)))


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after `day`'s."""
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    return (start + dt.timedelta(days=i) for i in range((end - start).days + 1))


def current(session: Session, start: dt.date, end: dt.date) -> Summary | None:
    """The summary as `session` sees it, for a read of `start`..`end`; None when reading the hiccups alone
    is as good: it holds less than half of those days (never summed, summed in another timezone, a
    first run not done yet, a recent range), or they are cut into more runs than `MAX_RUNS`."""
    state = _state(session)
    if state is None or state[0] <= start:
        return None
    stale = session.scalars(select(StaleDay.day).where(StaleDay.day.between(start, end)))
    found = Summary(state[0], frozenset(stale), state[1])
    runs = found.summed(start, end)
    held = sum((last - first).days + 1 for first, last in runs)
    if 2 * held < (end - start).days + 1 or 2 * len(runs) + 1 > MAX_RUNS:
        return None
    return found


def _state(session: Session) -> tuple[dt.date, int] | None:
    """The cutoff and the generation, or None: never summed, or summed in another timezone."""
    row = appstate.get(session, CUTOFF_KEY)
    if row is None:
        return None
    day, zone, generation = [*row.value.split(' '), '0'][:3]
    return (dt.date.fromisoformat(day), int(generation)) if zone == get_settings().timezone else None


def _advance(s: Session, cutoff: dt.date | None = None) -> None:
    """Record a summing transaction: the new `cutoff` (or the same), and a new generation (the clock's
    nanoseconds: new after a restart too)."""
    state = _state(s)
    day = cutoff or (state[0] if state else None)
    if day is not None:
        appstate.put(s, CUTOFF_KEY, f'{day.isoformat()} {get_settings().timezone} {time.time_ns()}')


# ---- keeping it true: the flush hook ----


@event.listens_for(Session, 'before_flush')
def _note_changes(session: Session, _context: Any, _instances: Any) -> None:
    """Note the days of occurrence of the hiccups this flush changes in a way the summary may hold: those
    settled before or after the change (`_may_hold`). They are marked stale at commit (`_mark_noted`)."""
    noted: set[dt.date] = session.info.setdefault(NOTED, set())
    for record in chain(session.new, session.dirty, session.deleted):
        try:
            if isinstance(record, Hiccup) and _may_hold(session, record):
                noted |= _days_of(record)
        except ObjectDeletedError:  # deleted meanwhile by another transaction, which marked its day
            continue


@event.listens_for(Session, 'before_commit')
def _mark_noted(session: Session) -> None:
    """Mark the noted days stale as the transaction ends: once, in order, and holding the marks' row
    locks (MariaDB) only for the commit itself."""
    session.flush()  # the last flush notes its changes too
    noted = session.info.pop(NOTED, None)
    if noted:
        mark_stale(session, noted)


@event.listens_for(Session, 'after_soft_rollback')
def _forget_noted(session: Session, _previous: Any) -> None:
    session.info.pop(NOTED, None)


def mark_stale(session: Session, days: Iterable[dt.date]) -> None:
    """Mark these days stale, those before today (later ones are never summed yet). Writers that add
    or change hiccups without the ORM (the demo's bulk load) call it with their hiccups' days."""
    today = local_day(utcnow())
    past = sorted({d for d in days if d < today})
    if past:
        _bump(session, past)


def _may_hold(session: Session, record: Hiccup) -> bool:
    """Whether the summary may hold this hiccup before or after this flush: settled before (as far as
    known: a value changed without its old one loaded counts as maybe), or settled after."""
    if record in session.new:
        return _settled(record.closed_at, record.responded_at, record.status)
    if record in session.deleted:
        return _settled(*_before(record))
    attrs = sa_inspect(record).attrs
    if not any(attrs[name].history.has_changes() for name in WATCHED):
        return False
    return _settled(*_before(record)) or _settled(record.closed_at, record.responded_at, record.status)


def _settled(closed_at: Any, responded_at: Any, status: Any) -> bool:
    """`SETTLED`, in Python; an unknown value (`UNKNOWN`) may be anything."""
    if UNKNOWN in (closed_at, responded_at, status):
        return True
    return closed_at is not None and responded_at is not None and status in FINAL


def _before(record: Hiccup) -> tuple[Any, Any, Any]:
    """closed_at, responded_at and status as the database has them (`UNKNOWN` if changed unloaded)."""
    attrs = sa_inspect(record).attrs
    out = []
    for name in ('closed_at', 'responded_at', 'status'):
        history = attrs[name].history
        if history.deleted or history.unchanged:
            out.append([*history.deleted, *history.unchanged][0])
        else:
            out.append(UNKNOWN if history.added else getattr(record, name))
    return out[0], out[1], out[2]


def _days_of(record: Hiccup) -> set[dt.date]:
    """The hiccup's days of occurrence, before and after this flush (`occurred_at` keeps its old value
    when set: `active_history`)."""
    history = sa_inspect(record).attrs['occurred_at'].history
    moments = [*history.added, *history.unchanged, *history.deleted] or [record.occurred_at]
    return {local_day(m) for m in moments if isinstance(m, dt.datetime)}


def _bump(session: Session, days: Sequence[dt.date]) -> None:
    """Insert each day's mark, or bump its version: one statement, safe against a concurrent writer."""
    conn = session.connection()
    table, dialect = StaleDay.__table__, conn.dialect.name
    if dialect in ('mysql', 'mariadb'):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        stmt = mysql_insert(table).on_duplicate_key_update(version=table.c.version + ONE)
    else:
        from sqlalchemy.dialects import postgresql, sqlite

        insert = sqlite.insert if dialect == 'sqlite' else postgresql.insert
        stmt = insert(table).on_conflict_do_update(index_elements=['day'], set_={'version': table.c.version + ONE})
    conn.execute(stmt, [{'day': d, 'version': 1} for d in days])


# ---- summing up ----


def summarize(today: dt.date | None = None, *, afresh: bool = False) -> int:
    """Sum every day up to the day before yesterday not summed yet, and every stale day; returns how many
    days were summed. In chunks of `DAYS_PER_TRANSACTION`, each committed with the new cutoff, so an
    interrupted run keeps what it did. A day stays one behind so that no transaction still open from
    yesterday can add to a day after it was summed. `afresh`: forget what was summed (after a bulk
    load that bypassed the ORM, and so the flush hook)."""
    target = (today or local_day(utcnow())) - dt.timedelta(days=1)
    with db.session() as s:
        state = None if afresh else _state(s)
        if state is None:
            _restart(s)
        first = state[0] if state else _first_day(s) or target
    done = 0
    while first < target:
        last = min(first + dt.timedelta(days=DAYS_PER_TRANSACTION), target)
        with db.session() as s:
            days = list(_days(first, last - dt.timedelta(days=1)))
            _sum_days(s, days)
            _advance(s, last)
        done, first = done + len(days), last
    return done + _resum_stale(target)


def _restart(s: Session) -> None:
    """Never summed, or summed in another timezone: start again from nothing."""
    for table in (HiccupDay, HiccupMonth, HiccupDayHours, HiccupMonthHours, HiccupMonthBin, StaleDay):
        s.execute(delete(table))
    s.execute(delete(appstate.AppState).where(appstate.AppState.key == CUTOFF_KEY))


def _first_day(s: Session) -> dt.date | None:
    first = s.scalar(select(func.min(Hiccup.occurred_at)))
    return local_day(first) if first is not None else None


def _resum_stale(target: dt.date) -> int:
    """Sum the stale days again; a day's mark is cleared only if no change bumped it meanwhile."""
    with db.session() as s:
        stmt = select(StaleDay.day, StaleDay.version).where(StaleDay.day < target).order_by(StaleDay.day)
        marks = [tuple(row) for row in s.execute(stmt)]  # in day order, as writers take them: no lock cycle
    for start in range(0, len(marks), DAYS_PER_TRANSACTION):
        chunk = marks[start : start + DAYS_PER_TRANSACTION]
        with db.session() as s:
            _sum_days(s, [day for day, _ in chunk])
            _advance(s)
            for day, version in chunk:
                s.execute(delete(StaleDay).where(StaleDay.day == day, StaleDay.version == version))
    return len(marks)


def _sum_days(s: Session, days: Sequence[dt.date]) -> None:
    """Replace the summary rows of `days` by their settled hiccups' sums, read with the same SQL the
    dashboard uses on the hiccups themselves."""
    if not days:
        return
    s.execute(delete(HiccupDay).where(HiccupDay.day.in_(days)))
    s.execute(delete(HiccupDayHours).where(HiccupDayHours.day.in_(days)))
    response = duration_hours(s, Hiccup.created_at, Hiccup.responded_at)
    closure = duration_hours(s, Hiccup.created_at, Hiccup.closed_at)
    clocks = (Hiccup.responded_at, Hiccup.response_due_at), (Hiccup.closed_at, Hiccup.closure_due_at)
    flags = [case((flag, 1), else_=0) for done, due in clocks for flag in met_missed(done, due, utcnow())]
    columns = (Hiccup.occurred_at, Hiccup.department_id, Hiccup.category_id, Hiccup.confidential)
    columns += (response, closure, *flags)
    runs = [select(*columns).where(SETTLED, within_days(Hiccup.occurred_at, a, b)) for a, b in _runs(days)]
    counts: dict[tuple, list[int]] = {}
    hours: dict[tuple, tuple[list[float], list[float]]] = {}
    for occurred, dept, cat, secret, r_hours, c_hours, *met_or_missed in chain.from_iterable(map(s.execute, runs)):
        day = local_day(occurred)
        row = counts.setdefault((day, dept, cat, secret), [0] * len(COUNTS))
        for i, n in enumerate((1, *met_or_missed)):
            row[i] += int(n)
        times = hours.setdefault((day, dept, secret), ([], []))
        times[0].append(float(r_hours))
        times[1].append(float(c_hours))
    s.add_all(
        HiccupDay(day=d, department_id=dept, category_id=cat, confidential=secret, **dict(zip(COUNTS, v, strict=True)))
        for (d, dept, cat, secret), v in counts.items()
    )
    s.add_all(
        HiccupDayHours(day=d, department_id=dept, confidential=secret, response_hours=pack(r), closure_hours=pack(c))
        for (d, dept, secret), (r, c) in hours.items()
    )
    s.flush()
    _sum_months(s, {day.replace(day=1) for day in days})


def _sum_months(s: Session, months: set[dt.date]) -> None:
    """Make the month rows of `months` again from their days' rows."""
    for table in (HiccupMonth, HiccupMonthHours, HiccupMonthBin):
        s.execute(delete(table).where(table.month.in_(months)))
    keys = (HiccupDay.department_id, HiccupDay.category_id, HiccupDay.confidential)
    for month in sorted(months):
        days = HiccupDay.day.between(month, next_month(month) - dt.timedelta(days=1))
        sums = select(literal(month, HiccupMonth.month.type), *keys, *(func.sum(getattr(HiccupDay, c)) for c in COUNTS))
        names = ['month', 'department_id', 'category_id', 'confidential', *COUNTS]
        s.execute(sa_insert(HiccupMonth).from_select(names, sums.where(days).group_by(*keys)))
        _bin_month(s, month)


def _bin_month(s: Session, month: dt.date) -> None:
    """The month's `HiccupMonthHours` and `HiccupMonthBin` rows, from its days' durations."""
    days = HiccupDayHours.day.between(month, next_month(month) - dt.timedelta(days=1))
    keys = (HiccupDayHours.department_id, HiccupDayHours.confidential)
    stmt = select(*keys, HiccupDayHours.response_hours, HiccupDayHours.closure_hours).where(days)
    binned: dict[tuple, dict[str, dict[int, array]]] = {}
    for dept, secret, *packed in s.execute(stmt):
        per = binned.setdefault((dept, secret), {m: {} for m in MEASURES})
        for measure, raw in zip(MEASURES, packed, strict=True):
            for hours in array(HOURS_TYPE, raw):
                per[measure].setdefault(bin_of(hours), array(HOURS_TYPE)).append(hours)
    rows, totals = [], []
    for (dept, secret), per in binned.items():
        key = {'department_id': dept, 'month': month, 'confidential': secret}
        counts = {m: array(BIN_COUNT_TYPE, [0] * HOUR_BINS) for m in MEASURES}
        for measure, bins in per.items():
            for b, values in bins.items():
                counts[measure][b] = len(values)
                rows.append(key | {'measure': measure, 'bin': b, 'hours': values.tobytes()})
        totals.append(key | {f'{m}_bins': counts[m].tobytes() for m in MEASURES})
    for table, values in ((HiccupMonthBin, rows), (HiccupMonthHours, totals)):
        if values:
            s.execute(sa_insert(table), values)


def _runs(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as (first, last) runs."""
    out: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if out and out[-1][1] + dt.timedelta(days=1) == day:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out
