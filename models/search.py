"""Full-text search for big tables: SQLite FTS5 and MariaDB/MySQL FULLTEXT, with LIKE as the fallback.

A list's search keeps one meaning on every database: *every word must appear in one of the
search fields*. Without a full-text index that is one ``ILIKE '%word%'`` per word and field,
which reads every row. For the tables in `FULLTEXT` the migration
``20261130_0005_hiccup_indexes_and_search`` builds an index instead:

- SQLite: an FTS5 table ``<table>_fts`` with external content (the table itself, no copy of the
  text), kept in sync by three triggers; the search is ``id IN (SELECT rowid FROM <table>_fts
  WHERE <table>_fts MATCH '"word"* AND …')``, or another form of it where many rows match (`Use`,
  `_plan`). A word's start is named as the index's words that start so where they are few
  (``("sample" OR "samples")``, read from ``<table>_fts_vocab``, `_named`).
- MariaDB/MySQL: a FULLTEXT index ``ix_<table>_fulltext`` on the search fields; the search is
  ``MATCH (fields) AGAINST ('+word* …' IN BOOLEAN MODE)``.

Both match a word at the *start* of a word in the text ("haem" finds "haemolysed"; "lysed"
does not, where LIKE did), case-insensitively. A word the index cannot answer exactly falls
back to LIKE for that word alone, while the other words still use the index: words with
punctuation (``HIC-2026-00042``: the index narrows by its parts, LIKE checks the whole),
and on MariaDB words shorter than ``innodb_ft_min_token_size`` (3) or on InnoDB's stopword
list, which its index leaves out. A search with no such word at all is plain LIKE.

InnoDB shows a row in its FULLTEXT index only once the inserting transaction commits, so a
hiccup is found by search from the next request on, not inside the transaction that made it.

Alembic: the FTS5 table (and its shadow tables) and the FULLTEXT index are not declared on
the models; `include_name` keeps autogenerate from proposing to drop them. A SQLite batch
migration that recreates a table in `FULLTEXT` drops its triggers: call
`create_sqlite_objects(op, table, rebuild=True)` after it.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, bindparam, column, table, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import Boolean

from models import db

#: table → its search fields, in the order of the index (must equal the record type's `search_fields`)
FULLTEXT: dict[str, tuple[str, ...]] = {'hiccups': ('reference', 'title', 'description')}

#: InnoDB's default full-text stopwords (INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD): never indexed.
INNODB_STOPWORDS = frozenset(
    {
        'a',
        'about',
        'an',
        'are',
        'as',
        'at',
        'be',
        'by',
        'com',
        'de',
        'en',
        'for',
        'from',
        'how',
        'i',
        'in',
        'is',
        'it',
        'la',
        'of',
        'on',
        'or',
        'that',
        'the',
        'this',
        'to',
        'was',
        'what',
        'when',
        'where',
        'who',
        'will',
        'with',
        'und',
        'www',
    }
)
MYSQL_MIN_TOKEN = 3
_TOKEN = re.compile(r'[^\W_]+')


def fts_table(table: str) -> str:
    return f'{table}_fts'


def fulltext_index(table: str) -> str:
    return f'ix_{table}_fulltext'


class _Match(ColumnElement[bool]):
    """Rows of `table` whose search fields hold every term: rendered per dialect (see the module doc).
    On SQLite `how.plan` says how the matches are used (`_plan`):

    - ``fetch``: looked up by id, the index driving (``id IN (SELECT rowid … MATCH …)``);
    - ``test``: each row that other indexes give is tested against the set of matches (``+id IN``);
      with `how.newer_than`, rows above that id against the set of the matches above it alone, so the
      set of every match is built only once the list reaches an older row;
    - ``join``: the index is joined and drives, its matches read one by one (a count stops at its cap).
    """

    type = Boolean()
    inherit_cache = False  # holds plain strings; statements with it are simply not cached
    _is_implicitly_boolean = True  # a predicate: no '= 1' appended where booleans are not native

    def __init__(
        self,
        id_column: Any,
        table: str,
        columns: Sequence[str],
        terms: Sequence[str],
        how: _How | None = None,
    ) -> None:
        self.id_column = id_column
        self.table = table
        self.columns = tuple(columns)
        self.terms = tuple(terms)
        self.how = how or _How()


@dataclasses.dataclass(frozen=True)
class _How:
    """SQLite: how a search uses its index (`_plan`, `_Match`), and the index's words for each
    searched word's start (`_named`)."""

    plan: str = 'fetch'
    named: Mapping[str, Sequence[str]] | None = None
    newer_than: int | None = None


@functools.cache
def _fts_from(name: str) -> Any:
    """The FTS5 table of `name` as a FROM item, its rowid a column (one object: the statement's FROM
    and the join's condition must name the same)."""
    return table(fts_table(name), column('rowid'))


def _fts_query(terms: Sequence[Sequence[str]], named: Mapping[str, Sequence[str]] | None = None) -> str:
    """The FTS5 query 'every term': each the phrase of its tokens, its last one the start of a word. Where
    `named` gives the index's words that start with a last token, the phrase is one of them instead."""

    def term(tokens: Sequence[str]) -> str:
        *head, last = tokens
        words = (named or {}).get(last)
        if not words:
            return f'"{" ".join(tokens)}"*'
        return '(' + ' OR '.join(f'"{" ".join([*head, word])}"' for word in words) + ')'

    return ' AND '.join(term(t) for t in terms)


@compiles(_Match, 'sqlite')
def _match_sqlite(element: _Match, compiler: Any, **kw: Any) -> str:
    fts = fts_table(element.table)
    how = element.how
    query = compiler.process(bindparam(None, _fts_query(element.terms, how.named), unique=True), **kw)
    matches = f'SELECT rowid FROM {fts} WHERE {fts} MATCH {query}'
    if how.plan == 'join':
        # '+ 0' keeps FTS5 from being asked for one rowid at a time: it drives, the table is looked up by id
        joined = element.id_column == _fts_from(element.table).c.rowid + 0
        return f'({compiler.process(joined, **kw)} AND {fts} MATCH {query})'
    row_id = compiler.process(element.id_column, **kw)
    if how.plan == 'fetch':
        return f'{row_id} IN ({matches})'
    # '+' keeps SQLite from looking the matches up by id: the indexes of the order and filters drive
    if how.newer_than is None:
        return f'+{row_id} IN ({matches})'
    newer = compiler.process(bindparam(None, how.newer_than, unique=True), **kw)
    newest = f'+{row_id} IN ({matches} AND rowid > {newer})'
    return f'CASE WHEN +{row_id} > {newer} THEN {newest} ELSE +{row_id} IN ({matches}) END'


@compiles(_Match, 'mysql')
@compiles(_Match, 'mariadb')
def _match_mysql(element: _Match, compiler: Any, **kw: Any) -> str:
    query = ' '.join(f'+{tok}*' for t in element.terms for tok in t)
    param = compiler.process(bindparam(None, query, unique=True), **kw)
    table = compiler.preparer.quote(element.table)
    columns = ', '.join(f'{table}.{compiler.preparer.quote(c)}' for c in element.columns)
    return f'MATCH ({columns}) AGAINST ({param} IN BOOLEAN MODE)'


def _mysql_indexed(token: str) -> bool:
    return len(token) >= MYSQL_MIN_TOKEN and token.lower() not in INNODB_STOPWORDS


@dataclasses.dataclass(frozen=True)
class Use:
    """What a list wants of its search, by which SQLite's plan is chosen (`_plan`)."""

    sorted_page: bool = False  # a page in the list's order
    counting: bool = False  # the statement is counted as it is, at the top (a count may join the index)
    newest_rows: int = 0  # the page lies within the first `newest_rows` of an order newest first (ids down)
    filtered: bool = False  # other conditions than the reader's visibility narrow the rows
    few: bool = False  # one of them few rows meet, with an index: an unfinished state, a date range, 'mine'


def full_text(
    model: Any,
    fields: Sequence[str],
    words: Sequence[str],
    like: Callable[[str], Any],
    session: Any = None,
    use: Use = Use(),
) -> Any:
    """The clause 'every word in one of `fields`': the full-text index where `model` has one, else
    ``like(word)`` for each word. `like` builds the LIKE clause of one word. With `session`, on SQLite
    a word's start is searched as the index's words that start so (`_named`), and the matches are
    used as `use` is best served (`_plan`)."""
    table = model.__table__.name
    if not words or FULLTEXT.get(table) != tuple(fields):
        return and_(*[like(w) for w in words])
    parts = [(_TOKEN.findall(w), like(w), _TOKEN.findall(w) != [w]) for w in words]
    if not any(tokens for tokens, _, _ in parts):
        return and_(*[clause for _, clause, _ in parts])
    if session is None or session.get_bind().dialect.name != 'sqlite':
        return _FullText(model.id, table, fields, parts)
    terms = [tokens for tokens, _, _ in parts if tokens]
    named = _named(session, table, {tokens[-1] for tokens in terms})
    return _FullText(model.id, table, fields, parts, _plan(session, table, _fts_query(terms, named), use, named))


#: A word's start ("sample"*) is a prefix query to FTS5, which first merges the lists of every word of the
#: index that starts so into one, whatever few rows are wanted: at a million hiccups 'sample' and
#: 'samples' are 455,000 hiccups, 17 ms before the first row. Named one by one ("sample" OR "samples"), the
#: words are read as far as needed: the first row in 0.3 ms, a count up to 10,001 in 1.2 ms instead of
#: 18 (bench/README.md, session 16). Even the start 'a' (86 words, every hiccup) is quicker named: a
#: count up to 10,001 in 4 ms, plus 52 ms to read its words once, against 108 ms each time as a prefix.
#: A start that more words than this begin stays a prefix query, as do starts that are not plain ASCII
#: letters and digits (which only FTS5 itself folds right).
NAME_UP_TO = 64
_PLAIN = re.compile(r'[A-Za-z0-9]+')
#: (table, start of a word, NAME_UP_TO) → (`_stamp` when read, the words); see `_named`
_NAMED: dict[tuple[str, str, int], tuple[tuple, tuple[str, ...]]] = {}
STRUCTURE_ROWID = 10  # FTS5 keeps its segments' list, rewritten by every write, in this row of <table>_data


def _named(session: Any, table: str, starts: set[str]) -> dict[str, tuple[str, ...]]:
    """start of a word → the words of the index that start so, for the `starts` that at most `NAME_UP_TO`
    words begin. They are read from the index's vocabulary (``<fts>_vocab``, migration 0013) and kept
    while `_stamp` stays the same. Inside a transaction that wrote (which may yet roll back) they are
    read but not kept."""
    plain = sorted(s for s in starts if _PLAIN.fullmatch(s))
    if not plain:
        return {}
    conn = session.connection()
    writing = conn.connection.dbapi_connection.in_transaction  # pysqlite begins only before a write
    stamp = _stamp(conn, table)
    vocabulary = text(f'SELECT term FROM {fts_table(table)}_vocab WHERE term >= :low AND term < :high LIMIT :n')
    out = {}
    for start in plain:
        low = start.lower()
        key = (table, low, NAME_UP_TO)
        held = None if writing else _NAMED.get(key)
        if held is None or held[0] != stamp:
            high = low[:-1] + chr(ord(low[-1]) + 1)  # ASCII: every word starting with `low` sorts before it
            words = tuple(conn.execute(vocabulary, {'low': low, 'high': high, 'n': NAME_UP_TO + 1}).scalars())
            held = (stamp, words)
            if not writing:
                if len(_NAMED) > 4096:
                    _NAMED.clear()
                _NAMED[key] = held
        if 0 < len(held[1]) <= NAME_UP_TO:
            out[start] = held[1]
    return out


def _stamp(conn: Any, table: str) -> tuple:
    """What changes whenever the index's words may have: its structure record, which FTS5 rewrites with
    every write; the schema's version (a migration that rebuilds the index makes its triggers again,
    and a rebuilt index starts its structure record over); and the database the process is bound to
    (`db.generation`: another database may have the same history of writes)."""
    fts = fts_table(table)
    structure = conn.execute(text(f'SELECT block FROM {fts}_data WHERE id = {STRUCTURE_ROWID}')).scalar()
    return db.generation(), conn.exec_driver_sql('PRAGMA schema_version').scalar(), structure or b''


#: A search matching more rows than this is not looked up by id: a page walks the index of the list's
#: order, testing each row against the matches, and stops at the page: at a million hiccups a word in
#: 2.6 % of them (26,000) takes 4 ms that way, against 170 ms to fetch every match and sort them; a
#: count with filters lets their indexes give the rows (the open hiccups that match two common words:
#: 15 ms, against 78 to look 54,000 matches up). Fewer matches are looked up by id (a word with no match
#: would walk the whole index). One probe (`OFFSET`) tells the two apart, in under 1 ms, without counting.
WALK_FROM = 2000
#: A page within this many rows of an order newest first tests the rows it walks against the newest
#: `WALK_FROM` matches alone (the probe's row is the oldest of them), until it reaches an older row.
#: Two common words at a million hiccups: the first page in 0.7 ms, against 14 to build the set of
#: all 54,000 matches first. Deeper pages reach older rows anyway, and pay for both sets.
NEWEST_ROWS = WALK_FROM // 8


def _plan(session: Any, table: str, query: str, use: Use, named: Mapping[str, Sequence[str]]) -> _How:
    """SQLite's use of the matches (see `_Match`) and, newest first, the id above which the newest are.

    A count of every row a reader sees (`Use.counting`: the statement is counted as it is) joins the
    index, which reads its matches only as far as the cap (two common words at a million hiccups: 5 ms
    against 18 to build the set of 54,000 matches first). Where a condition few rows meet narrows the
    rows and the matches are many, those rows are tested against the matches (the open ones: 15 ms
    against 78 to look the matches up); otherwise the matches are looked up, as for other filters (a
    department's rows are more than the matches: testing them took longer)."""
    if use.counting and not use.filtered:
        return _How('join', named)
    if not use.sorted_page and not use.few:
        return _How('fetch', named)
    newest_first = use.sorted_page and 0 < use.newest_rows <= NEWEST_ROWS
    fts = fts_table(table)
    order = 'ORDER BY rowid DESC' if newest_first else ''  # FTS5 reads backwards a little slower
    probe = text(f'SELECT rowid FROM {fts} WHERE {fts} MATCH :q {order} LIMIT 1 OFFSET :n')
    beyond = session.execute(probe, {'q': query, 'n': WALK_FROM}).scalar()  # newest first: the oldest of the newest
    if beyond is None:
        return _How('fetch', named)
    return _How('test', named, beyond if newest_first else None)


class _FullText(ColumnElement[bool]):
    """The index clause plus the LIKE checks it cannot do itself (see the module doc)."""

    type = Boolean()
    inherit_cache = False
    _is_implicitly_boolean = True

    def __init__(
        self,
        id_column: Any,
        table: str,
        columns: Sequence[str],
        parts: list[tuple],
        how: _How | None = None,
    ) -> None:
        self.id_column, self.table, self.columns = id_column, table, tuple(columns)
        self.parts = parts  # per word: (its tokens, its LIKE clause, whether LIKE must check it)
        self.how = how or _How()  # SQLite: how the index is used

    @property
    def _from_objects(self) -> list[Any]:
        return [_fts_from(self.table)] if self.how.plan == 'join' else []


@compiles(_FullText, 'sqlite')
def _full_sqlite(element: _FullText, compiler: Any, **kw: Any) -> str:
    terms = [tokens for tokens, _, _ in element.parts if tokens]
    match = _Match(element.id_column, element.table, element.columns, terms, element.how)
    exact = [clause for _, clause, punctuated in element.parts if punctuated]
    return compiler.process(and_(match, *exact).self_group(), **kw)  # one condition under NOT or OR too


@compiles(_FullText, 'mysql')
@compiles(_FullText, 'mariadb')
def _full_mysql(element: _FullText, compiler: Any, **kw: Any) -> str:
    terms = [[tok for tok in tokens if _mysql_indexed(tok)] for tokens, _, _ in element.parts]
    # a word with punctuation ('HIC-2026-00042') is checked by LIKE anyway: InnoDB narrows fastest by its
    # longest part alone, where every part would make it intersect long lists ('HIC*' is every hiccup)
    terms = [
        [max(t, key=len)] if t and punctuated else t for t, (_, _, punctuated) in zip(terms, element.parts, strict=True)
    ]
    likes = [
        clause
        for tokens, clause, punctuated in element.parts
        if punctuated or not tokens or not all(_mysql_indexed(tok) for tok in tokens)
    ]
    if not any(terms):
        return compiler.process(and_(*[clause for _, clause, _ in element.parts]).self_group(), **kw)
    match = _Match(element.id_column, element.table, element.columns, [t for t in terms if t])
    return compiler.process(and_(match, *likes).self_group(), **kw)


@compiles(_FullText)
def _full_other(element: _FullText, compiler: Any, **kw: Any) -> str:
    return compiler.process(and_(*[clause for _, clause, _ in element.parts]).self_group(), **kw)


# ---- schema: used by the migration, and by batch migrations that recreate a table ----


def create_sqlite_objects(op: Any, table: str, *, rebuild: bool = True) -> None:
    """The FTS5 table of `table` and its sync triggers; `rebuild` indexes the rows already there."""
    fts, cols = fts_table(table), FULLTEXT[table]
    names = ', '.join(cols)
    new = ', '.join(f'new.{c}' for c in cols)
    old = ', '.join(f'old.{c}' for c in cols)
    op.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({names}, content='{table}', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(f'DROP TRIGGER IF EXISTS {fts}_ai')
    op.execute(f'DROP TRIGGER IF EXISTS {fts}_ad')
    op.execute(f'DROP TRIGGER IF EXISTS {fts}_au')
    op.execute(
        f'CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN '
        f'INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END'
    )
    op.execute(
        f'CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN '
        f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        f'CREATE TRIGGER {fts}_au AFTER UPDATE OF {names} ON {table} BEGIN '
        f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); "
        f'INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END'
    )
    if rebuild:
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def drop_sqlite_objects(op: Any, table: str) -> None:
    fts = fts_table(table)
    for suffix in ('ai', 'ad', 'au'):
        op.execute(f'DROP TRIGGER IF EXISTS {fts}_{suffix}')
    op.execute(f'DROP TABLE IF EXISTS {fts}')


def create_sqlite_vocabulary(op: Any, table: str) -> None:
    """``<fts>_vocab``: the words of `table`'s FTS5 index, one row each (`fts5vocab`, read by `_named`)."""
    fts = fts_table(table)
    op.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts}_vocab USING fts5vocab('{fts}', 'row')")


def drop_sqlite_vocabulary(op: Any, table: str) -> None:
    op.execute(f'DROP TABLE IF EXISTS {fts_table(table)}_vocab')


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Alembic `include_name`: leave the full-text objects made by hand in the migration alone."""
    if type_ == 'table' and name:
        return not any(name == fts_table(t) or name.startswith(fts_table(t) + '_') for t in FULLTEXT)
    if type_ == 'index' and name:
        return name not in {fulltext_index(t) for t in FULLTEXT}
    return True
