"""API authentication: tokens, refresh, lockout shared with the sign-in page, API keys."""

from __future__ import annotations

import time

from joserfc import jwt
from joserfc.jwk import OctKey
from nicegui import ui
from nicegui.testing import User
from sqlalchemy import select

from api import auth
from models import apikeys, db
from models.accounts import Actor, find_user
from models.audit import AuditEntry
from tests.api.helpers import ADMIN, assert_error, bearer, tokens
from tests.api.helpers import auth as auth_header
from tests.conftest import make_user

ME = '/api/v1/users/me'


async def test_a_token_for_email_and_password_names_its_user_and_refreshes(database, user: User) -> None:
    client = user.http_client
    pair = await tokens(client, *ADMIN)
    assert pair['token_type'] == 'bearer' and pair['expires_in'] == auth.ACCESS_SECONDS
    me = (await client.get(ME, headers=auth_header(pair['access_token']))).json()
    assert me['email'] == ADMIN[0] and me['roles'] == ['admin']
    renewed = await client.post('/api/v1/auth/refresh', json={'refresh_token': pair['refresh_token']})
    assert renewed.status_code == 200
    assert (await client.get(ME, headers=auth_header(renewed.json()['access_token']))).status_code == 200


async def test_a_wrong_password_is_a_401_in_the_error_shape(database, user: User) -> None:
    response = await user.http_client.post('/api/v1/auth/token', json={'email': ADMIN[0], 'password': 'nope'})
    body = assert_error(response, 401)
    assert body['code'] == 'unauthorized' and body['message'] == 'Wrong email or password.'
    assert_error(await user.http_client.post('/api/v1/auth/token', json={'email': ADMIN[0]}), 422, 'password')


async def test_five_failures_through_the_api_lock_the_sign_in_page_too(database, user: User) -> None:
    client = user.http_client
    for _ in range(5):
        response = await client.post('/api/v1/auth/token', json={'email': ADMIN[0], 'password': 'wrong-one'})
    assert 'Too many failed attempts' in assert_error(response, 401)['message']
    right = await client.post('/api/v1/auth/token', json={'email': ADMIN[0], 'password': ADMIN[1]})
    assert 'Too many failed attempts' in assert_error(right, 401)['message']
    await user.open('/login')
    user.find('Email').type(ADMIN[0])
    user.find('Password').type(ADMIN[1])
    user.find(kind=ui.button, content='Sign in').click()
    await user.should_see('Too many failed attempts', retries=100)
    with db.session() as s:
        notes = list(s.scalars(select(AuditEntry.note).where(AuditEntry.action == 'login_failed')))
    assert len(notes) == 5 and all(n.startswith('api:') for n in notes)


def _signed(claims: dict) -> str:
    return jwt.encode({'alg': 'HS256'}, claims, auth._key())


async def test_expired_foreign_and_wrong_kind_tokens_are_refused(database, user: User) -> None:
    client = user.http_client
    now = int(time.time())
    valid = {'iss': auth.ISSUER, 'sub': '1', 'typ': 'access', 'iat': now, 'exp': now + 60}
    assert (await client.get(ME, headers=auth_header(_signed(valid)))).status_code == 200
    refused = [
        _signed({**valid, 'iat': now - 120, 'exp': now - 60}),  # expired
        _signed({**valid, 'iss': 'someone-else'}),  # wrong issuer
        _signed({k: v for k, v in valid.items() if k != 'exp'}),  # never expires
        _signed({**valid, 'typ': 'refresh'}),  # a refresh token used as an access token
        jwt.encode({'alg': 'HS256'}, valid, OctKey.import_key(b'x' * 32)),  # another key
        'not-a-token',
    ]
    for token in refused:
        response = await client.get(ME, headers=auth_header(token))
        assert_error(response, 401)
        assert response.headers['www-authenticate'] == 'Bearer'
    access = (await tokens(client, *ADMIN))['access_token']
    assert_error(await client.post('/api/v1/auth/refresh', json={'refresh_token': access}), 401)


async def test_the_api_answers_401_json_and_never_redirects_to_the_sign_in_page(database, user: User) -> None:
    client = user.http_client
    for path in (ME, '/api/v1/departments', '/api/v1/departments/1', '/api/v1/attachments/1'):
        response = await client.get(path)
        assert_error(response, 401)
        assert 'location' not in response.headers
    assert_error(await client.get(ME, headers={'Authorization': 'Basic YTpi'}), 401)
    assert_error(await client.get('/api/v1/no-such-thing', headers=await bearer(client)), 404)


async def test_an_api_key_works_as_a_bearer_token_until_revoked(database, user: User) -> None:
    owner = make_user('lims@lab.test', 'staff')
    with db.session() as s:
        admin = Actor.of(find_user(s, ADMIN[0]))
        row, key = apikeys.issue(s, admin, owner.id, 'LIMS bridge')
    assert row.last_used_at is None
    client = user.http_client
    me = await client.get(ME, headers=auth_header(key))
    assert me.status_code == 200 and me.json()['email'] == 'lims@lab.test'
    with db.session() as s:
        assert s.get(apikeys.ApiKey, row.id).last_used_at is not None
        apikeys.revoke(s, admin, row.id)
    assert_error(await client.get(ME, headers=auth_header(key)), 401)
    assert_error(await client.get(ME, headers=auth_header(key[:-2] + 'xx')), 401)
