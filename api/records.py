"""The JSON API of every record type, generated from the same declarations as the pages.

(No `from __future__ import annotations` here: FastAPI must see the generated body models.)

Every endpoint calls the same engine functions as the pages (`models.query`,
`models.records`, `reports.export`), so permissions, visibility, validation and audit are
one code path whichever way a record is reached.
"""

import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from api import schemas
from api.auth import api_actor
from api.errors import ApiError, responses
from models import attachments, comments, db, query, records
from models.accounts import Actor
from models.engine import REGISTRY, RecordType
from models.permissions import get_visible, require
from models.query import MAX_PER_PAGE, ListParams, filterable
from models.settings import get_settings
from models.workflow import Transition

BASE = '/api/v1'
MAX_PAGE = 10**7
XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
YES_NO = ('1', 'true', 'yes', '0', 'false', 'no')

RecordId = Annotated[int, PathParam(ge=1, le=schemas.MAX_INT, description='The record id')]
AttachmentId = Annotated[int, PathParam(ge=1, le=schemas.MAX_INT, description='The attachment id')]
VersionQuery = Annotated[int | None, Query(ge=0, le=schemas.MAX_INT, description=schemas.VERSION_HELP)]
Caller = Annotated[Actor, Depends(api_actor)]

#: The error statuses each kind of operation may answer with (all are documented in OpenAPI).
READ = (401, 403, 422)  # list, export: 403 without the view or export permission
SEE = (401, 404, 422)  # one record or its comments/attachments: 404 when not visible
CREATE = (400, 401, 403, 409, 422)
CHANGE = (400, 401, 403, 404, 409, 422)  # update, workflow step
DELETE = (401, 403, 404, 409, 422)  # 409 when other records still refer to it
COMMENT = (400, 401, 404, 422)
ATTACH = (400, 401, 403, 404, 422)


@dataclasses.dataclass
class Operation:
    """One endpoint of a record type: where it lives, what it does, how it may fail."""

    method: str
    path: str  # below /api/v1/<slug>
    name: str  # operation id
    summary: str
    handler: Callable[..., Any]
    errors: tuple[int, ...]
    model: Any = None  # the JSON body of a success
    status: int = 200
    file: str = ''  # the media type of a success that is a file (then there is no model)
    parameters: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # query parameters read by hand


def router() -> APIRouter:
    r = APIRouter(prefix=BASE)
    for rt in REGISTRY.values():
        for op in _operations(rt):
            _add(r, op, f'/{rt.slug}{op.path}', rt.label_plural)
    download = Operation(
        'GET',
        '',
        'download_attachment',
        'Download an attachment',
        download_attachment,
        SEE,
        file='application/octet-stream',
    )
    _add(r, download, '/attachments/{attachment_id}', 'Attachments')
    return r


def _add(r: APIRouter, op: Operation, path: str, tag: str) -> None:
    documented = responses(*op.errors)
    if op.file:
        documented[200] = {'content': {op.file: {}}, 'description': 'The file'}
    r.add_api_route(
        path,
        op.handler,
        methods=[op.method],
        response_model=op.model,
        status_code=op.status,
        tags=[tag],
        operation_id=op.name,
        summary=op.summary,
        responses=documented,
        response_class=FileResponse if op.file else JSONResponse,
        openapi_extra={'parameters': op.parameters} if op.parameters else None,
    )


def _operations(rt: type[RecordType]) -> list[Operation]:
    out = schemas.output_model(rt)
    steps = rt.workflow.transitions if rt.workflow else ()
    return [
        *_read_operations(rt, out),
        *_write_operations(rt, out),
        *_comment_operations(rt),
        *_attachment_operations(rt),
        *[_transition_operation(rt, step, out) for step in steps],
    ]


# ---- list, export, get ----


def _read_operations(rt: type[RecordType], out: type[BaseModel]) -> list[Operation]:
    parameters = _list_parameters(rt)
    plural, one = rt.label_plural.lower(), rt.label.lower()

    def list_records(request: Request, actor: Caller) -> Any:
        params = _list_params(rt, request)
        with db.session() as s:
            require(s, actor, rt, 'view')
            rows = query.page(s, actor, rt, params)
            total, capped = query.count(s, actor, rt, params)
            items = [schemas.to_json(rt, x) for x in rows]
        more = params.page * params.per_page < total or (capped and len(items) == params.per_page)
        nxt = dataclasses.replace(params, page=params.page + 1).url(f'{BASE}/{rt.slug}') if more else None
        return {
            'items': items,
            'page': params.page,
            'per_page': params.per_page,
            'total': total,
            'total_capped': capped,
            'next': nxt,
        }

    def export_records(request: Request, actor: Caller) -> FileResponse:
        from reports.export import export_filename, export_list

        params = _list_params(rt, request)
        folder = get_settings().data_dir / 'exports'
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f'api-{secrets.token_hex(8)}-{export_filename(rt)}'
        export_list(actor, rt, params, path)
        cleanup = BackgroundTask(path.unlink, missing_ok=True)
        return FileResponse(path, filename=export_filename(rt), background=cleanup, media_type=XLSX)

    def get_record(record_id: RecordId, actor: Caller) -> Any:
        with db.session() as s:
            return schemas.to_json(rt, get_visible(s, actor, rt, record_id))

    page = schemas.page_model(rt, out)
    export = f"Export {plural} to Excel (the list's filters and sort)"
    return [
        Operation('GET', '', f'list_{rt.slug}', f'List {plural}', list_records, READ, page, parameters=parameters),
        Operation(
            'GET', '/export', f'export_{rt.slug}', export, export_records, READ, file=XLSX, parameters=parameters
        ),
        Operation('GET', '/{record_id}', f'get_{rt.slug}', f'One {one}', get_record, SEE, out),
    ]


def _list_parameters(rt: type[RecordType]) -> list[dict[str, Any]]:
    """The list's query parameters, documented (they are checked by `_list_params`)."""
    string = {'type': 'string'}
    params = [
        ('q', string, 'Free-text search'),
        ('sort', {'type': 'string', 'enum': _sort_keys(rt)}, 'Field to sort by, "-" first for descending'),
        ('page', {'type': 'integer', 'minimum': 1, 'maximum': MAX_PAGE}, 'Page number, from 1'),
        ('per_page', {'type': 'integer', 'minimum': 1, 'maximum': MAX_PER_PAGE}, 'Rows per page'),
        ('from', {'type': 'string', 'format': 'date'}, f'{rt.date_field or "date"} on or after (local date)'),
        ('to', {'type': 'string', 'format': 'date'}, f'{rt.date_field or "date"} on or before (local date)'),
        ('mine', {'type': 'boolean'}, 'Only records you own or are assigned'),
        ('cols', string, f'Comma-separated fields (export only): {", ".join(schemas.exposed(rt))}'),
    ]
    params += [
        (f'f.{n}', string, f'Filter on {rt.fields[n].label}: a value, several joined by "|", or "-" for none')
        for n in filterable(rt)
    ]
    return [{'name': n, 'in': 'query', 'required': False, 'schema': s, 'description': d} for n, s, d in params]


def _sort_keys(rt: type[RecordType]) -> list[str]:
    names = schemas.exposed(rt)
    return sorted([*names, *[f'-{n}' for n in names]])


def _list_params(rt: type[RecordType], request: Request) -> ListParams:
    """The list view's parameters from the query string; 422 naming each one that does not fit."""
    given = request.query_params
    known = {p['name'] for p in _list_parameters(rt)}
    errors = {name: 'No such parameter.' for name in given if name not in known}
    errors |= {name: message for name, check in _CHECKS.items() if name in given if (message := check(rt, given[name]))}
    if errors:
        raise ApiError(422, 'Some query parameters are not valid.', errors)
    return ListParams.from_query(rt, dict(given))


def _whole(low: int, high: int) -> Callable[[type[RecordType], str], str | None]:
    def check(rt: type[RecordType], value: str) -> str | None:
        try:
            ok = low <= int(value) <= high
        except ValueError:
            ok = False
        return None if ok else f'Enter a whole number from {low} to {high}.'

    return check


def _day(rt: type[RecordType], value: str) -> str | None:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or not schemas.FIRST_DAY <= day <= schemas.LAST_DAY:
        return f'Enter a date as YYYY-MM-DD, between {schemas.FIRST_DAY} and {schemas.LAST_DAY}.'
    return None


def _sort(rt: type[RecordType], value: str) -> str | None:
    return None if value in _sort_keys(rt) else f'Sort by one of: {", ".join(schemas.exposed(rt))}.'


def _yes_no(rt: type[RecordType], value: str) -> str | None:
    return None if value.lower() in YES_NO else 'Enter true or false.'


def _columns(rt: type[RecordType], value: str) -> str | None:
    unknown = [c for c in value.split(',') if c and c not in schemas.exposed(rt)]
    return f'No such fields: {", ".join(unknown)}.' if unknown else None


_CHECKS: dict[str, Callable[[type[RecordType], str], str | None]] = {
    'page': _whole(1, MAX_PAGE),
    'per_page': _whole(1, MAX_PER_PAGE),
    'sort': _sort,
    'from': _day,
    'to': _day,
    'mine': _yes_no,
    'cols': _columns,
}


# ---- create, update, delete ----


def _write_operations(rt: type[RecordType], out: type[BaseModel]) -> list[Operation]:
    create_model = schemas.input_model(rt, list(rt.form_fields), 'Create', partial=False, version=False)
    editable = [n for n in rt.form_fields if n not in rt.readonly_fields]
    update_model = schemas.input_model(rt, editable, 'Update', partial=True, version=True)
    one = rt.label.lower()

    def create_record(body: create_model, actor: Caller) -> Any:  # type: ignore[valid-type]
        with db.session() as s:
            return schemas.to_json(rt, records.create(s, actor, rt, body.model_dump(exclude_unset=True)))

    def update_record(record_id: RecordId, body: update_model, actor: Caller) -> Any:  # type: ignore[valid-type]
        data = body.model_dump(exclude_unset=True)
        version = data.pop('version')
        with db.session() as s:
            return schemas.to_json(rt, records.update(s, actor, rt, record_id, data, version))

    def delete_record(record_id: RecordId, actor: Caller) -> Any:
        with db.session() as s:
            return {'result': records.delete(s, actor, rt, record_id)}

    deleted = f'Delete a {one}' + (' (deactivated instead while in use)' if rt.lookup else '')
    return [
        Operation('POST', '', f'create_{rt.slug}', f'Create a {one}', create_record, CREATE, out, status=201),
        Operation(
            'PATCH', '/{record_id}', f'update_{rt.slug}', f'Change some fields of a {one}', update_record, CHANGE, out
        ),
        Operation('DELETE', '/{record_id}', f'delete_{rt.slug}', deleted, delete_record, DELETE, schemas.Deleted),
    ]


# ---- comments and attachments ----


def _comment_operations(rt: type[RecordType]) -> list[Operation]:
    def list_comments(record_id: RecordId, actor: Caller) -> Any:
        with db.session() as s:
            record = get_visible(s, actor, rt, record_id)
            return [_comment(c) for c in comments.for_record(s, rt.slug, record.id)]

    def add_comment(record_id: RecordId, body: schemas.CommentIn, actor: Caller) -> Any:
        with db.session() as s:
            return _comment(records.comment(s, actor, rt, record_id, body.body))

    path = '/{record_id}/comments'
    return [
        Operation('GET', path, f'list_{rt.slug}_comments', 'Comments', list_comments, SEE, list[schemas.CommentOut]),
        Operation(
            'POST',
            path,
            f'add_{rt.slug}_comment',
            'Add a comment',
            add_comment,
            COMMENT,
            schemas.CommentOut,
            status=201,
        ),
    ]


def _comment(c: comments.Comment) -> schemas.CommentOut:
    return schemas.CommentOut(id=c.id, author=c.author, body=c.body, at=c.at)


def _attachment_operations(rt: type[RecordType]) -> list[Operation]:
    def list_attachments(record_id: RecordId, actor: Caller) -> Any:
        with db.session() as s:
            record = get_visible(s, actor, rt, record_id)
            return [_attachment(a) for a in attachments.for_record(s, rt.slug, record.id)]

    def add_attachment(record_id: RecordId, actor: Caller, file: UploadFile = File(...)) -> Any:
        data = file.file.read(get_settings().max_upload_mb * 2**20 + 1)  # one byte over is enough to refuse it
        with db.session() as s:
            return _attachment(records.attach(s, actor, rt, record_id, file.filename or 'upload', data))

    path = '/{record_id}/attachments'
    return [
        Operation(
            'GET',
            path,
            f'list_{rt.slug}_attachments',
            'Attachments',
            list_attachments,
            SEE,
            list[schemas.AttachmentOut],
        ),
        Operation(
            'POST',
            path,
            f'add_{rt.slug}_attachment',
            'Upload an attachment (PDF, image, Office or text)',
            add_attachment,
            ATTACH,
            schemas.AttachmentOut,
            status=201,
        ),
    ]


def _attachment(a: attachments.Attachment) -> schemas.AttachmentOut:
    return schemas.AttachmentOut(
        id=a.id,
        filename=a.filename,
        content_type=a.content_type,
        size=a.size,
        uploaded_at=a.uploaded_at,
        url=f'{BASE}/attachments/{a.id}',
    )


def download_attachment(attachment_id: AttachmentId, actor: Caller) -> FileResponse:
    with db.session() as s:
        row, path = records.attachment_for(s, actor, attachment_id)
    if not Path(path).is_file():
        raise ApiError(404, 'The file is no longer stored.')
    return FileResponse(
        path, media_type=row.content_type, filename=row.filename, headers={'X-Content-Type-Options': 'nosniff'}
    )


# ---- workflow ----


def _transition_operation(rt: type[RecordType], step: Transition, out: type[BaseModel]) -> Operation:
    suffix = f'{step.name.title().replace("_", "")}Step'
    names = step.field_names()
    body_model = schemas.input_model(rt, names, suffix, partial=True, version=False, needed=step.required_names())

    def run_step(  # type: ignore[valid-type]
        record_id: RecordId, actor: Caller, body: body_model = Body(None), version: VersionQuery = None
    ) -> Any:
        data = body.model_dump(exclude_unset=True) if body is not None else {}
        with db.session() as s:
            return schemas.to_json(rt, records.transition(s, actor, rt, record_id, step.name, data, version))

    wf = rt.workflow
    sources = ', '.join(wf.state_label(x) for x in step.source)
    summary = f'{step.title} (from {sources} to {wf.state_label(step.target)})'
    path = f'/{{record_id}}/transitions/{step.name}'
    return Operation('POST', path, f'{rt.slug}_{step.name}', summary, run_step, CHANGE, out)
