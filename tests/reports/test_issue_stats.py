"""The issue dashboard's aggregates on a small known dataset: per chart, per role, per filter."""

from __future__ import annotations

import dataclasses
import datetime as dt
from urllib.parse import parse_qs, urlparse

import openpyxl
import pytest
from sqlalchemy import select

from models import db, query, records
from models.accounts import Actor
from models.audit import AuditEntry
from models.issues import Issue, IssueDailyStats, Issues, IssueStats
from models.permissions import PermissionDenied, invalidate, set_permission
from models.query import ListParams
from models.settings import get_settings
from reports import issue_stats as stats
from reports.issue_stats import CHARTS, IssueFilters
from tests.conftest import make_user

D = dt.date
Q1 = IssueFilters(D(2026, 1, 1), D(2026, 3, 31))


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=get_settings().tz).astimezone(dt.UTC)


@dataclasses.dataclass
class Known:
    rita: Actor  # reporter of i1, i2, i5
    rob: Actor  # reporter of i3, i4
    max: Actor  # maintainer, assignee of i3
    boss: Actor  # admin
    ids: dict[str, int]


# name: (reporter, severity, created (local), status, hours to resolve)
ISSUES = {
    'i1': ('rita', 'LOW', '2026-01-05T10:00', 'done', 30),
    'i2': ('rita', 'CRITICAL', '2026-02-01T10:00', 'open', None),
    'i3': ('rob', 'HIGH', '2026-02-10T10:00', 'in_progress', None),
    'i4': ('rob', 'CRITICAL', '2026-03-01T10:00', 'done', 50),
    'i5': ('rita', 'MEDIUM', '2025-12-20T10:00', 'done', 504),  # created before the range, resolved in it
}


@pytest.fixture
def known(database: str) -> Known:
    """The issues of `ISSUES`, raised by their reporters through the engine; clocks set directly."""
    people = Known(
        rita=make_user('rita@lab.test', 'reporter', password='rita-pass-11'),
        rob=make_user('rob@lab.test', 'reporter', password='rob-pass-111'),
        max=make_user('max@lab.test', 'maintainer', password='max-pass-111'),
        boss=make_user('boss@lab.test', 'admin', password='boss-pass-11'),
        ids={},
    )
    with db.session() as s:
        for name, (who, severity, created, status, hours) in ISSUES.items():
            issue = records.create(s, getattr(people, who), Issues, {'title': name, 'severity': severity})
            issue.created_at, issue.status = local(created), status
            issue.resolved_at = local(created) + dt.timedelta(hours=hours) if hours is not None else None
            issue.assignee_id = people.max.id if name == 'i3' else None
            people.ids[name] = issue.id
    return people


def data(chart: str, actor: Actor, filters: IssueFilters = Q1):
    return CHARTS[chart].load(actor, filters)


def headline(actor: Actor, filters: IssueFilters = Q1) -> dict:
    df = data('headline', actor, filters)
    return dict(zip(df['measure'], df['value'], strict=True))


def counts(chart: str, actor: Actor, filters: IssueFilters = Q1) -> dict[str, int]:
    df = data(chart, actor, filters)
    return dict(zip(df['key'], df['issues'], strict=True))


def count_at(actor: Actor, url: str) -> int:
    """How many issues the list at `url` shows `actor`: what a click on a bar or card opens."""
    parsed = urlparse(url)
    assert parsed.path == '/r/issues'
    params = ListParams.from_query(Issues, {k: v[0] for k, v in parse_qs(parsed.query).items()})
    with db.session() as s:
        return query.count(s, actor, Issues, params)[0]


def add_daily_stats(*rows: tuple[dt.date, int, int, int, int]) -> None:
    """(date, open, triaged, in_progress, done) rows of `issue_daily_stats`, as the job would write them."""
    with db.session() as s:
        for day, o, t, p, d in rows:
            s.add(IssueDailyStats(date=day, total=o + t + p + d, open=o, triaged=t, in_progress=p, done=d))


# ---- filters ----


def test_filters_read_the_url_tolerantly_and_default_to_the_last_90_days():
    f = IssueFilters.from_query(
        {'from': '2026-03-31', 'to': '2026-01-01', 'f.severity': 'critical|BOGUS|LOW', 'f.assignee_id': '7|x|3'}
    )
    assert f == IssueFilters(D(2026, 1, 1), D(2026, 3, 31), ('LOW', 'CRITICAL'), (3, 7))
    assert f.to_query() == {
        'from': '2026-01-01',
        'to': '2026-03-31',
        'f.severity': 'LOW|CRITICAL',
        'f.assignee_id': '3|7',
    }
    for bad in ('nonsense', '0001-01-01', '9999-12-31'):
        default = IssueFilters.from_query({'from': bad})
        assert (default.end - default.start).days == 89
        assert default.end == dt.datetime.now(get_settings().tz).date()


def test_long_computed_series_have_a_point_a_week_ending_on_the_last_day():
    assert stats._points(D(2026, 1, 1), D(2026, 1, 3)) == [D(2026, 1, 1), D(2026, 1, 2), D(2026, 1, 3)]
    weekly = stats._points(D(2024, 1, 1), D(2026, 1, 1))
    assert weekly[-1] == D(2026, 1, 1) and weekly[-2] == D(2025, 12, 25) and weekly[0] >= D(2024, 1, 1)


# ---- headline, status and severity per role ----


def test_a_maintainer_and_an_admin_count_every_issue(known: Known):
    for actor in (known.max, known.boss):
        assert headline(actor) == {
            'Total': 4,
            'Unresolved': 2,
            'Critical unresolved': 1,
            'Resolved': 3,  # i1, i4 and i5 (created in December, resolved in January)
            'Mean time to resolve': pytest.approx((30 + 50 + 504) / 3, abs=0.05),
        }
        assert counts('status', actor) == {'open': 1, 'triaged': 0, 'in_progress': 1, 'done': 2}
        assert counts('severity', actor) == {'LOW': 1, 'MEDIUM': 0, 'HIGH': 1, 'CRITICAL': 2}


def test_a_reporter_counts_only_their_own_issues(known: Known):
    assert headline(known.rita) == {
        'Total': 2,
        'Unresolved': 1,
        'Critical unresolved': 1,
        'Resolved': 2,
        'Mean time to resolve': pytest.approx(267.0),
    }
    assert counts('status', known.rita) == {'open': 1, 'triaged': 0, 'in_progress': 0, 'done': 1}
    assert counts('severity', known.rob) == {'LOW': 0, 'MEDIUM': 0, 'HIGH': 1, 'CRITICAL': 1}
    assert headline(known.rob)['Critical unresolved'] == 0
    assert headline(known.rob)['Mean time to resolve'] == pytest.approx(50.0)


def test_mean_time_to_resolve_is_none_without_resolved_issues_and_shown_in_days_when_long(known: Known):
    df = data('headline', known.rob, IssueFilters(D(2026, 2, 1), D(2026, 2, 28)))
    shown = dict(zip(df['measure'], df['display'], strict=True))
    assert shown['Resolved'] == '0' and shown['Mean time to resolve'] == '-'
    df = data('headline', known.rita)
    assert dict(zip(df['measure'], df['display'], strict=True))['Mean time to resolve'] == '11.1 d'  # 267 h
    df = data('headline', known.rob)
    assert dict(zip(df['measure'], df['display'], strict=True))['Mean time to resolve'] == '2.1 d'  # 50 h
    df = data('headline', known.rita, IssueFilters(D(2026, 1, 6), D(2026, 1, 6)))  # i1 only
    assert dict(zip(df['measure'], df['display'], strict=True))['Mean time to resolve'] == '30.0 h'


def test_severity_and_assignee_filters_narrow_every_count(known: Known):
    critical = IssueFilters(Q1.start, Q1.end, ('CRITICAL',))
    assert headline(known.max, critical) == {
        'Total': 2,
        'Unresolved': 1,
        'Critical unresolved': 1,
        'Resolved': 1,
        'Mean time to resolve': pytest.approx(50.0),
    }
    assert counts('severity', known.max, critical) == {'CRITICAL': 2}
    assigned = IssueFilters(Q1.start, Q1.end, (), (known.max.id,))
    assert counts('status', known.max, assigned) == {'open': 0, 'triaged': 0, 'in_progress': 1, 'done': 0}
    assert headline(known.rita, assigned)['Total'] == 0  # rita's issues are not assigned to max


def test_every_bar_and_card_opens_the_list_of_exactly_what_it_counts(known: Known):
    for actor in (known.max, known.rita):
        for chart in ('status', 'severity'):
            df = data(chart, actor)
            assert [count_at(actor, link) for link in df['link']] == list(df['issues'])
        df = data('headline', actor)
        for measure, value, link in zip(df['measure'], df['value'], df['link'], strict=True):
            if measure in ('Total', 'Unresolved', 'Critical unresolved'):
                assert count_at(actor, link) == value, measure
    link = data('status', known.max, IssueFilters(Q1.start, Q1.end, ('HIGH', 'CRITICAL')))['link'][0]
    assert parse_qs(urlparse(link).query) == {
        'f.status': ['open'],
        'f.severity': ['HIGH|CRITICAL'],
        'from': ['2026-01-01'],
        'to': ['2026-03-31'],
    }


# ---- unresolved over time ----


def series(actor: Actor, filters: IssueFilters) -> tuple[dict[dt.date, int], set[str]]:
    df = data('open_over_time', actor, filters)
    return dict(zip(df['date'], df['unresolved'], strict=True)), set(df['source'])


def test_those_who_see_everything_read_the_daily_stats_table(known: Known):
    add_daily_stats((D(2026, 1, 1), 5, 1, 2, 9), (D(2026, 1, 2), 4, 1, 2, 10), (D(2026, 1, 4), 40, 0, 0, 0))
    add_daily_stats((D(2025, 12, 31), 99, 0, 0, 0))  # before the range
    week = IssueFilters(D(2026, 1, 1), D(2026, 1, 7))
    for actor in (known.max, known.boss):
        values, source = series(actor, week)
        assert values == {D(2026, 1, 1): 8, D(2026, 1, 2): 7, D(2026, 1, 4): 40}
        assert source == {stats.SOURCE_TABLE}
    assert data('open_over_time', known.max, week).attrs['note'] == stats.NOTES[stats.SOURCE_TABLE]


def test_a_reporter_never_gets_the_tables_counts_but_their_own_computed(known: Known):
    add_daily_stats(*[(D(2026, 1, d), 1000, 0, 0, 0) for d in range(1, 13)])
    values, source = series(known.rita, IssueFilters(D(2026, 1, 3), D(2026, 1, 11)))
    assert source == {stats.SOURCE_ISSUES}
    # i5 unresolved until Jan 10 10:00; i1 raised Jan 5 10:00, resolved Jan 6 16:00 (local)
    assert values == {
        D(2026, 1, 3): 1,
        D(2026, 1, 4): 1,
        D(2026, 1, 5): 2,
        D(2026, 1, 6): 1,
        D(2026, 1, 7): 1,
        D(2026, 1, 8): 1,
        D(2026, 1, 9): 1,
        D(2026, 1, 10): 0,
        D(2026, 1, 11): 0,
    }
    values, _ = series(known.rob, IssueFilters(D(2026, 2, 28), D(2026, 3, 4)))
    assert values == {D(2026, 2, 28): 1, D(2026, 3, 1): 2, D(2026, 3, 2): 2, D(2026, 3, 3): 1, D(2026, 3, 4): 1}


def test_filters_or_no_stats_permission_compute_the_series_from_the_issues(known: Known):
    add_daily_stats((D(2026, 3, 1), 1000, 0, 0, 0))
    critical = IssueFilters(D(2026, 2, 28), D(2026, 3, 3), ('CRITICAL',))
    values, source = series(known.max, critical)
    assert source == {stats.SOURCE_ISSUES}
    assert values == {D(2026, 2, 28): 1, D(2026, 3, 1): 2, D(2026, 3, 2): 2, D(2026, 3, 3): 1}  # i2, i4
    with db.session() as s:
        set_permission(s, known.boss, 'maintainer', IssueStats, 'view', False)
    invalidate()
    values, source = series(known.max, IssueFilters(D(2026, 3, 1), D(2026, 3, 1)))
    assert (values, source) == ({D(2026, 3, 1): 3}, {stats.SOURCE_ISSUES})  # i2, i3, i4 rather than 1000


def test_the_series_ends_today_and_counts_by_local_day(known: Known):
    today = dt.datetime.now(get_settings().tz).date()
    values, _ = series(known.rob, IssueFilters(today - dt.timedelta(days=2), today + dt.timedelta(days=30)))
    assert max(values) == today
    with db.session() as s:  # just after local midnight of Jan 7: Jan 6 in UTC
        s.get(Issue, known.ids['i1']).resolved_at = local('2026-01-07T00:30')
    values, _ = series(known.rita, IssueFilters(D(2026, 1, 6), D(2026, 1, 7)))
    assert values == {D(2026, 1, 6): 2, D(2026, 1, 7): 1}


# ---- Excel ----


def test_each_chart_exports_to_excel_with_the_permission_and_an_audit_row(known: Known, tmp_path):
    path = tmp_path / 'status.xlsx'
    chart = CHARTS['status']
    assert stats.export_chart(known.max, chart, chart.load(known.max, Q1), Q1, path) == 4
    sheet = openpyxl.load_workbook(path).active
    assert list(sheet.iter_rows(values_only=True)) == [
        ('Status', 'Issues'),
        ('Open', 1),
        ('Triaged', 0),
        ('In progress', 1),
        ('Done', 2),
    ]
    with db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == 'export')).one()
        assert (entry.record_type, entry.details['chart'], entry.details['rows']) == ('issues', 'status', 4)
    head = CHARTS['headline']
    stats.export_chart(known.max, head, head.load(known.max, Q1), Q1, tmp_path / 'head.xlsx')
    rows = list(openpyxl.load_workbook(tmp_path / 'head.xlsx').active.iter_rows(values_only=True))
    assert rows[0] == ('Measure', 'Value', 'Unit') and rows[1] == ('Total', 4, 'issues')
    assert rows[-1] == ('Mean time to resolve', pytest.approx(194.7), 'hours')
    refused = tmp_path / 'refused.xlsx'
    with pytest.raises(PermissionDenied):
        stats.export_chart(known.rita, chart, chart.load(known.rita, Q1), Q1, refused)
    assert not refused.exists()
    assert stats.export_filename(chart, Q1) == 'issues-status-20260101-20260331.xlsx'
