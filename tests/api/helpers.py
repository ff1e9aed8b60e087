"""Helpers for API tests: tokens and bearer headers on the `user` fixture's HTTP client."""

from __future__ import annotations

import httpx

ADMIN = ('admin@lab.test', 'admin-pass-123')  # the first administrator tests/conftest.py's env creates


async def tokens(client: httpx.AsyncClient, email: str, password: str) -> dict:
    response = await client.post('/api/v1/auth/token', json={'email': email, 'password': password})
    assert response.status_code == 200, response.text
    return response.json()


async def bearer(client: httpx.AsyncClient, email: str = ADMIN[0], password: str = ADMIN[1]) -> dict[str, str]:
    """`Authorization` headers with a fresh access token of `email`."""
    return auth((await tokens(client, email, password))['access_token'])


def auth(token: str) -> dict[str, str]:
    return {'Authorization': f'Bearer {token}'}


def assert_error(response: httpx.Response, status: int, *fields: str) -> dict:
    """The API's one error shape, with `status` and (at least) `fields` named."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {'status', 'code', 'message', 'fields'}, body
    assert body['status'] == status and body['message'], body
    assert set(fields) <= set(body['fields']), body
    return body
