"""A staff member's hiccup list at a million hiccups reads its indexes, not every row of their department.

SQLite plans by the statistics `ANALYZE` leaves in ``sqlite_stat1``; these tests give an empty
database those of the bench's million hiccups (bench/README.md) and read the plans SQLite
chooses for the list's queries. The plans are what keeps a staff member's list fast there: a
status filter, the title sort and a far page from their index alone (the rows read are the
page's own). The rows themselves must be the same whatever the plan.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from models import db, query, records
from models.hiccups import Hiccup, Hiccups, summary
from models.query import ListParams
from reports import hiccup_stats
from tests.hiccups.conftest import Lab, hiccup_data

#: ``sqlite_stat1`` of the hiccups table, from `python -m bench.generate --hiccups 1000000`.
MILLION = {
    'ix_hiccups_created_visibility': '1000000 1 1 1 1 1',
    'ix_hiccups_title': '1000000 439 1 1 1 1',
    'ix_hiccups_id_visibility': '1000000 1 1 1 1',
    'ix_hiccups_status_created': '1000000 166667 1 1 1 1 1',
    'ix_hiccups_dashboard_department': '1000000 125000 1 1 1 1 1 1 1 1 1 1',
    'ix_hiccups_dashboard': '1000000 1 1 1 1 1 1 1 1 1 1 1',
    'ix_hiccups_raised_by_id': '1000000 4202',
    'ix_hiccups_department_id': '1000000 125000',
    'ix_hiccups_department_created': '1000000 125000 1',
    'ix_hiccups_created_at': '1000000 1',
    'ix_hiccups_confidential': '1000000 500000',
    'ix_hiccups_category_id': '1000000 125000',
    'ix_hiccups_severity': '1000000 250000',
    'ix_hiccups_occurred_at': '1000000 1',
    'ix_hiccups_unsettled': '14601 14601 1 1 1 1 1 1 1 1 1 1 1',
}


@pytest.fixture
def million(lab: Lab, backend: str) -> Lab:
    if backend != 'sqlite':
        pytest.skip('the plans of SQLite')
    with db.session() as s:
        s.execute(text('ANALYZE'))  # creates sqlite_stat1
        s.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'hiccups'"))
        for index, stat in MILLION.items():
            s.execute(text("INSERT INTO sqlite_stat1 VALUES ('hiccups', :i, :s)"), {'i': index, 's': stat})
    db.engine().dispose()  # statistics are read when a connection loads the schema
    return lab


def _plan(stmt) -> str:
    with db.session() as s:
        sql = stmt.compile(dialect=s.get_bind().dialect, compile_kwargs={'literal_binds': True})
        return '\n'.join(row[-1] for row in s.execute(text(f'EXPLAIN QUERY PLAN {sql}')))


@pytest.mark.parametrize('status', ['open', 'open|responded'])
def test_a_staff_count_of_unfinished_hiccups_reads_the_status_index_alone(million: Lab, status: str):
    with db.session() as s:
        counted = query.build(s, million.staff, Hiccups, ListParams(filters={'status': status}), sort=False)
    plan = _plan(counted.with_only_columns(Hiccups.model.id).limit(query.COUNT_CAP + 1))
    assert 'COVERING INDEX ix_hiccups_status_created' in plan, plan
    assert 'MULTI-INDEX OR' not in plan, plan


@pytest.mark.parametrize(
    ('params', 'index'),
    [
        (ListParams(), 'ix_hiccups_created_visibility'),
        (ListParams(page=200), 'ix_hiccups_created_visibility'),
        (ListParams(sort='title'), 'ix_hiccups_title'),
        (ListParams(filters={'status': 'open'}), 'ix_hiccups_status_created'),
    ],
)
def test_a_staff_page_takes_its_ids_from_one_index_in_the_list_order(million: Lab, params: ListParams, index: str):
    with db.session() as s:
        plan = _plan(query.page_ids(s, million.staff, Hiccups, params))
    assert f'COVERING INDEX {index}' in plan, plan
    assert 'TEMP B-TREE' not in plan, plan  # no sorting: the index is the order


def test_a_staff_count_of_a_search_checks_each_match_in_the_visibility_index(million: Lab):
    with db.session() as s:
        counted = query.build(s, million.staff, Hiccups, ListParams(q='centrifuge'), sort=False)
    plan = _plan(counted.with_only_columns(Hiccups.model.id).limit(query.COUNT_CAP + 1))
    assert 'COVERING INDEX ix_hiccups_id_visibility' in plan, plan  # not each match's row


def test_pages_and_counts_are_the_same_rows_with_the_million_plans(million: Lab):
    titles = ['Clot', 'Analyser down', 'Barcode', 'Analyser down', 'Late courier']
    with db.session() as s:
        for n, title in enumerate(titles):
            who = million.staff if n % 2 else million.other_staff
            records.create(s, who, Hiccups, hiccup_data(million, title=title, confidential=n == 3))
        records.create(s, million.bio_staff, Hiccups, hiccup_data(million, title='Bio', department_id=million.bio))
    with db.session() as s:
        by_title = query.page(s, million.other_staff, Hiccups, ListParams(sort='title', per_page=2, page=2))
        open_ones = query.count(s, million.other_staff, Hiccups, ListParams(filters={'status': 'open'}))
        newest = query.page(s, million.staff, Hiccups, ListParams(per_page=3))
        analysers = query.count(s, million.other_staff, Hiccups, ListParams(q='analyser'))
    # other_staff sees the haematology ones but staff's confidential 'Analyser down'
    assert [h.title for h in by_title] == ['Clot', 'Late courier']
    assert open_ones == (4, False)
    assert [h.title for h in newest] == ['Late courier', 'Analyser down', 'Barcode']
    assert analysers == (1, False)


def test_the_dashboard_reads_what_its_summary_does_not_hold_by_index(million: Lab):
    """Over three years, with a day summary: the unsettled hiccups by their own index (not the range's
    million), the days not summed by the range's covering index, and a staff member's own settled
    hiccups by the raiser's index."""
    start, end = dt.date(2023, 12, 1), dt.date(2026, 11, 30)
    held = summary.Summary(cutoff=dt.date(2026, 11, 29), stale=frozenset({dt.date(2025, 3, 3)}))
    for who in (million.manager, million.staff):
        with db.session() as s:
            reads = hiccup_stats._live(s, who, held, start, end, ())
        plans = [_plan(hiccup_stats._columns(r, Hiccup.department_id, Hiccup.closed_at)) for r in reads]
        assert 'USING INDEX ix_hiccups_unsettled (settled=? AND occurred_at>? AND occurred_at<?)' in plans[0], plans
        for plan in plans[1:3]:  # 3 March 2025, and the last days
            assert 'occurred_at>? AND occurred_at<?)' in plan and 'SCAN' not in plan, plans
        if who == million.staff:
            assert len(plans) == 4 and 'USING INDEX ix_hiccups_raised_by_id (raised_by_id=?)' in plans[3], plans
        else:
            assert len(plans) == 3
