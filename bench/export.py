"""Excel export of ~100k hiccups: reports.export against pandas.read_sql(...).to_excel(engine='openpyxl').

Each run is its own process (so peak memory is that export's alone): ``python -m bench.export
engine|pandas DATE_FROM PATH USER_ID`` prints one JSON line with the seconds, the peak RSS
(``VmHWM``) and the RSS before the export started (after imports and connecting). A child imports what
an export needs and no more (not `bench.generate`, whose migrations and demo texts are not the export's).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

REPO = Path(__file__).resolve().parent.parent


def _rss_mb() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def _peak_mb() -> float:
    """This process's peak RSS (VmHWM). Not `ru_maxrss`: Linux carries the parent's peak over into a
    child's at exec, so a child of a big parent would report the parent's size."""
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, date_from: str, path: str, user_id: int) -> dict[str, Any]:
    from models import db
    from models.accounts import Actor, User
    from models.hiccups import Hiccups
    from models.lookups import Category, Department
    from models.query import ListParams, build
    from models.settings import get_settings, reload_settings
    from reports.export import export_list

    db.configure(reload_settings().db_url)  # the parent's DATA_DIR or DATABASE_URL
    with db.session() as s:
        who = Actor.of(s.get(User, user_id))
    params = ListParams(date_from=date_from)
    traced = mode.endswith('-traced')  # Python allocations (tracemalloc): slower, for the memory figure only
    mode = mode.removesuffix('-traced')
    if mode == 'pandas':
        import pandas as pd  # before the baseline: the growth is the export's own; the engine needs no pandas
    base = _rss_mb()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    if mode == 'engine':
        rows = export_list(who, Hiccups, params, path)
    else:
        with db.session() as s:
            stmt = build(s, who, Hiccups, params)
            model = Hiccups.model
            stmt = (
                stmt.with_only_columns(
                    model.reference,
                    model.title,
                    Department.name.label('department'),
                    Category.name.label('category'),
                    model.severity,
                    model.status,
                    model.occurred_at,
                )
                .join(Department, Department.id == model.department_id)
                .join(Category, Category.id == model.category_id)
            )
            frame = pd.read_sql(stmt, s.connection())
        # Excel has no time zones: show local time, as the engine's export does
        frame['occurred_at'] = frame['occurred_at'].dt.tz_convert(get_settings().tz).dt.tz_localize(None)
        frame.to_excel(path, engine='openpyxl', index=False)
        rows = len(frame)
    seconds = time.perf_counter() - started
    peak = _peak_mb()
    heap = tracemalloc.get_traced_memory()[1] / 2**20 if traced else None
    return {
        'mode': mode,
        'rows': rows,
        'seconds': seconds,
        'peak_mb': peak,
        'base_mb': base,
        'delta_mb': peak - base,
        'traced_peak_mb': heap,
    }


def date_for(rows: int) -> str:
    """The local date from which about `rows` hiccups occurred (all of them when there are fewer)."""
    from models import db
    from models.hiccups import Hiccup
    from models.settings import get_settings

    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(Hiccup)) or 0
        if total <= rows:
            return ''
        at = s.scalar(select(Hiccup.occurred_at).order_by(Hiccup.occurred_at.desc()).offset(rows).limit(1))
    return at.astimezone(get_settings().tz).date().isoformat()


def compare(rows: int, repeat: int, user_id: int) -> dict[str, Any]:
    """Both exports, as user `user_id`, `repeat` times each, alternating, in fresh processes; medians and ratios."""
    date_from = date_for(rows)
    runs: dict[str, list[dict]] = {'engine': [], 'pandas': []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            for mode in ('engine', 'pandas'):
                path = Path(tmp) / f'{mode}-{i}.xlsx'
                cmd = [sys.executable, '-m', 'bench.export', mode, date_from, str(path), str(user_id)]
                done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
                if done.returncode:
                    raise RuntimeError(f'export {mode} failed:\n{done.stderr[-3000:]}')
                runs[mode].append(json.loads(done.stdout.strip().splitlines()[-1]))
        for mode in ('engine', 'pandas'):  # once more under tracemalloc: the peak of Python allocations
            path = Path(tmp) / f'{mode}-traced.xlsx'
            cmd = [sys.executable, '-m', 'bench.export', f'{mode}-traced', date_from, str(path), str(user_id)]
            done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
            if done.returncode:
                raise RuntimeError(f'export {mode} (traced) failed:\n{done.stderr[-3000:]}')
            runs[f'{mode}-traced'] = [json.loads(done.stdout.strip().splitlines()[-1])]
    out: dict[str, Any] = {'date_from': date_from}
    for mode in ('engine', 'pandas'):
        results = runs[mode]
        out[mode] = {k: statistics.median(r[k] for r in results) for k in ('seconds', 'peak_mb', 'delta_mb')}
        out[mode]['rows'] = results[0]['rows']
        out[mode]['traced_peak_mb'] = runs[f'{mode}-traced'][0]['traced_peak_mb']
    out['traced_ratio'] = out['pandas']['traced_peak_mb'] / out['engine']['traced_peak_mb']
    out['time_ratio'] = out['pandas']['seconds'] / out['engine']['seconds']
    out['peak_ratio'] = out['pandas']['peak_mb'] / out['engine']['peak_mb']
    out['delta_ratio'] = out['pandas']['delta_mb'] / max(out['engine']['delta_mb'], 1.0)
    return out


if __name__ == '__main__':
    print(json.dumps(child(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))))
