"""Attachments through the detail page and the download route; the health check."""

from __future__ import annotations

from nicegui import ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User

from models import db, records
from models.accounts import SYSTEM
from models.engine import get
from tests.conftest import make_user
from tests.pages.helpers import sign_in
from tests.workflow_fixture import samples  # noqa: F401 - fixture

PNG = b'\x89PNG\r\n\x1a\n' + b'\x00' * 64


async def _upload(user: User, name: str, data: bytes, content_type: str = 'application/octet-stream') -> None:
    upload = user.find(ui.upload).elements.pop()
    await upload.handle_uploads([SmallFileUpload(name=name, content_type=content_type, _data=data)])


async def test_an_uploaded_file_is_listed_and_downloads_for_those_who_may_see_it(samples, user: User) -> None:  # noqa: F811
    alice = make_user('alice@lab.test', 'staff', password='alice-pass-1')
    make_user('bob@lab.test', 'staff', password='bob-pass-11')
    with db.session() as s:
        sample = records.create(s, alice, samples, {'name': 'S-1'})
    await sign_in(user, 'alice@lab.test', 'alice-pass-1')
    await user.open(f'/r/test_samples/{sample.id}')
    await _upload(user, 'photo.png', PNG, 'image/png')
    await user.should_see('Attached photo.png.')
    await user.should_see('Attachments (1)')
    response = await user.http_client.get('/files/1')
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers['content-type'] == 'image/png'
    await user.open('/logout')
    await sign_in(user, 'bob@lab.test', 'bob-pass-11')
    response = await user.http_client.get('/files/1')
    assert response.status_code == 404


async def test_a_file_whose_content_is_not_allowed_is_refused_by_name(samples, user: User) -> None:  # noqa: F811
    with db.session() as s:
        sample = records.create(s, SYSTEM, samples, {'name': 'S-2'})
    await sign_in(user)
    await user.open(f'/r/test_samples/{sample.id}')
    await _upload(user, 'report.pdf', b'MZ\x90\x00' + b'\x00' * 100)
    await user.should_see('report.pdf: application/x-msdownload files are not accepted.')
    await _upload(user, 'notes.pdf', bytes(range(256)))
    await user.should_see('notes.pdf: this kind of file is not accepted')
    await _upload(user, 'photo.jpg', PNG)
    await user.should_see('the name says .jpg but the content is image/png')
    await user.should_see('Attachments (0)')


async def test_downloads_need_a_signed_in_user(database, user: User) -> None:
    response = await user.http_client.get('/files/1')
    assert response.status_code == 307
    assert response.headers['location'] == '/login?next=/files/1'


async def test_health_check_reports_database_and_queue(database, user: User) -> None:
    response = await user.http_client.get('/healthz')
    assert response.status_code == 200
    body = response.json()
    assert body['database']['status'] == 'ok'
    assert body['tasks']['pending'] >= 0
    assert 'last_heartbeat' in body['tasks']


async def test_health_check_is_503_when_the_database_is_gone(data_dir, user: User) -> None:
    db.configure('mysql+pymysql://nobody:wrong@127.0.0.1:1/none')
    response = await user.http_client.get('/healthz')
    assert response.status_code == 503
    assert response.json()['database']['status'] == 'error'


async def test_comments_appear_on_the_timeline(database, user: User) -> None:
    with db.session() as s:
        dept = records.create(s, SYSTEM, get('departments'), {'name': 'Virology'})
    await sign_in(user)
    await user.open(f'/r/departments/{dept.id}')
    user.find(marker='comment-body').type('Please add the code')
    user.find(kind=ui.button, content='Comment').click()
    await user.should_see('Please add the code')
    await user.should_see('Created')
