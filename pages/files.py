"""Attachment downloads: only through this route, which checks the record's visibility."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import FileResponse
from nicegui import app

from models import db, records
from models.permissions import NotFound
from pages.session import NotSignedIn, current_actor


def download(attachment_id: str) -> FileResponse:
    try:
        actor = current_actor()
        with db.session() as s:
            row, path = records.attachment_for(s, actor, attachment_id)
    except NotSignedIn:
        raise HTTPException(401, 'Sign in first.') from None
    except NotFound:
        raise HTTPException(404, 'No such file.') from None
    if not path.is_file():
        raise HTTPException(410, 'The file is no longer stored.')
    return FileResponse(
        path, media_type=row.content_type, filename=row.filename, headers={'X-Content-Type-Options': 'nosniff'}
    )


def mount() -> None:
    app.add_api_route('/files/{attachment_id}', download, methods=['GET'], include_in_schema=False)
