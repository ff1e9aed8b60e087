"""API authentication: short-lived access tokens, refresh tokens, personal API keys.

Tokens are JWTs signed with a key derived from SECRET_KEY; `exp` and `iss` are validated
on every request. Browser sessions never authenticate the API, and the API never redirects
to the sign-in page: no or a bad token is a 401 in the API's error shape.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.errors import ApiError, responses
from models import apikeys, db
from models.accounts import Actor, SignInRefused, SignupClosed, User, authenticate, register
from models.settings import get_settings

ISSUER = 'labdesk'
ACCESS_SECONDS = 15 * 60
REFRESH_SECONDS = 7 * 24 * 3600

bearer = HTTPBearer(auto_error=False, description='An access token from /api/v1/auth/token, or an API key')
router = APIRouter(prefix='/api/v1', tags=['auth'])


class Credentials(BaseModel):
    model_config = ConfigDict(extra='forbid')
    email: str = Field(max_length=255)
    password: str = Field(max_length=1024)


class Registration(BaseModel):
    """Self-registration; the account gets the reporter role only (roles cannot be asked for)."""

    model_config = ConfigDict(extra='forbid')
    email: str = Field(max_length=255)
    name: str = Field(max_length=120)
    password: str = Field(max_length=1024)


class Refresh(BaseModel):
    model_config = ConfigDict(extra='forbid')
    refresh_token: str = Field(max_length=4096)


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = 'bearer'
    expires_in: int


class Me(BaseModel):
    id: int
    email: str
    name: str
    roles: list[str]
    department_id: int | None


def _key() -> OctKey:
    secret = hashlib.sha256(f'labdesk-jwt:{get_settings().secret_key}'.encode()).digest()
    return OctKey.import_key(secret)


def _token(user_id: int, kind: str, seconds: int) -> str:
    now = int(time.time())
    claims = {'iss': ISSUER, 'sub': str(user_id), 'typ': kind, 'iat': now, 'exp': now + seconds}
    return jwt.encode({'alg': 'HS256'}, claims, _key())


def issue(actor: Actor) -> Tokens:
    return Tokens(
        access_token=_token(actor.id, 'access', ACCESS_SECONDS),
        refresh_token=_token(actor.id, 'refresh', REFRESH_SECONDS),
        expires_in=ACCESS_SECONDS,
    )


def user_id_from(token: str, kind: str) -> int:
    """The user a valid, unexpired token of `kind` was issued to; ApiError 401 otherwise."""
    try:
        claims = jwt.decode(token, _key(), algorithms=['HS256']).claims
        jwt.JWTClaimsRegistry(
            iss={'essential': True, 'value': ISSUER}, exp={'essential': True}, sub={'essential': True}
        ).validate(claims)
        if claims.get('typ') != kind:
            raise ApiError(401, f'This is not an {kind} token.')
        return int(claims['sub'])
    except (JoseError, ValueError, TypeError):
        raise ApiError(401, 'The token is invalid or has expired.') from None


def _actor_for(token: str) -> Actor:
    with db.session() as s:
        if token.startswith(apikeys.PREFIX):
            actor = apikeys.authenticate(s, token)
            if actor is None:
                raise ApiError(401, 'The API key is unknown or revoked.')
            return actor
        actor = Actor.load(s, user_id_from(token, 'access'), via='api token')
        if actor is None:
            raise ApiError(401, 'The account behind this token is no longer active.')
        return actor


async def api_actor(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Actor:
    """FastAPI dependency: who is calling, from `Authorization: Bearer <token or API key>`."""
    if credentials is None or credentials.scheme.lower() != 'bearer' or not credentials.credentials:
        raise ApiError(401, 'Send an access token or API key as "Authorization: Bearer <token>".')
    return await run_in_threadpool(_actor_for, credentials.credentials)


@router.post(
    '/auth/token',
    response_model=Tokens,
    responses=responses(400, 401, 422),
    summary='Exchange email and password for tokens',
)
async def token(body: Credentials) -> Any:
    """Failed attempts count toward the same lockout as the sign-in page."""
    try:
        actor = await run_in_threadpool(authenticate, body.email, body.password, source='api')
    except SignInRefused as exc:
        raise ApiError(401, str(exc)) from None
    return issue(actor)


@router.post(
    '/auth/login',
    response_model=Tokens,
    responses=responses(400, 401, 422),
    summary='Exchange email and password for tokens (the same as /auth/token)',
)
async def login(body: Credentials) -> Any:
    return await token(body)


def _signup_open() -> None:
    """Refuse before the body is looked at, so that a closed signup is a 403 whatever is sent."""
    if not get_settings().allow_signup:
        raise ApiError(403, 'Self-registration is disabled. Ask an administrator for an account.')


def _me(actor: Actor) -> Me:
    return Me(
        id=actor.id, email=actor.email, name=actor.name, roles=sorted(actor.roles), department_id=actor.department_id
    )


@router.post(
    '/auth/register',
    response_model=Me,
    status_code=201,
    responses=responses(400, 403, 409, 422),
    dependencies=[Depends(_signup_open)],
    summary='Create your own account (only when ALLOW_SIGNUP is on); it gets the reporter role',
)
async def register_account(body: Registration) -> Any:
    """403 while self-registration is off; 422 naming the field for bad input or an email already in use."""

    def create() -> Actor:
        with db.session() as s:
            return Actor.of(register(s, email=body.email, name=body.name, password=body.password))

    try:
        actor = await run_in_threadpool(create)
    except SignupClosed as exc:
        raise ApiError(403, str(exc)) from None
    return _me(actor)


@router.post(
    '/auth/refresh',
    response_model=Tokens,
    responses=responses(400, 401, 422),
    summary='A new pair of tokens for a refresh token',
)
async def refresh(body: Refresh) -> Any:
    def load() -> Actor:
        with db.session() as s:
            user = s.get(User, user_id_from(body.refresh_token, 'refresh'))
            if user is None or not user.active:
                raise ApiError(401, 'The account behind this token is no longer active.')
            return Actor.of(user)

    return issue(await run_in_threadpool(load))


@router.get(
    '/users/me', response_model=Me, responses=responses(401), tags=['users'], summary='Who the token belongs to'
)
async def me(actor: Actor = Depends(api_actor)) -> Any:
    return _me(actor)
