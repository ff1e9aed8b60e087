"""The day summary of settled hiccups: the dashboard reads what of it each reader's rule lets through, and
every chart comes out exactly as it does from the hiccups themselves, through every kind of change."""

# ruff: noqa: F811 - the `lab` and `known` fixtures are imported and used as arguments

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from models import changes, db, records
from models.hiccups import Hiccup, Hiccups
from models.hiccups import summary as day_summary
from models.hiccups.summary import HiccupDay, HiccupDayHours, HiccupMonthBin, HiccupMonthHours, StaleDay
from models.settings import local_day, reload_settings
from reports import hiccup_stats as stats
from reports.hiccup_stats import CHARTS, Filters
from tests.conftest import statements
from tests.hiccups.conftest import Lab, hiccup_data, lab  # noqa: F401
from tests.reports.test_hiccup_stats import _utc, known  # noqa: F401

D = dt.date
RANGES = {
    'Q1': Filters(D(2026, 1, 1), D(2026, 3, 31)),  # weekly buckets
    'a year': Filters(D(2025, 6, 1), D(2026, 5, 31)),  # monthly buckets
    'haematology': Filters(D(2025, 12, 1), D(2026, 4, 30), (1,)),
}
TODAY = D(2026, 12, 2)


@pytest.fixture
def settled(lab: Lab, known) -> dict[str, int]:
    """Settled hiccups beside `known`'s (closed, escalated, followed up; on time and late), one each
    on days that `summarize` sums."""
    ids = dict(known)
    plan = {
        's1': ('haem', '2026-01-06T09:00', 'followed_up', 3, 20, 24, 72),
        's2': ('haem', '2026-01-06T23:50', 'escalated', 30, 31, 24, 72),  # response late
        's3': ('bio', '2026-02-27T12:00', 'closed', 1, 100, 24, 72),  # closure late
        's4': ('bio', '2026-03-31T23:59', 'followed_up', 5, 50, None, None),  # no SLA
        's5': ('haem', '2025-08-14T08:00', 'closed', 2, 9, 24, 72),
    }
    with db.session() as s:
        for name, (dept, *when) in plan.items():
            raiser = lab.staff if dept == 'haem' else lab.bio_staff
            ids[name] = add_settled(s, lab, raiser, name, getattr(lab, dept), *when).id
    return ids


def add_settled(s, lab: Lab, raiser, title, department, occurred, status, respond_h, close_h, r_due, c_due, **more):
    data = hiccup_data(lab, title=title, department_id=department, occurred_at=occurred, **more)
    h = records.create(s, raiser, Hiccups, data)
    raised = _utc(occurred)
    h.status, h.created_at = status, raised
    h.responded_at, h.closed_at = raised + dt.timedelta(hours=respond_h), raised + dt.timedelta(hours=close_h)
    h.response_due_at = raised + dt.timedelta(hours=r_due) if r_due else None
    h.closure_due_at = raised + dt.timedelta(hours=c_due) if c_due else None
    return h


def charts(actor, filters: Filters) -> dict[str, pd.DataFrame]:
    changes.forget_shared()
    return {key: chart.load(actor, filters) for key, chart in CHARTS.items()}


def from_the_hiccups(actor, filters: Filters, monkeypatch) -> dict[str, pd.DataFrame]:
    with monkeypatch.context() as m:
        m.setattr(stats, '_summary', lambda *args: None)
        return charts(actor, filters)


def assert_same(actor, monkeypatch) -> None:
    """Every chart of every range, from the summary, equals the same chart from the hiccups."""
    for name, filters in RANGES.items():
        expected = from_the_hiccups(actor, filters, monkeypatch)
        got = charts(actor, filters)
        for key in CHARTS:
            pd.testing.assert_frame_equal(got[key], expected[key], check_dtype=False, obj=f'{name}: {key}')


def stale_days() -> set[dt.date]:
    with db.session() as s:
        return set(s.scalars(select(StaleDay.day)))


def test_the_summary_gives_every_chart_exactly_as_the_hiccups_do(lab: Lab, settled, monkeypatch):
    with db.session() as s:
        first = local_day(s.scalar(select(func.min(Hiccup.occurred_at))))
    assert day_summary.summarize(TODAY) == (TODAY - dt.timedelta(days=1) - first).days  # each day up to the 30th
    with db.session() as s:
        assert s.scalar(select(func.sum(HiccupDay.hiccups))) == 8  # h1 to h3 and s1 to s5; h4 to h8 are not settled
        assert day_summary.current(s, D(2026, 1, 1), D(2026, 3, 31)).cutoff == TODAY - dt.timedelta(days=1)
    assert stale_days() == set()
    with statements() as sent:
        got = charts(lab.manager, RANGES['Q1'])
    assert any('hiccup_days' in q for q in sent) and any('hiccup_day_hours' in q for q in sent)
    assert not any('hiccup_month' in q for q in sent)  # weekly buckets: no month rows, nor their bins
    assert got['headline']['hiccups'].tolist() == [10, 3, 1]  # total, open, overdue (h4 and h5 are in Q1)
    with statements() as sent:
        charts(lab.manager, RANGES['a year'])
    assert any('hiccup_months' in q for q in sent)  # monthly buckets: twelve months held whole
    assert any('hiccup_month_hours' in q for q in sent) and any('hiccup_month_bins' in q for q in sent)
    assert_same(lab.manager, monkeypatch)


def test_a_month_is_read_whole_only_while_every_day_of_it_is_held():
    held = day_summary.Summary(cutoff=D(2026, 5, 20), stale=frozenset({D(2026, 2, 10)}))
    # January, March and April are held whole; February has a stale day; May is cut by the cutoff
    assert held.months(D(2025, 12, 15), D(2026, 5, 31)) == [D(2026, 1, 1), D(2026, 3, 1), D(2026, 4, 1)]
    assert held.months(D(2026, 1, 2), D(2026, 3, 30)) == []  # neither month is wholly in the range
    # the days read from the day rows, the months aside (and the stale day, and what the cutoff leaves out)
    assert held.summed(D(2025, 12, 15), D(2026, 5, 31), but=[D(2026, 1, 1), D(2026, 3, 1), D(2026, 4, 1)]) == [
        (D(2025, 12, 15), D(2025, 12, 31)),
        (D(2026, 2, 1), D(2026, 2, 9)),
        (D(2026, 2, 11), D(2026, 2, 28)),
        (D(2026, 5, 1), D(2026, 5, 19)),
    ]


def test_a_change_to_a_summed_day_counts_at_once_and_is_summed_again(lab: Lab, settled, monkeypatch):
    day_summary.summarize(TODAY)
    before = charts(lab.manager, RANGES['Q1'])['headline']['hiccups'].tolist()
    with db.session() as s:  # a closed hiccup reopened, another moved, one deleted, one raised late
        h1 = s.get(Hiccup, settled['h1'])
        h1.status, h1.closed_at = 'under_review', None
        s.get(Hiccup, settled['s3']).department_id = lab.haem
        s.get(Hiccup, settled['s1']).occurred_at = _utc('2026-02-10T10:00')
    with db.session() as s:
        records.delete(s, lab.admin, Hiccups, settled['s2'])
        late = records.create(s, lab.staff, Hiccups, hiccup_data(lab, occurred_at='2026-03-01T10:00'))
        late.status, late.created_at = 'closed', _utc('2026-03-01T10:00')
        late.responded_at = late.closed_at = _utc('2026-03-02T10:00')
    assert stale_days() == {D(2026, 1, 5), D(2026, 2, 27), D(2026, 1, 6), D(2026, 2, 10), D(2026, 3, 1)}
    assert_same(lab.manager, monkeypatch)
    total, still_open, overdue = before  # h1, reopened, is open again and past its closure's due time
    assert charts(lab.manager, RANGES['Q1'])['headline']['hiccups'].tolist() == [total, still_open + 1, overdue + 1]
    assert day_summary.summarize(TODAY) == 5
    assert stale_days() == set()
    assert_same(lab.manager, monkeypatch)


def test_a_change_that_leaves_the_dashboard_as_it_was_marks_nothing(lab: Lab, settled):
    day_summary.summarize(TODAY)
    with db.session() as s:
        h = s.get(Hiccup, settled['s1'])
        h.title, h.response_breach_noticed_at = 'Renamed', _utc('2026-01-07T09:00')
    assert stale_days() == set()


def test_readers_limited_by_their_rule_take_the_summary_of_what_they_see(lab: Lab, settled, monkeypatch):
    """HODs and staff take their department's rows of the summary that are not confidential; the settled
    hiccups they see only as their raiser (a confidential one of their department, one they raised for
    another) are counted from the hiccups. Someone without a department sees only their own."""
    with db.session() as s:
        for title, raiser, dept, occurred in (
            ('c1', lab.staff, lab.haem, '2026-01-13T10:00'),  # confidential, raised by staff
            ('c2', lab.other_staff, lab.haem, '2026-02-03T10:00'),  # confidential, raised by someone else
            ('c3', lab.staff, lab.bio, '2026-03-10T10:00'),  # raised by staff for biochemistry
        ):
            add_settled(s, lab, raiser, title, dept, occurred, 'closed', 2, 30, 24, 72, confidential=title != 'c3')
    day_summary.summarize(TODAY)
    loner = dataclasses.replace(lab.staff, department_id=None)
    for who in (lab.hod, lab.staff, lab.other_staff, lab.bio_staff, lab.bio_hod, loner):
        with statements() as sent:
            charts(who, RANGES['a year'])
        assert any('hiccup_months' in q for q in sent) and any('hiccup_day_hours' in q for q in sent)
        with statements() as sent:
            charts(who, RANGES['Q1'])
        assert not any('hiccup_day' in q for q in sent)  # weekly buckets: their hiccups are few enough
        assert_same(who, monkeypatch)
    names = ('staff', 'other_staff', 'bio_hod')
    totals = {who: charts(getattr(lab, who), RANGES['a year'])['headline']['hiccups'][0] for who in names}
    # staff: haematology's not confidential (h1 to h3, s1, s2, s5), and their own (h4, c1, c3);
    # other_staff: the same six and c2; bio_hod: biochemistry's (h5, h7, h8, s3, s4, c3)
    assert totals == {'staff': 9, 'other_staff': 7, 'bio_hod': 6}
    with db.session() as s:  # made confidential: other_staff no longer sees it, and the day is summed again
        s.get(Hiccup, settled['s1']).confidential = True
    assert stale_days() == {D(2026, 1, 6)}
    assert charts(lab.other_staff, RANGES['a year'])['headline']['hiccups'][0] == 6
    assert_same(lab.other_staff, monkeypatch)


def test_the_newest_days_and_another_timezone_are_counted_from_the_hiccups(lab: Lab, settled, monkeypatch):
    day_summary.summarize(D(2026, 2, 28))  # sums up to 26 February
    with db.session() as s:
        summed = day_summary.current(s, D(2026, 1, 1), D(2026, 3, 31))
        assert summed.summed(D(2026, 1, 1), D(2026, 3, 31)) == [(D(2026, 1, 1), D(2026, 2, 26))]
        assert s.scalar(select(func.max(HiccupDay.day))) == D(2026, 2, 9)  # h3; s3 (27 Feb) is not summed
    assert_same(lab.manager, monkeypatch)
    monkeypatch.setenv('TIMEZONE', 'Europe/London')
    reload_settings()
    try:
        with db.session() as s:
            assert day_summary.current(s, D(2026, 1, 1), D(2026, 3, 31)) is None  # summed in Kolkata's days
        day_summary.summarize(TODAY)
        with db.session() as s:
            assert day_summary.current(s, D(2026, 1, 1), D(2026, 3, 31)) is not None
        assert_same(lab.manager, monkeypatch)
    finally:
        monkeypatch.delenv('TIMEZONE')
        reload_settings()


def test_only_changes_that_touch_a_settled_hiccup_mark_its_day(lab: Lab, settled, monkeypatch):
    day_summary.summarize(TODAY)
    with db.session() as s:  # answered but not closed: not settled before, nor after
        h7 = s.get(Hiccup, settled['h7'])
        h7.status, h7.responded_at = 'responded', _utc('2026-01-02T10:00')
    assert stale_days() == set()
    with db.session() as s:  # closed now: settled after
        h5 = s.get(Hiccup, settled['h5'])
        h5.status, h5.closed_at = 'closed', _utc('2026-03-06T10:00')
    assert stale_days() == {D(2026, 3, 3)}
    with db.session() as s:  # its old status was never loaded: it may have been settled
        h4 = s.get(Hiccup, settled['h4'])
        s.expire(h4, ['status'])
        h4.status = 'under_review'
    assert stale_days() == {D(2026, 3, 3), D(2026, 2, 15)}
    assert_same(lab.manager, monkeypatch)


def test_a_change_rolled_back_marks_nothing(lab: Lab, settled):
    day_summary.summarize(TODAY)
    with pytest.raises(RuntimeError), db.session() as s:
        s.get(Hiccup, settled['h1']).status = 'under_review'
        s.flush()
        raise RuntimeError('the save failed')
    with db.session() as s:
        s.get(Hiccup, settled['h2']).category_id = lab.sample
    assert stale_days() == {D(2026, 1, 20)}


def test_a_read_that_a_change_overtakes_is_made_again(lab: Lab, settled, monkeypatch):
    """A change between the summary's check and the count (a closed hiccup reopened) must not count it
    twice: once as open from the hiccups, once as settled from the summary."""
    day_summary.summarize(TODAY)
    real, changed = stats._tally_rows, []

    def reopened_first(*args):
        if not changed:
            changed.append(True)
            with db.session() as s:
                h1 = s.get(Hiccup, settled['h1'])
                h1.status, h1.closed_at = 'under_review', None
        return real(*args)

    monkeypatch.setattr(stats, '_tally_rows', reopened_first)
    total, opened, _ = charts(lab.manager, RANGES['Q1'])['headline']['hiccups']
    assert changed and total == 10 and opened in (3, 4)  # before or after the change, never both


def test_a_day_marked_and_summed_again_while_a_read_runs_makes_it_read_again(lab: Lab, settled, monkeypatch):
    """A settled hiccup reopened, and its day summed again, both between two statements of a read: the
    cutoff and the stale days are as they were, but the summary's generation is new, so the read is made
    again rather than count the hiccup nowhere (not among the open ones read before, not in the summary
    read after)."""
    day_summary.summarize(TODAY)
    real, changed = stats._tally_rows, []

    def reopened_and_summed_after(*args):
        found = real(*args)  # the first read: the hiccups not settled, s1 not among them yet
        if not changed:
            changed.append(True)
            with db.session() as s:
                s1 = s.get(Hiccup, settled['s1'])
                s1.status, s1.closed_at = 'under_review', None
            day_summary.summarize(TODAY)
        return found

    monkeypatch.setattr(stats, '_tally_rows', reopened_and_summed_after)
    got = charts(lab.manager, RANGES['Q1'])['headline']
    assert changed
    # total, open, overdue: as before the change (MariaDB: the read's snapshot) or after it (SQLite), and
    # s1 counted either way
    assert got['hiccups'].tolist() in ([10, 3, 1], [10, 4, 2])


def test_a_month_summed_again_between_its_counts_and_its_bins_is_read_again(lab: Lab, settled, monkeypatch):
    """A month's bins that no longer match the counts read a moment before (the month was summed again in
    between, with a hiccup fewer) make the chart read again, not fail or rank the wrong duration."""
    day_summary.summarize(TODAY)
    expected = from_the_hiccups(lab.manager, RANGES['a year'], monkeypatch)['times']
    real, calls = stats._month_bin_hours, []

    def one_short(*args):
        found = real(*args)
        calls.append(True)
        if len(calls) == 1:
            key = next(iter(found))
            found[key] = [a[1:] for a in found[key]]  # each month's row of the bin without its first duration
        return found

    monkeypatch.setattr(stats, '_month_bin_hours', one_short)
    got = charts(lab.manager, RANGES['a year'])['times']
    assert len(calls) == 2
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_the_quantiles_found_by_bins_are_those_of_the_ranked_path():
    """Durations split between months' bins and loose ones, on and around the bins' edges, below a minute
    and beyond the last edge, repeats included: the same quantiles as ranking them all."""
    rng = random.Random(3)
    edges = day_summary.HOUR_EDGES
    for n in (1, 2, 3, 10, 11, 99, 1000):
        values = [rng.choice([rng.randrange(0, 3000) * 0.05, rng.choice(edges), -1.0, 0.0, 1e6]) for _ in range(n)]
        ranked = dict(enumerate(sorted(values), start=1))
        expected = {k: stats._quantile(ranked, n, q) for k, q in stats.QUANTILES.items()}
        held, loose = values[: n // 2], np.array(values[n // 2 :])
        counts = np.zeros(day_summary.HOUR_BINS, dtype=np.int64)
        by_bin: dict[int, list[np.ndarray]] = {}
        for v in held:
            counts[day_summary.bin_of(v)] += 1
            by_bin.setdefault(day_summary.bin_of(v), []).append(np.array([v]))
        found = stats._Ranks(counts if held else None, loose)
        assert found.n == n
        assert found.quantiles({b: by_bin.get(b, []) for b in found.bins()}) == expected


def test_each_months_durations_are_kept_by_their_bin_of_hours(lab: Lab, settled):
    """The month rows hold each duration of their days once, in its bin, and count each bin right."""
    with db.session() as s:  # more durations in January, spread over many bins, some on their edges
        for i, hours in enumerate([0.0, 0.25, 0.3, 1.0, 1.1, 2.5, 3.0, 17.0, 48.0, 200.0, 20000.0, 1e6]):
            add_settled(s, lab, lab.staff, f'b{i}', lab.haem, f'2026-01-{10 + i}T09:00', 'closed', hours, hours, 1, 1)
    day_summary.summarize(TODAY)
    with db.session() as s:
        days = s.execute(select(HiccupDayHours)).scalars().all()
        totals = s.execute(select(HiccupMonthHours)).scalars().all()
        bins = s.execute(select(HiccupMonthBin)).scalars().all()
    for measure in day_summary.MEASURES:
        expected: dict[tuple, list[float]] = {}
        for row in days:
            key = (row.day.replace(day=1), row.department_id, row.confidential)
            expected.setdefault(key, []).extend(np.frombuffer(getattr(row, f'{measure}_hours')).tolist())
        kept: dict[tuple, list[float]] = {}
        for row in (r for r in bins if r.measure == measure):
            values = np.frombuffer(row.hours).tolist()
            assert {day_summary.bin_of(v) for v in values} == {row.bin}
            kept.setdefault((row.month, row.department_id, row.confidential), []).extend(values)
        assert {k: sorted(v) for k, v in kept.items()} == {k: sorted(v) for k, v in expected.items()}
        for row in totals:
            counts = np.frombuffer(getattr(row, f'{measure}_bins'), dtype=day_summary.BIN_COUNT_TYPE)
            key = (row.month, row.department_id, row.confidential)
            assert (
                counts.tolist()
                == np.bincount([day_summary.bin_of(v) for v in expected[key]], minlength=day_summary.HOUR_BINS).tolist()
            )
        assert len(totals) == len(expected)
    assert len({r.bin for r in bins if r.month == D(2026, 1, 1)}) >= 10


def test_a_range_mostly_unsummed_or_cut_into_many_runs_reads_the_hiccups(lab: Lab, settled):
    day_summary.summarize(D(2026, 2, 1))  # sums up to 30 January
    with db.session() as s:
        assert day_summary.current(s, D(2026, 1, 1), D(2026, 2, 28)) is not None  # 30 of 59 days
        assert day_summary.current(s, D(2026, 1, 1), D(2026, 3, 2)) is None  # 30 of 61
        day_summary.mark_stale(s, [D(2025, 1, 1) + dt.timedelta(days=2 * i) for i in range(60)])
    with db.session() as s:
        assert day_summary.current(s, D(2025, 1, 1), D(2025, 12, 31)) is None  # 121 runs
        assert day_summary.current(s, D(2025, 6, 1), D(2026, 1, 30)) is not None


def test_the_database_computes_settled_as_the_summary_means_it(lab: Lab, settled):
    """`Hiccup.settled` (the column the unsettled hiccups' index is on) is `SETTLED`, for each way a
    hiccup can fall short of it: not final, not answered, not closed."""
    with db.session() as s:
        h1, h2, s1 = (s.get(Hiccup, settled[name]) for name in ('h1', 'h2', 's1'))
        h1.closed_at = None  # final, answered, not closed
        h2.responded_at = None  # final, closed, not answered
        s1.status = 'under_review'
    with db.session() as s:
        computed = set(s.scalars(select(Hiccup.title).where(Hiccup.settled)))
        meant = set(s.scalars(select(Hiccup.title).where(day_summary.SETTLED)))
        unsettled = set(s.scalars(select(Hiccup.title).where(day_summary.UNSETTLED)))
        titles = set(s.scalars(select(Hiccup.title)))
    assert computed == meant == {'h3', 's2', 's3', 's4', 's5'}
    assert unsettled == titles - meant
