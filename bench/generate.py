"""Bulk data: N hiccups over three years, with their audit and attachment rows, by Core INSERTs.

The lab itself (departments, categories, locations, SLA rules, the demo's 42 people) is made
by `tools.demo.lab.build_lab` through the engine; `--staff` more staff per department are
added in bulk. Hiccup texts come from the demo's templates (`tools.demo.drafts.Drafter`
drafts a pool, each generated hiccup takes one and gets its own dates, people and status).
The schema is built by `models.migrate.upgrade()`, so every index and full-text structure of
the real migrations is present (and maintained) while loading.

Run again with a larger `--hiccups` to top an existing bench database up to that many.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import random
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from models import db, migrate, permissions, search
from models.accounts import Role, User, hash_password, user_roles
from models.attachments import Attachment
from models.audit import AuditEntry
from models.hiccups import Hiccup, Severity, sla_hours, summary
from models.settings import reload_settings
from tools.demo.drafts import Drafter
from tools.demo.lab import DEPARTMENTS, Lab, build_lab

DEFAULT_DIR = Path('/work/bench-data')
DEFAULT_HICCUPS = 1_000_000
PASSWORD = 'bench-pass-123'
YEARS = 3
BATCH = 5_000
POOL = 20_000  # drafted texts to draw from
CONFIDENTIAL = 0.05
ATTACHMENT_SHARE = 0.12  # hiccups with photos (1-3 each)
MARKER = 'bench-marker'  # the department code that tells a bench lab exists

#: How far a hiccup got, by age in days: (age up to, weights over STATES)
STATES = ('open', 'responded', 'under_review', 'closed', 'escalated', 'followed_up')
BY_AGE = [
    (3, (60, 25, 10, 5, 0, 0)),
    (14, (15, 20, 15, 35, 3, 12)),
    (60, (3, 4, 4, 30, 4, 55)),
    (10_000, (0.3, 0.3, 0.4, 12, 4, 83)),
]


@dataclasses.dataclass
class Bench:
    """What a bench database holds: the people to act as, for the measurements."""

    url: str
    manager_id: int
    staff_id: int  # a staff member of the largest department
    staff_department_id: int
    department_ids: list[int]
    hiccups: int
    manager_email: str = ''
    staff_users: list[tuple[str, int]] = dataclasses.field(default_factory=list)  # (email, department id)
    category_id: int | None = None


def configure(data_dir: Path | None = None) -> str:
    """Point the process at the bench database: DATABASE_URL if set, else SQLite in `data_dir`."""
    if not os.environ.get('DATABASE_URL'):
        os.environ['DATA_DIR'] = str(data_dir or os.environ.get('DATA_DIR') or DEFAULT_DIR)
    os.environ.setdefault('EMBEDDED_WORKER', 'false')
    settings = reload_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _create_mysql_database(settings.db_url)
    db.configure(settings.db_url)
    permissions.invalidate()
    return settings.db_url


def _create_mysql_database(url: str) -> None:
    """Create the MariaDB/MySQL database `url` names if the server does not have it yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in ('mysql', 'mariadb') or not parsed.database:
        return
    server = create_engine(parsed.set(database=''))
    try:
        with server.begin() as conn:
            conn.execute(
                text(
                    f'CREATE DATABASE IF NOT EXISTS `{parsed.database}` '
                    'CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci'
                )
            )
    finally:
        server.dispose()


def people(session: Session) -> Bench:
    """The manager and staff member the measurements act as."""
    manager = session.scalar(
        select(User.id).join(user_roles).join(Role).where(Role.name == 'management').order_by(User.id).limit(1)
    )
    dept = session.scalar(
        select(Hiccup.department_id).group_by(Hiccup.department_id).order_by(func.count().desc()).limit(1)
    )
    staff = session.scalar(  # a bench staff member: staff only, not also HOD
        select(User.id).where(User.department_id == dept, User.email.like('staff%@bench.test')).order_by(User.id)
    )
    manager_email = session.scalar(select(User.email).where(User.id == manager))
    users = session.execute(
        select(User.email, User.department_id).where(User.email.like('staff%@bench.test')).order_by(User.id)
    ).all()
    departments = list(session.scalars(select(Hiccup.department_id).distinct().order_by(Hiccup.department_id)))
    n = session.scalar(select(func.count()).select_from(Hiccup)) or 0
    category = session.scalar(select(Hiccup.category_id).where(Hiccup.id == 1))
    staff_users = [(email, d) for email, d in users]
    return Bench(str(db.engine().url), manager, staff, dept, departments, n, manager_email, staff_users, category)


# ---- the lab ----


def ensure_lab(session: Session, rng: random.Random, staff_per_department: int, now: dt.datetime) -> Lab:
    """The demo lab plus more staff, made once; afterwards read back."""
    from models.lookups import Category, Department, Location

    if session.scalar(select(Department.id).where(Department.code == MARKER)) is None:
        lab = build_lab(session, rng, now - dt.timedelta(days=365 * YEARS + 2))
        password_hash = hash_password(PASSWORD)
        session.execute(User.__table__.update().values(password_hash=password_hash))
        staff_role = session.scalar(select(Role.id).where(Role.name == 'staff'))
        extra, links = [], []
        first_id = (session.scalar(select(func.max(User.id))) or 0) + 1
        for code, dept_id in lab.departments.items():
            for i in range(staff_per_department):
                uid = first_id + len(extra)
                extra.append(
                    {
                        'id': uid,
                        'email': f'staff{i + 1}.{code.lower()}@bench.test',
                        'name': f'Bench staff {i + 1} {code}',
                        'department_id': dept_id,
                        'active': True,
                        'password_hash': password_hash,
                        'failed_logins': 0,
                        'version': 1,
                        'created_at': now,
                        'updated_at': now,
                    }
                )
                links.append({'user_id': uid, 'role_id': staff_role})
        if extra:
            session.execute(insert(User.__table__), extra)
            session.execute(insert(user_roles), links)
        session.add(Department(name='(bench marker)', code=MARKER, active=False))
        session.flush()
    departments = {c: i for c, i in session.execute(select(Department.code, Department.id)) if c in DEPARTMENTS}
    categories = {c: i for c, i in session.execute(select(Category.code, Category.id))}
    locations = {c: i for c, i in session.execute(select(Location.code, Location.id))}
    return _read_lab(session, departments, categories, locations)


def _read_lab(session: Session, departments: dict, categories: dict, locations: dict) -> Lab:
    from tools.demo.lab import Person

    rows = session.execute(
        select(User.id, User.email, User.name, Role.name, User.department_id)
        .select_from(User)
        .join(user_roles, user_roles.c.user_id == User.id)
        .join(Role, Role.id == user_roles.c.role_id)
    ).all()
    code_of = {i: c for c, i in departments.items()}
    staff: dict[str, list[Person]] = {c: [] for c in departments}
    hods: dict[str, Person] = {}
    managers, admin, everyone = [], None, []
    for uid, email, name, role, dept in sorted(rows):
        p = Person(uid, email, name, role, code_of.get(dept))
        everyone.append(p)
        if role == 'staff' and p.department:
            staff[p.department].append(p)
        elif role == 'hod' and p.department and p.department not in hods:
            hods[p.department] = p
        elif role == 'management':
            managers.append(p)
        elif role == 'admin' and admin is None:
            admin = p
    return Lab(departments, categories, locations, staff, hods, managers, admin, everyone)


# ---- the rows ----


class Rows:
    """Hiccup, audit and attachment rows for ids `first_id` …, drawn from a pool of drafts."""

    def __init__(self, session: Session, lab: Lab, rng: random.Random, now: dt.datetime) -> None:
        self.lab, self.rng, self.now = lab, rng, now
        drafter = Drafter(session, lab, rng, now)
        self.pool = drafter.generate(POOL)
        self.sla = {(c, s): sla_hours(session, c, s) for c in lab.categories.values() for s in Severity}
        self.span = dt.timedelta(days=365 * YEARS).total_seconds()
        self.state_weights = [(age, list(w)) for age, w in BY_AGE]

    def hiccups(self, first_id: int, n: int) -> Iterator[tuple[dict, list[dict], list[dict]]]:  # noqa: PLR0915
        rng, now, lab = self.rng, self.now, self.lab
        managers = lab.managers
        # oldest first, so ids follow time as they do in a real table; a slow rise: more recent ones
        ages = sorted((self.span * (rng.random() ** 0.8) for _ in range(n)), reverse=True)
        for i in range(n):
            hid = first_id + i
            d = self.pool[rng.randrange(len(self.pool))]
            dept = d['_dept']
            age_s = ages[i]
            created = now - dt.timedelta(seconds=int(age_s) + 600)
            occurred = created - (d['created_at'] - d['occurred_at'])
            detected = None if d['detected_at'] is None else created - (d['created_at'] - d['detected_at'])
            confidential = rng.random() < CONFIDENTIAL
            auto = d['source_system'] is not None
            if auto:
                raiser_id = None
            else:
                staff = lab.staff[dept]
                raiser_id = lab.hods[dept].id if rng.random() < 0.07 else staff[rng.randrange(len(staff))].id
            manager = managers[rng.randrange(len(managers))]
            responder = None if confidential else lab.hods[dept].id
            resp_h, close_h = self.sla[(d['category_id'], d['severity'])]
            age_days = age_s / 86400
            weights = next(w for limit, w in self.state_weights if age_days <= limit)
            status = rng.choices(STATES, weights)[0]
            texts = d['_texts']
            row = {
                'id': hid,
                'reference': f'HIC-{created.year}-{hid:07d}',
                'title': d['title'],
                'description': d['description'],
                'department_id': d['department_id'],
                'category_id': d['category_id'],
                'location_id': d['location_id'],
                'severity': d['severity'],
                'phase': d['phase'],
                'occurred_at': occurred,
                'detected_at': detected,
                'confidential': confidential,
                'immediate_action': d['immediate_action'],
                'raised_by_id': raiser_id,
                'responder_id': responder,
                'status': status,
                'source_system': d['source_system'],
                'source_reference': f'{d["source_system"].upper()}-B{hid:08d}' if auto else None,
                'response': None,
                'root_cause': None,
                'corrective_action': None,
                'responded_at': None,
                'closure_remarks': None,
                'lessons_learned': None,
                'closed_at': None,
                'response_due_at': created + dt.timedelta(hours=resp_h),
                'closure_due_at': created + dt.timedelta(hours=close_h),
                'follow_up_due_at': None,
                'follow_up_result': None,
                'follow_up_comment': None,
                'nc_id': None,
                'created_at': created,
                'updated_at': created,
                'version': 4,
            }
            actor = d['_raiser']
            audit = [_audit(created, raiser_id, getattr(actor, 'label', 'bench'), 'create', hid, row)]
            if status != 'open':
                at = created + dt.timedelta(hours=resp_h * rng.lognormvariate(-1.0, 0.8))
                at = min(at, now)
                row.update(
                    response=texts['response'],
                    root_cause=texts['root_cause'],
                    corrective_action=texts['corrective'],
                    responded_at=at,
                    status=status,
                )
                audit.append(_audit(at, responder or manager.id, '', 'transition:respond', hid, None))
            if status in ('closed', 'escalated', 'followed_up'):
                closed = created + dt.timedelta(hours=close_h * rng.lognormvariate(-0.6, 0.55))
                closed = min(max(closed, row['responded_at'] + dt.timedelta(minutes=30)), now)
                row.update(closed_at=closed, closure_remarks=texts['remarks'], lessons_learned=texts['lessons'])
                action = 'transition:escalate' if status == 'escalated' else 'transition:close'
                audit.append(_audit(closed, manager.id, manager.label, action, hid, None))
                if status != 'escalated':
                    row['follow_up_due_at'] = closed + dt.timedelta(days=7)
                if status == 'followed_up':
                    answered = min(closed + dt.timedelta(days=rng.uniform(0.1, 7)), now)
                    row['follow_up_result'] = 'satisfied'
                    audit.append(_audit(answered, raiser_id, '', 'transition:confirm', hid, None))
            for a in audit:
                a['actor'] = a['actor'] or 'bench'
            row['updated_at'] = audit[-1]['at']
            files = []
            if rng.random() < ATTACHMENT_SHARE:
                for k in range(rng.choice((1, 1, 1, 2, 3))):
                    files.append(
                        {
                            'record_type': 'hiccups',
                            'record_id': hid,
                            'filename': f'photo-{k + 1}.jpg',
                            'stored_name': f'{hid:010d}{k}{rng.getrandbits(64):016x}',
                            'content_type': 'image/jpeg',
                            'size': rng.randint(80_000, 3_000_000),
                            'uploaded_by_id': raiser_id,
                            'uploaded_at': created,
                        }
                    )
                    audit.append(_audit(created, raiser_id, 'bench', 'attachment', hid, {'file': f'photo-{k + 1}.jpg'}))
            yield row, audit, files


def _audit(at: dt.datetime, actor_id: int | None, actor: str, action: str, hid: int, what: dict | None) -> dict:
    if what is not None and 'title' in what:
        what = {k: [None, _plain(what[k])] for k in ('title', 'department_id', 'category_id', 'severity', 'status')}
    return {
        'at': at,
        'actor_id': actor_id,
        'actor': actor,
        'action': action,
        'record_type': 'hiccups',
        'record_id': hid,
        'changes': json.dumps(what, ensure_ascii=False) if what else None,
        'note': None,
    }


def _plain(value: Any) -> Any:
    return getattr(value, 'name', value)


# ---- loading ----


def load(hiccups: int, seed: int, staff_per_department: int, fresh: bool, out=sys.stdout) -> dict[str, Any]:  # noqa: PLR0915
    """Top the configured database up to `hiccups` hiccups; returns figures of the load."""
    started = time.perf_counter()
    migrate.upgrade()
    migrate.seed_roles()
    if fresh:
        from tools.demo.loader import wipe

        wipe()
        migrate.seed_roles()
    schema_s = time.perf_counter() - started
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rng = random.Random(seed)
    with db.session() as s:
        lab = ensure_lab(s, rng, staff_per_department, now)
        have = s.scalar(select(func.count()).select_from(Hiccup)) or 0
        first_id = (s.scalar(select(func.max(Hiccup.id))) or 0) + 1
        rows = Rows(s, lab, random.Random(seed + have), now)
    todo = max(0, hiccups - have)
    print(f'{have:,} hiccups there; adding {todo:,}', file=out, flush=True)
    counts = {'hiccups': 0, 'audit': 0, 'attachments': 0}
    engine = db.engine()
    t0 = time.perf_counter()
    hic_t, aud_t, att_t = Hiccup.__table__, AuditEntry.__table__, Attachment.__table__
    batch_h: list[dict] = []
    batch_a: list[dict] = []
    batch_f: list[dict] = []
    last_report = t0

    def flush(conn: Any) -> None:
        if batch_h:
            conn.execute(insert(hic_t), batch_h)
            search.index_new(conn, 'hiccups', batch_h)  # MariaDB's words table (SQLite: its triggers)
        if batch_a:
            conn.execute(insert(aud_t), batch_a)
        if batch_f:
            conn.execute(insert(att_t), batch_f)
        counts['hiccups'] += len(batch_h)
        counts['audit'] += len(batch_a)
        counts['attachments'] += len(batch_f)
        batch_h.clear()
        batch_a.clear()
        batch_f.clear()

    with engine.connect() as conn:
        if engine.dialect.name == 'sqlite':
            conn.exec_driver_sql('PRAGMA synchronous=OFF')
            conn.exec_driver_sql('PRAGMA cache_size=-1000000')  # 1 GB for this connection's index updates
            conn.commit()
        # MariaDB: a commit per batch, whose 110,000 search words a default 128 MB buffer pool can lock
        per_commit = BATCH if engine.dialect.name != 'sqlite' else BATCH * 20
        tx = conn.begin()
        for row, audit, files in rows.hiccups(first_id, todo):
            batch_h.append(row)
            batch_a.extend(audit)
            batch_f.extend(files)
            if len(batch_h) >= BATCH:
                flush(conn)
                if counts['hiccups'] % per_commit == 0:
                    tx.commit()
                    tx = conn.begin()
                    now_t = time.perf_counter()
                    if now_t - last_report > 10:
                        rate = counts['hiccups'] / (now_t - t0)
                        print(f'  {counts["hiccups"]:,} hiccups, {rate:,.0f}/s', file=out, flush=True)
                        last_report = now_t
        flush(conn)
        tx.commit()
        if engine.dialect.name == 'sqlite':
            conn.exec_driver_sql('PRAGMA synchronous=NORMAL')
            conn.commit()
    load_s = time.perf_counter() - t0
    analyze_t = time.perf_counter()
    with engine.begin() as conn:
        if engine.dialect.name == 'sqlite':
            conn.exec_driver_sql('ANALYZE')
        else:
            for table in ('hiccups', search.words_table('hiccups'), 'audit_log', 'attachments', 'users'):
                conn.exec_driver_sql(f'ANALYZE TABLE {table}')
    analyze_s = time.perf_counter() - analyze_t
    summary_t = time.perf_counter()
    days = summary.summarize(afresh=True)  # the rows went in through Core: no flush hook marked their days
    summary_s = time.perf_counter() - summary_t
    rows_total = counts['hiccups'] + counts['audit'] + counts['attachments']
    result = {
        'url': engine.url.render_as_string(hide_password=True),
        'before': have,
        **counts,
        'schema_s': schema_s,
        'load_s': load_s,
        'analyze_s': analyze_s,
        'summary_s': summary_s,
        'summary_days': days,
        'hiccups_per_s': counts['hiccups'] / load_s if load_s else 0.0,
        'rows_per_s': rows_total / load_s if load_s else 0.0,
        'total_s': time.perf_counter() - started,
    }
    print(
        f'loaded {counts["hiccups"]:,} hiccups, {counts["audit"]:,} audit rows, {counts["attachments"]:,} attachments '
        f'in {load_s:.1f} s ({result["hiccups_per_s"]:,.0f} hiccups/s, {result["rows_per_s"]:,.0f} rows/s); '
        f'ANALYZE {analyze_s:.1f} s; the dashboard summary of {days:,} days {summary_s:.1f} s; '
        f'whole run {result["total_s"]:.1f} s',
        file=out,
        flush=True,
    )
    return result


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='python -m bench.generate', description=__doc__.split('\n')[0])
    parser.add_argument('--hiccups', type=int, default=DEFAULT_HICCUPS, help='hiccups the database should hold')
    parser.add_argument('--data-dir', type=Path, default=DEFAULT_DIR, help='SQLite DATA_DIR (without DATABASE_URL)')
    parser.add_argument('--staff', type=int, default=25, help='extra staff per department')
    parser.add_argument('--seed', type=int, default=6)
    parser.add_argument('--fresh', action='store_true', help='wipe every table first')
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure(args.data_dir)
    load(args.hiccups, args.seed, args.staff, args.fresh)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
