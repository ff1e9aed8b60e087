"""`python -m bench` (`make bench`): generate the bench databases if needed, measure, print a table.

Each configuration (backend x size) writes ``<out>/<backend>-<size>.json``; the table printed
at the end is built from every JSON file in ``<out>``, so a run of one configuration adds its
column to the earlier ones. Nothing here asserts anything about time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

HERE = Path(__file__).resolve().parent
DEFAULT_MYSQL = 'mysql+pymysql://root@127.0.0.1:3306/labdesk_bench'


def label(size: int) -> str:
    return f'{size // 1_000_000}M' if size % 1_000_000 == 0 else f'{size // 1000}k'


def measure(backend: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    from bench import export as export_bench
    from bench import generate, queries
    from models import db

    if backend == 'mariadb':
        os.environ['DATABASE_URL'] = args.mysql_url
    else:
        os.environ.pop('DATABASE_URL', None)
        os.environ['DATA_DIR'] = str(args.data_root / f'sqlite-{label(size).lower()}')
    generate.configure(Path(os.environ['DATA_DIR']) if backend == 'sqlite' else None)
    result: dict[str, Any] = {'backend': backend, 'size': size, 'started': dt.datetime.now(dt.UTC).isoformat()}
    from models.hiccups import Hiccup

    with db.session() as s:
        have = s.scalar(select(func.count()).select_from(Hiccup)) if _has_schema() else 0
    if (have or 0) < size * 0.99:
        print(f'== generating {backend} {label(size)}', flush=True)
        result['load'] = generate.load(size, args.seed, 25, fresh=False)
    with db.session() as s:
        bench = generate.people(s)
    result['hiccups'] = bench.hiccups
    steps = [s for s in args.steps.split(',') if s]
    work = {
        'list': lambda: queries.list_queries(bench, args.repeat),
        'summary': queries.summary,
        'dashboard': lambda: queries.dashboard(bench, max(3, args.repeat // 2)),
        'search': lambda: queries.search(bench, args.repeat),
        'export': lambda: export_bench.compare(100_000, args.export_repeat, bench.manager_id),
    }
    for step, run in work.items():
        if step in steps:
            print(f'== {backend} {label(size)}: {step}', flush=True)
            try:
                result[step] = run()
            except Exception as exc:  # one failed figure must not lose the others
                result.setdefault('errors', {})[step] = repr(exc)
                print(f'   {step} failed: {exc!r}', flush=True)
    if 'app' in steps or 'users' in steps:
        try:
            result.update(app_measurements(backend, bench, args, steps))
        except Exception as exc:
            result.setdefault('errors', {})['app'] = repr(exc)
            print(f'   app failed: {exc!r}', flush=True)
    result['finished'] = dt.datetime.now(dt.UTC).isoformat()
    return result


def _has_schema() -> bool:
    from sqlalchemy import inspect

    from models import db

    with db.engine().connect() as conn:
        return 'hiccups' in inspect(conn).get_table_names()


def app_measurements(backend: str, bench: Any, args: argparse.Namespace, steps: list[str]) -> dict[str, Any]:
    from bench import app as app_bench
    from bench import generate, queries
    from models import db
    from models.hiccups import Hiccup

    env = {'DATABASE_URL': args.mysql_url} if backend == 'mariadb' else {'DATA_DIR': os.environ['DATA_DIR']}
    out: dict[str, Any] = {}
    app = app_bench.App(env)
    try:
        (cookies,) = app_bench.browser_cookies(app.url, (bench.manager_email, generate.PASSWORD))
        if 'app' in steps:
            print(f'== {backend} {label(bench.hiccups)}: list page over HTTP + websocket', flush=True)
            paths = {name: p.url('/r/hiccups') for name, p in queries.list_cases(bench).items()}
            cpu = app.cpu_ms()
            out['page'] = asyncio.run(app_bench.page_requests(app.url, cookies, paths, args.repeat))
            out['page_cpu_ms'] = (app.cpu_ms() - cpu) / (len(paths) * (args.repeat + 1))
        if 'users' in steps and args.users:
            print(f'== {backend} {label(bench.hiccups)}: {args.users} users at once', flush=True)
            users = bench.staff_users[:: max(1, len(bench.staff_users) // args.users)][: args.users]

            def count() -> int:
                with db.session() as s:
                    return s.scalar(
                        select(func.count()).select_from(Hiccup).where(Hiccup.title.like(f'{app_bench.MARK} %'))
                    )

            accounts = [(email, generate.PASSWORD, dept) for email, dept in users]
            jars = app_bench.browser_cookies(app.url, *((email, password) for email, password, _ in accounts))
            for key, spread in (('users', args.spread), ('users_burst', 0.0)):
                print(f'   {key}: arrivals spread over {spread:.0f} s', flush=True)
                out[key] = asyncio.run(
                    app_bench.concurrent_users(app, jars, accounts, bench.category_id, count, spread)
                )
    finally:
        app.stop()
    return out


# ---- the table ----


def _ms(value: float | None) -> str:
    if value is None:
        return '-'
    return f'{value:,.0f}' if value >= 100 else f'{value:.1f}'


def table(results: list[dict[str, Any]]) -> str:
    results = sorted(results, key=lambda r: (r['backend'] != 'sqlite', r['size']))
    heads = [f'{"SQLite" if r["backend"] == "sqlite" else "MariaDB"} {label(r["size"])}' for r in results]
    lines = ['| measurement | ' + ' | '.join(heads) + ' |', '|---|' + '---:|' * len(results)]

    def row(name: str, cells: list[str]) -> None:
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')

    def get(r: dict, *path: Any) -> Any:
        for key in path:
            if r is None:
                return None
            if isinstance(key, tuple):  # find in a list of dicts by fields
                r = next((x for x in r if all(x.get(k) == v for k, v in key)), None)
            else:
                r = r.get(key) if isinstance(r, dict) else None
        return r

    first = next((r for r in results if r.get('load')), None)
    if first:
        row(
            'bulk load: hiccups/s (rows/s incl. audit + attachments)',
            [
                f'{get(r, "load", "hiccups_per_s"):,.0f} ({get(r, "load", "rows_per_s"):,.0f})'
                if r.get('load')
                else '-'
                for r in results
            ],
        )
        row(
            'bulk load: seconds for the hiccups added',
            [
                f'{get(r, "load", "load_s"):,.0f} s for {get(r, "load", "hiccups"):,}' if r.get('load') else '-'
                for r in results
            ],
        )
    cases = [c['case'] for c in (results[0].get('list') or [])]
    for actor in ('manager', 'staff'):
        for case in dict.fromkeys(cases):
            cells = []
            for r in results:
                x = get(r, 'list', (('actor', actor), ('case', case)))
                cells.append(f'{_ms(x["page_ms"])} / {_ms(x["count_ms"])}' if x else '-')
            row(f'list {actor}: {case} — page / count ms', cells)
    for case in dict.fromkeys(c['case'] for c in (results[0].get('page') or [])):
        cells = []
        for r in results:
            x = get(r, 'page', (('case', case),))
            cells.append(f'{_ms(x["html_ms"])} / {_ms(x["first_render_ms"])}' if x else '-')
        row(f'page (manager): {case} — HTML / rows on websocket ms', cells)
    if any(r.get('page_cpu_ms') for r in results):
        row('page (manager): app CPU per list opened, ms', [_ms(r.get('page_cpu_ms')) for r in results])
    if any(r.get('summary') for r in results):
        cells = [f'{x["seconds"]:.1f} s ({x["days"]:,} days)' if (x := r.get('summary')) else '-' for r in results]
        row('dashboard day summary: every day summed afresh', cells)
    for actor in ('manager', 'staff'):
        for rng in ('90 days', '365 days', '3 years'):
            cells = [_ms(get(r, 'dashboard', (('actor', actor), ('range', rng)), 'total_ms')) for r in results]
            row(f'dashboard {actor}, {rng}, all charts — ms', cells)
            cells = [_ms(get(r, 'dashboard', (('actor', actor), ('range', rng)), 'parallel_ms')) for r in results]
            if any(c != '-' for c in cells):
                row(f'dashboard {actor}, {rng}, all charts side by side as the page loads them — ms', cells)
    for r in results:  # the reference searched differs per database: one row for all
        for x in r.get('search') or []:
            x['label'] = 'a reference' if x['q'].startswith('HIC-') else f'"{x["q"]}"'
    for q in dict.fromkeys(s['label'] for s in (results[0].get('search') or [])):
        cells = []
        for r in results:
            x = get(r, 'search', (('label', q),))
            cells.append(
                f'{_ms(x["engine_ms"])} vs {_ms(x["like_ms"])} = {x["ratio"]:.0f}x '
                f'({x["engine_all"]:,}/{x["like_all"]:,})'
                if x
                else '-'
            )
        row(f'search {q}: engine vs LIKE ms = ratio (matches engine/LIKE)', cells)
    export_rows = [
        ('export 100k rows: seconds, engine vs pandas', 'seconds', '{:.1f} s', 'time_ratio'),
        ('export 100k rows: peak RSS of the process, engine vs pandas', 'peak_mb', '{:.0f} MB', 'peak_ratio'),
        ('export 100k rows: RSS growth during the export', 'delta_mb', '{:.0f} MB', 'delta_ratio'),
        ('export 100k rows: peak Python allocations (tracemalloc)', 'traced_peak_mb', '{:.1f} MB', 'traced_ratio'),
    ]
    for name, key, fmt, ratio in export_rows:
        cells = []
        for r in results:
            x = r.get('export') or {}
            e, p = x.get('engine') or {}, x.get('pandas') or {}
            if e.get(key) is None or p.get(key) is None:
                cells.append('-')
            else:
                cells.append(f'{fmt.format(e[key])} vs {fmt.format(p[key])} ({x[ratio]:.1f}x)')
        row(name, cells)
    for part, what in (('users', '100 users arriving over 30 s'), ('users_burst', '100 users all at once')):
        for key, name in [
            ('open_p50_ms', 'open list p50 ms'),
            ('open_p95_ms', 'open list p95 ms'),
            ('raise_p50_ms', 'raise (API) p50 ms'),
            ('raise_p95_ms', 'raise (API) p95 ms'),
            ('mb_per_client', 'MB per connected client'),
            ('cpu_ms_per_user', 'app CPU per user (open, raise, live updates) ms'),
        ]:
            row(f'{what}: {name}', [_ms(get(r, part, key)) if get(r, part, key) is not None else '-' for r in results])
        row(
            f'{what}: raised / stored (lost)',
            [
                f'{get(r, part, "raised_ok")} / {get(r, part, "hiccups_after") - get(r, part, "hiccups_before")}'
                f' ({get(r, part, "lost")})'
                if r.get(part)
                else '-'
                for r in results
            ],
        )
    return '\n'.join(lines)


def machine() -> str:
    cpu = next(
        (ln.split(':', 1)[1].strip() for ln in Path('/proc/cpuinfo').read_text().splitlines() if 'model name' in ln),
        platform.processor(),
    )
    mem = next(ln.split()[1] for ln in Path('/proc/meminfo').read_text().splitlines() if ln.startswith('MemTotal'))
    return f'{os.cpu_count()} cores ({cpu}), {int(mem) / 2**20:.0f} GiB, Python {platform.python_version()}'


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='python -m bench', description=__doc__.split('\n')[0])
    parser.add_argument('--backends', default='sqlite,mariadb', help='sqlite, mariadb or both')
    parser.add_argument('--sizes', default='100000,1000000', help='hiccup counts, comma-separated')
    parser.add_argument('--steps', default='list,summary,dashboard,search,export,app,users')
    parser.add_argument('--repeat', type=int, default=7, help='runs per figure (the median is shown)')
    parser.add_argument('--export-repeat', type=int, default=3)
    parser.add_argument('--users', type=int, default=100)
    parser.add_argument('--spread', type=float, default=30.0, help='seconds over which the users arrive')
    parser.add_argument('--seed', type=int, default=6)
    parser.add_argument('--data-root', type=Path, default=Path('/work/bench-data'))
    parser.add_argument('--mysql-url', default=os.environ.get('BENCH_MYSQL_URL', DEFAULT_MYSQL))
    parser.add_argument('--out', type=Path, default=HERE / 'results')
    parser.add_argument('--table-only', action='store_true', help='print the table of the saved results')
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.table_only:
        for backend in [b.strip() for b in args.backends.split(',') if b.strip()]:
            for size in sorted(int(s) for s in args.sizes.split(',')):
                started = time.perf_counter()
                result = measure(backend, size, args)
                result['seconds'] = time.perf_counter() - started
                result['machine'] = machine()
                path = args.out / f'{backend}-{label(size).lower()}.json'
                if path.exists():  # a partial run (--steps) keeps the other figures of that configuration
                    result = {**json.loads(path.read_text()), **result}
                path.write_text(json.dumps(result, indent=1, default=str))
                print(f'== {backend} {label(size)} done in {result["seconds"]:.0f} s → {path}', flush=True)
    results = [json.loads(p.read_text()) for p in sorted(args.out.glob('*.json'))]
    print(f'\nMachine: {machine()}; command: python -m bench {" ".join(sys.argv[1:])}\n')
    print(table(results))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
