"""Record endpoints for each record type, action and role: a lookup table, and a workflow type with visibility.

Allowed → 2xx; the role may not → 403; a record the caller may not see → 404 (never 403);
a stale version → 409; bad input → 422 naming the field.
"""

from __future__ import annotations

import io

import httpx
import openpyxl
import pytest
from nicegui.testing import User

from models import db, records
from models.accounts import SYSTEM
from models.engine import RecordType, get
from tests.api.conftest import PASSWORD
from tests.api.helpers import assert_error, bearer
from tests.workflow_fixture import samples  # noqa: F401 - fixture

PNG = b'\x89PNG\r\n\x1a\n' + b'\x00' * 64
XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'


class Api:
    """The API as one user sees it."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], slug: str) -> None:
        self.client, self.headers, self.base = client, headers, f'/api/v1/{slug}'

    async def get(self, path: str = '', **params: str) -> httpx.Response:
        return await self.client.get(self.base + path, params=params, headers=self.headers)

    async def post(self, path: str = '', body: dict | None = None, **kwargs) -> httpx.Response:
        return await self.client.post(self.base + path, json=body, headers=self.headers, **kwargs)

    async def patch(self, record_id: int, body: dict) -> httpx.Response:
        return await self.client.patch(f'{self.base}/{record_id}', json=body, headers=self.headers)

    async def delete(self, record_id: int) -> httpx.Response:
        return await self.client.delete(f'{self.base}/{record_id}', headers=self.headers)

    async def upload(self, record_id: int, name: str = 'photo.png', data: bytes = PNG) -> httpx.Response:
        files = {'file': (name, data, 'application/octet-stream')}
        return await self.client.post(f'{self.base}/{record_id}/attachments', files=files, headers=self.headers)


async def as_user(user: User, email: str, slug: str) -> Api:
    return Api(user.http_client, await bearer(user.http_client, email, PASSWORD), slug)


def create(rt: type[RecordType], **values) -> int:
    with db.session() as s:
        return records.create(s, SYSTEM, rt, values).id


# ---- a lookup table: staff and hod may only view; admin may do everything ----


@pytest.mark.parametrize('role', ['staff', 'hod'])
async def test_departments_are_view_only_for_staff_and_hod(role: str, people, user: User) -> None:
    dept = create(get('departments'), name='Serology')
    api = await as_user(user, people[role], 'departments')
    assert [d['name'] for d in (await api.get()).json()['items']] == ['Serology']
    assert (await api.get(f'/{dept}')).json()['name'] == 'Serology'
    assert (await api.post(f'/{dept}/comments', {'body': 'Seen'})).status_code == 201  # viewing is enough to comment
    assert_error(await api.post('', {'name': 'Mine'}), 403)
    assert_error(await api.patch(dept, {'name': 'Renamed', 'version': 1}), 403)
    assert_error(await api.delete(dept), 403)
    assert_error(await api.get('/export'), 403)
    assert_error(await api.upload(dept), 403)
    assert_error(await api.get('/999'), 404)


async def test_departments_admin_may_do_everything(people, user: User) -> None:
    api = await as_user(user, people['admin'], 'departments')
    created = await api.post('', {'name': 'Virology', 'code': 'VIR'})
    assert created.status_code == 201 and created.json()['version'] == 1
    dept = created.json()['id']
    changed = await api.patch(dept, {'code': 'VIRO', 'version': 1})
    assert changed.json()['code'] == 'VIRO' and changed.json()['version'] == 2
    assert 'changed' in assert_error(await api.patch(dept, {'code': 'V', 'version': 1}), 409)['message']
    assert (await api.post(f'/{dept}/comments', {'body': 'Checked'})).status_code == 201
    assert [c['body'] for c in (await api.get(f'/{dept}/comments')).json()] == ['Checked']
    assert (await api.upload(dept)).status_code == 201
    assert len((await api.get(f'/{dept}/attachments')).json()) == 1
    export = await api.get('/export', **{'f.active': 'true'})
    assert export.status_code == 200 and export.headers['content-type'] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert [c.value for c in sheet[2]][:2] == ['Virology', 'VIRO']
    assert (await api.delete(dept)).json() == {'result': 'deleted'}
    assert_error(await api.get(f'/{dept}'), 404)


async def test_a_department_in_use_is_deactivated_not_deleted(people, user: User) -> None:
    from tests.conftest import make_user

    dept = create(get('departments'), name='Cytology')
    make_user('cy@lab.test', 'staff', department_id=dept)
    api = await as_user(user, people['admin'], 'departments')
    assert (await api.delete(dept)).json() == {'result': 'deactivated'}
    assert (await api.get(f'/{dept}')).json()['active'] is False


# ---- a workflow type whose staff see only their own records ----


async def test_samples_as_staff_own_records_only(samples, people, user: User) -> None:  # noqa: F811
    api = await as_user(user, people['staff'], 'test_samples')
    created = await api.post('', {'name': 'S-1'})
    assert created.status_code == 201 and created.json()['status'] == 'received'
    mine = created.json()['id']
    theirs = (await (await as_user(user, people['other'], 'test_samples')).post('', {'name': 'S-2'})).json()['id']
    assert [s['id'] for s in (await api.get()).json()['items']] == [mine]
    for path in (f'/{theirs}', f'/{theirs}/comments', f'/{theirs}/attachments'):
        assert_error(await api.get(path), 404)
    assert_error(await api.post(f'/{theirs}/comments', {'body': 'Hi'}), 404)
    assert_error(await api.upload(theirs), 404)
    assert_error(await api.post(f'/{theirs}/transitions/start'), 404)
    assert (await api.upload(mine)).status_code == 201  # the owner may attach without the edit permission
    assert (await api.post(f'/{mine}/transitions/start')).json()['status'] == 'testing'
    assert_error(await api.post(f'/{mine}/transitions/report', {'result': 'Negative'}), 403)
    assert_error(await api.patch(mine, {'name': 'S-1b', 'version': 2}), 403)
    assert_error(await api.delete(mine), 403)
    assert_error(await api.get('/export'), 403)


async def test_samples_as_hod(samples, people, user: User) -> None:  # noqa: F811
    sample = create(samples, name='S-3')
    api = await as_user(user, people['hod'], 'test_samples')
    assert [s['id'] for s in (await api.get()).json()['items']] == [sample]
    assert_error(await api.post('', {'name': 'S-4'}), 403)
    assert_error(await api.post(f'/{sample}/transitions/start'), 403)
    with db.session() as s:
        records.transition(s, SYSTEM, samples, sample, 'start', {})
    assert_error(await api.post(f'/{sample}/transitions/report', {}), 422, 'result')
    assert_error(await api.post(f'/{sample}/transitions/report?version=1', {'result': 'Neg'}), 409)
    reported = await api.post(f'/{sample}/transitions/report?version=2', {'result': 'Negative'})
    assert reported.json()['status'] == 'reported' and reported.json()['result'] == 'Negative'
    assert_error(await api.post(f'/{sample}/transitions/report', {'result': 'Again'}), 403)  # not from Reported
    assert (await api.post(f'/{sample}/transitions/retest')).json()['status'] == 'testing'
    assert (await api.patch(sample, {'name': 'S-3b', 'version': 4})).json()['name'] == 'S-3b'
    assert_error(await api.patch(sample, {'name': 'S-3c', 'version': 4}), 409)
    assert (await api.upload(sample)).status_code == 201
    assert_error(await api.delete(sample), 403)
    assert_error(await api.get('/export'), 403)


async def test_samples_as_admin(samples, people, user: User) -> None:  # noqa: F811
    api = await as_user(user, people['admin'], 'test_samples')
    sample = (await api.post('', {'name': 'S-5'})).json()['id']
    assert (await api.post(f'/{sample}/transitions/start')).is_success
    assert (await api.post(f'/{sample}/transitions/report', {'result': 'Negative'})).is_success
    assert (await api.post(f'/{sample}/comments', {'body': 'Done'})).status_code == 201
    assert (await api.get('/export')).status_code == 200
    assert (await api.delete(sample)).json() == {'result': 'deleted'}
    assert_error(await api.get(f'/{sample}'), 404)


# ---- bad input ----


async def test_bad_input_is_a_422_naming_the_field(orders, people, user: User) -> None:
    dept = create(get('departments'), name='Old', active=False)
    api = await as_user(user, people['admin'], 'test_orders')
    good = {'name': 'Reagents', 'priority': 'low'}
    cases = [
        ({**good, 'name': 'x' * 41}, 'name'),
        ({'priority': 'low'}, 'name'),
        ({**good, 'colour': 'red'}, 'colour'),
        ({**good, 'priority': 'urgent'}, 'priority'),
        ({**good, 'department_id': 999}, 'department_id'),
        ({**good, 'department_id': dept}, 'department_id'),  # no longer active
        ({**good, 'quantity': 'many'}, 'quantity'),
        ({**good, 'quantity': True}, 'quantity'),
        ({**good, 'quantity': 2**40}, 'quantity'),
    ]
    for body, field in cases:
        assert_error(await api.post('', body), 422, field)
    order = (await api.post('', good)).json()['id']
    assert_error(await api.patch(order, {'name': 'No version'}), 422, 'version')
    assert_error(await api.patch(order, {'priority': None, 'version': 1}), 422, 'priority')
    assert_error(await api.get('/abc'), 422, 'record_id')
    listing = await api.get('', sort='colour', per_page='0', to='yesterday', **{'f.colour': 'red'})
    assert_error(listing, 422, 'sort', 'per_page', 'to', 'f.colour')
    assert_error(await api.get('/export', cols='name,colour'), 422, 'cols')
    headers = {**api.headers, 'Content-Type': 'application/json'}
    assert_error(await api.client.post(api.base, content=b'{"name": ', headers=headers), 422, 'body')
    assert_error(await api.client.post(api.base, content=b'{"name": "\xe9"}', headers=headers), 400)  # not UTF-8


# ---- the list and the page agree ----


async def test_the_api_and_the_list_page_show_the_same_rows(samples, people, user: User) -> None:  # noqa: F811
    from tests.pages.helpers import sign_in, table_rows

    for name, active in [('Zoology', True), ('Anatomy', True), ('Stores', False), ('Biochemistry', True)]:
        create(get('departments'), name=name, active=active)
    staff = await as_user(user, people['staff'], 'test_samples')
    for name in ('S-b', 'S-a'):
        await staff.post('', {'name': name})
    create(samples, name='S-hidden')
    await sign_in(user, people['staff'], PASSWORD)
    for slug, query in [('departments', 'f.active=true&sort=name'), ('test_samples', 'f.status=received&sort=-name')]:
        listed = (await user.http_client.get(f'/api/v1/{slug}?{query}', headers=staff.headers)).json()
        await user.open(f'/r/{slug}?{query}')
        await user.should_see(f'{listed["total"]} {get(slug).label_plural.lower()}')
        assert [r['id'] for r in listed['items']] == [r['id'] for r in await table_rows(user)]
    assert [r['name'] for r in await table_rows(user)] == ['S-b', 'S-a']


async def test_a_long_list_comes_in_pages_with_a_next_link(people, user: User) -> None:
    for name in ('A', 'B', 'C'):
        create(get('departments'), name=name)
    api = await as_user(user, people['staff'], 'departments')
    first = (await api.get(per_page='2')).json()
    assert [d['name'] for d in first['items']] == ['A', 'B'] and first['total'] == 3
    second = (await api.client.get(first['next'], headers=api.headers)).json()
    assert [d['name'] for d in second['items']] == ['C'] and second['next'] is None
