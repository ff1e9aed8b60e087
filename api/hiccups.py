"""POST /api/hiccups/auto_generate (the seed's path, also under /api/v1): another system raises
a hiccup with the shared `X-Internal-Token`. Idempotent on the caller's system + reference."""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from api.errors import RESPONSES, ApiError
from models import db, records
from models.accounts import Actor
from models.hiccups import Hiccup, Hiccups
from models.lookups import Category, Department, Location
from models.settings import get_settings


class AutoHiccup(BaseModel):
    model_config = ConfigDict(extra='forbid')
    source_system: str = Field(..., min_length=1, max_length=50, description='Your system, e.g. LIS')
    source_reference: str = Field(..., min_length=1, max_length=100, description='Your id for this event')
    title: str = Field(..., min_length=1, max_length=200)
    description: str = Field(..., min_length=1)
    department: str = Field(..., description='Department name, code or id')
    category: str = Field(..., description='Category name, code or id')
    location: str | None = Field(None, description='Location name, code or id')
    severity: str = Field('medium', description='low, medium, high or critical')
    phase: str = Field('analytical', description='pre_analytical, analytical, post_analytical or non_technical')
    occurred_at: dt.datetime | None = Field(None, description='Default: now')
    confidential: bool = False


class AutoHiccupOut(BaseModel):
    id: int
    reference: str | None
    status: str
    created: bool


def _check_token(token: str | None) -> None:
    expected = get_settings().internal_token
    if not expected:
        raise ApiError(403, 'Auto-generated hiccups are switched off (INTERNAL_TOKEN is not set).')
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(401, 'The X-Internal-Token header is missing or wrong.')


def _lookup_id(session: Any, model: Any, value: str | None, field: str) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    clauses = [model.name == text, model.code == text]
    if text.isdigit():
        clauses.append(model.id == int(text))
    found = session.scalar(select(model.id).where(or_(*clauses), model.active.is_(True)).limit(1))
    if found is None:
        raise ApiError(422, f'No active {field} called {text!r}.', {field: 'Unknown value.'})
    return found


def _existing(session: Any, body: AutoHiccup) -> Hiccup | None:
    return session.scalar(
        select(Hiccup).where(
            Hiccup.source_system == body.source_system, Hiccup.source_reference == body.source_reference
        )
    )


def _raise(body: AutoHiccup) -> tuple[Hiccup, bool]:
    actor = Actor(
        None, f'{body.source_system} (internal token)', body.source_system, frozenset({'admin'}), via='integration'
    )
    with db.session() as s:
        if (found := _existing(s, body)) is not None:
            return found, False
        data = {
            'title': body.title,
            'description': body.description,
            'confidential': body.confidential,
            'department_id': _lookup_id(s, Department, body.department, 'department'),
            'category_id': _lookup_id(s, Category, body.category, 'category'),
            'location_id': _lookup_id(s, Location, body.location, 'location'),
            'severity': body.severity,
            'phase': body.phase,
            'occurred_at': body.occurred_at or dt.datetime.now(dt.UTC),
        }
        hiccup = records.create(s, actor, Hiccups, data)
        hiccup.source_system, hiccup.source_reference = body.source_system, body.source_reference
        return hiccup, True


def auto_generate(body: AutoHiccup, x_internal_token: str | None = Header(None)) -> Any:
    """Raise a hiccup from another system; a repeat of the same system + reference returns the first."""
    _check_token(x_internal_token)
    try:
        hiccup, created = _raise(body)
    except IntegrityError:  # the same event arriving twice at once: the other request created it
        with db.session() as s:
            hiccup, created = _existing(s, body), False
    out = AutoHiccupOut(id=hiccup.id, reference=hiccup.reference, status=hiccup.status, created=created)
    return JSONResponse(out.model_dump(), status_code=201 if created else 200)


def router() -> APIRouter:
    r = APIRouter(tags=['integration'], responses={**RESPONSES, 403: RESPONSES[403]})
    for path in ('/api/hiccups/auto_generate', '/api/v1/hiccups/auto_generate'):
        r.add_api_route(
            path,
            auto_generate,
            methods=['POST'],
            response_model=AutoHiccupOut,
            status_code=201,
            summary='Raise a hiccup from another system (X-Internal-Token)',
            operation_id='auto_generate_hiccup' + ('_v1' if 'v1' in path else ''),
            responses={200: {'model': AutoHiccupOut, 'description': 'Already raised: the first one'}},
        )
    return r
