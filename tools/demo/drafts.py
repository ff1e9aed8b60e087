"""When and what: a year of hiccups as they were raised, before anyone acted on them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import Counter
from typing import Any

from sqlalchemy.orm import Session

from models.hiccups import Phase, Severity, department_hod
from models.settings import get_settings
from tools.demo.lab import CATEGORIES, DEPARTMENTS, LOCATIONS, Lab
from tools.demo.texts import AUTO_TEMPLATES, DOCTORS, ERRORS, PARTS, TEMPLATES, Template

DAYS = 365

SEVERITY_WEIGHTS = {  # low, medium, high, critical
    None: (45, 38, 13, 4),
    'EQP': (32, 40, 21, 7),
    'SAF': (25, 40, 25, 10),
    'CMP': (40, 45, 13, 2),
    'REJ': (55, 35, 9, 1),
}
CONFIDENTIAL = {'CMP': 0.15, 'SAF': 0.12, 'REP': 0.07}  # others 0.025

WEEKDAY = (1.15, 1.05, 1.0, 1.0, 1.0, 0.9, 0.35)  # Monday … Sunday
HOLIDAYS = {(1, 26), (8, 15), (10, 2), (11, 1), (12, 25)}
LAB_HOURS = (0.2, 0.15, 0.15, 0.15, 0.2, 0.4, 1, 3, 5, 6, 6, 5, 4, 3.5, 3, 3, 2.5, 2, 1.5, 1, 0.8, 0.6, 0.4, 0.3)
HOME_HOURS = (0, 0, 0, 0, 0, 0.5, 4, 6, 6, 5, 3, 2, 1, 0.5, 0.3, 0.3, 0.3, 0.3, 0.2, 0.1, 0, 0, 0, 0)


def in_days(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=round(n * 86400))  # whole seconds, as MySQL's DATETIME keeps them


def in_hours(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=round(n * 3600))


@dataclasses.dataclass
class Integration:
    """The actor of an auto-generated hiccup, labelled as api/hiccups.py labels it."""

    system: str

    id = None

    @property
    def label(self) -> str:
        return f'{self.system} (internal token) (integration)'


class Drafter:
    """Hiccups as they were raised over the last `DAYS` days: rows still 'open', ids not yet given."""

    def __init__(self, session: Session, lab: Lab, rng: random.Random, now: dt.datetime) -> None:
        self.lab = lab
        self.rng = rng
        self.now = now
        self.tz = get_settings().tz
        self.responder = {code: department_hod(session, i) for code, i in lab.departments.items()}
        self.hiccups: list[dict[str, Any]] = []
        self._auto_seq = 0

    def generate(self, n: int) -> list[dict[str, Any]]:
        """Draft `n` hiccups: the usual spread plus a few bursts (one of them this week); oldest first."""
        rng = self.rng
        bursts = [
            ('BIO', 'EQP', 'analyser_stop', rng.randint(200, 330)),
            ('SC', 'REJ', 'haemolysed', rng.randint(100, 200)),
            ('FO', 'LIS', 'lis_down', rng.randint(30, 90)),
            ('HC', 'TAT', 'late_home', 5),  # this week: something for the trend alert to find
        ]
        if n < 100:
            bursts = []  # too few to make a cluster stand out
        per_burst = max(3, round(n * 0.012))
        regular = n - per_burst * len(bursts)
        codes = list(DEPARTMENTS)
        depts = rng.choices(codes, weights=[DEPARTMENTS[c].weight for c in codes], k=regular)
        by_dept = Counter(depts)
        for dept, count in by_dept.items():
            spec = DEPARTMENTS[dept]
            for created in self.raise_times(count, spec.morning):
                self.draft(created, dept, self.pick(spec.categories))
        for dept, category, key, days_ago in bursts:
            template = next(t for t in TEMPLATES if t.key == key)
            analyser = rng.choice(DEPARTMENTS[dept].equipment)
            today = self.now.astimezone(self.tz).date()
            for _ in range(per_burst):
                day = today - dt.timedelta(days=max(0, days_ago - rng.randint(0, 5)))
                moment = self.moment(day, DEPARTMENTS[dept].morning)
                self.draft(moment, dept, category, template, analyser=analyser)  # the same machine again
        self.hiccups.sort(key=lambda h: h['created_at'])
        return self.hiccups

    def draft(
        self, created: dt.datetime, dept: str, category: str, template: Template | None = None, **fixed: Any
    ) -> None:
        rng, spec = self.rng, DEPARTMENTS[dept]
        auto = template is None and spec.analytical and category in ('LIS', 'TAT', 'EQP') and rng.random() < 0.18
        if template is None:
            template = rng.choice(self.templates(category, dept, auto))
        auto = template in AUTO_TEMPLATES
        location = self.pick(spec.locations)
        values = {
            'analyser': rng.choice(spec.equipment),
            'test': rng.choice(spec.tests),
            'pid': f'{created.astimezone(self.tz):%y%m%d}-{rng.randrange(1, 2000):04d}',
            'n': rng.randint(3, 40),
            'mins': rng.choice((20, 25, 30, 40, 45, 60, 75, 90)),
            'hours': rng.randint(2, 9),
            'lot': f'{rng.choice("ABCDEFGHKLMN")}{rng.randint(1000, 9999)}',
            'loc': LOCATIONS[location][0],
            'dept': spec.name,
            'temp': rng.choice(('9.4', '10.1', '11.6', '1.2', '12.8')),
            'error': rng.choice(ERRORS),
            'part': rng.choice(PARTS),
            'rule': rng.choice(('1-3s', '2-2s', 'R-4s', '4-1s', '10x')),
            'time': f'{rng.randint(7, 20):02d}:{rng.choice((0, 15, 30, 45)):02d}',
            'doctor': rng.choice(DOCTORS),
            'code': f'E{rng.randint(100, 999)}',
            'sop': f'SOP-{dept}-{rng.randint(1, 40):03d}',
            **fixed,
        }
        texts = {f.name: getattr(template, f.name).format(**values) for f in dataclasses.fields(Template)[2:10]}
        severity = rng.choices(list(Severity), SEVERITY_WEIGHTS.get(category, SEVERITY_WEIGHTS[None]))[0]
        raiser: Any
        if auto:
            self._auto_seq += 1
            raiser = Integration(rng.choice(('LIS', 'Middleware')))
            detected = created - dt.timedelta(minutes=rng.randint(0, 3))
            occurred = detected - dt.timedelta(minutes=rng.randint(0, 20))
        else:
            staff = self.lab.staff[dept]
            raiser = self.lab.hods[dept] if rng.random() < 0.07 else rng.choice(staff)
            detected = created - dt.timedelta(minutes=rng.randint(2, 90))
            late = rng.random() < (0.3 if category == 'REP' else 0.05)  # found later, e.g. by the doctor
            occurred = detected - (in_hours(rng.uniform(3, 48)) if late else dt.timedelta(minutes=rng.randint(0, 180)))
        confidential = not auto and rng.random() < CONFIDENTIAL.get(category, 0.025)
        self.hiccups.append(
            {
                'title': texts['title'][:200],
                'description': texts['description'],
                'department_id': self.lab.departments[dept],
                'category_id': self.lab.categories[category],
                'location_id': self.lab.locations[location],
                'severity': severity,
                'phase': Phase[self.pick(CATEGORIES[category][2])],
                'occurred_at': occurred,
                'detected_at': None if rng.random() < 0.1 else detected,
                'confidential': confidential,
                'immediate_action': texts['immediate'] or None,
                'raised_by_id': raiser.id,
                'responder_id': None if confidential else self.responder[dept],  # as models.hiccups.on_raised
                'status': 'open',
                'source_system': raiser.system if auto else None,
                'source_reference': f'{raiser.system.upper()}-EVT-{self._auto_seq:06d}' if auto else None,
                'created_at': created,
                # and, for the simulation only:
                '_dept': dept,
                '_raiser': raiser,
                '_texts': texts,
                '_values': values,
            }
        )

    def templates(self, category: str, dept: str, auto: bool) -> list[Template]:
        pool = AUTO_TEMPLATES if auto else TEMPLATES
        fitting = [t for t in pool if t.category == category and (not t.departments or dept in t.departments)]
        return fitting or [t for t in pool if t.category == category]

    def raise_times(self, n: int, morning: bool) -> list[dt.datetime]:
        """`n` moments in the last year, weighted by weekday, holidays, a slow rise and the hour."""
        today = self.now.astimezone(self.tz).date()
        days = [today - dt.timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
        weights = [
            WEEKDAY[d.weekday()] * (0.8 + 0.3 * i / (DAYS - 1)) * (0.35 if (d.month, d.day) in HOLIDAYS else 1)
            for i, d in enumerate(days)
        ]
        return [self.moment(self.rng.choices(days, weights=weights)[0], morning) for _ in range(n)]

    def moment(self, day: dt.date, morning: bool) -> dt.datetime:
        hours = HOME_HOURS if morning else LAB_HOURS
        for _ in range(20):
            hour = self.rng.choices(range(24), weights=hours)[0]
            local = dt.datetime.combine(day, dt.time(hour, self.rng.randrange(60), self.rng.randrange(60)), self.tz)
            at = local.astimezone(dt.UTC)
            if at < self.now - dt.timedelta(minutes=10):
                return at
        return self.now - in_hours(self.rng.uniform(0.5, 6))

    def pick(self, weights: dict[str, float]) -> str:
        keys = list(weights)
        return self.rng.choices(keys, weights=[weights[k] for k in keys])[0]
