"""The hiccup dashboard page: what each role sees, filters in the URL, click-through and Excel."""

# ruff: noqa: F811 - the `lab` fixture is imported from tests/hiccups and used as an argument

from __future__ import annotations

import asyncio
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from nicegui.testing import User
from sqlalchemy import select

from models import db, records
from models.audit import AuditEntry
from models.hiccups import Hiccups
from models.settings import get_settings
from tests.conftest import make_user
from tests.hiccups.conftest import Lab, hiccup_data, lab  # noqa: F401
from tests.pages.helpers import sign_in, table_rows

Q1 = '/dashboard?from=2026-01-01&to=2026-03-31'


@pytest.fixture
def three(lab: Lab) -> None:
    """Haematology: one answered in 2 h and closed in 10 h, one confidential; Biochemistry: one."""
    tz = get_settings().tz
    with db.session() as s:
        done = records.create(s, lab.staff, Hiccups, hiccup_data(lab, title='Done', occurred_at='2026-01-05T10:00'))
        done.created_at = dt.datetime(2026, 1, 5, 10, tzinfo=tz)
        done.responded_at = done.created_at + dt.timedelta(hours=2)
        done.closed_at, done.status = done.created_at + dt.timedelta(hours=10), 'closed'
        secret = hiccup_data(lab, title='Secret', occurred_at='2026-02-10T10:00', confidential=True)
        records.create(s, lab.staff, Hiccups, secret)
        bio = hiccup_data(
            lab, title='Bio', department_id=lab.bio, category_id=lab.sample, occurred_at='2026-03-03T10:00'
        )
        records.create(s, lab.bio_staff, Hiccups, bio)


def _headline(user: User) -> dict[str, str]:
    return {m: user.find(marker=f'count-{m.lower()}').elements.pop().text for m in ('Total', 'Open', 'Overdue')}


def _traces(user: User, key: str) -> dict[str, list]:
    plot = user.find(marker=f'chart-{key}').elements.pop()
    return {t.get('name'): list(t['y']) for t in plot.figure['data']}


async def _open(user: User, url: str) -> None:
    await user.open(url)
    await user.should_see(marker='count-total', retries=100)  # the charts load on threads: wait for them
    await user.should_not_see('Loading…', retries=100)


async def test_a_manager_sees_counts_and_charts_of_every_hiccup(lab: Lab, three, user: User) -> None:
    await sign_in(user, 'mgr@lab.test', 'mgr-pass-11')
    await _open(user, Q1)
    assert _headline(user) == {'Total': '3', 'Open': '2', 'Overdue': '0'}
    assert {k: sum(v) for k, v in _traces(user, 'departments').items()} == {'Biochemistry': 1, 'Haematology': 2}
    assert _traces(user, 'pareto')['Hiccups'] == [2, 1]
    assert _traces(user, 'times')['Response median'] == [2.0]  # only Haematology has answered
    for title in ('Hiccups by department', 'Hiccups by category', 'SLA compliance', 'Pareto of categories'):
        await user.should_see(title)


async def test_the_hod_does_not_count_the_confidential_hiccup_and_exports_nothing(lab: Lab, three, user: User) -> None:
    await sign_in(user, 'hod@lab.test', 'hod-pass-11')
    await _open(user, Q1)
    assert _headline(user) == {'Total': '1', 'Open': '0', 'Overdue': '0'}
    assert {k: sum(v) for k, v in _traces(user, 'departments').items()} == {'Haematology': 1}
    with pytest.raises(AssertionError, match='expected to find'):
        user.find(marker='export-pareto')


async def test_filters_in_the_url_narrow_the_dashboard(lab: Lab, three, user: User) -> None:
    await sign_in(user, 'mgr@lab.test', 'mgr-pass-11')
    await _open(user, f'{Q1}&f.department_id={lab.bio}')
    assert _headline(user) == {'Total': '1', 'Open': '1', 'Overdue': '0'}
    assert list(_traces(user, 'departments')) == ['Biochemistry']
    await _open(user, '/dashboard?from=2026-02-01&to=2026-02-28')
    assert _headline(user) == {'Total': '1', 'Open': '1', 'Overdue': '0'}
    assert list(_traces(user, 'departments')) == ['Haematology']


async def test_choosing_a_department_reloads_the_charts_and_the_url(lab: Lab, three, user: User) -> None:
    await sign_in(user, 'mgr@lab.test', 'mgr-pass-11')
    await _open(user, Q1)
    user.find(marker='departments').elements.pop().set_value([lab.haem])
    for _ in range(50):
        if _headline(user)['Total'] == '2' and list(_traces(user, 'departments')) == ['Haematology']:
            break
        await asyncio.sleep(0.1)
    assert _headline(user) == {'Total': '2', 'Open': '1', 'Overdue': '0'}
    assert list(_traces(user, 'departments')) == ['Haematology']


async def test_clicking_a_bar_opens_the_list_filtered_to_it(lab: Lab, three, user: User) -> None:
    await sign_in(user, 'mgr@lab.test', 'mgr-pass-11')
    await _open(user, Q1)
    plot = user.find(marker='chart-pareto').elements.pop()
    link = plot.figure['data'][0]['customdata'][1]  # Sample handling
    user.find(marker='chart-pareto').trigger('plotly_click', {'customdata': link})
    await user.should_see('1 hiccup')
    assert [r['title'] for r in await table_rows(user)] == ['Bio']
    await _open(user, Q1)
    user.find(marker='chart-pareto').trigger('plotly_click', {'customdata': 'https://evil.example/'})
    await user.should_see('Pareto of categories')  # ignored: only hiccup list links are followed


async def test_a_chart_downloads_as_excel(lab: Lab, three, user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    # The simulated browser would fetch a local file's path as a URL; hand it the file's bytes instead.
    monkeypatch.setattr(user.download, 'file', lambda path, *_a, **_k: user.download(Path(path).read_bytes()))
    await sign_in(user, 'mgr@lab.test', 'mgr-pass-11')
    await _open(user, Q1)
    user.find(marker='export-pareto').click()
    response = await user.download.next(timeout=10)
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert list(sheet.iter_rows(values_only=True)) == [
        ('Category', 'Hiccups', 'Share %', 'Cumulative %'),
        ('Equipment', 2, 66.7, 66.7),
        ('Sample handling', 1, 33.3, 100),
    ]
    assert list((get_settings().data_dir / 'exports').glob('*/hiccups-pareto-20260101-20260331.xlsx'))
    with db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == 'export')).one()
        assert (entry.actor_id, entry.details['chart'], entry.details['rows']) == (lab.manager.id, 'pareto', 2)


async def test_without_the_view_permission_the_dashboard_is_refused_and_not_in_the_menu(lab: Lab, user: User) -> None:
    from pages.layout import nav_entries  # not at the top: importing `pages` early keeps app.py from routing it

    nobody = make_user('nobody@lab.test', password='nobody-pass-1')
    dashboard = ('Quality', 'Dashboard', 'insights', '/dashboard')
    assert dashboard in nav_entries(lab.hod)
    assert dashboard not in nav_entries(nobody)
    await sign_in(user, 'nobody@lab.test', 'nobody-pass-1')
    await user.open('/dashboard')
    await user.should_see('You may not view hiccups.')
    await user.should_not_see('Total')
