"""The issue dashboard's numbers: SQL aggregates → small DataFrames → Plotly figures.

Built on the hiccup dashboard's machinery (`reports.hiccup_stats`: `Chart`, the Excel export,
the SQL helpers). Every query starts from `models.permissions.visible_query`, so a reporter's
numbers count only their own issues, a maintainer's all of them. The filters narrow that to
issues *created* between two local dates (settings TIMEZONE, both days included), of some
severities and assignees, written in the URL as the issue list writes them:
``/issues/dashboard?from=2026-01-01&to=2026-03-31&f.severity=HIGH|CRITICAL&f.assignee_id=4``.

- ``headline``: total, unresolved and critical unresolved issues created in the range; how many
  were resolved in the range (``resolved_at`` between the two dates, whenever created) and their
  mean time to resolve, in hours from ``created_at`` to ``resolved_at``.
- ``status`` / ``severity``: counts of the issues created in the range; a bar opens the list.
- ``open_over_time``: the issues still unresolved at the end of each day of the range. Users who
  see every issue and may view `IssueStats` read it from ``issue_daily_stats`` (filled by the
  30-minute job; it counts *all* issues, so it is used only without severity or assignee
  filters). Everyone else (a reporter sees only their own issues) gets it computed from the
  issues they may see: created by the end of the day and not resolved by then. The table's
  all-issue counts never reach anyone who may not see every issue.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from models.accounts import Actor
from models.issues import UNRESOLVED, Issue, IssueDailyStats, Issues, IssueSeverity, IssueStats
from models.permissions import can, visible_query
from models.query import ListParams, duration_hours, within_days
from models.settings import day_start, get_settings
from reports import hiccup_stats as common
from reports.hiccup_stats import Chart, _bucket_of, _cols, _columns, _layout

LIST_URL = '/r/issues'
DEFAULT_DAYS = 90
MAX_DAYS = 366 * 10
DAILY_UP_TO_DAYS = 400  # a longer range computed from the issues has a point a week, not a day
FIRST_DAY, LAST_DAY = dt.date(1000, 1, 2), dt.date(9999, 12, 30)  # what a DATETIME holds, a day to spare
SEVERITIES = [s.name for s in IssueSeverity]
STATUS_LABELS = dict(Issues.workflow.states)
SOURCE_TABLE = 'daily statistics (all issues)'
SOURCE_ISSUES = 'computed from the issues you may see'
NOTES = {
    SOURCE_TABLE: 'Unresolved issues at the end of each day, from the daily statistics of all issues.',
    SOURCE_ISSUES: 'Unresolved at the end of each day, computed from when each issue you may see was created '
    'and resolved.',
}


# ---- filters ----


@dataclasses.dataclass(frozen=True)
class IssueFilters:
    """What the dashboard shows: issues created from `start` to `end` (local dates, inclusive), of
    `severities` (IssueSeverity names) and `assignee_ids` (all when empty)."""

    start: dt.date
    end: dt.date
    severities: tuple[str, ...] = ()
    assignee_ids: tuple[int, ...] = ()

    @classmethod
    def default(cls, today: dt.date | None = None) -> IssueFilters:
        end = today or dt.datetime.now(get_settings().tz).date()
        return cls(end - dt.timedelta(days=DEFAULT_DAYS - 1), end)

    @classmethod
    def of(cls, start: Any, end: Any, severities: Any = (), assignee_ids: Any = ()) -> IssueFilters:
        """Tolerant: unreadable or out-of-range dates fall back to the default, a reversed range is
        swapped, more than `MAX_DAYS` is cut at the start; unknown severities and ids are dropped."""
        fallback = cls.default()
        first, last = _date(start) or fallback.start, _date(end) or fallback.end
        first, last = min(first, last), max(first, last)
        first = max(first, last - dt.timedelta(days=MAX_DAYS - 1))
        wanted = {str(s).strip().upper() for s in severities}
        ids = {int(i) for i in assignee_ids if str(i).strip().isdigit() and 0 < int(i) < 2**31}
        return cls(first, last, tuple(s for s in SEVERITIES if s in wanted), tuple(sorted(ids)))

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> IssueFilters:
        """Read the dashboard URL: ``from``, ``to``, ``f.severity`` and ``f.assignee_id`` ('|'-separated)."""
        severities = str(query.get('f.severity', '')).split('|')
        assignees = str(query.get('f.assignee_id', '')).split('|')
        return cls.of(query.get('from'), query.get('to'), severities, assignees)

    def to_query(self) -> dict[str, str]:
        out = {'from': self.start.isoformat(), 'to': self.end.isoformat()}
        out |= self._list_filters()
        return out

    def kwargs(self) -> dict[str, Any]:
        return {'start': self.start, 'end': self.end, 'severities': self.severities, 'assignee_ids': self.assignee_ids}

    def _list_filters(self) -> dict[str, str]:
        out = {}
        if self.severities:
            out['f.severity'] = '|'.join(self.severities)
        if self.assignee_ids:
            out['f.assignee_id'] = '|'.join(map(str, self.assignee_ids))
        return out


def _date(value: Any) -> dt.date | None:
    day = common._date(value)
    return day if day is not None and FIRST_DAY <= day <= LAST_DAY else None


def list_url(start: dt.date, end: dt.date, severities=(), assignee_ids=(), **filters: Any) -> str:
    """The issue list filtered like a bar: ``/r/issues?f.status=open&f.severity=HIGH&from=…&to=…``."""
    wanted = {'severity': '|'.join(severities)} if severities else {}
    if assignee_ids:
        wanted['assignee_id'] = '|'.join(map(str, assignee_ids))
    wanted.update({k: str(v) for k, v in filters.items()})
    return ListParams(filters=wanted, date_from=start.isoformat(), date_to=end.isoformat()).url(LIST_URL)


# ---- queries ----


def narrowed(session: Session, actor: Actor, severities: Sequence[str] = (), assignee_ids: Sequence[int] = ()) -> Any:
    """The visible issues of the severities and assignees chosen (all when empty), whenever created."""
    stmt = visible_query(session, actor, Issues)
    if severities:
        stmt = stmt.where(Issue.severity.in_([IssueSeverity[s] for s in severities]))
    if assignee_ids:
        stmt = stmt.where(Issue.assignee_id.in_(list(assignee_ids)))
    return stmt


def scope(session: Session, actor: Actor, start: dt.date, end: dt.date, severities=(), assignee_ids=()) -> Select:
    """The visible issues created in the range (of the severities and assignees): the root of the counts."""
    return narrowed(session, actor, severities, assignee_ids).where(within_days(Issue.created_at, start, end))


def _sum(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def sees_all(session: Session, actor: Actor) -> bool:
    """Whether `actor` may read the daily statistics of all issues: sees every issue and may view them."""
    return Issues.visible_to(actor) is None and can(session, actor, IssueStats, 'view')


def _duration_text(hours: float | None) -> str:
    if hours is None:
        return '-'
    return f'{hours / 24:.1f} d' if hours >= 48 else f'{hours:.1f} h'


# ---- data: one function per chart ----

HEADLINE_COLUMNS = ['measure', 'value', 'unit', 'display', 'link']


def headline(session: Session, actor: Actor, *, start, end, severities=(), assignee_ids=()) -> pd.DataFrame:
    """Total, unresolved and critical unresolved issues created in the range; issues resolved in the
    range and their mean hours from created to resolved (None when there are none)."""
    unresolved = Issue.status.in_(UNRESOLVED)
    total, open_, critical = session.execute(
        _columns(
            scope(session, actor, start, end, severities, assignee_ids),
            func.count(),
            _sum(unresolved),
            _sum(and_(unresolved, Issue.severity == IssueSeverity.CRITICAL)),
        )
    ).one()
    resolved_in_range = narrowed(session, actor, severities, assignee_ids).where(
        Issue.status == 'done', within_days(Issue.resolved_at, start, end)
    )
    hours = duration_hours(session, Issue.created_at, Issue.resolved_at)
    resolved, mean = session.execute(_columns(resolved_in_range, func.count(), func.avg(hours))).one()
    mean = round(float(mean), 1) if mean is not None and resolved else None
    args = (start, end, severities, assignee_ids)
    open_link = list_url(*args, status='|'.join(UNRESOLVED))
    critical_link = None
    if not severities or 'CRITICAL' in severities:
        critical_link = list_url(start, end, ('CRITICAL',), assignee_ids, status='|'.join(UNRESOLVED))
    rows = [
        ('Total', int(total), 'issues', f'{int(total):,}', list_url(*args)),
        ('Unresolved', int(open_), 'issues', f'{int(open_):,}', open_link),
        ('Critical unresolved', int(critical), 'issues', f'{int(critical):,}', critical_link),
        ('Resolved', int(resolved), 'issues', f'{int(resolved):,}', None),
        ('Mean time to resolve', mean, 'hours', _duration_text(mean), None),
    ]
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


COUNT_COLUMNS = ['key', 'label', 'issues', 'link']


def by_status(session: Session, actor: Actor, *, start, end, severities=(), assignee_ids=()) -> pd.DataFrame:
    """Issues created in the range per status, in workflow order (every status, zeros included)."""
    base = scope(session, actor, start, end, severities, assignee_ids)
    counts = dict(session.execute(_columns(base, Issue.status, func.count()).group_by(Issue.status)).all())
    rows = [
        (key, label, int(counts.get(key, 0)), list_url(start, end, severities, assignee_ids, status=key))
        for key, label in Issues.workflow.states
    ]
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


def by_severity(session: Session, actor: Actor, *, start, end, severities=(), assignee_ids=()) -> pd.DataFrame:
    """Issues created in the range per severity, lowest first (the chosen severities, or all)."""
    base = scope(session, actor, start, end, severities, assignee_ids)
    counts = dict(session.execute(_columns(base, Issue.severity, func.count()).group_by(Issue.severity)).all())
    rows = [
        (s.name, s.value, int(counts.get(s, 0)), list_url(start, end, (s.name,), assignee_ids))
        for s in IssueSeverity
        if not severities or s.name in severities
    ]
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


OVER_TIME_COLUMNS = ['date', 'unresolved', 'source']


def _points(start: dt.date, end: dt.date) -> list[dt.date]:
    """The days the computed series has a point for: each day, or every 7th day back from `end`."""
    step = 1 if (end - start).days < DAILY_UP_TO_DAYS else 7
    days = (end - start).days // step
    return [end - dt.timedelta(days=step * k) for k in range(days, -1, -1)]


def _cumulative(session: Session, base: Select, instant: Any, ends: Sequence[dt.datetime]) -> list[int]:
    """For each of `ends`: how many rows of `base` have `instant` before it (one grouped query)."""
    bucket = _bucket_of(instant, [ends[0], *ends[:-1]], 0, len(ends))  # bucket i: from ends[i-1] to ends[i]
    inner = _columns(base.where(instant < ends[-1]), bucket.label('b')).subquery()
    found = dict(session.execute(select(inner.c.b, func.count()).group_by(inner.c.b)).all())
    out, running = [], 0
    for i in range(len(ends)):
        running += int(found.get(i, 0))
        out.append(running)
    return out


def open_over_time(session: Session, actor: Actor, *, start, end, severities=(), assignee_ids=()) -> pd.DataFrame:
    """Unresolved issues at the end of each day from `start` to `end` (or today, if sooner).

    From ``issue_daily_stats`` for those who may see all its counts (`sees_all`) when no severity or
    assignee is chosen; otherwise from the visible issues: created by the day's end and not resolved
    by then. The frame's ``attrs['note']`` says which.
    """
    last = min(end, dt.datetime.now(get_settings().tz).date())
    if not severities and not assignee_ids and sees_all(session, actor):
        unresolved = IssueDailyStats.open + IssueDailyStats.triaged + IssueDailyStats.in_progress
        stmt = (
            select(IssueDailyStats.date, unresolved)
            .where(IssueDailyStats.date >= start, IssueDailyStats.date <= last)
            .order_by(IssueDailyStats.date)
        )
        df = pd.DataFrame([(d, int(n), SOURCE_TABLE) for d, n in session.execute(stmt)], columns=OVER_TIME_COLUMNS)
        df.attrs['note'] = NOTES[SOURCE_TABLE]
        return df
    rows = []
    if start <= last:
        points = _points(start, last)
        ends = [day_start(day + dt.timedelta(days=1)) for day in points]
        base = narrowed(session, actor, severities, assignee_ids)
        created = _cumulative(session, base, Issue.created_at, ends)
        gone = case((Issue.resolved_at > Issue.created_at, Issue.resolved_at), else_=Issue.created_at)
        resolved = _cumulative(session, base.where(Issue.resolved_at.is_not(None)), gone, ends)
        rows = [(day, c - r, SOURCE_ISSUES) for day, c, r in zip(points, created, resolved, strict=True)]
    df = pd.DataFrame(rows, columns=OVER_TIME_COLUMNS)
    df.attrs['note'] = NOTES[SOURCE_ISSUES]
    return df


# ---- figures ----


def counts_figure(df: pd.DataFrame, name: str) -> go.Figure:
    """One bar per status or severity; a click opens the list filtered to it."""
    fig = go.Figure()
    fig.add_bar(
        name=name,
        x=list(df['label']),
        y=list(df['issues']),
        customdata=list(df['link']),
        hovertemplate='%{x}: %{y}<extra></extra>',
    )
    return _layout(fig, 'Issues', xaxis={'type': 'category', 'categoryarray': list(df['label'])}, showlegend=False)


def over_time_figure(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(
        name='Unresolved',
        x=[d.isoformat() for d in df['date']],
        y=list(df['unresolved']),
        mode='lines+markers' if len(df) <= 60 else 'lines',
        hovertemplate='%{x}: %{y} unresolved<extra></extra>',
    )
    return _layout(fig, 'Unresolved issues', xaxis={'type': 'date'}, showlegend=False)


# ---- the charts, for the page, the API and Excel ----

CHARTS: dict[str, Chart] = {
    c.key: c
    for c in [
        Chart(
            'headline',
            'Issues at a glance',
            headline,
            None,
            _cols(('measure', 'Measure', 'str'), ('value', 'Value', 'float'), ('unit', 'Unit', 'str')),
        ),
        Chart(
            'status',
            'Issues by status',
            by_status,
            lambda df, f: counts_figure(df, 'Status'),
            _cols(('label', 'Status', 'str'), ('issues', 'Issues', 'int')),
        ),
        Chart(
            'severity',
            'Issues by severity',
            by_severity,
            lambda df, f: counts_figure(df, 'Severity'),
            _cols(('label', 'Severity', 'str'), ('issues', 'Issues', 'int')),
        ),
        Chart(
            'open_over_time',
            'Unresolved issues over time',
            open_over_time,
            lambda df, f: over_time_figure(df),
            _cols(('date', 'Date', 'date'), ('unresolved', 'Unresolved issues', 'int'), ('source', 'Source', 'str')),
        ),
    ]
}


def export_filename(chart: Chart, filters: IssueFilters) -> str:
    return f'issues-{chart.key}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.xlsx'


def export_chart(actor: Actor, chart: Chart, df: pd.DataFrame, filters: IssueFilters, path: Any) -> int:
    """Write a chart's DataFrame to the .xlsx file `path`; needs the 'export' permission on issues; audited."""
    return common.export_chart(actor, chart, df, filters, path, rt=Issues)


# ---- the JSON API's numbers ----


def dashboard_stats(session: Session, actor: Actor, filters: IssueFilters) -> dict[str, Any]:
    """The headline numbers and the counts by status and severity for `actor`; the daily statistics
    of all issues in the range only when `actor` may see them (`sees_all`), else None."""
    kwargs = filters.kwargs()
    head = dict(headline(session, actor, **kwargs)[['measure', 'value']].itertuples(index=False))
    mean = head['Mean time to resolve']
    series = None
    if sees_all(session, actor):
        last = min(filters.end, dt.datetime.now(get_settings().tz).date())
        rows = session.scalars(
            select(IssueDailyStats)
            .where(IssueDailyStats.date >= filters.start, IssueDailyStats.date <= last)
            .order_by(IssueDailyStats.date)
        )
        series = [_stats_row(r) for r in rows]
    return {
        'start': filters.start,
        'end': filters.end,
        'severities': list(filters.severities),
        'assignee_ids': list(filters.assignee_ids),
        'total': int(head['Total']),
        'unresolved': int(head['Unresolved']),
        'critical_unresolved': int(head['Critical unresolved']),
        'resolved': int(head['Resolved']),
        'mean_hours_to_resolve': None if pd.isna(mean) else float(mean),
        'by_status': _counts(by_status(session, actor, **kwargs)),
        'by_severity': _counts(by_severity(session, actor, **kwargs)),
        'open_over_time': series,
    }


STATS_FIELDS = ('total', 'open', 'triaged', 'in_progress', 'done', 'low', 'medium', 'high', 'critical')


def _stats_row(row: IssueDailyStats) -> dict[str, Any]:
    out: dict[str, Any] = {'date': row.date}
    out |= {name: int(getattr(row, name) or 0) for name in STATS_FIELDS}
    out['unresolved'] = out['open'] + out['triaged'] + out['in_progress']
    return out


def _counts(df: pd.DataFrame) -> list[dict[str, Any]]:
    rows = df[['key', 'label', 'issues']].itertuples(index=False)
    return [{'key': k, 'label': label, 'count': int(n)} for k, label, n in rows]
