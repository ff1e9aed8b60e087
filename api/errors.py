"""One error shape for the whole API: {status, code, message, fields}."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.attachments import UploadRejected
from models.permissions import NotFound, PermissionDenied
from models.records import Conflict
from models.values import ValidationError

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


#: Documented error responses of every endpoint (so clients and schemathesis know the shape).
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {'model': Error, 'description': text}
    for code, text in [
        (401, 'No token, or a bad or expired one'),
        (403, 'Your role may not do this'),
        (404, 'No such record, or not one you may see'),
        (409, 'The record changed since you read it'),
        (422, 'Invalid input; `fields` names each bad field'),
    ]
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith('/api')


def mount(app: Any) -> None:
    """Turn the engine's refusals into API errors (API paths only; pages handle their own)."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {'WWW-Authenticate': 'Bearer'} if exc.status == 401 else None
        return error_response(exc.status, exc.message, exc.fields, exc.code, headers)

    @app.exception_handler(ValidationError)
    async def invalid(request: Request, exc: ValidationError) -> JSONResponse:
        fields = {k: v for k, v in exc.errors.items() if k}
        return error_response(422, exc.errors.get('') or 'Some fields are not valid.', fields)

    @app.exception_handler(UploadRejected)
    async def rejected(request: Request, exc: UploadRejected) -> JSONResponse:
        return error_response(422, str(exc), {'file': str(exc)})

    @app.exception_handler(PermissionDenied)
    async def denied(request: Request, exc: PermissionDenied) -> JSONResponse:
        return error_response(403, str(exc))

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return error_response(404, str(exc))

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> JSONResponse:
        return error_response(409, str(exc))

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = {}
        for err in exc.errors():
            loc = [str(p) for p in err.get('loc', ()) if p not in ('body', 'query', 'path', 'header')]
            fields['.'.join(loc) or 'body'] = err.get('msg', 'invalid')
        return error_response(422, 'Some fields are not valid.', fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if not _is_api(request):
            return JSONResponse({'detail': exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)
