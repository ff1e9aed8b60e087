"""One error shape for the whole API: {status, code, message, fields}."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.attachments import UploadRejected
from models.permissions import NotFound, PermissionDenied
from models.records import Conflict
from models.values import ValidationError

log = logging.getLogger('labdesk.api')
Handler = Callable[[Request, Exception], Awaitable[Any]]

CODES = {
    400: 'bad_request',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'not_found',
    405: 'method_not_allowed',
    409: 'conflict',
    413: 'too_large',
    415: 'unsupported_media_type',
    422: 'invalid',
    423: 'locked',
    429: 'too_many_requests',
}


class Error(BaseModel):
    """Every API error."""

    status: int
    code: str
    message: str
    fields: dict[str, str] = {}


class ApiError(Exception):
    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None, code: str = '') -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.code = code or CODES.get(status, 'error')


def error_response(
    status: int,
    message: str,
    fields: dict[str, str] | None = None,
    code: str = '',
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Error(status=status, code=code or CODES.get(status, 'error'), message=message, fields=fields or {})
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


#: What each documented error status means (so clients and schemathesis know the shape).
MEANINGS = {
    400: 'The request body could not be parsed',
    401: 'No token, or a bad or expired one',
    403: 'Your role may not do this',
    404: 'No such record, or not one you may see',
    409: 'The record changed since you read it, or is still in use',
    422: 'Invalid input; `fields` names each bad field',
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of the error statuses an operation may answer with."""
    return {status: {'model': Error, 'description': MEANINGS[status]} for status in statuses}


#: Every documented error, for a router that declares them all at once.
RESPONSES = responses(*MEANINGS)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith('/api')


def _refusal(status: int) -> Handler:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return error_response(status, str(exc))

    return handler


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    headers = {'WWW-Authenticate': 'Bearer'} if exc.status == 401 else None
    return error_response(exc.status, exc.message, exc.fields, exc.code, headers)


async def _invalid(request: Request, exc: ValidationError) -> JSONResponse:
    fields = {k: v for k, v in exc.errors.items() if k}
    return error_response(422, exc.errors.get('') or 'Some fields are not valid.', fields)


async def _rejected(request: Request, exc: UploadRejected) -> JSONResponse:
    return error_response(422, str(exc), {'file': str(exc)})


async def _in_use(request: Request, exc: IntegrityError) -> JSONResponse:
    """A database constraint refused the change (a record still referred to, a value taken meanwhile)."""
    log.info('constraint refused %s %s: %s', request.method, request.url.path, exc.orig)
    return error_response(409, 'This conflicts with other records: it is still in use, or a value is already taken.')


async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get('loc', ()) if p not in ('body', 'query', 'path', 'header')]
        name = 'body' if err.get('type') == 'json_invalid' else '.'.join(loc) or 'body'
        fields[name] = err.get('msg', 'invalid')
    return error_response(422, 'Some fields are not valid.', fields)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if not _is_api(request):
        return JSONResponse({'detail': exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


def _not_found(pages: Handler | None) -> Handler:
    """404 in the API's shape for /api paths; the pages' own (NiceGUI's) otherwise."""

    async def handler(request: Request, exc: Exception) -> Any:
        if _is_api(request) or pages is None:
            return error_response(404, 'There is nothing at this API path.')
        return await pages(request, exc)

    handler.pages = pages  # type: ignore[attr-defined]
    return handler


def mount(app: Any) -> None:
    """Turn the engine's refusals into API errors of the one shape."""
    pages = app.exception_handlers.get(404)
    app.add_exception_handler(404, _not_found(getattr(pages, 'pages', pages)))  # wrapped once, however often mounted
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ValidationError, _invalid)
    app.add_exception_handler(UploadRejected, _rejected)
    app.add_exception_handler(IntegrityError, _in_use)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for exc_type, status in ((PermissionDenied, 403), (NotFound, 404), (Conflict, 409)):
        app.add_exception_handler(exc_type, _refusal(status))
