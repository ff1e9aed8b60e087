"""The issue dashboard page: what each role sees, filters in the URL, click-through and Excel."""

# ruff: noqa: F811 - the `known` fixture is imported from tests/reports and used as an argument

from __future__ import annotations

import asyncio
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from nicegui.testing import User
from sqlalchemy import select

from models import db
from models.audit import AuditEntry
from models.settings import get_settings
from tests.conftest import make_user
from tests.pages.helpers import sign_in, table_rows
from tests.reports.test_issue_stats import Known, add_daily_stats, known  # noqa: F401

Q1 = '/issues/dashboard?from=2026-01-01&to=2026-03-31'
CARDS = ('Total', 'Unresolved', 'Critical unresolved', 'Resolved', 'Mean time to resolve')


def _headline(user: User) -> dict[str, str]:
    return {m: user.find(marker=f'count-{m.lower().replace(" ", "-")}').elements.pop().text for m in CARDS}


def _trace(user: User, key: str) -> dict:
    plot = user.find(marker=f'chart-{key}').elements.pop()
    trace = plot.figure['data'][0]
    return dict(zip(trace['x'], trace['y'], strict=True))


async def _open(user: User, url: str) -> None:
    await user.open(url)
    await user.should_see(marker='count-total', retries=100)  # the charts load on threads: wait for them
    await user.should_not_see('Loading…', retries=100)


async def test_a_maintainer_sees_every_issue_and_the_daily_stats(known: Known, user: User) -> None:
    add_daily_stats((dt.date(2026, 1, 1), 5, 1, 2, 9), (dt.date(2026, 1, 2), 4, 1, 2, 10))
    await sign_in(user, 'max@lab.test', 'max-pass-111')
    await _open(user, Q1)
    assert _headline(user) == {
        'Total': '4',
        'Unresolved': '2',
        'Critical unresolved': '1',
        'Resolved': '3',
        'Mean time to resolve': '8.1 d',
    }
    assert _trace(user, 'status') == {'Open': 1, 'Triaged': 0, 'In progress': 1, 'Done': 2}
    assert _trace(user, 'severity') == {'Low': 1, 'Medium': 0, 'High': 1, 'Critical': 2}
    assert _trace(user, 'open_over_time') == {'2026-01-01': 8, '2026-01-02': 7}
    await user.should_see('from the daily statistics of all issues')
    for title in ('Issues by status', 'Issues by severity', 'Unresolved issues over time'):
        await user.should_see(title)
    user.find(marker='assignees')  # the assignee filter is offered to those who see every issue


async def test_a_reporter_sees_only_their_own_issues_and_exports_nothing(known: Known, user: User) -> None:
    add_daily_stats(*[(dt.date(2026, 1, d), 1000, 0, 0, 0) for d in range(1, 30)])
    await sign_in(user, 'rita@lab.test', 'rita-pass-11')
    await _open(user, '/issues/dashboard?from=2026-01-03&to=2026-01-11')
    assert _headline(user)['Total'] == '1'  # i1; i5 was created in December
    series = _trace(user, 'open_over_time')
    assert max(series.values()) == 2 and series['2026-01-10'] == 0  # her own issues, never the table's 1000
    await user.should_see('computed from when each issue you may see')
    for marker in ('export-status', 'export-headline', 'assignees'):
        with pytest.raises(AssertionError, match='expected to find'):
            user.find(marker=marker)


async def test_filters_in_the_url_and_in_the_bar_narrow_the_dashboard(known: Known, user: User) -> None:
    await sign_in(user, 'max@lab.test', 'max-pass-111')
    await _open(user, f'{Q1}&f.severity=CRITICAL')
    assert _headline(user)['Total'] == '2'
    assert _trace(user, 'severity') == {'Critical': 2}
    await user.should_see('computed from when each issue you may see')  # the table cannot filter by severity
    await _open(user, Q1)
    user.find(marker='severities').elements.pop().set_value(['HIGH'])
    for _ in range(100):  # each chart reloads on its own thread: wait for the last of the two
        if _headline(user)['Total'] == '1' and _trace(user, 'severity') == {'High': 1}:
            break
        await asyncio.sleep(0.1)
    assert _headline(user)['Total'] == '1'
    assert _trace(user, 'severity') == {'High': 1}


async def test_clicking_a_bar_opens_the_issue_list_filtered_to_it(known: Known, user: User) -> None:
    await sign_in(user, 'max@lab.test', 'max-pass-111')
    await _open(user, Q1)
    plot = user.find(marker='chart-status').elements.pop()
    link = plot.figure['data'][0]['customdata'][3]  # Done
    user.find(marker='chart-status').trigger('plotly_click', {'customdata': link})
    await user.should_see('2 issues')
    assert sorted(r['title'] for r in await table_rows(user)) == ['i1', 'i4']
    await _open(user, Q1)
    user.find(marker='chart-status').trigger('plotly_click', {'customdata': '/r/hiccups'})
    await user.should_see('Issues by status')  # ignored: only issue list links are followed


async def test_a_chart_downloads_as_excel(known: Known, user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    # The simulated browser would fetch a local file's path as a URL; hand it the file's bytes instead.
    monkeypatch.setattr(user.download, 'file', lambda path, *_a, **_k: user.download(Path(path).read_bytes()))
    await sign_in(user, 'max@lab.test', 'max-pass-111')
    await _open(user, Q1)
    user.find(marker='export-severity').click()
    response = await user.download.next(timeout=10)
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert list(sheet.iter_rows(values_only=True)) == [
        ('Severity', 'Issues'),
        ('Low', 1),
        ('Medium', 0),
        ('High', 1),
        ('Critical', 2),
    ]
    assert list((get_settings().data_dir / 'exports').glob('*/issues-severity-20260101-20260331.xlsx'))
    with db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == 'export')).one()
        assert (entry.actor_id, entry.record_type, entry.details['chart']) == (known.max.id, 'issues', 'severity')


async def test_without_the_view_permission_the_dashboard_is_refused_and_not_in_the_menu(
    known: Known, user: User
) -> None:
    from pages.layout import nav_entries  # not at the top: importing `pages` early keeps app.py from routing it

    nobody = make_user('nobody@lab.test', password='nobody-pass-1')
    entry = ('Issues', 'Issues dashboard', 'insights', '/issues/dashboard')
    assert entry in nav_entries(known.rita)
    assert entry in nav_entries(known.max)
    assert entry not in nav_entries(nobody)
    await sign_in(user, 'nobody@lab.test', 'nobody-pass-1')
    await user.open('/issues/dashboard')
    await user.should_see('You may not view issues.')
    await user.should_not_see('Total')
