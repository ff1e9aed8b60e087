"""List queries: the filters, search, sort and paging of a list view, as one value.

`ListParams` round-trips through a URL query string, so a view can be bookmarked, shared
and saved. `build` turns it into a SELECT under the actor's visibility rule; the list page,
the board, the export and the API all use it, so they always show the same rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, String, and_, cast, func, literal_column, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean

from models.accounts import Actor
from models.engine import RecordType, for_model
from models.permissions import visible_query
from models.search import Use, for_count, full_text
from models.settings import day_start, get_settings
from models.values import coerce

COUNT_CAP = 10_000
RARE = 0.01  # the share of rows in a workflow's unfinished states SQLite is told to expect (see `Rare`)
MAX_PER_PAGE = 200


@dataclasses.dataclass
class ListParams:
    q: str = ''
    sort: str = ''  # field name, '-' prefix for descending; '' = the declaration's default
    page: int = 1
    per_page: int = 25
    filters: dict[str, str] = dataclasses.field(default_factory=dict)  # field → value ('' = any)
    date_from: str = ''  # YYYY-MM-DD, local
    date_to: str = ''
    mine: bool = False
    columns: list[str] = dataclasses.field(default_factory=list)  # [] = the declaration's list columns

    @classmethod
    def from_query(cls, rt: type[RecordType], query: dict[str, Any]) -> ListParams:
        """Read URL parameters, dropping whatever does not fit `rt` rather than failing."""
        p = cls(q=str(query.get('q', ''))[:200], sort=str(query.get('sort', '')))
        if p.sort.lstrip('-') not in rt.fields:
            p.sort = ''
        p.page = _int(query.get('page'), 1, 1, 10**7)
        p.per_page = _int(query.get('per_page'), 25, 1, MAX_PER_PAGE)
        p.filters = {
            k[2:]: str(v) for k, v in query.items() if k.startswith('f.') and k[2:] in filterable(rt) and str(v) != ''
        }
        p.date_from = _date_text(query.get('from'))
        p.date_to = _date_text(query.get('to'))
        p.mine = str(query.get('mine', '')) in ('1', 'true', 'yes')
        cols = [c for c in str(query.get('cols', '')).split(',') if c in rt.fields]
        p.columns = cols
        return p

    def to_query(self) -> dict[str, str]:
        out = {
            'q': self.q,
            'sort': self.sort,
            'page': str(self.page) if self.page > 1 else '',
            'per_page': str(self.per_page) if self.per_page != 25 else '',
            'from': self.date_from,
            'to': self.date_to,
            'mine': '1' if self.mine else '',
            'cols': ','.join(self.columns),
        }
        out.update({f'f.{k}': v for k, v in self.filters.items()})
        return {k: v for k, v in out.items() if v}

    def url(self, base: str) -> str:
        query = urlencode(self.to_query())
        return f'{base}?{query}' if query else base

    def visible_columns(self, rt: type[RecordType]) -> list[str]:
        return self.columns or list(rt.list_columns)


def filterable(rt: type[RecordType]) -> list[str]:
    names = list(rt.filters)
    if rt.workflow and rt.workflow.field.key not in names:
        names.insert(0, rt.workflow.field.key)
    if rt.assignee_field and rt.assignee_field not in names:
        names.append(rt.assignee_field)
    return names


def build(
    session: Session,
    actor: Actor,
    rt: type[RecordType],
    p: ListParams,
    *,
    sort: bool = True,
    counting: bool = False,
    paged: bool = True,
) -> Select[Any]:
    """The SELECT of what the list shows for `actor` (no paging). `counting`: it is only counted, as
    it is (`count`), which lets a search join its index. `paged`: a page of it is read (`p.page`), not
    every row (an export), which a search plans for."""
    stmt = visible_query(session, actor, rt)
    model = rt.model
    filters = [_filter(rt, name, value) for name, value in p.filters.items()]
    narrow = []  # conditions few rows meet, each with an index: a date range, 'mine' (and `Rare` filters)
    if rt.date_field and (p.date_from or p.date_to):
        first, last = (dt.date.fromisoformat(d) if d else None for d in (p.date_from, p.date_to))
        narrow.append(within_days(getattr(model, rt.date_field), first, last))
    if p.mine and (rt.owner_field or rt.assignee_field):
        narrow.append(or_(*[getattr(model, f) == actor.id for f in (rt.owner_field, rt.assignee_field) if f]))
    stmt = stmt.where(*filters, *narrow)
    if p.q.strip():
        few = bool(narrow) or any(isinstance(clause, Rare) for clause in filters)
        a_page = sort and paged
        newest_rows = _newest_rows(rt, p) if a_page else 0
        depth = p.page * p.per_page if a_page else 0
        unsearched = stmt

        def rows() -> Select[Any]:  # the list's ids in its order without the search: what a walk reads
            return _sorted(rt, unsearched, p.sort).with_only_columns(rt.model.id, maintain_column_froms=True)

        filtered = bool(filters or narrow)
        walkable = a_page and _indexed(rt, p.sort)
        use = Use(a_page, counting, newest_rows, filtered, few, depth, rows if walkable else None)
        stmt = stmt.where(search_clause(rt, p.q, session, use))
    if sort:
        stmt = _sorted(rt, stmt, p.sort)
    return stmt


def search_clause(rt: type[RecordType], text: str, session: Session | None = None, use: Use = Use()) -> Any:  # noqa: B008
    """Every word must appear in one of the search fields: through the full-text index where the
    table has one (`models.search`, words matched at the start of a word), else LIKE. `session` lets
    the index name the words that start so, and choose its plan by how many rows match and `use`."""
    words = [w for w in text.split() if w][:8]
    cols = [getattr(rt.model, n) for n in rt.search_fields]
    if not cols:
        cols = [cast(rt.title_field, String)]  # e.g. the id: ILIKE on an Integer is deprecated (an error in SA 2.1+)

    def like(word: str) -> Any:
        return or_(*[c.ilike(f'%{_escape(word)}%', escape='\\') for c in cols])

    return full_text(rt.model, list(rt.search_fields), words, like, session, use)


def _newest_rows(rt: type[RecordType], p: ListParams) -> int:
    """The rows up to the end of the page where the list's order is newest first (its ids downward;
    a record's id and `created_at` grow together), else 0."""
    if p.sort:
        return p.page * p.per_page if p.sort == '-created_at' and 'created_at' in rt.fields else 0
    return p.page * p.per_page if _newest_by_default(rt) else 0


@functools.cache
def _indexed(rt: type[RecordType], sort: str) -> bool:
    """Whether an index gives the list's order (its default, or a column an index starts with, by itself
    or followed by the id, as the list orders), so that a page can be read by walking it; a reference's
    order (by the referred record's title) is not."""
    if not sort:
        return True
    name = sort.lstrip('-')
    if rt.fields[name].kind in ('ref', 'multi'):
        return False
    table = rt.model.__table__
    ordered = ([table.c[name]], [table.c[name], table.c.id])
    return any(list(index.columns)[:2] in ordered for index in table.indexes)


@functools.cache
def _newest_by_default(rt: type[RecordType]) -> bool:
    newest = [rt.model.id.desc(), *([rt.model.created_at.desc()] if 'created_at' in rt.fields else [])]
    return any(rt.default_sort.compare(order) for order in newest)


def _escape(word: str) -> str:
    return word.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')


def _filter(rt: type[RecordType], name: str, value: str) -> Any:
    field = rt.fields[name]
    col = getattr(rt.model, name)
    if field.kind == 'multi':
        return col.any(field.target.id == _int(value, 0, 0, 2**53))
    if value == '-':
        return col.is_(None)
    values = value.split('|')
    try:
        coerced = [coerce(field, v, get_settings().tz) for v in values]
    except ValueError:
        return col.is_(None) & col.is_not(None)  # an impossible value matches nothing
    clause = col.in_(coerced) if len(coerced) > 1 else col == coerced[0]
    flow = rt.workflow
    unfinished = flow and flow.final and name == flow.field.key and not set(coerced) & set(flow.final)
    return Rare(clause) if unfinished else clause


class Rare(ColumnElement[bool]):
    """A condition few rows meet. Records end in a workflow's final states, so those in the others
    are few (at a million hiccups, 0.4 % are open). SQLite's statistics give only the average per
    status (a sixth), so a staff member's "open" count took the indexes of their visibility rule
    (every row of their department) over the status index: 70 ms against 3. `likelihood` tells
    SQLite; other databases get the condition as it is."""

    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True
    _traverse_internals = [('clause', InternalTraversal.dp_clauseelement)]  # the cache key: the condition

    def __init__(self, clause: Any) -> None:
        self.clause = clause


@compiles(Rare)
def _rare_default(element: Rare, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clause, **kw)


@compiles(Rare, 'sqlite')
def _rare_sqlite(element: Rare, compiler: Any, **kw: Any) -> str:
    return f'likelihood({compiler.process(element.clause, **kw)}, {RARE})'


def _sorted(rt: type[RecordType], stmt: Select[Any], sort: str) -> Select[Any]:
    if not sort:
        return stmt.order_by(rt.default_sort, rt.model.id.desc())
    name = sort.lstrip('-')
    desc = sort.startswith('-')
    field = rt.fields[name]
    col: Any = getattr(rt.model, name)
    if field.kind == 'multi':
        return stmt.order_by(rt.default_sort, rt.model.id.desc())
    if field.kind == 'ref' and (target_rt := for_model(field.target)) is not None:
        target = aliased(field.target)
        stmt = stmt.outerjoin(target, col == target.id)
        col = getattr(target, target_rt.title_field.key)
    order = col.desc() if desc else col.asc()
    return stmt.order_by(order, rt.model.id.desc() if desc else rt.model.id.asc())


def result_key(session: Session, actor: Actor, rt: type[RecordType], p: ListParams) -> tuple:
    """Equal for two readers exactly when their page and count are the same rows: the SELECT as the
    database gets it (visibility rule included) with its values, and the page. A search is keyed by
    its words: its SQL depends on the index (`models.search`: the words named, the plan), which would
    be read for the key alone, while the rows it finds depend on the words only."""
    return (
        rt.slug,
        *statement_key(session, build(session, actor, rt, dataclasses.replace(p, q=''))),
        tuple(p.q.split()),
        p.page,
        p.per_page,
        tuple(p.visible_columns(rt)),
    )


def statement_key(session: Session, stmt: Any) -> tuple[Any, tuple]:
    """The statement as the database gets it, and its values: equal keys read the same rows.
    SQLAlchemy's cache key of the statement (equal keys share one compiled SQL) where it has one: a
    tenth of the time of compiling it, and this runs for each open list at each change."""
    dialect = session.get_bind().dialect
    cache_key = stmt._generate_cache_key()
    if cache_key is not None:
        return (dialect.name, cache_key.key), tuple(repr(b.effective_value) for b in cache_key.bindparams)
    compiled = stmt.compile(dialect=dialect)
    return str(compiled), tuple(sorted((name, repr(value)) for name, value in compiled.params.items()))


def page(session: Session, actor: Actor, rt: type[RecordType], p: ListParams) -> list[Any]:
    """The page's records in the list's order. The ids come first, alone: where an index holds the
    order and what the visibility rule and filters read, the rows passed over (a staff member's
    list skips the rows of other departments; page 200 skips 4,975) are never read, only the page's."""
    ids = list(dict.fromkeys(session.scalars(page_ids(session, actor, rt, p))))
    if not ids:
        return []
    rows = {r.id: r for r in session.scalars(select(rt.model).where(rt.model.id.in_(ids))).unique()}
    return [rows[i] for i in ids if i in rows]


def page_ids(session: Session, actor: Actor, rt: type[RecordType], p: ListParams) -> Select[Any]:
    """The SELECT of the ids on the page, in the list's order."""
    stmt = build(session, actor, rt, p).with_only_columns(rt.model.id, maintain_column_froms=True)
    return stmt.limit(p.per_page).offset((p.page - 1) * p.per_page)


def count(
    session: Session, actor: Actor, rt: type[RecordType], p: ListParams, cap: int = COUNT_CAP
) -> tuple[int, bool]:
    """How many rows match, counting at most `cap` + 1; returns (count, capped)."""
    stmt = for_count(build(session, actor, rt, p, sort=False, counting=True).with_only_columns(rt.model.id))
    inner = stmt.limit(cap + 1).subquery()
    n = session.scalar(select(func.count()).select_from(inner)) or 0
    return (cap, True) if n > cap else (n, False)


def within_days(col: Any, first: dt.date | None, last: dt.date | None) -> Any:
    """`col` (a moment, stored in UTC) falls on the local days (TIMEZONE) `first` to `last`, both
    included; a missing bound leaves that side open."""
    bounds = []
    if first is not None:
        bounds.append(col >= day_start(first))
    if last is not None:
        bounds.append(col < day_start(last + dt.timedelta(days=1)))
    return and_(true(), *bounds)


def _date_text(value: Any) -> str:
    """An ISO date in the range a DATETIME holds (a day inside, so a time-zone shift stays in range), else ''."""
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return ''
    return day.isoformat() if dt.date(1000, 1, 2) <= day <= dt.date(9999, 12, 30) else ''


def _int(value: Any, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value)))
    except (TypeError, ValueError):
        return default


def duration_hours(session: Session, begin: Any, finish: Any) -> Any:
    """Hours between two datetime columns, in the dialect's own date arithmetic."""
    dialect = session.get_bind().dialect.name
    if dialect == 'sqlite':
        return (func.julianday(finish) - func.julianday(begin)) * 24.0
    if dialect in ('mysql', 'mariadb'):
        return func.timestampdiff(literal_column('SECOND'), begin, finish) / 3600.0
    return func.extract('epoch', finish - begin) / 3600.0
