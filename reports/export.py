"""Excel export of exactly what a list view shows: same rows, order, columns and visibility.

`export_list` is slow for big tables, so callers run it off the event loop (e.g.
``await run.io_bound(export_list, actor, rt, params, path, progress)``); it opens its own
sessions. Rows are streamed from the database a chunk at a time (``yield_per``) into the
row-wise writer in `reports.xlsx`, so memory stays flat however many rows match.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models import audit, db
from models.accounts import Actor
from models.engine import Field, RecordType, for_model
from models.permissions import require
from models.query import ListParams, build
from models.settings import get_settings
from models.values import display, ref_titles
from reports import xlsx

#: Rows fetched from the database (and references resolved) per round trip.
CHUNK = 1000

#: How one value becomes one cell: (field, value, id → title of its references or None) → cell value.
#: For a ``multi`` field the value is a list of (id, title) pairs.
CellFn = Callable[[Field, Any, dict[int, str] | None], Any]


def export_list(
    actor: Actor,
    rt: type[RecordType],
    params: ListParams,
    path: str | Path,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the list view of `rt` under `params` for `actor` to the .xlsx file `path`; return the row count.

    Headers are the field labels of ``params.visible_columns(rt)``; references show the
    referenced record's title, multi fields their titles joined, enums their labels and
    datetimes the local time (settings TIMEZONE). Refused with `PermissionDenied` without
    the 'export' permission; a successful export leaves an audit row with the row count and
    the view's query. `progress` is called with the rows written so far.
    """
    names = params.visible_columns(rt)
    unknown = [n for n in names if n not in rt.fields]
    if unknown:
        raise ValueError(f'{rt.label_plural} have no fields {", ".join(unknown)}')
    fields = [rt.fields[n] for n in names]
    tz = get_settings().tz
    path = Path(path)

    def cell(field: Field, value: Any, refs: dict[int, str] | None) -> Any:
        return _shown(field, value, refs, tz)

    count = None
    try:
        with db.session() as session:
            require(session, actor, rt, 'export')
            stmt = build(session, actor, rt, params, paged=False)  # every row: a search plans for all
            columns = [xlsx.Column(f.label, f.kind) for f in fields]
            count = xlsx.write(path, rt.label_plural, columns, stream_rows(session, rt, stmt, names, cell), progress)
            audit.record(
                session, actor, 'export', record_type=rt.slug, changes={'rows': count, 'query': params.to_query()}
            )
    except BaseException:
        if count is not None:  # written, but its audit row was not saved: no file without one
            path.unlink(missing_ok=True)
        raise
    return count


def export_filename(rt: type[RecordType], now: dt.datetime | None = None) -> str:
    """A download name like ``departments-2026-11-22-1430.xlsx`` in local time."""
    local = (now or dt.datetime.now(dt.UTC)).astimezone(get_settings().tz)
    return f'{rt.slug}-{local:%Y-%m-%d-%H%M}.xlsx'


def stream_rows(
    session: Session, rt: type[RecordType], stmt: Select[Any], names: Sequence[str], cell: CellFn
) -> Iterator[tuple[Any, ...]]:
    """The records `stmt` selects (a `models.query.build` SELECT), as tuples of cells for `names`.

    Only the needed columns are fetched, `CHUNK` rows per round trip with ``yield_per`` (a
    server-side cursor on MySQL). References and multi fields are resolved per chunk on a
    second session: a streaming MySQL connection cannot run another query until the stream
    is read to the end.
    """
    model = rt.model
    fields = [rt.fields[n] for n in names]
    scalars = list(dict.fromkeys(f.name for f in fields if f.kind != 'multi' and f.name != 'id'))
    refs = [n for n in scalars if rt.fields[n].kind == 'ref']
    multis = list(dict.fromkeys(f.name for f in fields if f.kind == 'multi'))
    position = {'id': 0} | {n: i + 1 for i, n in enumerate(scalars)}
    stmt = stmt.with_only_columns(model.id, *(getattr(model, n) for n in scalars)).execution_options(yield_per=CHUNK)
    result = session.execute(stmt)
    with db.session() if refs or multis else contextlib.nullcontext() as aux:
        for chunk in result.partitions():
            titles = ref_titles(aux, rt, chunk, refs) if refs else {}
            ids = [row[0] for row in chunk]
            many = {n: _multi_titles(aux, rt, rt.fields[n], ids) for n in multis}
            for row in chunk:
                yield tuple(
                    cell(f, many[f.name].get(row[0], []), None)
                    if f.kind == 'multi'
                    else cell(f, row[position[f.name]], titles.get(f.name))
                    for f in fields
                )


def _multi_titles(session: Session, rt: type[RecordType], field: Field, ids: list[int]) -> dict[int, list[tuple]]:
    """record id → [(id, title), …] of the values of multi field `field`, sorted by title."""
    target = field.target
    target_rt = for_model(target)
    title = target_rt.title_field if target_rt is not None else target.id
    stmt = (
        select(rt.model.id, target.id, title)
        .join(getattr(rt.model, field.name))
        .where(rt.model.id.in_(ids))
        .order_by(rt.model.id, title, target.id)
    )
    out: dict[int, list[tuple]] = {}
    for record_id, target_id, text in session.execute(stmt):
        out.setdefault(record_id, []).append((target_id, str(text)))
    return out


def _shown(field: Field, value: Any, refs: dict[int, str] | None, tz: Any) -> Any:
    """A value as the list view shows it, typed for Excel."""
    if value is None:
        return None
    kind = field.kind
    if kind == 'datetime':
        return value.astimezone(tz).replace(tzinfo=None)
    if kind == 'multi':
        return ', '.join(t for _, t in value)
    if kind in ('ref', 'enum'):
        return display(field, value, tz, refs)
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value
