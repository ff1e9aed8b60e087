"""What the scheduled hiccup jobs find and say: SLA breaches, follow-ups due, the daily
summary, trend alerts and the monthly learning digest. Tasks in `tasks/hiccups.py` call these.

Trend rule: for each department and each category, the count of hiccups raised in the last 7
days is compared with its usual weekly rate, the mean of the 12 weeks before. An alert is raised
when the last week has at least 5 hiccups AND at least twice the usual rate AND more than the
usual rate plus three times its square root (a Poisson count that far above its mean happens by
chance well under 1% of the time). So small numbers (2 instead of 1) never alert.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.accounts import Actor
from models.hiccups import FINAL, Hiccup, Hiccups, NonConformance
from models.lookups import Category, Department
from models.permissions import visible_query
from models.settings import get_settings
from reports import xlsx

TREND_MIN_COUNT = 5
TREND_BASELINE_WEEKS = 12


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


#: The SLA clocks: breach kind → (time done, time due, time the breach was told).
CLOCKS = {
    'response': (Hiccup.responded_at, Hiccup.response_due_at, Hiccup.response_breach_noticed_at),
    'closure': (Hiccup.closed_at, Hiccup.closure_due_at, Hiccup.closure_breach_noticed_at),
}


def breaches(session: Session, kind: str, now: dt.datetime) -> list[Hiccup]:
    """Unfinished hiccups past their `kind` deadline ('response' or 'closure') not yet told of."""
    done, due, noticed = CLOCKS[kind]
    stmt = select(Hiccup).where(Hiccup.status.not_in(FINAL), done.is_(None), due < _naive(now), noticed.is_(None))
    return list(session.scalars(stmt.limit(1000)))


def follow_ups_due(session: Session, now: dt.datetime) -> list[Hiccup]:
    """Closed hiccups whose raiser has not answered the follow-up, not reminded in the last day."""
    day_ago = _naive(now - dt.timedelta(days=1))
    return list(
        session.scalars(
            select(Hiccup)
            .where(
                Hiccup.status == 'closed',
                Hiccup.follow_up_due_at <= _naive(now),
                (Hiccup.follow_up_reminded_at.is_(None)) | (Hiccup.follow_up_reminded_at < day_ago),
            )
            .limit(1000)
        )
    )


def daily_summary(session: Session, now: dt.datetime) -> tuple[str, str]:
    """Subject and body of the morning summary for management (who see every hiccup)."""
    since = _naive(now - dt.timedelta(days=1))
    raised = session.scalar(select(func.count()).where(Hiccup.created_at >= since)) or 0
    closed = session.scalar(select(func.count()).where(Hiccup.closed_at >= since)) or 0
    still_open = session.scalar(select(func.count()).where(Hiccup.status.not_in(FINAL))) or 0
    overdue = session.scalar(select(func.count()).where(Hiccup.overdue)) or 0
    by_department = session.execute(
        select(Department.name, func.count())
        .join(Hiccup, Hiccup.department_id == Department.id)
        .where(Hiccup.status.not_in(FINAL))
        .group_by(Department.name)
        .order_by(func.count().desc())
        .limit(10)
    )
    day = now.astimezone(get_settings().tz).strftime('%d %b %Y')
    lines = [
        f'Last 24 hours: {raised} raised, {closed} closed.',
        f'Open now: {still_open}, of which {overdue} overdue.',
    ]
    lines += ['Open by department:'] + [f'  {name}: {count}' for name, count in by_department]
    return f'Hiccups daily summary {day}', '\n'.join(lines)


@dataclasses.dataclass(frozen=True)
class Trend:
    kind: str  # 'department' or 'category'
    key: int
    name: str
    last_week: int
    usual: float

    @property
    def text(self) -> str:
        return f'{self.kind.capitalize()} {self.name}: {self.last_week} hiccups in 7 days (usually {self.usual:.1f})'


def trend_alerts(session: Session, now: dt.datetime) -> list[Trend]:
    week_start = _naive(now - dt.timedelta(days=7))
    base_start = _naive(now - dt.timedelta(days=7 * (TREND_BASELINE_WEEKS + 1)))
    found = []
    for kind, column, lookup in (
        ('department', Hiccup.department_id, Department),
        ('category', Hiccup.category_id, Category),
    ):
        recent = dict(
            session.execute(select(column, func.count()).where(Hiccup.created_at >= week_start).group_by(column)).all()
        )
        before = dict(
            session.execute(
                select(column, func.count())
                .where(Hiccup.created_at >= base_start, Hiccup.created_at < week_start)
                .group_by(column)
            ).all()
        )
        names = dict(session.execute(select(lookup.id, lookup.name)).all())
        for key, count in recent.items():
            usual = before.get(key, 0) / TREND_BASELINE_WEEKS
            if is_trend(count, usual):
                found.append(Trend(kind, key, names.get(key, str(key)), count, usual))
    return found


def is_trend(last_week: int, usual: float) -> bool:
    return last_week >= TREND_MIN_COUNT and last_week >= 2 * usual and last_week > usual + 3 * math.sqrt(usual)


LEARNING_COLUMNS = [
    xlsx.Column('Type', 'str'),
    xlsx.Column('Reference', 'str'),
    xlsx.Column('Category', 'str'),
    xlsx.Column('Department', 'str'),
    xlsx.Column('Title', 'str'),
    xlsx.Column('Closed', 'datetime'),
    xlsx.Column('Root cause', 'text'),
    xlsx.Column('Lessons learned / effectiveness', 'text'),
]


def learning_rows(session: Session, actor: Actor, start: dt.datetime, end: dt.datetime) -> list[list[Any]]:
    """Last month's closed hiccups (only those `actor` may see) and NCs, by category."""
    categories = dict(session.execute(select(Category.id, Category.name)).all())
    departments = dict(session.execute(select(Department.id, Department.name)).all())
    tz = get_settings().tz
    stmt = (
        visible_query(session, actor, Hiccups)
        .where(Hiccup.closed_at >= _naive(start), Hiccup.closed_at < _naive(end), Hiccup.status != 'escalated')
        .order_by(Hiccup.category_id, Hiccup.closed_at)
        .limit(5000)
    )
    rows = [
        [
            'Hiccup',
            h.reference,
            categories.get(h.category_id, ''),
            departments.get(h.department_id, ''),
            h.title,
            h.closed_at.astimezone(tz).replace(tzinfo=None),
            h.root_cause or '',
            h.lessons_learned or '',
        ]
        for h in session.scalars(stmt)
    ]
    if actor.has('management', 'admin'):
        ncs = session.scalars(
            select(NonConformance)
            .where(NonConformance.closed_at >= _naive(start), NonConformance.closed_at < _naive(end))
            .limit(1000)
        )
        rows += [
            [
                'NC',
                n.reference,
                '',
                departments.get(n.department_id, ''),
                n.title,
                n.closed_at.astimezone(tz).replace(tzinfo=None),
                n.root_cause_analysis or '',
                n.effectiveness_result or '',
            ]
            for n in ncs
        ]
    return rows


def learning_digest(rows: list[list[Any]], month: str, path: Path) -> tuple[str, str]:
    """Write the Excel file; return subject and body grouped by category."""
    xlsx.write(path, f'Learning {month}', LEARNING_COLUMNS, rows)
    lines: list[str] = []
    for category in sorted({r[2] for r in rows}):
        group = [r for r in rows if r[2] == category]
        lines.append(f'{category or "Non-conformances"} ({len(group)}):')
        lines += [f'  {r[1]} {r[4]}: {r[7] or r[6]}'[:300] for r in group[:20]]
    body = '\n'.join(lines) if lines else 'Nothing was closed last month.'
    return f'Learning digest {month}: {len(rows)} closed', body
