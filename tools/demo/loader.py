"""Loading: the lab through the engine, its year (hiccups, NCs, issues) with a few bulk INSERTs, in one transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import Counter
from typing import Any

from sqlalchemy import MetaData, func, insert, inspect, select, text, update
from sqlalchemy.orm import Session

from models import db, permissions, search
from models.accounts import User, hash_password
from models.audit import AuditEntry
from models.base import utcnow
from models.changes import Change
from models.comments import Comment
from models.engine import REGISTRY
from models.hiccups import Hiccup, Hiccups, NcAction, NcActions, NonConformance, NonConformances, summary
from models.issues import Issue, IssueDailyStats, Issues, IssueStats, Tags, issue_tags, record_daily_stats
from models.settings import local_day
from tools.demo.drafts import DAYS, in_days
from tools.demo.issues import DEFAULT_ISSUES, IssueSimulation, build_desk
from tools.demo.lab import SLA_RULES, Person, build_lab
from tools.demo.simulation import Simulation


@dataclasses.dataclass
class Result:
    """What `load` made, for the report: counts, status spreads and the people to sign in as."""

    counts: dict[str, int]
    statuses: Counter
    nc_statuses: Counter
    people: list[Person]
    password: str
    seconds: float = 0.0
    issue_statuses: Counter = dataclasses.field(default_factory=Counter)
    maintainers: list[Person] = dataclasses.field(default_factory=list)
    reporters: list[Person] = dataclasses.field(default_factory=list)  # the demo reporters
    lab_reporters: list[Person] = dataclasses.field(default_factory=list)  # lab staff who also report issues


def load(
    hiccups: int, seed: int, password: str, now: dt.datetime | None = None, issues: int = DEFAULT_ISSUES
) -> Result:
    """Build the lab and its year in one transaction: all of it or nothing."""
    rng = random.Random(seed)
    issue_rng = random.Random(f'{seed}/issues')  # its own stream: a seed's hiccups stay as they were
    now = (now or utcnow()).replace(microsecond=0)
    password_hash = hash_password(password)  # once: argon2 is slow on purpose
    with db.session() as s:
        lab = build_lab(s, rng, now - in_days(DAYS + 1))
        desk = build_desk(s, lab, issue_rng, now - in_days(DAYS + 1))  # adds its people to lab.people
        s.execute(update(User).where(User.id.in_([p.id for p in lab.people])).values(password_hash=password_hash))
        sim = Simulation(s, lab, rng, now)
        sim.generate(hiccups)
        sim.run(_next_id(s, Hiccup), _next_id(s, NonConformance), _next_id(s, NcAction))
        tracker = IssueSimulation(s, lab, desk, issue_rng, now, sim.log)  # its audit rows join the hiccups'
        tracker.generate(issues)
        tracker.run(_next_id(s, Issue), _next_id(s, Comment))
        if sim.ncs:
            s.execute(insert(NonConformance.__table__), _rows(sim.ncs))
        if sim.hiccups:
            s.execute(insert(Hiccup.__table__), _rows(sim.hiccups))
            search.index_new(s.connection(), 'hiccups', sim.hiccups)  # no flush hook here either
            summary.mark_stale(s, {local_day(h['occurred_at']) for h in sim.hiccups})  # no flush hook here
        if sim.actions:
            s.execute(insert(NcAction.__table__), _rows(sim.actions))
        if tracker.issues:
            s.execute(insert(Issue.__table__), _rows(tracker.issues))
        if tracker.links:
            s.execute(insert(issue_tags), tracker.links)
        if tracker.comments:
            s.execute(insert(Comment.__table__), _rows(tracker.comments))
        sim.audit.sort(key=lambda entry: entry[:2])
        if sim.audit:
            s.execute(insert(AuditEntry), [row for _, _, row in sim.audit])
        today = now.astimezone(tracker.tz).date()
        stats = tracker.daily_stats(today)  # the past days, as the 30-minute job would have left them
        if stats:
            s.execute(insert(IssueDailyStats.__table__), stats)
        record_daily_stats(s, today)  # today's row: the job's own count of the issues now
        for slug in (Hiccups.slug, NonConformances.slug, NcActions.slug, Issues.slug, Tags.slug, IssueStats.slug):
            s.add(Change(record_type=slug, record_id=None))  # open pages refresh
        counts = {
            'departments': len(lab.departments),
            'categories': len(lab.categories),
            'locations': len(lab.locations),
            'SLA rules': len(SLA_RULES),
            'users': len(lab.people),
            'hiccups': len(sim.hiccups),
            'confidential': sum(h['confidential'] for h in sim.hiccups),
            'auto-generated': sum(h['source_system'] is not None for h in sim.hiccups),
            'overdue': s.scalar(select(func.count()).select_from(Hiccup).where(Hiccup.overdue)) or 0,
            'non-conformances': len(sim.ncs),
            'NC actions': len(sim.actions),
            'audit rows': len(sim.audit),
            'issues': len(tracker.issues),
            'reopened': sum(any(e[1] == 'open' for e in i['_events'][1:]) for i in tracker.issues),
            'issue comments': len(tracker.comments),
            'tags': len(desk.tags),
            'issue stats days': len(stats) + 1,
        }
        return Result(
            counts,
            Counter(h['status'] for h in sim.hiccups),
            Counter(nc['status'] for nc in sim.ncs),
            lab.people,
            password,
            issue_statuses=Counter(i['status'] for i in tracker.issues),
            maintainers=desk.maintainers,
            reporters=desk.reporters,
            lab_reporters=desk.lab_reporters,
        )


def existing_data(session: Session) -> dict[str, int]:
    """Record types that already hold rows (the first administrator alone does not count)."""
    tables = set(inspect(session.connection()).get_table_names())
    found = {}
    for slug, rt in REGISTRY.items():
        if slug == 'roles' or rt.model.__tablename__ not in tables:
            continue
        n = session.scalar(select(func.count()).select_from(rt.model.__table__)) or 0
        if n and not (slug == 'users' and n == 1):
            found[rt.label_plural.lower()] = n
    return found


def wipe() -> None:
    """Delete every row of every table but Alembic's (the roles are seeded again afterwards): the
    issues, their tags and daily statistics too. SQLite's full-text tables (`models.search`) are left
    to their triggers, which empty them with their content tables; emptying their shadow tables by
    hand would corrupt the index."""
    engine = db.engine()
    meta = MetaData()
    meta.reflect(engine)
    words = {search.words_table(t) for t in search.FULLTEXT}  # MariaDB's: a plain table, emptied with the rest
    tables = [
        t
        for t in reversed(meta.sorted_tables)
        if t.name != 'alembic_version' and (search.include_name(t.name, 'table', {}) or t.name in words)
    ]
    with engine.begin() as conn:
        if engine.dialect.name in ('mysql', 'mariadb'):
            conn.execute(text('SET FOREIGN_KEY_CHECKS=0'))
            for table in tables:
                conn.execute(text(f'TRUNCATE TABLE `{table.name}`'))  # also restarts the ids at 1
            conn.execute(text('SET FOREIGN_KEY_CHECKS=1'))
        else:
            for table in tables:
                conn.execute(table.delete())
    permissions.invalidate()


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if not k.startswith('_')} for row in rows]


def _next_id(session: Session, model: Any) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1
