"""Loading: the lab through the engine, its year with a few bulk INSERTs, in one transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import Counter
from typing import Any

from sqlalchemy import MetaData, func, insert, inspect, select, text, update
from sqlalchemy.orm import Session

from models import db, permissions
from models.accounts import User, hash_password
from models.audit import AuditEntry
from models.base import utcnow
from models.changes import Change
from models.engine import REGISTRY
from models.hiccups import Hiccup, Hiccups, NcAction, NcActions, NonConformance, NonConformances
from tools.demo.drafts import DAYS, in_days
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


def load(hiccups: int, seed: int, password: str, now: dt.datetime | None = None) -> Result:
    """Build the lab and its year in one transaction: all of it or nothing."""
    rng = random.Random(seed)
    now = (now or utcnow()).replace(microsecond=0)
    password_hash = hash_password(password)  # once: argon2 is slow on purpose
    with db.session() as s:
        lab = build_lab(s, rng, now - in_days(DAYS + 1))
        s.execute(update(User).where(User.id.in_([p.id for p in lab.people])).values(password_hash=password_hash))
        sim = Simulation(s, lab, rng, now)
        sim.generate(hiccups)
        sim.run(_next_id(s, Hiccup), _next_id(s, NonConformance), _next_id(s, NcAction))
        if sim.ncs:
            s.execute(insert(NonConformance.__table__), _rows(sim.ncs))
        if sim.hiccups:
            s.execute(insert(Hiccup.__table__), _rows(sim.hiccups))
        if sim.actions:
            s.execute(insert(NcAction.__table__), _rows(sim.actions))
        sim.audit.sort(key=lambda entry: entry[:2])
        if sim.audit:
            s.execute(insert(AuditEntry), [row for _, _, row in sim.audit])
        for slug in (Hiccups.slug, NonConformances.slug, NcActions.slug):
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
        }
        return Result(
            counts,
            Counter(h['status'] for h in sim.hiccups),
            Counter(nc['status'] for nc in sim.ncs),
            lab.people,
            password,
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
    """Delete every row of every table but Alembic's (the roles are seeded again afterwards)."""
    engine = db.engine()
    meta = MetaData()
    meta.reflect(engine)
    tables = [t for t in reversed(meta.sorted_tables) if t.name != 'alembic_version']
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
