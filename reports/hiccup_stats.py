"""The hiccup dashboard's numbers: SQL aggregates → small DataFrames → Plotly figures.

Every query starts from `models.permissions.visible_query`, so a user's charts count only
the hiccups they may see (confidential ones included), and narrows it to hiccups that
*occurred* between two local dates (settings TIMEZONE, both days included) in the chosen
departments. Only aggregates leave the database: one `tally` of counts per bucket, department
and category, which every count chart sums (the range is read once for all of them), and for
the time percentiles at most four ranked durations per department. Nothing here loads hiccup
rows, so the charts stay fast with a million of them.

The settled hiccups of past days come from the day summary (`models.hiccups.summary`, `_summary`),
as far as the reader's rule lets its rows through whole (`_seen_whole`: all of them, or their
department's that are not confidential). Its sums join the tally of the hiccups it does not hold
(`_live`: the unsettled ones, the days not summed, and those the reader sees only as their raiser), and
the percentiles are taken over its durations plus those of the hiccups it does not hold: of the months
it holds whole, only the durations of the bins of hours that a percentile falls in are read (`_Ranks`),
so three years cost about what a few weeks do.
Either way the charts are the same to the last digit (tests/reports/test_hiccup_summary.py).

Each chart is one data function ``(session, actor, *, start, end, department_ids) -> DataFrame``
and, except the headline counts, one figure builder ``(DataFrame, ...) -> go.Figure``; `CHARTS`
pairs them with a title and the sheet columns of its Excel export. Frames carry a ``link``
column: the hiccup list URL filtered to that bar (the list's own URL format), which the figures
put in each point's ``customdata`` for a click to open.

Durations are hours from when a hiccup was raised (``created_at``, where the SLA clocks
start) to ``responded_at`` / ``closed_at`` (escalation also sets ``closed_at``). SLA
compliance counts a clock as met when the step happened by its due time, missed when it
happened later or is still outstanding past due; clocks not yet due are left out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sqlalchemy import Select, and_, case, false, func, literal, or_, select, true
from sqlalchemy.orm import Session

from models import audit, changes, db
from models.accounts import Actor
from models.base import utcnow
from models.engine import RecordType
from models.hiccups import Hiccup, Hiccups, summary
from models.hiccups.rules import met_missed
from models.hiccups.summary import HiccupDay, HiccupDayHours, HiccupMonth, HiccupMonthBin, HiccupMonthHours
from models.lookups import Category, Department
from models.permissions import can, require, visible_query
from models.query import ListParams, duration_hours, statement_key, within_days
from models.settings import day_start, get_settings
from reports import xlsx

T = TypeVar('T')
LIST_URL = '/r/hiccups'
DEFAULT_DAYS = 90
WEEKLY_UP_TO_DAYS = 120  # longer ranges are bucketed by month
MAX_DAYS = 366 * 10
QUANTILES = {'median': Fraction(1, 2), 'p90': Fraction(9, 10)}
OPEN_STATES = tuple(s for s, _ in Hiccups.workflow.states if s not in Hiccups.workflow.final)
COLORS = ['#1f5f8b', '#e07b39', '#3a9d5d', '#c23b3b', '#7b5ea7', '#8c6d31', '#d662a8', '#6b6b6b', '#2bb3c0']


# ---- filters and buckets ----


@dataclasses.dataclass(frozen=True)
class Filters:
    """What the dashboard shows: hiccups that occurred from `start` to `end` (local dates, inclusive)."""

    start: dt.date
    end: dt.date
    department_ids: tuple[int, ...] = ()

    @classmethod
    def default(cls, today: dt.date | None = None) -> Filters:
        end = today or dt.datetime.now(get_settings().tz).date()
        return cls(end - dt.timedelta(days=DEFAULT_DAYS - 1), end)

    @classmethod
    def of(cls, start: Any, end: Any, department_ids: Any = ()) -> Filters:
        """Tolerant: unreadable dates fall back to the default, a reversed range is swapped,
        more than `MAX_DAYS` is cut at the start."""
        fallback = cls.default()
        first, last = _date(start) or fallback.start, _date(end) or fallback.end
        first, last = min(first, last), max(first, last)
        first = max(first, last - dt.timedelta(days=MAX_DAYS - 1))
        ids = tuple(sorted({int(i) for i in department_ids if str(i).strip().isdigit()}))
        return cls(first, last, ids)

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> Filters:
        """Read the dashboard URL: ``from``, ``to`` and ``f.department_id`` ('|'-separated), as the list does."""
        departments = str(query.get('f.department_id', '')).split('|')
        return cls.of(query.get('from'), query.get('to'), departments)

    def to_query(self) -> dict[str, str]:
        out = {'from': self.start.isoformat(), 'to': self.end.isoformat()}
        if self.department_ids:
            out['f.department_id'] = '|'.join(map(str, self.department_ids))
        return out

    def kwargs(self) -> dict[str, Any]:
        return {'start': self.start, 'end': self.end, 'department_ids': self.department_ids}


@dataclasses.dataclass(frozen=True)
class Bucket:
    first: dt.date
    last: dt.date
    label: str


def buckets(start: dt.date, end: dt.date) -> list[Bucket]:
    """Weeks (Monday to Sunday) for ranges up to `WEEKLY_UP_TO_DAYS`, else calendar months; cut to the range."""
    weekly = (end - start).days < WEEKLY_UP_TO_DAYS
    years = start.year != end.year
    out, day = [], start
    while day <= end:
        if weekly:
            nxt = day - dt.timedelta(days=day.weekday()) + dt.timedelta(days=7)
            label = f'{day:%d %b %Y}' if years else f'{day:%d %b}'
        else:
            nxt = summary.next_month(day)
            label = f'{day:%b %Y}'
        last = min(nxt - dt.timedelta(days=1), end)
        out.append(Bucket(day, last, label))
        day = last + dt.timedelta(days=1)
    return out


def list_url(start: dt.date, end: dt.date, department_ids: Sequence[int] = (), **filters: Any) -> str:
    """The hiccup list filtered like a chart's bar: ``/r/hiccups?f.department_id=3&from=…&to=…``."""
    wanted = {'department_id': '|'.join(map(str, department_ids))} if department_ids else {}
    wanted.update({k: str(v) for k, v in filters.items()})
    return ListParams(filters=wanted, date_from=start.isoformat(), date_to=end.isoformat()).url(LIST_URL)


# ---- query helpers ----


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def scope(session: Session, actor: Actor, start: dt.date, end: dt.date, department_ids: Sequence[int]) -> Select:
    """The visible hiccups that occurred in the range (and departments): the root of every chart query."""
    stmt = visible_query(session, actor, Hiccups).where(within_days(Hiccup.occurred_at, start, end))
    return stmt.where(Hiccup.department_id.in_(department_ids)) if department_ids else stmt


def _columns(stmt: Select, *columns: Any) -> Select:
    return stmt.with_only_columns(*columns, maintain_column_froms=True)


def _names(session: Session, model: Any, ids: Any) -> dict[int, str]:
    ids = sorted({int(i) for i in ids})
    if not ids:
        return {}
    return dict(session.execute(select(model.id, model.name).where(model.id.in_(ids))).all())


def _frame(rows: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


# ---- data: one function per chart ----


TALLY_COUNTS = ['hiccups', 'open', 'overdue', 'response_met', 'response_missed', 'closure_met', 'closure_missed']


def tally(session: Session, actor: Actor, *, start: dt.date, end: dt.date, department_ids=()) -> pd.DataFrame:
    """The range's visible hiccups counted per bucket (``b``, an index into `buckets`), department and
    category: how many, how many open and overdue, and SLA clocks met and missed (`met_missed`).
    Every count chart is a sum over this frame, so the dashboard reads the range
    once for all of them: charts loading side by side share one read (`changes.shared`, keyed by the
    SELECT of the visible range, so only readers of the same rows share it). Do not change the frame."""
    base = scope(session, actor, start, end, department_ids)
    summed = _summary(session, actor, start, end)
    key = ('hiccup tally', *statement_key(session, base), summed)

    def read(held: summary.Summary | None) -> pd.DataFrame:
        return _tally(session, actor, base, start, end, department_ids, held)

    return changes.shared(session, key, lambda: _steady(session, actor, start, end, summed, read))


def _summary(session: Session, actor: Actor, start: dt.date, end: dt.date) -> summary.Summary | None:
    """The day summary of settled hiccups (`models.hiccups.summary`) for this range, or None. A reader
    limited by a rule takes it only for ranges of monthly buckets: over fewer days their hiccups are
    few enough that reading them is as quick (bench/README.md, session 14: staff, 90 days, 131-192 ms
    from the hiccups, 184-209 ms with the summary; 180 days 200-288 ms and 159-192 ms)."""
    if not can(session, actor, Hiccups, 'view'):
        return None
    if Hiccups.visible_to(actor) is not None and (end - start).days < WEEKLY_UP_TO_DAYS:
        return None
    return summary.current(session, start, end)


def _seen_whole(actor: Actor, table: Any) -> Any:
    """The condition for the rows of `table` (the summary's, or hiccups) whose hiccups `actor` sees
    whatever their raiser: all for a reader who sees every hiccup; else their department's that are not
    confidential (`Hiccups.seen_in_department`), none without a department. The summary's rows are
    taken whole by this; what the rule lets through besides (the hiccups they raised) is counted from
    the hiccups (`_live`)."""
    if Hiccups.visible_to(actor) is None:
        return true()
    department = Hiccups.seen_in_department(actor, table)
    return false() if department is None else department


def _steady(session: Session, actor: Actor, start, end, summed: summary.Summary | None, read: Callable[..., T]) -> T:
    """`read(summed)`, made again if the summary changed while it read. A read is several statements,
    and on SQLite each sees the database as it is then: a summing run, or a change that marks a day
    stale, in between would have a hiccup counted twice or not at all. A read that finds the summary's
    rows disagreeing with each other (`Overtaken`) is made again too. After three changed reads (or
    with no summary) the hiccups alone are read."""
    for _ in range(3):
        if summed is None:
            break
        try:
            result = read(summed)
        except Overtaken:
            summed = _summary(session, actor, start, end)
            continue
        now = _summary(session, actor, start, end)
        if now == summed:
            return result
        summed = now
    return read(None)


class Overtaken(Exception):
    """A read of the summary found a month's bins of durations other than its counts said: the month was
    summed again between the two statements (`_Ranks.quantiles`). The summary's new generation would
    have the read made again anyway; this stops it ranking within a bin of another size first."""


TALLY_KEYS = ['b', 'department_id', 'category_id']


def _tally(session: Session, actor: Actor, base: Select, start, end, department_ids, summed) -> pd.DataFrame:
    """The tally from the hiccups; with a summary, from the hiccups it does not hold plus its sums."""
    if summed is None:
        return _tally_rows(session, base, start, end)
    lives = _live(session, actor, summed, start, end, department_ids)
    frames = [_tally_rows(session, live, start, end) for live in lives]
    frames.append(_summed_tally(session, actor, summed, start, end, department_ids))
    every = pd.concat(frames, ignore_index=True)
    return every.groupby(TALLY_KEYS, as_index=False, sort=True)[TALLY_COUNTS].sum().astype('int64')


def _live(session: Session, actor: Actor, summed: summary.Summary, start, end, department_ids) -> list[Select]:
    """The reads of the range's visible hiccups that the summary's part (`_seen_whole`) does not hold,
    which share no hiccup: those not settled (by their own index); the settled ones of each run of days
    it has not summed (each by its own range of dates, which is what the index of dates is walked for);
    and for a reader with a rule, the settled ones of the summed days they see only as their raiser (by
    the raiser's index)."""
    reads = [scope(session, actor, start, end, department_ids).where(summary.UNSETTLED)]
    unsummed = summed.unsummed(start, end)
    for a, b in unsummed:
        reads.append(scope(session, actor, a, b, department_ids).where(summary.SETTLED))
    if Hiccups.visible_to(actor) is not None:
        days = [~within_days(Hiccup.occurred_at, a, b) for a, b in unsummed]
        own = [summary.SETTLED, Hiccups.raised_by(actor), ~_seen_whole(actor, Hiccup), *days]
        reads.append(scope(session, actor, start, end, department_ids).where(*own))
    return reads


def _summed_tally(session: Session, actor: Actor, summed: summary.Summary, start, end, department_ids) -> pd.DataFrame:
    """The summary's counts of the range, in the tally's shape (settled hiccups are never open or overdue).
    With monthly buckets, each month it holds whole is one bucket, read from its month's rows; the
    other days from their own rows."""
    spans = buckets(start, end)
    months = _whole_months(summed, start, end)
    bucket = _bucket_of(HiccupDay.day, [b.first for b in spans], 0, len(spans))
    stmt = select(bucket.label('b'), HiccupDay).where(summed.day_filter(HiccupDay.day, start, end, months))
    inner = _summed_rows(stmt, HiccupDay, actor, department_ids).subquery()
    groups = [inner.c[k] for k in TALLY_KEYS]
    rows = session.execute(select(*groups, *(func.sum(inner.c[n]) for n in summary.COUNTS)).group_by(*groups)).all()
    if months:
        index = {b.first: i for i, b in enumerate(spans)}  # a month held whole is a bucket from its first day
        keys = (HiccupMonth.month, HiccupMonth.department_id, HiccupMonth.category_id)
        stmt = select(*keys, *(func.sum(getattr(HiccupMonth, n)) for n in summary.COUNTS))
        stmt = _summed_rows(stmt.where(HiccupMonth.month.in_(months)), HiccupMonth, actor, department_ids)
        rows += [(index[month], *rest) for month, *rest in session.execute(stmt.group_by(*keys))]
    frame = pd.DataFrame([tuple(map(int, r)) for r in rows], columns=[*TALLY_KEYS, *summary.COUNTS], dtype='int64')
    return frame.assign(open=0, overdue=0)[[*TALLY_KEYS, *TALLY_COUNTS]]


def _summed_rows(stmt: Select, table: Any, actor: Actor, department_ids) -> Select:
    """`stmt` limited to the rows of the summary's `table` that the reader takes (`_seen_whole`)."""
    stmt = stmt.where(_seen_whole(actor, table))
    return stmt.where(table.department_id.in_(department_ids)) if department_ids else stmt


def _tally_rows(session: Session, base: Select, start: dt.date, end: dt.date) -> pd.DataFrame:
    spans = buckets(start, end)
    now = utcnow()
    flags = [
        Hiccup.status.in_(OPEN_STATES),
        Hiccup.overdue,
        *met_missed(Hiccup.responded_at, Hiccup.response_due_at, now),
        *met_missed(Hiccup.closed_at, Hiccup.closure_due_at, now),
    ]
    bucket = _bucket_of(Hiccup.occurred_at, [day_start(b.first) for b in spans], 0, len(spans))
    keys = [bucket.label('b'), Hiccup.department_id.label('department_id'), Hiccup.category_id.label('category_id')]
    columns = [case((flag, 1), else_=0).label(name) for flag, name in zip(flags, TALLY_COUNTS[1:], strict=True)]
    inner = _columns(base, *keys, *columns).subquery()
    groups = [inner.c.b, inner.c.department_id, inner.c.category_id]
    sums = [func.count(), *(func.sum(inner.c[name]) for name in TALLY_COUNTS[1:])]
    rows = session.execute(select(*groups, *sums).group_by(*groups)).all()
    names = [*TALLY_KEYS, *TALLY_COUNTS]
    return pd.DataFrame([tuple(map(int, r)) for r in rows], columns=names, dtype='int64')


def _sums(df: pd.DataFrame, by: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """`columns` summed per `by`, as a new frame with `by` as columns."""
    return df.groupby(list(by), sort=True)[list(columns)].sum().reset_index()


def headline(session: Session, actor: Actor, *, start: dt.date, end: dt.date, department_ids=()) -> pd.DataFrame:
    """Total, open (not closed, escalated or followed up) and overdue counts: one row each."""
    frame = tally(session, actor, start=start, end=end, department_ids=department_ids)
    counts = frame[['hiccups', 'open', 'overdue']].sum()
    links = [
        list_url(start, end, department_ids),
        list_url(start, end, department_ids, status='|'.join(OPEN_STATES)),
        list_url(start, end, department_ids, overdue='true'),
    ]
    rows = [
        {'measure': m, 'hiccups': int(n), 'link': u}
        for m, n, u in zip(('Total', 'Open', 'Overdue'), counts, links, strict=True)
    ]
    return _frame(rows, ['measure', 'hiccups', 'link'])


OVER_TIME_COLUMNS = ['period', 'period_start', 'period_end', 'key_id', 'name', 'hiccups', 'link']


def _bucket_of(column: Any, starts: Sequence[dt.datetime], low: int, high: int) -> Any:
    """The index of the bucket (of those from `low` to `high`) that `column` falls in, as a balanced
    tree of CASEs: about log2(buckets) comparisons a row rather than one per bucket."""
    if high - low == 1:
        return literal(low)
    mid = (low + high) // 2
    return case(
        (column < starts[mid], _bucket_of(column, starts, low, mid)), else_=_bucket_of(column, starts, mid, high)
    )


def _over_time(session: Session, actor: Actor, key: str, model: Any, start, end, department_ids) -> pd.DataFrame:
    """Counts per bucket and `key` (the tally's department or category column)."""
    spans = buckets(start, end)
    counts = _sums(tally(session, actor, start=start, end=end, department_ids=department_ids), ['b', key], ['hiccups'])
    names = _names(session, model, counts[key])
    rows = []
    for b, k, n in zip(*(counts[c].tolist() for c in ('b', key, 'hiccups')), strict=True):
        span = spans[b]
        if model is Category:
            link = list_url(span.first, span.last, department_ids, category_id=k)
        else:
            link = list_url(span.first, span.last, (k,))
        values = (span.label, span.first, span.last, k, names.get(k, '?'), n, link)
        rows.append(dict(zip(OVER_TIME_COLUMNS, values, strict=True)))
    return _frame(rows, OVER_TIME_COLUMNS)


def by_department_over_time(session, actor, *, start, end, department_ids=()) -> pd.DataFrame:
    """Hiccups per department per week or month (see `buckets`)."""
    return _over_time(session, actor, 'department_id', Department, start, end, department_ids)


def by_category_over_time(session, actor, *, start, end, department_ids=()) -> pd.DataFrame:
    """Hiccups per category per week or month (see `buckets`)."""
    return _over_time(session, actor, 'category_id', Category, start, end, department_ids)


def _ranks(n: int) -> set[int]:
    """The 1-based ranks the `QUANTILES` of `n` sorted values interpolate between."""
    lows = {math.floor((n - 1) * q) for q in QUANTILES.values()}
    return {r for low in lows for r in (low + 1, low + 2) if r <= n}


def _quantile(ranked: Mapping[int, float], n: int, q: Fraction) -> float:
    """The q-quantile by linear interpolation (pandas' default) from the ranks `_ranks` names."""
    h = (n - 1) * q
    low = math.floor(h)
    a = ranked.get(low + 1, math.nan)
    b = ranked.get(low + 2, a)
    return a + float(h - low) * (b - a)


def _duration_quantiles(session: Session, base: Select, finish: Any, counts: Mapping[int, int]) -> dict[int, dict]:
    """department → {quantile name: hours from raised to `finish`}, for departments with `counts` > 0.

    The database computes each duration once (the inner SELECT), sorts them per department (a window
    function) and returns only the ranks each quantile needs: at most four rows per department,
    however many hiccups."""
    counts = {d: n for d, n in counts.items() if n}
    if not counts:
        return {}
    hours = duration_hours(session, Hiccup.created_at, finish)
    timed = _columns(
        base.where(hours.is_not(None)),  # not `finish IS NOT NULL`: MariaDB would pick finish's index
        Hiccup.department_id.label('d'),
        hours.label('hours'),
    ).subquery()
    position = func.row_number().over(partition_by=timed.c.d, order_by=timed.c.hours)
    ranked = select(timed.c.d, timed.c.hours, position.label('rn')).subquery()
    wanted = or_(*(and_(ranked.c.d == d, ranked.c.rn.in_(sorted(_ranks(n)))) for d, n in counts.items()))
    found: dict[int, dict[int, float]] = {d: {} for d in counts}
    for d, rank, value in session.execute(select(ranked.c.d, ranked.c.rn, ranked.c.hours).where(wanted)):
        found[d][int(rank)] = float(value)
    return {d: {k: _quantile(found[d], counts[d], q) for k, q in QUANTILES.items()} for d in counts}


def _times(session: Session, base: Select) -> tuple[list[tuple[int, int, int]], dict[str, dict[int, dict]]]:
    """(department, responded, closed) counts and each measure's quantiles per department, from the hiccups."""
    stmt = _columns(base, Hiccup.department_id, func.count(Hiccup.responded_at), func.count(Hiccup.closed_at))
    counts = [tuple(map(int, row)) for row in session.execute(stmt.group_by(Hiccup.department_id))]
    measures = {
        'responded': _duration_quantiles(session, base, Hiccup.responded_at, {d: r for d, r, _ in counts}),
        'closed': _duration_quantiles(session, base, Hiccup.closed_at, {d: c for d, _, c in counts}),
    }
    return counts, measures


MEASURES = {'responded': Hiccup.responded_at, 'closed': Hiccup.closed_at}
BINNED_AS = dict(zip(MEASURES, summary.MEASURES, strict=True))  # the summary's name of each measure
EDGES = np.array(summary.HOUR_EDGES)


def _summed_times(
    session: Session, actor: Actor, lives: Sequence[Select], summed: summary.Summary, start, end, department_ids
):
    """`_times` from the summary plus the hiccups it does not hold (`lives`, see `_live`). The durations
    of its whole months are counted per bin of hours, and only the bins a quantile falls in are read
    (`_Ranks`); those of its other days and of the hiccups are read whole (`loose`). Every duration of the
    range is counted, so the quantiles are exact."""
    months = _whole_months(summed, start, end)
    parts: dict[str, dict[int, list[np.ndarray]]] = {m: {} for m in MEASURES}
    found_live = (_live_hours(session, live) for live in lives)
    for found in (_summed_hours(session, actor, summed, start, end, department_ids, months), *found_live):
        for measure, per in found.items():
            for d, values in per.items():
                parts[measure].setdefault(d, []).append(values)
    loose = {m: {d: np.concatenate(arrays) for d, arrays in per.items()} for m, per in parts.items()}
    binned = _month_counts(session, actor, months, department_ids)
    ranks = {
        (m, d): _Ranks(binned[m].get(d), loose[m].get(d, np.empty(0)))
        for m in MEASURES
        for d in set(binned[m]) | set(loose[m])
    }
    wanted = {(m, d, b) for (m, d), r in ranks.items() for b in r.bins()}
    fetched = _month_bin_hours(session, actor, months, department_ids, wanted)
    measures: dict[str, dict[int, dict]] = {m: {} for m in MEASURES}
    for (m, d), r in ranks.items():
        if r.n:
            measures[m][d] = r.quantiles({b: fetched.get((m, d, b), []) for b in r.bins()})
    departments = sorted({d for _, d in ranks})
    counts = [(d, *(ranks[m, d].n if (m, d) in ranks else 0 for m in MEASURES)) for d in departments]
    return counts, measures


class _Ranks:
    """The `QUANTILES` of one department's durations of one measure, found by bins of hours: `held`, how
    many of the summary's months' durations are in each bin (or None), and `loose`, the other durations.
    Which bin the ranks `_ranks` names fall in comes from the counts alone (`bins`); `quantiles` then
    needs only those bins' durations of the months."""

    def __init__(self, held: np.ndarray | None, loose: np.ndarray) -> None:
        self.loose, self.loose_bins = loose, np.searchsorted(EDGES, loose, side='right')
        counts = np.bincount(self.loose_bins, minlength=summary.HOUR_BINS)
        running = np.cumsum(counts if held is None else counts + held)
        self.n = int(running[-1])
        self.held = held
        self.at: dict[int, tuple[int, int]] = {}  # rank → (its bin, its rank among the bin's durations)
        for rank in _ranks(self.n) if self.n else ():
            b = int(np.searchsorted(running, rank))  # the first bin whose running count reaches the rank
            self.at[rank] = (b, rank - (int(running[b - 1]) if b else 0))

    def bins(self) -> set[int]:
        return {b for b, _ in self.at.values()}

    def quantiles(self, held: Mapping[int, Sequence[np.ndarray]]) -> dict[str, float]:
        """The quantiles, given the months' durations (`held`) of each bin in `bins`."""
        ranked = {}
        for rank, (b, k) in self.at.items():
            if sum(map(len, held[b])) != (0 if self.held is None else self.held[b]):
                raise Overtaken
            pool = np.concatenate([*held[b], self.loose[self.loose_bins == b]])
            ranked[rank] = float(np.partition(pool, k - 1)[k - 1])
        return {name: _quantile(ranked, self.n, q) for name, q in QUANTILES.items()}


def _whole_months(summed: summary.Summary, start: dt.date, end: dt.date) -> list[dt.date]:
    """The months a read takes from the summary's month rows: those it holds whole, for ranges of
    monthly buckets (for fewer days, the day rows are read)."""
    return summed.months(start, end) if (end - start).days >= WEEKLY_UP_TO_DAYS else []


def _month_counts(session: Session, actor: Actor, months, department_ids) -> dict[str, dict[int, np.ndarray]]:
    """measure → department → how many of the `months`' durations are in each bin of hours."""
    out: dict[str, dict[int, np.ndarray]] = {m: {} for m in MEASURES}
    if not months:
        return out
    table = HiccupMonthHours
    stmt = select(table.department_id, table.response_bins, table.closure_bins).where(table.month.in_(months))
    for d, *packed in session.execute(_summed_rows(stmt, table, actor, department_ids)):
        for measure, raw in zip(MEASURES, packed, strict=True):
            counts = np.frombuffer(raw, dtype=summary.BIN_COUNT_TYPE).astype(np.int64)
            out[measure][d] = out[measure][d] + counts if d in out[measure] else counts
    return out


def _month_bin_hours(session: Session, actor: Actor, months, department_ids, wanted) -> dict[tuple, list[np.ndarray]]:
    """(measure, department, bin) → the `months`' durations in that bin, for the `wanted` ones."""
    if not months or not wanted:
        return {}
    table, named = HiccupMonthBin, {v: k for k, v in BINNED_AS.items()}
    which = [
        and_(table.measure == BINNED_AS[m], table.department_id == d, table.bin == b) for m, d, b in sorted(wanted)
    ]
    stmt = select(table.measure, table.department_id, table.bin, table.hours)
    stmt = _summed_rows(stmt.where(or_(*which), table.month.in_(months)), table, actor, department_ids)
    out: dict[tuple, list[np.ndarray]] = {}
    for measure, d, b, raw in session.execute(stmt):
        out.setdefault((named[measure], d, b), []).append(np.frombuffer(raw, dtype=summary.HOURS_TYPE))
    return out


def _summed_hours(
    session: Session, actor: Actor, summed: summary.Summary, start, end, department_ids, months=()
) -> dict[str, dict]:
    """measure → department → the summary's durations of the range but the `months` (one array per day)."""
    out: dict[str, dict[int, np.ndarray]] = {m: {} for m in MEASURES}
    table = HiccupDayHours
    stmt = select(table.department_id, table.response_hours, table.closure_hours)
    stmt = stmt.where(summed.day_filter(table.day, start, end, months))
    days: dict[int, list] = {}
    for d, *packed in session.execute(_summed_rows(stmt, table, actor, department_ids)):
        days.setdefault(d, []).append(packed)
    for d, rows in days.items():
        for measure, column in zip(MEASURES, zip(*rows, strict=True), strict=True):
            out[measure][d] = np.frombuffer(b''.join(column), dtype=summary.HOURS_TYPE)
    return out


def _live_hours(session: Session, live: Select) -> dict[str, dict[int, np.ndarray]]:
    """measure → department → the durations of the hiccups `live` reads, computed by the database."""
    hours = [duration_hours(session, Hiccup.created_at, finish) for finish in MEASURES.values()]
    found: dict[str, dict[int, list[float]]] = {m: {} for m in MEASURES}
    for d, *values in session.execute(_columns(live, Hiccup.department_id, *hours)):
        for measure, value in zip(MEASURES, values, strict=True):
            if value is not None:
                found[measure].setdefault(d, []).append(float(value))
    return {m: {d: np.array(v, dtype=summary.HOURS_TYPE) for d, v in per.items()} for m, per in found.items()}


TIMES_COLUMNS = ['department_id', 'department', 'responded', 'responded_median_h', 'responded_p90_h']
TIMES_COLUMNS += ['closed', 'closed_median_h', 'closed_p90_h', 'link']


def response_times(session, actor, *, start, end, department_ids=()) -> pd.DataFrame:
    """Per department: hours from raised to response and to closure, median and p90, with their counts."""
    base = scope(session, actor, start, end, department_ids)

    def read(held: summary.Summary | None) -> tuple[list, dict]:
        if held is None:
            return _times(session, base)
        lives = _live(session, actor, held, start, end, department_ids)
        return _summed_times(session, actor, lives, held, start, end, department_ids)

    counts, measures = _steady(session, actor, start, end, _summary(session, actor, start, end), read)
    rows = []
    for d, *done in counts:
        row = {'department_id': d, 'responded': int(done[0]), 'closed': int(done[1])}
        for measure, by_department in measures.items():
            row |= {f'{measure}_{k}_h': v for k, v in by_department.get(d, {}).items()}
        rows.append(row)
    df = _frame(rows, [c for c in TIMES_COLUMNS if c not in ('department', 'link')])
    return _per_department(session, df[(df['responded'] > 0) | (df['closed'] > 0)].copy(), start, end, TIMES_COLUMNS)


def _per_department(session: Session, df: pd.DataFrame, start, end, columns: Sequence[str]) -> pd.DataFrame:
    """Add department names and list links; sorted by name."""
    if df.empty:
        return _frame([], columns)
    names = _names(session, Department, df['department_id'])
    df['department_id'] = df['department_id'].astype(int)
    df['department'] = [names.get(d, '?') for d in df['department_id']]
    df['link'] = [list_url(start, end, (d,)) for d in df['department_id']]
    for col in df.columns:
        if col.endswith('_h') or col.endswith('_pct'):
            df[col] = df[col].astype(float).round(1)
    return df[list(columns)].sort_values('department', kind='stable').reset_index(drop=True)


SLA_COLUMNS = ['department_id', 'department', 'response_met', 'response_missed', 'response_pct']
SLA_COLUMNS += ['closure_met', 'closure_missed', 'closure_pct', 'link']


def sla_compliance(session, actor, *, start, end, department_ids=()) -> pd.DataFrame:
    """Per department: response and closure clocks met and missed, and the % met of those decided."""
    names = ['response_met', 'response_missed', 'closure_met', 'closure_missed']
    df = _sums(tally(session, actor, start=start, end=end, department_ids=department_ids), ['department_id'], names)
    for clock in ('response', 'closure'):
        decided = df[f'{clock}_met'] + df[f'{clock}_missed']
        df[f'{clock}_pct'] = (100.0 * df[f'{clock}_met'] / decided.where(decided > 0)).astype(float)
    return _per_department(session, df, start, end, SLA_COLUMNS)


PARETO_COLUMNS = ['category_id', 'category', 'hiccups', 'share_pct', 'cumulative_pct', 'link']


def category_pareto(session, actor, *, start, end, department_ids=()) -> pd.DataFrame:
    """Hiccups per category, most first, with each one's share and the running total in %."""
    counts = _sums(
        tally(session, actor, start=start, end=end, department_ids=department_ids), ['category_id'], ['hiccups']
    )
    counts = counts.sort_values(['hiccups', 'category_id'], ascending=[False, True], kind='stable')
    names = _names(session, Category, counts['category_id'])
    total = int(counts['hiccups'].sum()) or 1
    rows, running = [], 0
    for c, n in zip(counts['category_id'].tolist(), counts['hiccups'].tolist(), strict=True):
        running += n
        link = list_url(start, end, department_ids, category_id=c)
        share, cumulative = round(100.0 * n / total, 1), round(100.0 * running / total, 1)
        rows.append(dict(zip(PARETO_COLUMNS, (c, names.get(c, '?'), n, share, cumulative, link), strict=True)))
    return _frame(rows, PARETO_COLUMNS)


# ---- figures ----


def _layout(fig: go.Figure, y_title: str, **more: Any) -> go.Figure:
    fig.update_layout(
        margin={'l': 50, 'r': 20, 't': 10, 'b': 40},
        height=360,
        legend={'orientation': 'h', 'y': -0.2},
        yaxis={'title': {'text': y_title}, 'rangemode': 'tozero'},
        colorway=COLORS,
        hovermode='closest',
        **more,
    )
    return fig


def over_time_figure(df: pd.DataFrame, start: dt.date, end: dt.date) -> go.Figure:
    """Stacked bars: one bar per bucket, one colour per department (or category)."""
    labels = [b.label for b in buckets(start, end)]
    fig = go.Figure()
    for name, part in df.groupby('name', sort=True):
        counts = dict(zip(part['period'], part['hiccups'].tolist(), strict=True))
        links = dict(zip(part['period'], part['link'], strict=True))
        fig.add_bar(
            name=str(name),
            x=labels,
            y=[counts.get(lbl, 0) for lbl in labels],
            customdata=[links.get(lbl) for lbl in labels],
            hovertemplate='%{x}: %{y}<extra>%{fullData.name}</extra>',
        )
    axis = {'type': 'category', 'categoryarray': labels}
    return _layout(fig, 'Hiccups', barmode='stack', xaxis=axis, showlegend=True)  # a legend even for one


def times_figure(df: pd.DataFrame) -> go.Figure:
    """Grouped bars per department: response and closure, median and p90, in hours."""
    fig = go.Figure()
    for col, name in [
        ('responded_median_h', 'Response median'),
        ('responded_p90_h', 'Response p90'),
        ('closed_median_h', 'Closure median'),
        ('closed_p90_h', 'Closure p90'),
    ]:
        fig.add_bar(
            name=name,
            x=list(df['department']),
            y=list(df[col]),
            customdata=list(df['link']),
            hovertemplate='%{x}: %{y:.1f} h<extra>%{fullData.name}</extra>',
        )
    return _layout(fig, 'Hours from raised', barmode='group')


def sla_figure(df: pd.DataFrame) -> go.Figure:
    """Grouped bars per department: % of response and closure clocks met."""
    fig = go.Figure()
    for clock, name in [('response', 'Responded in time'), ('closure', 'Closed in time')]:
        fig.add_bar(
            name=name,
            x=list(df['department']),
            y=list(df[f'{clock}_pct']),
            customdata=list(df['link']),
            text=[f'{m}/{m + x}' for m, x in zip(df[f'{clock}_met'], df[f'{clock}_missed'], strict=True)],
            textposition='none',  # the counts show on hover only
            hovertemplate='%{x}: %{y:.1f}% (%{text})<extra>%{fullData.name}</extra>',
        )
    fig = _layout(fig, '% met', barmode='group')
    fig.update_yaxes(range=[0, 105])
    return fig


def pareto_figure(df: pd.DataFrame) -> go.Figure:
    """Categories as bars, most first, and the cumulative % as a line on a second axis."""
    fig = go.Figure()
    x, links = list(df['category']), list(df['link'])
    fig.add_bar(name='Hiccups', x=x, y=list(df['hiccups']), customdata=links)
    fig.add_scatter(
        name='Cumulative %',
        x=x,
        y=list(df['cumulative_pct']),
        customdata=links,
        yaxis='y2',
        mode='lines+markers',
        hovertemplate='%{x}: %{y:.1f}%<extra>cumulative</extra>',
    )
    return _layout(
        fig,
        'Hiccups',
        xaxis={'type': 'category', 'categoryarray': x},
        yaxis2={'overlaying': 'y', 'side': 'right', 'range': [0, 105], 'ticksuffix': '%', 'showgrid': False},
    )


# ---- the charts, for the page and for Excel ----


@dataclasses.dataclass(frozen=True)
class Chart:
    key: str
    title: str
    data: Callable[..., pd.DataFrame]
    figure: Callable[[pd.DataFrame, Filters], go.Figure] | None
    columns: tuple[tuple[str, xlsx.Column], ...]  # DataFrame column → Excel column

    def load(self, actor: Actor, filters: Filters) -> pd.DataFrame:
        """This chart's data for `actor`: opens its own session (run it off the event loop)."""
        with db.session() as s:
            return self.data(s, actor, **filters.kwargs())


def _cols(*spec: tuple[str, str, str]) -> tuple[tuple[str, xlsx.Column], ...]:
    return tuple((name, xlsx.Column(title, kind)) for name, title, kind in spec)


_PERIOD = (('period_start', 'From', 'date'), ('period_end', 'To', 'date'))
CHARTS: dict[str, Chart] = {
    c.key: c
    for c in [
        Chart(
            'headline',
            'Open and overdue',
            headline,
            None,
            _cols(('measure', 'Measure', 'str'), ('hiccups', 'Hiccups', 'int')),
        ),
        Chart(
            'departments',
            'Hiccups by department',
            by_department_over_time,
            lambda df, f: over_time_figure(df, f.start, f.end),
            _cols(*_PERIOD, ('name', 'Department', 'str'), ('hiccups', 'Hiccups', 'int')),
        ),
        Chart(
            'categories',
            'Hiccups by category',
            by_category_over_time,
            lambda df, f: over_time_figure(df, f.start, f.end),
            _cols(*_PERIOD, ('name', 'Category', 'str'), ('hiccups', 'Hiccups', 'int')),
        ),
        Chart(
            'times',
            'Hours to response and to closure',
            response_times,
            lambda df, f: times_figure(df),
            _cols(
                ('department', 'Department', 'str'),
                ('responded', 'Responded', 'int'),
                ('responded_median_h', 'Response median (h)', 'float'),
                ('responded_p90_h', 'Response p90 (h)', 'float'),
                ('closed', 'Closed', 'int'),
                ('closed_median_h', 'Closure median (h)', 'float'),
                ('closed_p90_h', 'Closure p90 (h)', 'float'),
            ),
        ),
        Chart(
            'sla',
            'SLA compliance',
            sla_compliance,
            lambda df, f: sla_figure(df),
            _cols(
                ('department', 'Department', 'str'),
                ('response_met', 'Responses in time', 'int'),
                ('response_missed', 'Responses late', 'int'),
                ('response_pct', 'Responses in time %', 'float'),
                ('closure_met', 'Closures in time', 'int'),
                ('closure_missed', 'Closures late', 'int'),
                ('closure_pct', 'Closures in time %', 'float'),
            ),
        ),
        Chart(
            'pareto',
            'Pareto of categories',
            category_pareto,
            lambda df, f: pareto_figure(df),
            _cols(
                ('category', 'Category', 'str'),
                ('hiccups', 'Hiccups', 'int'),
                ('share_pct', 'Share %', 'float'),
                ('cumulative_pct', 'Cumulative %', 'float'),
            ),
        ),
    ]
}


def export_filename(chart: Chart, filters: Filters) -> str:
    return f'hiccups-{chart.key}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.xlsx'


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    return value.item() if hasattr(value, 'item') else value


def export_chart(
    actor: Actor, chart: Chart, df: pd.DataFrame, filters: Any, path: str | Path, rt: type[RecordType] = Hiccups
) -> int:
    """Write a chart's DataFrame to the .xlsx file `path`; needs the 'export' permission on `rt`
    (whose records the chart counts); audited."""
    names = [name for name, _ in chart.columns]
    try:
        with db.session() as s:
            require(s, actor, rt, 'export')
            rows = ([_cell(v) for v in row] for row in df[names].itertuples(index=False, name=None))
            count = xlsx.write(path, chart.title, [c for _, c in chart.columns], rows)
            details = {'chart': chart.key, 'rows': count, 'query': filters.to_query()}
            audit.record(s, actor, 'export', record_type=rt.slug, changes=details)
    except BaseException:
        Path(path).unlink(missing_ok=True)  # no file without its audit row
        raise
    return count
