"""POST /api/hiccups/auto_generate: another system raises a hiccup with the internal token."""

from __future__ import annotations

import pytest
from nicegui.testing import User
from sqlalchemy import func, select

from models import db
from models.hiccups import Hiccup
from models.settings import reload_settings
from tests.hiccups.conftest import Lab

TOKEN = 'internal-token-0123456789'


@pytest.fixture
def token(monkeypatch) -> str:
    monkeypatch.setenv('INTERNAL_TOKEN', TOKEN)
    reload_settings()
    return TOKEN


def payload(**overrides) -> dict:
    return {
        'source_system': 'LIS',
        'source_reference': 'RUN-881',
        'title': 'QC failure on AU5800',
        'description': 'Level 2 QC out of range',
        'department': 'Haematology',
        'category': 'Equipment',
        'severity': 'high',
        **overrides,
    }


@pytest.mark.parametrize('path', ['/api/hiccups/auto_generate', '/api/v1/hiccups/auto_generate'])
async def test_another_system_raises_a_hiccup_once_per_reference(lab: Lab, token: str, user: User, path: str):
    headers = {'X-Internal-Token': token}
    first = await user.http_client.post(path, json=payload(), headers=headers)
    assert first.status_code == 201
    body = first.json()
    assert body['created'] is True and body['reference'].startswith('HIC-') and body['status'] == 'open'
    again = await user.http_client.post(path, json=payload(title='retried'), headers=headers)
    assert again.status_code == 200
    assert again.json() == {**body, 'created': False}
    with db.session() as s:
        hiccup = s.get(Hiccup, body['id'])
        assert (hiccup.source_system, hiccup.source_reference) == ('LIS', 'RUN-881')
        assert hiccup.department_id == lab.haem and hiccup.responder_id == lab.hod.id
        assert s.scalar(select(func.count()).select_from(Hiccup)) == 1


async def test_a_bad_token_is_refused(lab: Lab, token: str, user: User):
    for headers in ({}, {'X-Internal-Token': 'wrong'}):
        response = await user.http_client.post('/api/hiccups/auto_generate', json=payload(), headers=headers)
        assert response.status_code == 401
        assert response.json()['code'] == 'unauthorized'


@pytest.mark.parametrize(
    ('change', 'field'),
    [
        ({'department': 'Nowhere'}, 'department'),
        ({'severity': 'apocalyptic'}, 'severity'),
        ({'title': ''}, 'title'),
        ({'unexpected': 1}, 'unexpected'),
    ],
)
async def test_a_bad_payload_names_the_field_and_saves_nothing(lab: Lab, token: str, user: User, change, field):
    response = await user.http_client.post(
        '/api/hiccups/auto_generate', json=payload(**change), headers={'X-Internal-Token': token}
    )
    assert response.status_code == 422
    assert field in response.json()['fields']
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Hiccup)) == 0


async def test_without_an_internal_token_setting_the_endpoint_is_off(lab: Lab, user: User, monkeypatch):
    monkeypatch.delenv('INTERNAL_TOKEN', raising=False)
    reload_settings()
    response = await user.http_client.post(
        '/api/hiccups/auto_generate', json=payload(), headers={'X-Internal-Token': 'anything'}
    )
    assert response.status_code == 403
