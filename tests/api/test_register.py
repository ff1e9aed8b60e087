"""Self-registration through the API: off by default, and when on it gives the reporter role only."""

from __future__ import annotations

import pytest
from nicegui.testing import User
from sqlalchemy import func, select

from models import db
from models.accounts import SignupClosed, find_user, register
from models.accounts import User as Account
from models.audit import AuditEntry
from models.settings import reload_settings
from models.values import ValidationError
from tests.api.helpers import ADMIN, assert_error, tokens
from tests.api.helpers import auth as auth_header

REGISTER = '/api/v1/auth/register'
ME = '/api/v1/users/me'
NEW = {'email': 'Rita.Reporter@Lab.Test', 'name': 'Rita Reporter', 'password': 'report-it-1'}


@pytest.fixture
def signup_on(database: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv('ALLOW_SIGNUP', 'true')
    yield reload_settings()
    monkeypatch.delenv('ALLOW_SIGNUP')
    reload_settings()


def _users() -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Account))


async def test_signup_is_off_by_default_and_creates_nothing(database, user: User, monkeypatch) -> None:
    monkeypatch.delenv('ALLOW_SIGNUP', raising=False)
    assert reload_settings().allow_signup is False
    before = _users()
    body = assert_error(await user.http_client.post(REGISTER, json=NEW), 403)
    assert body['code'] == 'forbidden' and 'disabled' in body['message']
    assert_error(await user.http_client.post(REGISTER, json={'email': 'x'}), 403)  # refused before the body is read
    assert _users() == before
    with db.session() as s:
        assert find_user(s, NEW['email']) is None
        with pytest.raises(SignupClosed):
            register(s, **NEW)


async def test_a_registered_user_is_a_reporter_who_can_sign_in(signup_on, user: User) -> None:
    client = user.http_client
    response = await client.post(REGISTER, json=NEW)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created['email'] == 'rita.reporter@lab.test' and created['name'] == 'Rita Reporter'
    assert created['roles'] == ['reporter']
    with db.session() as s:
        account = find_user(s, NEW['email'])
        assert account.id == created['id'] and account.active and account.department_id is None
        assert [r.name for r in account.roles] == ['reporter']
        assert account.password_hash and NEW['password'] not in account.password_hash
        audited = select(AuditEntry).where(AuditEntry.record_type == 'users', AuditEntry.record_id == account.id)
        entry = s.scalar(audited)
        assert entry.action == 'create' and entry.note == 'self-registration' and entry.actor_id == account.id
    for path in ('/api/v1/auth/token', '/api/v1/auth/login'):  # /auth/login is the seeds' name for /auth/token
        pair = (await client.post(path, json={'email': 'RITA.reporter@lab.test', 'password': NEW['password']})).json()
        me = await client.get(ME, headers=auth_header(pair['access_token']))
        assert me.status_code == 200 and me.json()['roles'] == ['reporter'] and me.json()['id'] == created['id']


async def test_login_is_an_alias_of_token(database, user: User) -> None:
    pair = (await user.http_client.post('/api/v1/auth/login', json={'email': ADMIN[0], 'password': ADMIN[1]})).json()
    assert pair['token_type'] == 'bearer' and pair['refresh_token']
    wrong = await user.http_client.post('/api/v1/auth/login', json={'email': ADMIN[0], 'password': 'nope'})
    assert assert_error(wrong, 401)['message'] == 'Wrong email or password.'


async def test_an_email_in_use_in_any_case_is_refused_naming_email(signup_on, user: User) -> None:
    client = user.http_client
    taken = assert_error(await client.post(REGISTER, json={**NEW, 'email': ADMIN[0].upper()}), 422, 'email')
    assert 'already exists' in taken['fields']['email']
    assert (await client.post(REGISTER, json=NEW)).status_code == 201
    again = {**NEW, 'email': NEW['email'].swapcase(), 'name': 'Someone else'}
    assert_error(await client.post(REGISTER, json=again), 422, 'email')
    with db.session() as s:
        assert s.scalar(select(func.count()).where(func.lower(Account.email) == 'rita.reporter@lab.test')) == 1


@pytest.mark.parametrize(
    ('change', 'field'),
    [
        ({'password': 'short1'}, 'password'),
        ({'password': 'onlyletters'}, 'password'),
        ({'name': '   '}, 'name'),
        ({'email': 'not-an-email'}, 'email'),
        ({'email': 'two words@lab.test'}, 'email'),
        ({'email': '@lab.test'}, 'email'),
        ({'email': 'a@b@lab.test'}, 'email'),
        ({'email': 'rita@localhost'}, 'email'),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(signup_on, user: User, change: dict, field: str) -> None:
    before = _users()
    body = assert_error(await user.http_client.post(REGISTER, json={**NEW, **change}), 422, field)
    assert body['code'] == 'invalid'
    assert _users() == before


async def test_a_client_cannot_choose_its_role(signup_on, user: User) -> None:
    client = user.http_client
    before = _users()
    for extra in ({'roles': ['admin']}, {'role': 'admin'}, {'department_id': 1}, {'active': False}):
        field = next(iter(extra))
        assert_error(await client.post(REGISTER, json={**NEW, **extra}), 422, field)
    assert _users() == before
    created = (await client.post(REGISTER, json=NEW)).json()
    assert created['roles'] == ['reporter']
    pair = await tokens(client, NEW['email'], NEW['password'])
    users = await client.get('/api/v1/users', headers=auth_header(pair['access_token']))
    assert users.status_code in (403, 404)  # a reporter is no user manager


async def test_register_runs_in_the_callers_transaction(signup_on) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort), db.session() as s:
        register(s, **NEW)
        raise Abort
    with db.session() as s:
        assert find_user(s, NEW['email']) is None
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.note == 'self-registration')) == 0
        with pytest.raises(ValidationError) as caught:
            register(s, email='', name='', password='')
    assert set(caught.value.errors) == {'email', 'name', 'password'}
