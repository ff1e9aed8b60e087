"""In-process measurements: list queries, the dashboard, search against LIKE (each a median of runs)."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select

from bench.generate import Bench
from models import changes, db
from models.accounts import Actor, User
from models.hiccups import Hiccup, Hiccups
from models.query import ListParams, _escape, build, count, page
from models.settings import get_settings
from reports import hiccup_stats


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time in ms of `repeat` runs after one warm-up run, and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def actor(user_id: int) -> Actor:
    with db.session() as s:
        return Actor.of(s.get(User, user_id))


def list_cases(bench: Bench) -> dict[str, ListParams]:
    today = dt.datetime.now(get_settings().tz).date()
    return {
        'no filter': ListParams(),
        'status = open': ListParams(filters={'status': 'open'}),
        'department + 30 days': ListParams(
            filters={'department_id': str(bench.staff_department_id)},
            date_from=(today - dt.timedelta(days=29)).isoformat(),
            date_to=today.isoformat(),
        ),
        'search "centrifuge"': ListParams(q='centrifuge'),
        'sort by occurred': ListParams(sort='-occurred_at'),
        'sort by title': ListParams(sort='title'),
        'page 200': ListParams(page=200),
    }


def list_queries(bench: Bench, repeat: int) -> list[dict[str, Any]]:
    """First page and capped count through models.query, as a manager and as a staff member."""
    out = []
    for role, user_id in (('manager', bench.manager_id), ('staff', bench.staff_id)):
        who = actor(user_id)
        for name, params in list_cases(bench).items():
            with db.session() as s:
                page_ms, rows = timed(lambda s=s, p=params, w=who: page(s, w, Hiccups, p), repeat)
                count_ms, (n, capped) = timed(lambda s=s, p=params, w=who: count(s, w, Hiccups, p), repeat)
            out.append(
                {
                    'actor': role,
                    'case': name,
                    'page_ms': page_ms,
                    'count_ms': count_ms,
                    'rows': len(rows),
                    'count': f'{n:,}+' if capped else f'{n:,}',
                }
            )
    return out


def summary() -> dict[str, Any]:
    """The dashboard's day summary built afresh (what `summarize` does at first, or in a new timezone);
    it is then current for the dashboard measured next."""
    from models.hiccups.summary import summarize

    started = time.perf_counter()
    days = summarize(afresh=True)
    return {'seconds': time.perf_counter() - started, 'days': days}


def dashboard(bench: Bench, repeat: int) -> list[dict[str, Any]]:
    """Every chart's data and Plotly figure (as the page sends it), for the default 90 days, a year and
    three years (the generated data's whole span): one after another (`total_ms`), and side by side as
    the dashboard page loads them (`parallel_ms`)."""
    out = []
    today = dt.datetime.now(get_settings().tz).date()
    ranges = {
        '90 days': hiccup_stats.Filters.default(today),
        '365 days': hiccup_stats.Filters(today - dt.timedelta(days=364), today),
        '3 years': hiccup_stats.Filters(today - dt.timedelta(days=3 * 365), today),
    }
    for role, user_id in (('manager', bench.manager_id), ('staff', bench.staff_id)):
        who = actor(user_id)
        for label, filters in ranges.items():

            def run(who: Actor = who, filters: hiccup_stats.Filters = filters) -> dict[str, float]:
                changes.forget_shared()  # a dashboard opened afresh: nothing read by the previous run
                per = {}
                for key, chart in hiccup_stats.CHARTS.items():
                    started = time.perf_counter()
                    _chart(chart, who, filters)
                    per[key] = (time.perf_counter() - started) * 1000
                return per

            def side_by_side(who: Actor = who, filters: hiccup_stats.Filters = filters) -> None:
                changes.forget_shared()
                with ThreadPoolExecutor(len(hiccup_stats.CHARTS)) as pool:  # as the page loads them
                    list(pool.map(lambda chart: _chart(chart, who, filters), hiccup_stats.CHARTS.values()))

            total_ms, per = timed(lambda run=run: run(), repeat)
            parallel_ms, _ = timed(side_by_side, repeat)
            out.append({'actor': role, 'range': label, 'total_ms': total_ms, 'parallel_ms': parallel_ms, 'charts': per})
    return out


def _chart(chart: hiccup_stats.Chart, who: Actor, filters: hiccup_stats.Filters) -> None:
    """One chart's data and Plotly figure, as the dashboard page computes it."""
    df = chart.load(who, filters)
    if chart.figure:
        chart.figure(df, filters).to_plotly_json()


def like_clause(text: str) -> Any:
    """The search as it was before full-text: one ILIKE per word and field."""
    cols = [getattr(Hiccup, n) for n in Hiccups.search_fields] or [cast(Hiccups.title_field, String)]
    words = [w for w in text.split() if w][:8]
    return and_(*[or_(*[c.ilike(f'%{_escape(w)}%', escape='\\') for c in cols]) for w in words])


SEARCHES = ['centrifuge', 'haemolysed sample', 'QC', 'Sysmex XN-1000', 'zzzz']


def search(bench: Bench, repeat: int) -> list[dict[str, Any]]:
    """The engine's search against a plain LIKE on the same rows: first page + capped count, and all matches."""
    out = []
    who = actor(bench.manager_id)
    with db.session() as s:
        reference = s.scalar(select(Hiccup.reference).where(Hiccup.id >= bench.hiccups // 2).limit(1))
    for text in [*SEARCHES, reference]:
        params = ListParams(q=text)
        with db.session() as s:

            def engine_search(s=s, params=params) -> tuple[int, int]:
                rows = page(s, who, Hiccups, params)
                n, _ = count(s, who, Hiccups, params)
                return len(rows), n

            def like_search(s=s, text=text) -> tuple[int, int]:
                stmt = build(s, who, Hiccups, ListParams()).where(like_clause(text))
                rows = list(s.scalars(stmt.limit(25)))
                inner = stmt.with_only_columns(Hiccup.id).order_by(None).limit(10_001).subquery()
                return len(rows), s.scalar(select(func.count()).select_from(inner))

            fts_ms, (_, fts_n) = timed(engine_search, repeat)
            like_ms, (_, like_n) = timed(like_search, max(1, repeat // 2))
            all_fts = s.scalar(
                select(func.count()).select_from(
                    build(s, who, Hiccups, params, sort=False).with_only_columns(Hiccup.id).subquery()
                )
            )
            all_like = s.scalar(select(func.count()).select_from(Hiccup).where(like_clause(text)))
        out.append(
            {
                'q': text,
                'engine_ms': fts_ms,
                'like_ms': like_ms,
                'ratio': like_ms / fts_ms if fts_ms else 0.0,
                'engine_count': fts_n,
                'like_count': like_n,
                'engine_all': all_fts,
                'like_all': all_like,
            }
        )
    return out
