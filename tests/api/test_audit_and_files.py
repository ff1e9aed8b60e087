"""Every API write is audited naming the token or key; attachments go up and come down through the API."""

from __future__ import annotations

from nicegui.testing import User
from sqlalchemy import select

from models import apikeys, db
from models.accounts import Actor, find_user
from models.audit import AuditEntry
from tests.api.helpers import assert_error, auth
from tests.api.test_records import PNG, Api, as_user
from tests.workflow_fixture import samples  # noqa: F401 - fixture


def audit_rows(record_type: str) -> list[tuple[str, str]]:
    with db.session() as s:
        stmt = select(AuditEntry.action, AuditEntry.actor).where(AuditEntry.record_type == record_type)
        rows = s.execute(stmt.order_by(AuditEntry.id))
        return [(action, actor) for action, actor in rows]


async def test_every_api_write_is_audited_naming_the_token(samples, people, user: User) -> None:  # noqa: F811
    api = await as_user(user, people['admin'], 'test_samples')
    sample = (await api.post('', {'name': 'S-1'})).json()['id']
    await api.patch(sample, {'name': 'S-1b', 'version': 1})
    await api.post(f'/{sample}/transitions/start')
    await api.post(f'/{sample}/comments', {'body': 'On the bench'})
    await api.upload(sample)
    await api.get('/export')
    await api.delete(sample)
    rows = audit_rows('test_samples')
    assert [a for a, _ in rows] == ['create', 'update', 'transition:start', 'comment', 'attach', 'export', 'delete']
    assert {who for _, who in rows} == {'ann@lab.test (api token)'}


async def test_an_api_key_is_named_in_the_audit(samples, people, user: User) -> None:  # noqa: F811
    with db.session() as s:
        admin = Actor.of(find_user(s, people['admin']))
        _, key = apikeys.issue(s, admin, admin.id, 'LIMS bridge')
    api = Api(user.http_client, auth(key), 'test_samples')
    assert (await api.post('', {'name': 'From LIMS'})).status_code == 201
    assert audit_rows('test_samples') == [('create', 'ann@lab.test (api key "LIMS bridge")')]


async def test_an_attachment_goes_up_and_comes_down_only_for_those_who_may_see_it(samples, people, user: User) -> None:  # noqa: F811
    api = await as_user(user, people['staff'], 'test_samples')
    sample = (await api.post('', {'name': 'S-2'})).json()['id']
    uploaded = await api.upload(sample, 'gel.png')
    assert uploaded.status_code == 201
    body = uploaded.json()
    assert (body['filename'], body['content_type'], body['size']) == ('gel.png', 'image/png', len(PNG))
    assert [a['id'] for a in (await api.get(f'/{sample}/attachments')).json()] == [body['id']]
    download = await api.client.get(body['url'], headers=api.headers)
    assert download.status_code == 200 and download.content == PNG
    assert download.headers['content-type'] == 'image/png'
    assert download.headers['x-content-type-options'] == 'nosniff'
    other = await as_user(user, people['other'], 'test_samples')
    assert_error(await other.client.get(body['url'], headers=other.headers), 404)
    assert_error(await api.client.get('/api/v1/attachments/999', headers=api.headers), 404)


async def test_a_file_that_is_not_allowed_is_a_422_naming_file(samples, people, user: User) -> None:  # noqa: F811
    api = await as_user(user, people['staff'], 'test_samples')
    sample = (await api.post('', {'name': 'S-3'})).json()['id']
    for name, data in [('setup.pdf', b'MZ\x90\x00' + b'\x00' * 100), ('photo.jpg', PNG), ('empty.txt', b'')]:
        assert_error(await api.upload(sample, name, data), 422, 'file')
    missing = await api.client.post(f'{api.base}/{sample}/attachments', headers=api.headers)
    assert_error(missing, 422, 'file')
    assert (await api.get(f'/{sample}/attachments')).json() == []
