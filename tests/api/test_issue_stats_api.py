"""GET /api/v1/issues/dashboard/stats and /api/v1/stats/dashboard: the dashboard's numbers per role."""

# ruff: noqa: F811 - the `known` fixture is imported from tests/reports and used as an argument

from __future__ import annotations

import datetime as dt

import pytest
from nicegui.testing import User

from tests.api.helpers import assert_error, bearer
from tests.conftest import make_user
from tests.reports.test_issue_stats import Known, add_daily_stats, known  # noqa: F401

PATHS = ('/api/v1/issues/dashboard/stats', '/api/v1/stats/dashboard')
Q1 = {'from': '2026-01-01', 'to': '2026-03-31'}


@pytest.fixture
def daily(known: Known) -> Known:
    add_daily_stats((dt.date(2026, 1, 1), 5, 1, 2, 9), (dt.date(2026, 1, 2), 4, 1, 2, 10))
    add_daily_stats((dt.date(2025, 12, 31), 99, 0, 0, 0))  # before the range
    return known


async def _stats(user: User, email: str, password: str, params=Q1, path: str = PATHS[0]) -> dict:
    response = await user.http_client.get(path, params=params, headers=await bearer(user.http_client, email, password))
    assert response.status_code == 200, response.text
    return response.json()


def _counts(items: list[dict]) -> dict[str, int]:
    return {c['key']: c['count'] for c in items}


async def test_a_maintainer_gets_every_issue_and_the_daily_stats_on_both_paths(daily: Known, user: User) -> None:
    bodies = [await _stats(user, 'max@lab.test', 'max-pass-111', path=path) for path in PATHS]
    assert bodies[0] == bodies[1]
    body = bodies[0]
    assert (body['start'], body['end'], body['severities'], body['assignee_ids']) == (
        '2026-01-01',
        '2026-03-31',
        [],
        [],
    )
    assert (body['total'], body['unresolved'], body['critical_unresolved'], body['resolved']) == (4, 2, 1, 3)
    assert body['mean_hours_to_resolve'] == pytest.approx(194.7)
    assert _counts(body['by_status']) == {'open': 1, 'triaged': 0, 'in_progress': 1, 'done': 2}
    assert _counts(body['by_severity']) == {'LOW': 1, 'MEDIUM': 0, 'HIGH': 1, 'CRITICAL': 2}
    assert [(d['date'], d['unresolved'], d['total']) for d in body['open_over_time']] == [
        ('2026-01-01', 8, 17),
        ('2026-01-02', 7, 17),
    ]
    admin = await _stats(user, 'boss@lab.test', 'boss-pass-11')
    assert admin['total'] == 4 and len(admin['open_over_time']) == 2


async def test_a_reporter_gets_only_their_own_counts_and_no_daily_stats(daily: Known, user: User) -> None:
    for path in PATHS:
        body = await _stats(user, 'rita@lab.test', 'rita-pass-11', path=path)
        assert (body['total'], body['unresolved'], body['critical_unresolved'], body['resolved']) == (2, 1, 1, 2)
        assert body['mean_hours_to_resolve'] == pytest.approx(267.0)
        assert _counts(body['by_status']) == {'open': 1, 'triaged': 0, 'in_progress': 0, 'done': 1}
        assert body['open_over_time'] is None
    rob = await _stats(user, 'rob@lab.test', 'rob-pass-111')
    assert (rob['total'], rob['critical_unresolved'], rob['open_over_time']) == (2, 0, None)


async def test_filters_narrow_the_counts(daily: Known, user: User) -> None:
    params = {**Q1, 'severity': ['CRITICAL', 'HIGH']}
    body = await _stats(user, 'max@lab.test', 'max-pass-111', params=params)
    assert body['severities'] == ['HIGH', 'CRITICAL']
    assert _counts(body['by_severity']) == {'HIGH': 1, 'CRITICAL': 2}
    assert (body['total'], body['resolved']) == (3, 1)
    body = await _stats(user, 'max@lab.test', 'max-pass-111', params={**Q1, 'assignee_id': daily.max.id})
    assert (body['total'], _counts(body['by_status'])['in_progress']) == (1, 1)
    body = await _stats(user, 'max@lab.test', 'max-pass-111', params={'from': '2026-02-01', 'to': '2026-02-28'})
    assert (body['total'], body['resolved'], body['mean_hours_to_resolve']) == (2, 0, None)


async def test_refusals(daily: Known, user: User) -> None:
    client = user.http_client
    for path in PATHS:
        assert_error(await client.get(path), 401)
    headers = await bearer(client, 'max@lab.test', 'max-pass-111')
    assert_error(await client.get(PATHS[0], params={'severity': 'urgent'}, headers=headers), 422, 'severity.0')
    assert_error(await client.get(PATHS[1], params={'from': 'soon'}, headers=headers), 422, 'from')
    make_user('nobody@lab.test', password='nobody-pass-1')
    nobody = await bearer(client, 'nobody@lab.test', 'nobody-pass-1')
    assert_error(await client.get(PATHS[1], headers=nobody), 403)
