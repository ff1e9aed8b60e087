"""The hiccup dashboard's aggregates on a small known dataset: per chart, per role, per filter."""

# ruff: noqa: F811 - the `lab` fixture is imported from tests/hiccups and used as an argument

from __future__ import annotations

import datetime as dt
import math
from urllib.parse import parse_qs, urlparse

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select

from models import changes, db, query, records
from models.audit import AuditEntry
from models.hiccups import Hiccup, Hiccups
from models.permissions import PermissionDenied
from models.query import ListParams
from models.settings import get_settings
from reports import hiccup_stats as stats
from reports.hiccup_stats import CHARTS, Filters
from tests.conftest import statements
from tests.hiccups.conftest import Lab, hiccup_data, lab  # noqa: F401

D = dt.date
Q1 = {'start': D(2026, 1, 1), 'end': D(2026, 3, 31)}  # 90 days: weekly buckets
FAR = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)


def _utc(local: str) -> dt.datetime:
    return dt.datetime.fromisoformat(local).replace(tzinfo=get_settings().tz).astimezone(dt.UTC)


# name: (department, category, occurred (local), status, hours to response, hours to closure, confidential, due)
DATA = {
    'h1': ('haem', 'equipment', '2026-01-05T10:00', 'closed', 2, 10, False, 'normal'),
    'h2': ('haem', 'equipment', '2026-01-20T10:00', 'closed', 4, 30, False, 'normal'),
    'h3': ('haem', 'sample', '2026-02-09T02:00', 'closed', 30, 100, False, 'normal'),  # Sunday 20:30 UTC
    'h4': ('haem', 'equipment', '2026-02-15T23:45', 'responded', 50, None, True, 'normal'),  # late, overdue
    'h5': ('bio', 'sample', '2026-03-03T10:00', 'responded', 6, None, False, 'closure far'),
    'h7': ('bio', 'equipment', '2026-01-01T00:30', 'open', None, None, False, 'far'),  # Dec 31 19:00 UTC
    'h8': ('bio', 'equipment', '2025-12-31T23:00', 'open', None, None, False, 'far'),  # before the range
}


@pytest.fixture
def known(lab: Lab) -> dict[str, int]:
    """The hiccups of `DATA`, raised by staff of their department, clocks set directly."""
    ids = {}
    with db.session() as s:
        for name, (dept, cat, occurred, status, respond_h, close_h, secret, due) in DATA.items():
            raiser = lab.staff if dept == 'haem' else lab.bio_staff
            data = hiccup_data(
                lab,
                title=name,
                department_id=getattr(lab, dept),
                category_id=getattr(lab, cat),
                occurred_at=occurred,
                confidential=secret,
            )
            h = records.create(s, raiser, Hiccups, data)
            raised = _utc(occurred)
            h.status, h.created_at = status, raised
            h.response_due_at = FAR if due == 'far' else raised + dt.timedelta(hours=24)
            h.closure_due_at = FAR if due != 'normal' else raised + dt.timedelta(hours=72)
            h.responded_at = raised + dt.timedelta(hours=respond_h) if respond_h is not None else None
            h.closed_at = raised + dt.timedelta(hours=close_h) if close_h is not None else None
            ids[name] = h.id
    return ids


def data(chart: str, actor, **filters) -> pd.DataFrame:
    return CHARTS[chart].load(actor, Filters(**{**Q1, **filters}))


def _by(df: pd.DataFrame, key: str, value: str) -> dict[str, list]:
    return {k: list(part[value]) for k, part in df.groupby(key)}


def _count_at(actor, url: str) -> int:
    """How many hiccups the list at `url` shows `actor`: what a click on a bar opens."""
    parsed = urlparse(url)
    assert parsed.path == '/r/hiccups'
    params = ListParams.from_query(Hiccups, {k: v[0] for k, v in parse_qs(parsed.query).items()})
    with db.session() as s:
        return query.count(s, actor, Hiccups, params)[0]


# ---- buckets and filters ----


def test_ranges_up_to_120_days_go_by_week_longer_ones_by_month():
    weeks = stats.buckets(D(2026, 1, 1), D(2026, 3, 31))
    assert [(b.first, b.last) for b in weeks[:2]] == [(D(2026, 1, 1), D(2026, 1, 4)), (D(2026, 1, 5), D(2026, 1, 11))]
    assert weeks[-1] == stats.Bucket(D(2026, 3, 30), D(2026, 3, 31), '30 Mar')
    assert len(weeks) == 14
    months = stats.buckets(D(2025, 11, 15), D(2026, 4, 10))
    assert [b.label for b in months] == ['Nov 2025', 'Dec 2025', 'Jan 2026', 'Feb 2026', 'Mar 2026', 'Apr 2026']
    assert (months[0].first, months[-1].last) == (D(2025, 11, 15), D(2026, 4, 10))
    assert months[1] == stats.Bucket(D(2025, 12, 1), D(2025, 12, 31), 'Dec 2025')


def test_filters_read_the_url_tolerantly_and_default_to_the_last_90_days():
    f = Filters.from_query({'from': '2026-03-31', 'to': '2026-01-01', 'f.department_id': '3|x|1'})
    assert f == Filters(D(2026, 1, 1), D(2026, 3, 31), (1, 3))
    assert f.to_query() == {'from': '2026-01-01', 'to': '2026-03-31', 'f.department_id': '1|3'}
    default = Filters.from_query({'from': 'nonsense'})
    assert (default.end - default.start).days == 89
    assert default.end == dt.datetime.now(get_settings().tz).date()


# ---- each chart on the known data ----


def test_headline_counts_total_open_and_overdue(lab: Lab, known):
    df = data('headline', lab.manager)
    assert dict(zip(df['measure'], df['hiccups'], strict=True)) == {'Total': 6, 'Open': 3, 'Overdue': 1}
    links = dict(zip(df['measure'], df['link'], strict=True))
    assert [_count_at(lab.manager, links[m]) for m in ('Total', 'Open', 'Overdue')] == [6, 3, 1]


def test_by_department_over_time_buckets_by_local_week(lab: Lab, known):
    df = data('departments', lab.manager)
    assert _by(df, 'name', 'period') == {
        'Biochemistry': ['01 Jan', '02 Mar'],  # h7 occurred on 1 Jan local time, 31 Dec in UTC
        'Haematology': ['05 Jan', '19 Jan', '09 Feb'],  # h3 occurred early Monday local, Sunday in UTC
    }
    assert _by(df, 'name', 'hiccups') == {'Biochemistry': [1, 1], 'Haematology': [1, 1, 2]}
    feb = df[(df['name'] == 'Haematology') & (df['period'] == '09 Feb')].iloc[0]
    assert (feb['period_start'], feb['period_end']) == (D(2026, 2, 9), D(2026, 2, 15))
    assert parse_qs(urlparse(feb['link']).query) == {
        'f.department_id': [str(lab.haem)],
        'from': ['2026-02-09'],
        'to': ['2026-02-15'],
    }
    assert _count_at(lab.manager, feb['link']) == 2


def test_by_category_over_time_buckets_by_month_for_long_ranges(lab: Lab, known):
    df = data('categories', lab.manager, end=D(2026, 6, 30))
    assert _by(df, 'name', 'period') == {
        'Equipment': ['Jan 2026', 'Feb 2026'],
        'Sample handling': ['Feb 2026', 'Mar 2026'],
    }
    assert _by(df, 'name', 'hiccups') == {'Equipment': [3, 1], 'Sample handling': [1, 1]}
    assert [_count_at(lab.manager, u) for u in df['link']] == list(df['hiccups'])


def test_response_and_closure_times_are_median_and_p90_per_department(lab: Lab, known):
    df = data('times', lab.manager).set_index('department')
    haem, bio = df.loc['Haematology'], df.loc['Biochemistry']
    responses, closures = pd.Series([2, 4, 30, 50]), pd.Series([10, 30, 100])
    assert (haem['responded'], haem['closed']) == (4, 3)
    assert haem['responded_median_h'] == pytest.approx(responses.median()) == 17
    assert haem['responded_p90_h'] == pytest.approx(responses.quantile(0.9)) == 44
    assert haem['closed_median_h'] == pytest.approx(closures.median()) == 30
    assert haem['closed_p90_h'] == pytest.approx(closures.quantile(0.9)) == 86
    assert (bio['responded'], bio['responded_median_h'], bio['responded_p90_h']) == (1, 6, 6)
    assert bio['closed'] == 0
    assert math.isnan(bio['closed_median_h'])


def test_percentiles_match_pandas_for_any_count(lab: Lab):
    hours: list[float] = []
    for i in range(12):  # unsorted, with a repeat; checked after each one is added
        hours.append([5, 1, 30, 7, 7, 2.5, 90, 14, 3, 48, 0.5, 20][i])
        with db.session() as s:
            row = records.create(s, lab.staff, Hiccups, hiccup_data(lab, occurred_at='2026-02-01T10:00'))
            row.created_at = _utc('2026-02-01T10:00')
            row.responded_at = row.created_at + dt.timedelta(hours=hours[-1])
        got = data('times', lab.manager).iloc[0]
        assert got['responded'] == len(hours)
        assert got['responded_median_h'] == pytest.approx(pd.Series(hours).median(), abs=0.05), hours
        assert got['responded_p90_h'] == pytest.approx(pd.Series(hours).quantile(0.9), abs=0.05), hours


def test_sla_compliance_counts_met_and_missed_clocks_leaving_out_those_not_due(lab: Lab, known):
    df = data('sla', lab.manager).set_index('department')
    haem, bio = df.loc['Haematology'], df.loc['Biochemistry']
    assert (haem['response_met'], haem['response_missed'], haem['response_pct']) == (2, 2, 50.0)
    assert (haem['closure_met'], haem['closure_missed'], haem['closure_pct']) == (2, 2, 50.0)
    assert (bio['response_met'], bio['response_missed'], bio['response_pct']) == (1, 0, 100.0)
    assert (bio['closure_met'], bio['closure_missed']) == (0, 0)
    assert math.isnan(bio['closure_pct'])


def test_category_pareto_sorts_descending_with_a_cumulative_share(lab: Lab, known):
    df = data('pareto', lab.manager)
    assert list(df['category']) == ['Equipment', 'Sample handling']
    assert list(df['hiccups']) == [4, 2]
    assert list(df['cumulative_pct']) == [66.7, 100.0]
    assert [_count_at(lab.manager, u) for u in df['link']] == [4, 2]


# ---- visibility and filters ----


def test_the_hod_counts_only_what_they_may_see_never_the_confidential_one(lab: Lab, known):
    assert list(data('headline', lab.hod)['hiccups']) == [3, 0, 0]
    assert _by(data('departments', lab.hod), 'period', 'hiccups') == {'05 Jan': [1], '09 Feb': [1], '19 Jan': [1]}
    times = data('times', lab.hod).set_index('department')
    assert list(times.index) == ['Haematology']
    assert times.loc['Haematology', 'responded_median_h'] == 4
    sla = data('sla', lab.hod).iloc[0]
    assert (sla['response_met'], sla['response_missed'], sla['closure_missed']) == (2, 1, 1)
    assert list(data('pareto', lab.hod)['hiccups']) == [2, 1]


@pytest.mark.parametrize(('who', 'total'), [('staff', 4), ('other_staff', 3), ('bio_hod', 2), ('admin', 6)])
def test_every_role_counts_what_its_list_shows(lab: Lab, known, who: str, total: int):
    actor = getattr(lab, who)
    assert data('headline', actor)['hiccups'][0] == total
    assert data('departments', actor)['hiccups'].sum() == total
    assert data('pareto', actor)['hiccups'].sum() == total
    assert _count_at(actor, stats.list_url(**Q1)) == total


def test_without_the_view_permission_every_chart_is_empty(lab: Lab, known):
    from models.permissions import invalidate, set_permission

    with db.session() as s:
        set_permission(s, lab.admin, 'management', Hiccups, 'view', False)
    invalidate()
    assert data('headline', lab.manager)['hiccups'].sum() == 0
    for key in ('departments', 'categories', 'times', 'sla', 'pareto'):
        assert data(key, lab.manager).empty, key


def test_department_and_date_filters_narrow_every_chart(lab: Lab, known):
    bio = {'department_ids': (lab.bio,)}
    assert list(data('headline', lab.manager, **bio)['hiccups']) == [2, 2, 0]
    assert set(data('departments', lab.manager, **bio)['name']) == {'Biochemistry'}
    assert list(data('times', lab.manager, **bio)['department']) == ['Biochemistry']
    assert list(data('sla', lab.manager, **bio)['department']) == ['Biochemistry']
    pareto = data('pareto', lab.manager, **bio)
    assert list(pareto['hiccups']) == [1, 1]
    assert all(f'f.department_id={lab.bio}' in u for u in pareto['link'])
    feb = {'start': D(2026, 2, 1), 'end': D(2026, 2, 28)}
    assert list(data('headline', lab.manager, **feb)['hiccups']) == [2, 1, 1]
    assert set(data('categories', lab.manager, **feb)['period']) == {'09 Feb'}
    assert data('times', lab.manager, **feb).iloc[0]['responded'] == 2
    assert list(data('headline', lab.manager, start=D(2025, 12, 31), end=D(2025, 12, 31))['hiccups']) == [1, 1, 0]


# ---- figures and Excel ----


def test_figures_carry_the_list_link_of_each_bar(lab: Lab, known):
    f = Filters(**Q1)
    by_dept = data('departments', lab.manager)
    fig = CHARTS['departments'].figure(by_dept, f)
    haem = next(t for t in fig.data if t.name == 'Haematology')
    assert len(haem.x) == 14
    assert haem.y[list(haem.x).index('09 Feb')] == 2
    link = by_dept[(by_dept['name'] == 'Haematology') & (by_dept['period'] == '09 Feb')]['link'].item()
    assert haem.customdata[list(haem.x).index('09 Feb')] == link
    pareto = CHARTS['pareto'].figure(data('pareto', lab.manager), f)
    assert [t.type for t in pareto.data] == ['bar', 'scatter']
    assert list(pareto.data[1].y) == [66.7, 100.0]
    for key in ('categories', 'times', 'sla'):
        assert CHARTS[key].figure(data(key, lab.manager), f).data, key
    empty = {'start': D(2020, 1, 1), 'end': D(2020, 1, 2)}
    for key in ('departments', 'categories', 'times', 'sla', 'pareto'):
        assert CHARTS[key].figure(data(key, lab.manager, **empty), f), key  # nothing to show still draws


def test_a_chart_exports_its_rows_to_excel_with_an_audit_row(lab: Lab, known, tmp_path):
    chart, f = CHARTS['times'], Filters(**Q1)
    path = tmp_path / stats.export_filename(chart, f)
    assert stats.export_chart(lab.manager, chart, data('times', lab.manager), f, path) == 2
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0][:3] == ('Department', 'Responded', 'Response median (h)')
    assert rows[1] == ('Biochemistry', 1, 6, 6, 0, None, None)
    assert rows[2] == ('Haematology', 4, 17, 44, 3, 30, 86)
    with db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == 'export')).one()
        assert entry.details == {'chart': 'times', 'rows': 2, 'query': f.to_query()}
    with pytest.raises(PermissionDenied):
        stats.export_chart(lab.hod, chart, data('times', lab.hod), f, tmp_path / 'no.xlsx')
    assert not (tmp_path / 'no.xlsx').exists()


def test_hiccup_rows_are_never_loaded(lab: Lab, known):
    """Only aggregates come back: no query selects the hiccups' text columns."""
    with statements() as seen:
        for key in CHARTS:
            data(key, lab.manager)
    assert seen
    assert not [q for q in seen if 'hiccups.description' in q or 'hiccups.title' in q]
    assert Hiccup.__tablename__ in ' '.join(seen)


def test_the_count_charts_read_the_range_once_and_only_for_readers_of_the_same_rows(
    lab: Lab, known, monkeypatch: pytest.MonkeyPatch
):
    """Headline, both charts over time, SLA and Pareto are sums over one grouped read of the range;
    a reader under another visibility rule gets a read of their own."""
    monkeypatch.setattr(changes, 'SHARED_SECONDS', 600.0)  # however slow the machine running the test
    counts = ('headline', 'departments', 'categories', 'sla', 'pareto')
    with statements() as seen:
        frames = {key: data(key, lab.manager) for key in counts}
    assert list(frames['headline']['hiccups']) == [6, 3, 1]
    assert [frames[key]['hiccups'].sum() for key in ('departments', 'categories', 'pareto')] == [6, 6, 6]
    assert frames['sla'][['response_met', 'response_missed']].sum().tolist() == [3, 2]
    assert len([q for q in seen if 'FROM hiccups' in q]) == 1
    with statements() as seen:
        assert list(data('headline', lab.hod)['hiccups']) == [3, 0, 0]
    assert len([q for q in seen if 'FROM hiccups' in q]) == 1
