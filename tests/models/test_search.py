"""Full-text search of hiccups (models/search.py): the index answers, LIKE fills in, the meaning holds."""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings

import pytest
from sqlalchemy import text

from models import db, query, records
from models.hiccups import Hiccups
from models.query import ListParams
from models.search import fts_table, include_name, words_of
from tests.hiccups.conftest import Lab, hiccup_data, lab  # noqa: F401 - the fixture

TEXTS = {
    'analyser': ('Sysmex XN-1000 stopped mid-run', 'Error on the sample probe; QC repeated.'),
    'haemolysed': ('Haemolysed samples from collection', 'Three tubes haemolysed, drawn with a thin needle.'),
    'fridge': ('Reagent fridge too warm', 'Temperature 11.6 °C at 07:00; reagents moved.'),
}


@pytest.fixture
def hiccups(lab: Lab) -> dict[str, str]:  # noqa: F811
    """key → reference, each made through the engine (so the reference is set by an UPDATE)."""
    with db.session() as s:
        made = {
            key: records.create(s, lab.staff, Hiccups, hiccup_data(lab, title=title, description=body))
            for key, (title, body) in TEXTS.items()
        }
        return {key: h.reference for key, h in made.items()}


def found(lab: Lab, q: str) -> set[str]:  # noqa: F811
    with db.session() as s:
        rows = query.page(s, lab.manager, Hiccups, ListParams(q=q))
        n, _ = query.count(s, lab.manager, Hiccups, ListParams(q=q))
    titles = {TITLE_KEYS[h.title] for h in rows}
    assert n == len(titles)
    return titles


TITLE_KEYS = {title: key for key, (title, _) in TEXTS.items()}


@pytest.mark.parametrize(
    ('q', 'expected'),
    [
        ('haemolysed', {'haemolysed'}),  # a whole word, in title and description
        ('HAEMO', {'haemolysed'}),  # the start of a word, any case
        ('needle thin', {'haemolysed'}),  # every word, in any order and field
        ('needle fridge', set()),  # words of two different hiccups: none has both
        ('sysmex XN-1000', {'analyser'}),  # punctuation: the index narrows, LIKE checks the whole word
        ('QC', {'analyser'}),  # short words (LIKE on MariaDB, whose index skips them)
        ('at reagents', {'fridge'}),  # a short stopword beside a real word
        ('11.6', {'fridge'}),
        ('zzz', set()),
        ('100%', set()),  # LIKE wildcards are literal
    ],
)
def test_search_finds_hiccups_with_every_word(lab: Lab, hiccups, q: str, expected: set[str]):  # noqa: F811
    assert found(lab, q) == expected


def test_search_by_reference_and_after_edits_and_deletes(lab: Lab, hiccups):  # noqa: F811
    assert found(lab, hiccups['fridge']) == {'fridge'}
    with db.session() as s:
        fridge = query.page(s, lab.manager, Hiccups, ListParams(q='fridge'))[0]
        records.update(s, lab.manager, Hiccups, fridge.id, {'title': 'Cold room alarm'}, fridge.version)
    TITLE_KEYS['Cold room alarm'] = 'fridge'
    assert found(lab, 'fridge') == set()
    assert found(lab, 'cold alarm') == {'fridge'}
    assert found(lab, 'reagents') == {'fridge'}  # the description is still indexed


def test_search_keeps_visibility(lab: Lab, hiccups):  # noqa: F811
    with db.session() as s:
        records.create(
            s, lab.staff, Hiccups, hiccup_data(lab, title='Haemolysed secret', confidential=True, description='x')
        )
        seen = {h.title for h in query.page(s, lab.other_staff, Hiccups, ListParams(q='haemolysed'))}
    assert seen == {TEXTS['haemolysed'][0]}


def test_the_index_exists_and_alembic_leaves_it_alone(database: str, lab: Lab, hiccups):  # noqa: F811
    with db.engine().connect() as conn:
        if conn.dialect.name == 'sqlite':
            names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'hiccups_fts%'"))}
            assert {fts_table('hiccups'), 'hiccups_fts_ai', 'hiccups_fts_ad', 'hiccups_fts_au'} <= names
        else:  # the words of each hiccup, and InnoDB's FULLTEXT index gone (migration 0014)
            kept = words_kept()
            assert {'qc', 'at', 'sysmex', 'xn', '1000'} <= {word for _, word in kept}  # short words and stopwords too
            assert not conn.execute(text("SHOW INDEX FROM hiccups WHERE Index_type = 'FULLTEXT'")).all()
    assert not include_name('hiccups_fts', 'table', {})
    assert not include_name('hiccups_fts_data', 'table', {})
    assert not include_name('hiccups_words', 'table', {})
    assert not include_name('ix_hiccups_fulltext', 'index', {})
    assert include_name('hiccups', 'table', {})


@pytest.mark.parametrize('q', ['haemolysed', 'sysmex XN-1000', 'QC', 'zzz', 'needle fridge'])
def test_a_search_with_many_matches_pages_the_same_rows_by_walking_the_order(
    lab: Lab,  # noqa: F811
    hiccups,
    monkeypatch: pytest.MonkeyPatch,
    q: str,
) -> None:
    """On SQLite a word in many rows is found by walking the list's order (`WALK_FROM`): same rows, same order."""
    from models import search

    with db.session() as s:
        for i in range(4):  # more hiccups with the same words, so the order has something to keep
            title, body = TEXTS[('analyser', 'haemolysed', 'fridge', 'analyser')[i]]
            records.create(s, lab.staff, Hiccups, hiccup_data(lab, title=title, description=body))

    def page(sort: str) -> list[int]:
        with db.session() as s:
            return [h.id for h in query.page(s, lab.manager, Hiccups, ListParams(q=q, sort=sort, per_page=3))]

    orders = ['', 'title', '-occurred_at']
    fetched = {sort: page(sort) for sort in orders}
    monkeypatch.setattr(search, 'WALK_FROM', 0)  # every search now counts as one with many matches
    monkeypatch.setattr(search, 'WALK_HITS', 1)  # MariaDB's: one match among the rows a walk reads first
    monkeypatch.setattr(search, 'WALK_ROWS', 10**6)
    walked = {sort: page(sort) for sort in orders}
    assert walked == fetched
    elsewhere = ListParams(q=q, filters={'department_id': str(lab.bio)})  # none of these hiccups
    with db.session() as s:
        sql = str(query.build(s, lab.manager, Hiccups, ListParams(q=q)).compile(s.get_bind()))
        staff_sql = str(query.build(s, lab.staff, Hiccups, ListParams(q=q)).compile(s.get_bind()))
        elsewhere_sql = str(query.build(s, lab.manager, Hiccups, elsewhere).compile(s.get_bind()))
    # no match at all ('zzz'; two words never together): nothing to walk
    walks = q not in ('zzz', 'needle fridge')
    if s.get_bind().dialect.name == 'sqlite':
        assert ('+hiccups.id IN' in sql) == walks
    else:  # MariaDB walks where the first rows of the walk match: not the rows of another department
        assert ('LIMIT 1) IS NOT NULL' in sql) == walks == ('LIMIT 1) IS NOT NULL' in staff_sql)
        assert 'LIMIT 1) IS NOT NULL' not in elsewhere_sql
        assert 'LIMIT 1) IS NOT NULL' not in plan_sql(lab, ListParams(q=q, sort='category_id'))  # no index gives it
    assert '+hiccups.id IN' not in plan_sql(lab, ListParams(q=q), paged=False)  # an export reads every row:
    assert 'LIMIT 1) IS NOT NULL' not in plan_sql(lab, ListParams(q=q), paged=False)  # its matches looked up


@pytest.fixture
def fresh_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process's kept words of each start (`models.search._named`) emptied for the test, and after it."""
    from models import search

    monkeypatch.setattr(search, '_NAMED', {})


def titles(lab: Lab, q: str, session=None) -> set[str]:  # noqa: F811
    if session is not None:
        return {h.title for h in query.page(session, lab.manager, Hiccups, ListParams(q=q))}
    with db.session() as s:
        return titles(lab, q, s)


def test_a_word_start_finds_words_new_to_the_index(lab: Lab, hiccups, monkeypatch, fresh_names):  # noqa: F811
    """On SQLite a word's start is searched as the index's words that start so, kept until the index
    changes (`models.search._named`): a word the index gains after a search is found by the next."""
    from models import search

    assert found(lab, 'haemo') == {'haemolysed'}
    TEXTS['haemoglobin'] = ('Haemoglobin analyser down', 'HbA1c runs moved to the backup analyser.')
    TITLE_KEYS[TEXTS['haemoglobin'][0]] = 'haemoglobin'
    try:
        with db.session() as s:
            records.create(s, lab.staff, Hiccups, hiccup_data(lab, title=TEXTS['haemoglobin'][0], description='x'))
        assert found(lab, 'haemo') == {'haemolysed', 'haemoglobin'}
        assert found(lab, 'HAEMOG') == {'haemoglobin'}
        with db.session() as s:
            sql = str(
                query.build(s, lab.manager, Hiccups, ListParams(q='haemo')).compile(
                    s.get_bind(), compile_kwargs={'literal_binds': True}
                )
            )
        if s.get_bind().dialect.name == 'sqlite':
            assert '("haemoglobin" OR "haemolysed")' in sql  # the words named, not a prefix query
        monkeypatch.setattr(search, 'NAME_UP_TO', 1)  # 'haemo' now starts too many words to name: a prefix again
        assert found(lab, 'haemo') == {'haemolysed', 'haemoglobin'}
        assert found(lab, 'haemo samples') == {'haemolysed'}
    finally:
        del TEXTS['haemoglobin'], TITLE_KEYS['Haemoglobin analyser down']


@pytest.mark.parametrize('title', ['Haemolysed samples', 'Haemoglobin analyser'])
def test_the_words_kept_are_those_of_the_database_searched(lab: Lab, title: str):  # noqa: F811
    """Each test has a database of its own, with the same history of writes: the words kept from the
    first are not those of the second (`_stamp`: the database the process is bound to)."""
    with db.session() as s:
        records.create(s, lab.staff, Hiccups, hiccup_data(lab, title=title, description='x'))
    assert titles(lab, 'haemo') == {title}


def test_a_search_inside_a_write_that_rolls_back_keeps_nothing(lab: Lab, fresh_names):  # noqa: F811
    with db.session() as s:
        a = records.create(s, lab.staff, Hiccups, hiccup_data(lab, title='Haemolysed samples', description='x'))
        b = records.create(s, lab.staff, Hiccups, hiccup_data(lab, title='Haemoglobin analyser', description='y'))
    with pytest.raises(RuntimeError), db.session() as s:
        records.update(s, lab.manager, Hiccups, b.id, {'title': 'Analyser down'}, b.version)
        s.flush()
        assert titles(lab, 'haemo', s) == {'Haemolysed samples'}  # its own change, seen
        raise RuntimeError('rolled back')
    with db.session() as s:  # a write that makes the index's structure record what the rolled back one had
        records.update(s, lab.manager, Hiccups, a.id, {'description': 'drawn with a thin needle'}, a.version)
    assert titles(lab, 'haemo') == {'Haemolysed samples', 'Haemoglobin analyser'}


def plan_sql(lab: Lab, params: ListParams, **kw) -> str:  # noqa: F811
    with db.session() as s:
        stmt = query.build(s, lab.manager, Hiccups, params, **kw)
        return str(stmt.compile(s.get_bind(), compile_kwargs={'literal_binds': True}))


def test_a_newest_first_page_reaches_older_matches_than_the_newest(lab: Lab, monkeypatch):  # noqa: F811
    """A newest-first page of a search with many matches tests the rows it walks against the newest
    matches alone (`NEWEST_ROWS`), and against every match once it reaches an older row: its pages are
    those of looking every match up, older matches included, and in the list's order also where a
    record's creation time does not follow its id."""
    from models import search
    from models.hiccups import Hiccup

    with db.session() as s:
        made = []
        for i in range(8):
            title = f'Haemolysed sample {i}' if i % 3 != 1 else f'Analyser down {i}'
            made.append(records.create(s, lab.staff, Hiccups, hiccup_data(lab, title=title, description='x')).id)
        newest = s.get(Hiccup, made[-1]).created_at
        s.get(Hiccup, made[0]).created_at = newest + dt.timedelta(hours=1)  # the oldest match, made newest

    def pages(**kw) -> list[list[str]]:
        with db.session() as s:
            return [
                [h.title for h in query.page(s, lab.manager, Hiccups, ListParams(q='haemo', page=n, per_page=2, **kw))]
                for n in (1, 2, 3, 4)
            ]

    monkeypatch.setattr(search, 'WALK_FROM', 10**6)  # few matches: every match looked up
    fetched = pages(), pages(sort='-created_at'), pages(sort='title')
    assert fetched[0][0] == ['Haemolysed sample 0', 'Haemolysed sample 6']
    monkeypatch.setattr(search, 'WALK_FROM', 2)  # many: the two newest matches (6, 5) in a set of their own
    assert (pages(), pages(sort='-created_at'), pages(sort='title')) == fetched
    if db.engine().dialect.name == 'sqlite':
        assert 'CASE WHEN +hiccups.id >' in plan_sql(lab, ListParams(q='haemo'))
        assert 'CASE WHEN' not in plan_sql(lab, ListParams(q='haemo', sort='title'))  # its order does not follow ids


@pytest.mark.parametrize('walk_from', [0, 10**6])
def test_counts_hold_visibility_and_filters_in_every_plan(lab: Lab, hiccups, monkeypatch, walk_from: int):  # noqa: F811
    """A list's count is the number of rows its pages show, for each reader, whether the count joins
    the index (no filter), tests the rows a narrow condition gives against the matches (many matches)
    or looks the matches up (few), and raises no SQLAlchemy warning."""
    from models import search

    with db.session() as s:
        for title, confidential, dept, who in [
            ('Haemolysed secret', True, lab.haem, lab.staff),
            ('Haemolysed again', False, lab.bio, lab.bio_staff),
        ]:
            data = hiccup_data(lab, title=title, description='x', confidential=confidential, department_id=dept)
            records.create(s, who, Hiccups, data)
    monkeypatch.setattr(search, 'WALK_FROM', walk_from)
    cases = [
        ListParams(q='haemolysed'),
        ListParams(q='haemolysed', filters={'status': 'open'}),
        ListParams(q='haemolysed', filters={'department_id': str(lab.haem)}),
        ListParams(q='haemolysed', mine=True),
        ListParams(q='haemolysed', date_from='2000-01-01'),
        ListParams(q=f'{hiccups["haemolysed"]} haemolysed'),
    ]
    seen = {}
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        for who in ('manager', 'other_staff', 'staff'):
            for p in cases:
                with db.session() as s:
                    shown = query.page(s, getattr(lab, who), Hiccups, dataclasses.replace(p, per_page=200))
                    n, _ = query.count(s, getattr(lab, who), Hiccups, p)
                assert n == len(shown), (who, p)
                seen[who, p.q, tuple(p.filters.items()), p.mine, p.date_from] = n
    assert [seen['manager', 'haemolysed', (), False, ''], seen['other_staff', 'haemolysed', (), False, '']] == [3, 1]
    assert seen['staff', 'haemolysed', (), True, ''] == 2  # their own: the first and the secret one
    if db.engine().dialect.name == 'sqlite':
        assert 'FROM hiccups, hiccups_fts' in plan_sql(lab, ListParams(q='haemolysed'), sort=False, counting=True)
        assert 'hiccups_fts.rowid' not in plan_sql(lab, ListParams(q='haemolysed'), sort=False)  # may be nested


@pytest.mark.parametrize('q', ['sysmex XN-1000', 'haemo'])
def test_the_search_clause_holds_its_meaning_inside_not_and_or(lab: Lab, hiccups, q: str):  # noqa: F811
    """`search_clause` is one condition wherever a caller puts it: under NOT it is every other hiccup."""
    from sqlalchemy import not_, or_, select

    from models.hiccups import Hiccup

    with db.session() as s:
        clause = query.search_clause(Hiccups, q, s)
        inside = set(s.scalars(select(Hiccup.title).where(clause)))
        outside = set(s.scalars(select(Hiccup.title).where(not_(clause))))
        either = set(s.scalars(select(Hiccup.title).where(or_(clause, Hiccup.title == TEXTS['fridge'][0]))))
    assert len(inside) == 1 and not inside & outside and len(inside | outside) == len(TEXTS)
    assert either == inside | {TEXTS['fridge'][0]}


def words_kept() -> set[tuple[int, str]]:
    """MariaDB's words table, checked to hold exactly the words of every hiccup."""
    with db.engine().connect() as conn:
        kept = set(map(tuple, conn.execute(text('SELECT id, word FROM hiccups_words'))))
        rows = conn.execute(text('SELECT id, reference, title, description FROM hiccups')).all()
    assert kept == {(row[0], word) for row in rows for word in words_of(row[1:])}
    return kept


def mysql_only() -> None:
    if db.engine().dialect.name == 'sqlite':
        pytest.skip("MariaDB/MySQL's words table; SQLite keeps its FTS5 index")


def test_mariadb_words_follow_writes_inside_the_transaction_and_count_a_hiccup_once(lab: Lab, hiccups, monkeypatch):  # noqa: F811
    """MariaDB's words table: a new hiccup is found inside the transaction that makes it (InnoDB's
    FULLTEXT index waited for the commit); a hiccup with several words of the same start is one row
    in the count that joins the words; a deleted hiccup's words go with it."""
    from models import search
    from models.hiccups import Hiccup

    mysql_only()
    with db.session() as s:
        h = records.create(s, lab.staff, Hiccups, hiccup_data(lab, title='Centrifuge centrifuged', description='Cé'))
        s.flush()
        assert titles(lab, 'centrifug', s) == {'Centrifuge centrifuged'}
        assert titles(lab, 'ce', s) == {'Centrifuge centrifuged'}  # 'Cé' is 'ce' too
    for walk_from in (0, 10**6):  # the count joins the words, the page tests or looks them up
        monkeypatch.setattr(search, 'WALK_FROM', walk_from)
        with db.session() as s:
            assert query.count(s, lab.manager, Hiccups, ListParams(q='centrifug')) == (1, False)
            assert len(query.page(s, lab.manager, Hiccups, ListParams(q='centrifug'))) == 1
    counting = plan_sql(lab, ListParams(q='centrifug'), sort=False, counting=True)
    assert 'hiccups_words.word LIKE' in counting and 'FROM hiccups, hiccups_words' in counting
    words_kept()
    with db.session() as s:  # a title set without its old value ever read: every word of the hiccup again
        record = s.get(Hiccup, h.id)
        s.expire(record, ['title'])
        record.title = 'Spun twice'
    assert titles(lab, 'centrifug') == set() and titles(lab, 'spun') == {'Spun twice'}
    words_kept()
    with db.session() as s:
        s.delete(s.get(Hiccup, h.id))
    assert (h.id, 'spun') not in words_kept()


def test_mariadb_migration_0014_moves_the_words_and_back(lab: Lab, hiccups):  # noqa: F811
    """Down to 0013 InnoDB's FULLTEXT index answers again; up to 0014 the words table is filled from the
    hiccups there are, and answers the same."""
    from alembic import command

    from models import migrate

    mysql_only()
    before = {q: found(lab, q) for q in ('haemolysed', 'sysmex XN-1000', 'needle thin', hiccups['fridge'])}
    config = migrate.alembic_config()
    command.downgrade(config, '0013')
    with db.engine().connect() as conn:
        assert conn.execute(text("SHOW INDEX FROM hiccups WHERE Index_type = 'FULLTEXT'")).all()
        assert 'hiccups_words' not in {r[0] for r in conn.execute(text('SHOW TABLES'))}
    migrate.upgrade()
    with db.engine().connect() as conn:
        assert conn.execute(text('SELECT COUNT(DISTINCT id) FROM hiccups_words')).scalar() == len(TEXTS)
    assert {q: found(lab, q) for q in before} == before
