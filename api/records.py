"""The JSON API of every record type, generated from the same declarations as the pages.

(No `from __future__ import annotations` here: FastAPI must see the generated body models.)

Every endpoint calls the same engine functions as the pages (`models.query`,
`models.records`, `reports.export`), so permissions, visibility, validation and audit are
one code path whichever way a record is reached.
"""

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from api import schemas
from api.auth import api_actor
from api.errors import RESPONSES, ApiError
from models import attachments, comments, db, query, records
from models.accounts import Actor
from models.engine import REGISTRY, RecordType
from models.permissions import get_visible, require
from models.query import MAX_PER_PAGE, ListParams, filterable
from models.settings import get_settings

BASE = '/api/v1'


def router() -> APIRouter:
    r = APIRouter(prefix=BASE, responses=RESPONSES)
    for rt in REGISTRY.values():
        _record_routes(r, rt)
    r.add_api_route(
        '/attachments/{attachment_id}',
        download,
        methods=['GET'],
        tags=['attachments'],
        summary='Download an attachment',
        response_class=FileResponse,
        responses={200: {'content': {'application/octet-stream': {}}}},
    )
    return r


def _list_parameters(rt: type[RecordType]) -> list[dict[str, Any]]:
    """The list's query parameters, documented (they are read by the list view's own parser)."""
    string = {'type': 'string'}
    params = [
        ('q', string, 'Free-text search'),
        (
            'sort',
            {'type': 'string', 'enum': sorted([*rt.fields, *[f'-{n}' for n in rt.fields]])},
            'Field to sort by, "-" first for descending',
        ),
        ('page', {'type': 'integer', 'minimum': 1}, 'Page number, from 1'),
        ('per_page', {'type': 'integer', 'minimum': 1, 'maximum': MAX_PER_PAGE}, 'Rows per page'),
        ('from', {'type': 'string', 'format': 'date'}, f'{rt.date_field or "date"} on or after (local date)'),
        ('to', {'type': 'string', 'format': 'date'}, f'{rt.date_field or "date"} on or before (local date)'),
        ('mine', {'type': 'boolean'}, 'Only records you own or are assigned'),
        ('cols', string, 'Comma-separated fields (export only)'),
    ]
    params += [
        (f'f.{n}', string, f'Filter on {rt.fields[n].label}: a value, several joined by "|", or "-" for none')
        for n in filterable(rt)
    ]
    return [{'name': n, 'in': 'query', 'required': False, 'schema': s, 'description': d} for n, s, d in params]


def _record_routes(r: APIRouter, rt: type[RecordType]) -> None:
    out = schemas.output_model(rt)
    page_model = schemas.page_model(rt, out)
    create_model = schemas.input_model(rt, list(rt.form_fields), 'Create', partial=False, version=False)
    editable = [n for n in rt.form_fields if n not in rt.readonly_fields]
    update_model = schemas.input_model(rt, editable, 'Update', partial=True, version=True)
    base, item, tags = f'/{rt.slug}', f'/{rt.slug}/{{record_id}}', [rt.label_plural]
    extra = {'parameters': _list_parameters(rt)}

    def list_records(request: Request, actor: Actor = Depends(api_actor)) -> Any:
        params = ListParams.from_query(rt, dict(request.query_params))
        with db.session() as s:
            require(s, actor, rt, 'view')
            rows = query.page(s, actor, rt, params)
            total, capped = query.count(s, actor, rt, params)
            items = [schemas.to_json(rt, x) for x in rows]
        more = params.page * params.per_page < total or (capped and len(items) == params.per_page)
        nxt = ListParams(**{**vars(params), 'page': params.page + 1}).url(f'{BASE}/{rt.slug}') if more else None
        return {
            'items': items,
            'page': params.page,
            'per_page': params.per_page,
            'total': total,
            'total_capped': capped,
            'next': nxt,
        }

    def get_record(record_id: int, actor: Actor = Depends(api_actor)) -> Any:
        with db.session() as s:
            return schemas.to_json(rt, get_visible(s, actor, rt, record_id))

    def create_record(body: create_model, actor: Actor = Depends(api_actor)) -> Any:  # type: ignore[valid-type]
        with db.session() as s:
            return schemas.to_json(rt, records.create(s, actor, rt, body.model_dump(exclude_unset=True)))

    def update_record(record_id: int, body: update_model, actor: Actor = Depends(api_actor)) -> Any:  # type: ignore[valid-type]
        data = body.model_dump(exclude_unset=True)
        version = data.pop('version')
        with db.session() as s:
            return schemas.to_json(rt, records.update(s, actor, rt, record_id, data, version))

    def delete_record(record_id: int, actor: Actor = Depends(api_actor)) -> Any:
        with db.session() as s:
            return {'result': records.delete(s, actor, rt, record_id)}

    def export_records(request: Request, actor: Actor = Depends(api_actor)) -> FileResponse:
        from reports.export import export_filename, export_list

        params = ListParams.from_query(rt, dict(request.query_params))
        folder = get_settings().data_dir / 'exports'
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f'api-{id(request)}-{export_filename(rt)}'
        export_list(actor, rt, params, path)
        return FileResponse(
            path,
            filename=export_filename(rt),
            background=BackgroundTask(path.unlink, missing_ok=True),
            media_type='application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        )

    def list_comments(record_id: int, actor: Actor = Depends(api_actor)) -> Any:
        with db.session() as s:
            record = get_visible(s, actor, rt, record_id)
            return [
                schemas.CommentOut(id=c.id, author=c.author, body=c.body, at=c.at)
                for c in comments.for_record(s, rt.slug, record.id)
            ]

    def add_comment(record_id: int, body: schemas.CommentIn, actor: Actor = Depends(api_actor)) -> Any:
        with db.session() as s:
            c = records.comment(s, actor, rt, record_id, body.body)
            return schemas.CommentOut(id=c.id, author=c.author, body=c.body, at=c.at)

    def list_attachments(record_id: int, actor: Actor = Depends(api_actor)) -> Any:
        with db.session() as s:
            record = get_visible(s, actor, rt, record_id)
            return [_attachment(a) for a in attachments.for_record(s, rt.slug, record.id)]

    def add_attachment(record_id: int, file: UploadFile = File(...), actor: Actor = Depends(api_actor)) -> Any:
        limit = get_settings().max_upload_mb * 2**20
        data = file.file.read(limit + 1)
        with db.session() as s:
            return _attachment(records.attach(s, actor, rt, record_id, file.filename or 'upload', data))

    name = rt.slug
    route = r.add_api_route
    route(
        base,
        list_records,
        methods=['GET'],
        response_model=page_model,
        tags=tags,
        openapi_extra=extra,
        summary=f'List {rt.label_plural.lower()}',
        operation_id=f'list_{name}',
    )
    route(
        f'{base}/export',
        export_records,
        methods=['GET'],
        tags=tags,
        openapi_extra=extra,
        response_class=FileResponse,
        operation_id=f'export_{name}',
        summary=f"Export {rt.label_plural.lower()} to Excel (the list's filters and sort)",
        responses={200: {'content': {'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': {}}}},
    )
    route(
        base,
        create_record,
        methods=['POST'],
        response_model=out,
        status_code=201,
        tags=tags,
        summary=f'Create a {rt.label.lower()}',
        operation_id=f'create_{name}',
    )
    route(
        item,
        get_record,
        methods=['GET'],
        response_model=out,
        tags=tags,
        operation_id=f'get_{name}',
        summary=f'One {rt.label.lower()}',
    )
    route(
        item,
        update_record,
        methods=['PATCH'],
        response_model=out,
        tags=tags,
        operation_id=f'update_{name}',
        summary=f'Change some fields of a {rt.label.lower()}',
    )
    route(
        item,
        delete_record,
        methods=['DELETE'],
        response_model=schemas.Deleted,
        tags=tags,
        operation_id=f'delete_{name}',
        summary=f'Delete a {rt.label.lower()}' + (' (deactivated instead while in use)' if rt.lookup else ''),
    )
    route(
        f'{item}/comments',
        list_comments,
        methods=['GET'],
        response_model=list[schemas.CommentOut],
        tags=tags,
        operation_id=f'list_{name}_comments',
        summary='Comments',
    )
    route(
        f'{item}/comments',
        add_comment,
        methods=['POST'],
        response_model=schemas.CommentOut,
        status_code=201,
        tags=tags,
        operation_id=f'add_{name}_comment',
        summary='Add a comment',
    )
    route(
        f'{item}/attachments',
        list_attachments,
        methods=['GET'],
        response_model=list[schemas.AttachmentOut],
        tags=tags,
        operation_id=f'list_{name}_attachments',
        summary='Attachments',
    )
    route(
        f'{item}/attachments',
        add_attachment,
        methods=['POST'],
        response_model=schemas.AttachmentOut,
        status_code=201,
        tags=tags,
        operation_id=f'add_{name}_attachment',
        summary='Upload an attachment',
    )
    for step in rt.workflow.transitions if rt.workflow else ():
        _transition_route(r, rt, step, out, item, tags)


def _transition_route(r: APIRouter, rt: type[RecordType], step: Any, out: Any, item: str, tags: list[str]) -> None:
    body_model = schemas.input_model(
        rt,
        step.field_names(),
        f'{step.name.title().replace("_", "")}Step',
        partial=True,
        version=False,
        required=step.required_names(),
    )

    def run_step(
        record_id: int,
        body: body_model,
        actor: Actor = Depends(api_actor),  # type: ignore[valid-type]
        version: int | None = None,
    ) -> Any:
        with db.session() as s:
            record = records.transition(
                s, actor, rt, record_id, step.name, body.model_dump(exclude_unset=True), version
            )
            return schemas.to_json(rt, record)

    sources = ', '.join(rt.workflow.state_label(x) for x in step.source)
    r.add_api_route(
        f'{item}/transitions/{step.name}',
        run_step,
        methods=['POST'],
        response_model=out,
        tags=tags,
        operation_id=f'{rt.slug}_{step.name}',
        summary=f'{step.title} (from {sources} to {rt.workflow.state_label(step.target)})',
    )


def _attachment(a: attachments.Attachment) -> schemas.AttachmentOut:
    return schemas.AttachmentOut(
        id=a.id,
        filename=a.filename,
        content_type=a.content_type,
        size=a.size,
        uploaded_at=a.uploaded_at,
        url=f'{BASE}/attachments/{a.id}',
    )


def download(attachment_id: int, actor: Actor = Depends(api_actor)) -> FileResponse:
    with db.session() as s:
        row, path = records.attachment_for(s, actor, attachment_id)
    if not Path(path).is_file():
        raise ApiError(404, 'The file is no longer stored.')
    return FileResponse(
        path, media_type=row.content_type, filename=row.filename, headers={'X-Content-Type-Options': 'nosniff'}
    )
