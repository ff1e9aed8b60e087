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
- MariaDB/MySQL: a table of words ``<table>_words`` (one row per word of a row's search fields,
  folded to lower case without accents: `words_of`), kept by the ORM's flush (`_index_flushed`) and by
  bulk loaders (`index_new`); the search tests, looks up or joins it by each word's start
  (``word LIKE 'haemo%'``, `_plan_words`). It replaced InnoDB's FULLTEXT index (migration 0014), which
  evaluated a whole search before its first row (a common word's page and count 0.2 to 1 s at a million
  hiccups), skipped words under 3 letters and its stopwords, and showed a row only after its commit.

Both match a word at the *start* of a word in the text ("haem" finds "haemolysed"; "lysed"
does not, where LIKE did), case-insensitively. A word the index cannot answer exactly falls
back to LIKE for that word alone, while the other words still use the index: words with
punctuation (``HIC-2026-00042``: the index narrows by its parts (on MariaDB its longest part), LIKE
checks the whole), and on MariaDB words longer than `WORD_MAX`. A search with no such word at all is
plain LIKE.

Alembic: the FTS5 table (and its shadow tables) and the words table are not declared on
the models; `include_name` keeps autogenerate from proposing to drop them. A SQLite batch
migration that recreates a table in `FULLTEXT` drops its triggers: call
`create_sqlite_objects(op, table, rebuild=True)` after it.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, bindparam, column, delete, event, insert, inspect, select, table, text, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import iterate
from sqlalchemy.types import Boolean

from models import db

#: table → its search fields, in the order of the index (must equal the record type's `search_fields`)
FULLTEXT: dict[str, tuple[str, ...]] = {'hiccups': ('reference', 'title', 'description')}

MYSQL = ('mysql', 'mariadb')
#: MariaDB: a word of the text is kept to this many characters; a searched word longer is also checked by LIKE
WORD_MAX = 64
_TOKEN = re.compile(r'[^\W_]+')


def fts_table(table: str) -> str:
    return f'{table}_fts'


def fulltext_index(table: str) -> str:
    """InnoDB's FULLTEXT index of `table` (migrations 0005 to 0014)."""
    return f'ix_{table}_fulltext'


def words_table(table: str) -> str:
    return f'{table}_words'


def fold(text: str) -> str:
    """Lower case without accents ('Hämolyse' → 'hamolyse'): how MariaDB's words are kept and searched."""
    return ''.join(c for c in unicodedata.normalize('NFKD', text.lower()) if not unicodedata.combining(c))


def words_of(values: Iterable[Any]) -> set[str]:
    """The words of a row's search field values, as the words table keeps them."""
    return {word[:WORD_MAX] for value in values if value for word in _TOKEN.findall(fold(str(value)))}


class _Match(ColumnElement[bool]):
    """Rows of `table` whose search fields hold every term: rendered per dialect (see the module doc).
    On SQLite `how.plan` says how the matches are used (`_plan`):

    - ``fetch``: looked up by id, the index driving (``id IN (SELECT rowid … MATCH …)``);
    - ``test``: each row that other indexes give is tested against the set of matches (``+id IN``);
      with `how.newer_than`, rows above that id against the set of the matches above it alone, so the
      set of every match is built only once the list reaches an older row;
    - ``join``: the index is joined and drives, its matches read one by one (a count stops at its cap).

    On MariaDB each term is one word of the words table, and `how.plan` says the same of each: looked
    up (``id IN (SELECT id …)``), tested row by row (a scalar subquery), or, for `how.driver`, joined
    (a row once per word of the text that starts so: a count counts distinct ids, `models.query.count`).
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
    driver: str = ''  # MariaDB's 'join': the word whose rows of the words table are joined


@functools.cache
def _words_from(name: str) -> Any:
    """The words table of `name` as a FROM item (MariaDB's 'join')."""
    return table(words_table(name), column('id'), column('word'))


#: MariaDB: the index of each table by id with what its visibility rule reads (migration 0009)
ID_INDEX = {'hiccups': 'ix_hiccups_id_visibility'}


def for_count(stmt: Any) -> Any:
    """A count's SELECT of ids as its search needs it. Where it joins a words table (MariaDB's 'join'),
    which gives a match once per word of its text that starts so: distinct ids; and unless LIKE must read
    the texts too, each looked up in the table's index by id and what its visibility rule reads
    (`ID_INDEX`) rather than in its rows (a common word at a million hiccups: 17 ms against 38 for a
    manager, 42 against 91 for a staff member)."""
    joined = [e for e in iterate(stmt.whereclause) if isinstance(e, _FullText) and e.how.driver]
    if stmt.whereclause is None or not joined:
        return stmt
    stmt = stmt.distinct()
    search = joined[0]
    froms = {getattr(item, 'name', None): item for item in stmt.get_final_froms()}
    if search.table in ID_INDEX and search.table in froms and not _mysql_terms(search.parts)[1]:
        for dialect in MYSQL:  # a mariadb:// URL's dialect is 'mariadb'
            stmt = stmt.with_hint(froms[search.table], f'FORCE INDEX ({ID_INDEX[search.table]})', dialect)
    return stmt


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
    """Each term (one word of the words table) by `how.plan` (see `_Match`, `_plan_words`)."""
    how, words = element.how, compiler.preparer.quote(words_table(element.table))
    row_id = compiler.process(element.id_column, **kw)
    conditions = []
    for (word,) in element.terms:
        start = compiler.process(bindparam(None, f'{word}%', unique=True), **kw)
        if how.plan == 'join' and word == how.driver:
            joined = _words_from(element.table)
            pair = compiler.process(element.id_column == joined.c.id, **kw)
            conditions.append(f'{pair} AND {compiler.process(joined.c.word, **kw)} LIKE {start}')
        elif how.plan == 'fetch':
            conditions.append(f'{row_id} IN (SELECT sw.id FROM {words} AS sw WHERE sw.word LIKE {start})')
        else:  # a scalar subquery with LIMIT: MariaDB runs it for each row, never turning it into a join
            conditions.append(
                f'(SELECT 1 FROM {words} AS sw WHERE sw.id = {row_id} AND sw.word LIKE {start} LIMIT 1) IS NOT NULL'
            )
    return '(' + ' AND '.join(conditions) + ')'


@dataclasses.dataclass(frozen=True)
class Use:
    """What a list wants of its search, by which SQLite's plan is chosen (`_plan`)."""

    sorted_page: bool = False  # a page in the list's order
    counting: bool = False  # the statement is counted as it is, at the top (a count may join the index)
    newest_rows: int = 0  # the page lies within the first `newest_rows` of an order newest first (ids down)
    filtered: bool = False  # other conditions than the reader's visibility narrow the rows
    few: bool = False  # one of them few rows meet, with an index: an unfinished state, a date range, 'mine'
    depth: int = 0  # a sorted page: the rows up to its end
    #: a sorted page: the SELECT of the list's ids in its order without the search (the rows a walk reads)
    rows: Callable[[], Any] | None = dataclasses.field(default=None, compare=False)


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
    dialect = session.get_bind().dialect.name if session is not None else ''
    if dialect in MYSQL:
        words = [(word,) for word in _mysql_terms(parts)[0]]
        return _FullText(model.id, table, fields, parts, _plan_words(session, table, words, use) if words else None)
    if dialect != 'sqlite':
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


#: MariaDB: a word's rows of the words table counted up to this many, to find the rarest word of a search
SIZE_UP_TO = 20_000
#: MariaDB: a first page walks its list's order where, among the first `WALK_SAMPLE` rows of that order,
#: at least `WALK_HITS` match and enough for the page to need at most `WALK_ROWS` rows (see `_plan_words`)
WALK_SAMPLE = 2000
WALK_HITS = 3
WALK_ROWS = 5000


def _plan_words(session: Any, table: str, words: Sequence[tuple[str]], use: Use) -> _How:
    """MariaDB's use of the words table (see `_Match`).

    A count of every row a reader sees joins the rows of the search's rarest word, so that the count
    stops at its cap (`for_count`): a common word at a million hiccups in 16 to 41 ms, against 38 to 91
    to collect every match first, and 53 to 114 for InnoDB's FULLTEXT index before.

    A first page walks the list's order and tests each row (a lookup of the words table, about 5 µs)
    where the rows it would read first match often enough: 2 to 5 ms for a common word, against 75 to 105
    to collect and sort the matches. The first `WALK_SAMPLE` rows of the order are tested to tell, as far
    as the matches needed (a common word: 1 to 3 ms), where the rarest word has `WALK_FROM` rows at all:
    a common word can be rare among the rows a reader or filter leaves (an analyser's name, common in
    one department and absent in a staff member's own: walking all their rows took 2.2 s). Other lists,
    and deep pages, look the matches up, the database choosing how."""
    if use.counting and not use.filtered:
        return _How('join', driver=_rarest_first(session, table, words)[0][1])
    if not (use.sorted_page and use.rows is not None and use.depth <= NEWEST_ROWS):
        return _How('fetch')
    if _rarest_first(session, table, words)[0][0] < WALK_FROM:  # few matches anywhere: looked up at once
        return _How('fetch')
    needed = max(WALK_HITS, -(-use.depth * WALK_SAMPLE // WALK_ROWS))  # matches among the sample
    sample = use.rows().limit(WALK_SAMPLE).subquery()
    tests = _Match(sample.c.id, table, (), words, _How('test'))
    probe = select(sample.c.id).where(tests).limit(1).offset(needed - 1)  # stops at the needed match
    return _How('test') if session.execute(probe).first() is not None else _How('fetch')


def _rarest_first(session: Any, table: str, words: Sequence[tuple[str]]) -> list[tuple[int, str]]:
    """(its rows in the words table, counted up to `SIZE_UP_TO`; the word) of each word, the rarest
    first, then the longest."""
    return sorted(((_size(session, table, word), word) for (word,) in words), key=lambda p: (p[0], -len(p[1])))


#: (database, table, word) → (when counted, its rows in the words table up to `SIZE_UP_TO`)
_SIZES: dict[tuple, tuple[float, int]] = {}
SIZE_KEPT_FOR = 60.0  # seconds: a size only chooses a plan (4 ms a common word to count)


def _size(session: Any, table: str, word: str) -> int:
    """A word's rows in the words table, counted up to `SIZE_UP_TO`."""
    key, now = (db.generation(), table, word), time.monotonic()
    held = _SIZES.get(key)
    if held is None or now - held[0] > SIZE_KEPT_FOR:
        rows = f'SELECT 1 FROM {words_table(table)} WHERE word LIKE :w LIMIT {SIZE_UP_TO}'
        size = session.execute(text(f'SELECT COUNT(*) FROM ({rows}) t'), {'w': f'{word}%'}).scalar() or 0
        if len(_SIZES) > 4096:
            _SIZES.clear()
        held = _SIZES[key] = (now, size)
    return held[1]


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
        if self.how.plan != 'join':
            return []
        return [_words_from(self.table) if self.how.driver else _fts_from(self.table)]


@compiles(_FullText, 'sqlite')
def _full_sqlite(element: _FullText, compiler: Any, **kw: Any) -> str:
    terms = [tokens for tokens, _, _ in element.parts if tokens]
    match = _Match(element.id_column, element.table, element.columns, terms, element.how)
    exact = [clause for _, clause, punctuated in element.parts if punctuated]
    # one condition under NOT or OR too (but for the 'join' plan, which only a count asks for, at the top)
    return compiler.process(and_(match, *exact).self_group(), **kw)


@compiles(_FullText, 'mysql')
@compiles(_FullText, 'mariadb')
def _full_mysql(element: _FullText, compiler: Any, **kw: Any) -> str:
    words, likes = _mysql_terms(element.parts)
    if not words:
        return compiler.process(and_(*[clause for _, clause, _ in element.parts]).self_group(), **kw)
    match = _Match(element.id_column, element.table, element.columns, [(word,) for word in words], element.how)
    return compiler.process(and_(match, *likes).self_group(), **kw)


def _mysql_terms(parts: Sequence[tuple]) -> tuple[list[str], list[Any]]:
    """MariaDB: the words table's words a search looks for, and the LIKE checks of the words it cannot
    answer exactly. A searched word is one word of the table, folded as the table's are (`fold`); a word
    with punctuation ('HIC-2026-00042') is looked for by its longest part alone (every part would
    intersect long lists: 'HIC' is every hiccup) and checked by LIKE, as is a word over `WORD_MAX`."""
    words: list[str] = []
    likes = []
    for tokens, like, punctuated in parts:
        folded = [part for token in tokens for part in _TOKEN.findall(fold(token))]
        if folded:
            words.append(max(folded, key=len)[:WORD_MAX])
        if punctuated or len(folded) != 1 or len(folded[0]) > WORD_MAX:
            likes.append(like)
    return list(dict.fromkeys(words)), likes


@compiles(_FullText)
def _full_other(element: _FullText, compiler: Any, **kw: Any) -> str:
    return compiler.process(and_(*[clause for _, clause, _ in element.parts]).self_group(), **kw)


# ---- MariaDB's words table: kept by every write ----


def change_words(conn: Any, table: str, gone: Sequence[tuple[int, str]], added: Sequence[tuple[int, str]]) -> None:
    """(id, word) pairs out of and into the words table of `table`; `gone` may give a word as None: every
    word of that id. MariaDB/MySQL only; SQLite's triggers keep its index."""
    if conn.dialect.name not in MYSQL:
        return
    words = _words_from(table)
    every = [row_id for row_id, word in gone if word is None]
    pairs = [pair for pair in gone if pair[1] is not None]
    if every:
        conn.execute(delete(words).where(words.c.id.in_(every)))
    if pairs:
        conn.execute(delete(words).where(tuple_(words.c.id, words.c.word).in_(pairs)))
    if added:
        conn.execute(insert(words), [{'id': row_id, 'word': word} for row_id, word in added])


def index_new(conn: Any, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """Rows a bulk loader inserted without the ORM (dicts of their columns, ids included) → their words."""
    fields = FULLTEXT[table]
    change_words(conn, table, [], [(row['id'], word) for row in rows for word in words_of(row.get(f) for f in fields)])


@event.listens_for(Session, 'after_flush')
def _index_flushed(session: Session, _context: Any) -> None:
    """The words gained and lost by the records this flush inserted or changed (MariaDB): a raise adds its
    words, then those of its reference (set once its id is known). A deleted record's words go with it
    (the table's foreign key cascades)."""
    if session.get_bind().dialect.name not in MYSQL:
        return
    changes: dict[str, tuple[list, list]] = {}
    for record in (*session.new, *session.dirty):
        name = getattr(getattr(record, '__table__', None), 'name', None)
        fields = FULLTEXT.get(name or '')
        if not fields:
            continue
        before, after = _words_before_after(record, fields, record in session.new)
        gone, added = changes.setdefault(name, ([], []))
        gone += [(record.id, None)] if before is None else [(record.id, w) for w in before - after]
        added += [(record.id, w) for w in (after if before is None else after - before)]
    for name, (gone, added) in changes.items():
        change_words(session.connection(), name, gone, added)


def _words_before_after(record: Any, fields: Sequence[str], new: bool) -> tuple[set[str] | None, set[str]]:
    """The record's words before the flush (None: not known, its old value never loaded) and after."""
    after = words_of(getattr(record, f) for f in fields)
    histories = [inspect(record).attrs[f].history for f in fields]
    if new:
        return set(), after
    if not any(h.has_changes() for h in histories):
        return after, after
    if any(h.has_changes() and not h.deleted for h in histories):
        return None, after
    return words_of((h.deleted or h.unchanged or [None])[0] for h in histories), after


def create_words_table(op: Any, table: str) -> None:
    """MariaDB/MySQL: the words table of `table`, filled from its rows (a million hiccups: about 22
    million words, 3 minutes). Binary collation: words are folded already, and compared as bytes."""
    name = words_table(table)
    op.execute(f'DROP TABLE IF EXISTS {name}')  # left by a run that failed: MariaDB's DDL is not rolled back
    op.execute(
        f'CREATE TABLE {name} ('
        f'word VARCHAR({WORD_MAX}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, id INTEGER NOT NULL, '
        f'PRIMARY KEY (word, id), KEY ix_{name}_id (id, word), '
        f'CONSTRAINT fk_{name}_id FOREIGN KEY (id) REFERENCES {table} (id) ON DELETE CASCADE) ENGINE=InnoDB'
    )
    fields, after = FULLTEXT[table], 0
    read = text(f'SELECT id, {", ".join(fields)} FROM {table} WHERE id > :after ORDER BY id LIMIT 5000')
    # a transaction per 5,000 rows (110,000 words), on a connection of its own: all of them in the
    # migration's one transaction would exceed the locks a default 128 MB buffer pool holds
    with op.get_bind().engine.connect() as conn:
        while rows := conn.execute(read, {'after': after}).all():
            change_words(conn, table, [], [(row[0], word) for row in rows for word in words_of(row[1:])])
            conn.commit()
            after = rows[-1][0]


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
        made = any(
            name == fts_table(t) or name.startswith(fts_table(t) + '_') or name == words_table(t) for t in FULLTEXT
        )
        return not made
    if type_ == 'index' and name:
        return name not in {fulltext_index(t) for t in FULLTEXT}
    return True
