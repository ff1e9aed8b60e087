"""The Issues tracker's year: tags, maintainers and reporters, issues from raised to done, daily statistics.

As for the hiccups, the tags and people go through the engine (`records.create`/`update`: validated and
audited), and the issues are simulated in memory and written by loader.py with a few bulk INSERTs as the
engine would have left them: status, `resolved_at`, resolution and row version from the steps taken
(`ISSUE_WRITES`), tags in `issue_tags`, the reporters' comments, and one audit row per create, update,
transition and comment, logged through the hiccup simulation's `log` so both trackers' audit rows go in
one time-ordered INSERT. From the same steps, `daily_stats` derives what the 30-minute job would have
upserted into `issue_daily_stats` at the end of each past day (today's row comes from the job's own
`models.issues.record_daily_stats`).

Every issue is raised by someone with the reporter role (four demo reporters, plus the HODs and a few
lab staff who also got it) and worked by one of the two maintainers: triaged (severity checked, an
assignee and tags set, a due date for the urgent ones), started and resolved with a resolution; some
are closed straight from triage (duplicate, not a fault), some reopened after the reporter comments
and resolved again, and the last weeks' still open, triaged or in progress.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import records
from models.accounts import Role, User, Users
from models.issues import STATES, Issues, IssueSeverity, Tag, Tags
from models.settings import get_settings
from tools.demo.drafts import DAYS, Drafter, in_days, in_hours
from tools.demo.lab import DEPARTMENTS, DOMAIN, FIRST_NAMES, LAST_NAMES, LOADER, LOCATIONS, Lab, Person, _backdate
from tools.demo.texts import (
    ERRORS,
    ISSUE_NOT_A_FAULT,
    ISSUE_PROGRESS_COMMENTS,
    ISSUE_REOPEN_COMMENTS,
    ISSUE_SECOND_RESOLUTIONS,
    ISSUE_TAGS,
    ISSUE_TEMPLATES,
)

DEFAULT_ISSUES = 150
MAINTAINERS = 2
REPORTER_DEPARTMENTS = ('FO', 'SC', 'HC', 'BIO')  # the four demo reporters (reporter role only)
LAB_REPORTERS = 3  # lab staff who also got the reporter role, besides every HOD

# How many UPDATEs (each bumps the row's version) the engine makes of a step. Triage sets the
# assignee and the tags together, and the tag collection is flushed apart: two writes.
ISSUE_WRITES = {'create': 1, 'update': 1, 'triage': 2, 'start': 1, 'resolve': 1, 'reopen': 1}

# Median hours, by severity, from raised to triaged, triaged to started, started to resolved.
TRIAGE_HOURS = {'LOW': 30, 'MEDIUM': 10, 'HIGH': 2.5, 'CRITICAL': 0.5}
START_HOURS = {'LOW': 60, 'MEDIUM': 16, 'HIGH': 3, 'CRITICAL': 0.4}
FIX_HOURS = {'LOW': 120, 'MEDIUM': 40, 'HIGH': 14, 'CRITICAL': 5}
DUE_DAYS = {'MEDIUM': 10, 'HIGH': 3, 'CRITICAL': 1}  # a due date set at triage (all HIGH+, some MEDIUM)

PRINTERS = ('Zebra GK420t label printer', 'TSC TE244 label printer', 'Brother QL-820 label printer')
SITES = tuple(name for name, _ in LOCATIONS.values())
VERSIONS = ('LIS 7.4', 'LIS 7.5', 'the March update', 'the last update')


@dataclasses.dataclass
class Desk:
    """The tracker's setup: tag ids by name, its maintainers, and everyone who may raise issues."""

    tags: dict[str, int]
    maintainers: list[Person]
    reporters: list[Person]  # the demo reporters (reporter role only)
    lab_reporters: list[Person]  # lab staff who also have the reporter role


def build_desk(session: Session, lab: Lab, rng: random.Random, setup_at: dt.datetime) -> Desk:
    """Tags, two maintainers and four reporters (added to `lab.people`), and the reporter role for the
    HODs and a few lab staff; through the engine, dated `setup_at` like the rest of the lab."""
    tags = {
        name: records.create(session, LOADER, Tags, {'name': name, 'description': desc, 'active': True}).id
        for name, desc in ISSUE_TAGS.items()
    }
    role_ids = {name: role_id for name, role_id in session.execute(select(Role.name, Role.id))}
    taken = {p.name for p in lab.people}
    names = [n for n in ((f, last) for f in FIRST_NAMES for last in LAST_NAMES) if ' '.join(n) not in taken]
    names = rng.sample(names, MAINTAINERS + len(REPORTER_DEPARTMENTS))

    def person(role: str, dept: str | None) -> Person:
        first, last = names.pop()
        data = {
            'name': f'{first} {last}',
            'email': f'{first}.{last}@{DOMAIN}'.lower(),
            'phone': f'+91 9{rng.randint(100000000, 999999999)}',
            'department_id': lab.departments[dept] if dept else None,
            'roles': [role_ids[role]],
            'active': True,
        }
        user = records.create(session, LOADER, Users, data)
        return Person(user.id, user.email, user.name, role, dept)

    maintainers = [person('maintainer', None) for _ in range(MAINTAINERS)]
    reporters = [person('reporter', dept) for dept in REPORTER_DEPARTMENTS]
    staff = [p for code in DEPARTMENTS for p in lab.staff[code]]
    lab_reporters = list(lab.hods.values()) + rng.sample(staff, min(LAB_REPORTERS, len(staff)))
    for p in lab_reporters:
        user = session.get(User, p.id)
        roles = sorted({r.id for r in user.roles} | {role_ids['reporter']})
        records.update(session, LOADER, Users, p.id, {'roles': roles}, user.version)
    lab.people.extend(maintainers + reporters)
    _backdate(session, setup_at)  # the lab's own helper: users, audit rows of the loader
    session.execute(update(Tag.__table__).values(created_at=setup_at, updated_at=setup_at))
    return Desk(tags, maintainers, reporters, lab_reporters)


LogFn = Callable[[dt.datetime, Any, str, str, int, dict], None]


class IssueSimulation:
    """A year of issues, their tags and comments as rows, their audit rows logged through `log`."""

    def __init__(
        self, session: Session, lab: Lab, desk: Desk, rng: random.Random, now: dt.datetime, log: LogFn
    ) -> None:
        self.lab = lab
        self.desk = desk
        self.rng = rng
        self.now = now
        self.log = log  # Simulation.log: one audit list for hiccups and issues
        self.tz = get_settings().tz
        self.drafter = Drafter(session, lab, rng, now)  # for its raise_times and moments
        self.issues: list[dict[str, Any]] = []
        self.links: list[dict[str, int]] = []  # issue_tags rows
        self.comments: list[dict[str, Any]] = []

    # -- raising

    def generate(self, n: int) -> None:
        """Draft `n` issues over the last `DAYS` days (oldest first) and decide which stay unresolved."""
        if n <= 0:
            return
        for created in sorted(self.drafter.raise_times(n, morning=False)):
            self.draft(created)
        self.plan()

    def draft(self, created: dt.datetime) -> None:
        rng = self.rng
        template = rng.choice(ISSUE_TEMPLATES)
        dept = rng.choice(list(DEPARTMENTS))
        spec = DEPARTMENTS[dept]
        values = {
            'site': rng.choice(SITES),
            'printer': rng.choice(PRINTERS),
            'analyser': rng.choice([e for d in DEPARTMENTS.values() if d.analytical for e in d.equipment]),
            'test': rng.choice(spec.tests),
            'dept': spec.name,
            'n': rng.randint(4, 60),
            'time': f'{rng.randint(7, 19):02d}:{rng.choice((0, 10, 20, 30, 40, 50)):02d}',
            'code': rng.choice((f'E{rng.randint(100, 999)}', rng.choice(ERRORS).replace(' ', '_').upper())),
            'sample': f'{created.astimezone(self.tz):%y%m%d}-{rng.randrange(1, 2000):04d}',
            'version': rng.choice(VERSIONS),
        }
        reporters = self.desk.reporters + self.desk.lab_reporters
        weights = [3] * len(self.desk.reporters) + [1] * len(self.desk.lab_reporters)
        reporter = rng.choices(reporters, weights=weights)[0]
        severity = rng.choices(list(IssueSeverity), template.weights)[0]
        self.issues.append(
            {
                'title': template.title.format(**values)[:200],
                'description': template.description.format(**values),
                'severity': severity,
                'status': 'open',
                'resolution': None,
                'reporter_id': reporter.id,
                'assignee_id': None,
                'due_date': None,
                'resolved_at': None,
                'created_at': created,
                'updated_at': created,
                'version': ISSUE_WRITES['create'],
                # and, for the simulation only:
                '_template': template,
                '_values': values,
                '_reporter': reporter,
                '_plan': 'done',
                '_reopen': False,
                '_events': [],  # (at, status, severity) after each step, for the daily statistics
            }
        )

    def plan(self) -> None:
        """A few of the latest issues stay open, triaged or in progress; a few older ones get reopened.
        At least one of each, so even a small demo shows every state."""
        rng, n = self.rng, len(self.issues)
        stalls = ['open', 'triaged', 'in_progress'] * max(1, round(n * 0.03))
        recent = self.issues[-max(len(stalls) * 3, n // 4) :]
        for issue, state in zip(rng.sample(recent, min(len(stalls), len(recent))), stalls, strict=False):
            issue['_plan'] = state
        older = [i for i in self.issues[: max(1, n * 2 // 3)] if i['_plan'] == 'done']
        for issue in rng.sample(older, min(len(older), max(1, round(n * 0.07)))):
            issue['_reopen'] = True

    # -- working

    def run(self, first_id: int, first_comment_id: int) -> None:
        for i, issue in enumerate(self.issues):
            issue['id'] = first_id + i
            self.lifecycle(issue)
        self.comments.sort(key=lambda c: (c['at'], c['_seq']))
        for i, row in enumerate(self.comments):
            row['id'] = first_comment_id + i
            self.log(row['at'], row['_author'], 'comment', Issues.slug, row['record_id'], {'comment_id': row['id']})

    def lifecycle(self, h: dict) -> None:
        rng, template, values, plan = self.rng, h['_template'], h['_values'], h['_plan']
        created, reporter = h['created_at'], h['_reporter']
        diff = {k: [None, h[k].name if k == 'severity' else h[k]] for k in ('title', 'description', 'severity')}
        diff |= {'status': [None, 'open'], 'reporter_id': [None, reporter.id]}
        self.log(created, reporter, 'create', Issues.slug, h['id'], diff)
        h['_events'].append((created, 'open', h['severity']))
        if plan == 'open' or not (triaged := self.triage(h)):
            return
        at, assignee = triaged
        sev = h['severity'].name
        if plan == 'triaged':
            return
        if not h['_reopen'] and plan == 'done' and rng.random() < 0.12:  # nothing to fix after all
            at = self.after(h, at, START_HOURS[sev])
            self.resolve(h, at, assignee, rng.choice(ISSUE_NOT_A_FAULT).format(**values))
            return
        at = self.after(h, at, START_HOURS[sev])
        if not self.step(h, at, assignee, 'start', 'in_progress', {}):
            return
        fix = self.after(h, at, FIX_HOURS[sev])
        halfway = (at + (fix - at) / 2).replace(microsecond=0)
        if rng.random() < 0.3 and halfway <= self.now:
            self.comment(h, halfway, assignee, rng.choice(ISSUE_PROGRESS_COMMENTS))
        if plan == 'in_progress':
            return
        resolution = template.resolution.format(**values)
        if self.resolve(h, fix, assignee, resolution) and h['_reopen']:
            self.reopen(h, fix, assignee, resolution)

    def triage(self, h: dict) -> tuple[dt.datetime, Person] | None:
        """A maintainer checks the severity, assigns a maintainer and tags it; a due date for the urgent."""
        rng = self.rng
        triager, assignee = rng.choice(self.desk.maintainers), rng.choice(self.desk.maintainers)
        at = self.after(h, h['created_at'], TRIAGE_HOURS[h['severity'].name])
        raised = severity = h['severity']
        if rng.random() < 0.15:  # the maintainer sees it differently
            order = list(IssueSeverity)
            severity = order[min(len(order) - 1, max(0, order.index(severity) + rng.choice((-1, 1))))]
        names = list(h['_template'].tags[: rng.choice((1, 2, 2, 3))])
        if rng.random() < 0.1:
            names.append(rng.choice(list(ISSUE_TAGS)))
        tag_ids = sorted({self.desk.tags[name] for name in names})
        diff = {'severity': [raised.name, severity.name]} if severity != raised else {}
        diff |= {'assignee_id': [None, assignee.id], 'tags': [[], tag_ids]}
        h['severity'] = severity
        if not self.step(h, at, triager, 'triage', 'triaged', diff):
            h['severity'] = raised
            return None
        h['assignee_id'] = assignee.id
        self.links += [{'issue_id': h['id'], 'tag_id': tag_id} for tag_id in tag_ids]
        sev = severity.name
        if sev in DUE_DAYS and (sev != 'MEDIUM' or rng.random() < 0.3):
            due = (at + in_days(DUE_DAYS[sev])).astimezone(self.tz).date()
            later = at + dt.timedelta(seconds=rng.randint(20, 600))
            if later <= self.now:
                self.log(later, triager, 'update', Issues.slug, h['id'], {'due_date': [None, due]})
                h.update(due_date=due, updated_at=later, version=h['version'] + ISSUE_WRITES['update'])
                at = later
        return at, assignee

    def reopen(self, h: dict, fixed: dt.datetime, assignee: Person, resolution: str) -> None:
        """The reporter says it is back; the maintainer reopens it, works on it again, resolves it again."""
        rng = self.rng
        said = fixed + in_days(rng.uniform(0.5, 12))
        if said > self.now:
            return
        self.comment(h, said, h['_reporter'], rng.choice(ISSUE_REOPEN_COMMENTS).format(**h['_values']))
        again = said + in_hours(self.lognormal(2, 0.8))
        if not self.step(h, again, assignee, 'reopen', 'open', {}):
            return
        h['resolved_at'] = None  # as Issues.on_change clears it
        again += in_hours(self.lognormal(1, 0.8))
        if not self.step(h, again, assignee, 'start', 'in_progress', {}):
            return
        second = rng.choice(ISSUE_SECOND_RESOLUTIONS).format(resolution=resolution)
        self.resolve(h, again + in_hours(self.lognormal(FIX_HOURS[h['severity'].name] / 2, 0.8)), assignee, second)

    def resolve(self, h: dict, at: dt.datetime, actor: Person, resolution: str) -> bool:
        diff = {'resolution': [h['resolution'], resolution]}
        if not self.step(h, at, actor, 'resolve', 'done', diff):
            return False
        h.update(resolution=resolution, resolved_at=at)  # as Issues.on_change sets it
        return True

    def step(self, h: dict, at: dt.datetime, actor: Person, name: str, target: str, diff: dict) -> bool:
        """Take workflow step `name` at `at` if that is not in the future; False when it is."""
        if at > self.now:
            return False
        diff = {**diff, 'status': [h['status'], target]}
        h['status'] = target
        h['version'] += ISSUE_WRITES[name]
        h['updated_at'] = at
        self.log(at, actor, f'transition:{name}', Issues.slug, h['id'], diff)
        h['_events'].append((at, target, h['severity']))
        return True

    def comment(self, h: dict, at: dt.datetime, author: Person, body: str) -> None:
        self.comments.append(
            {
                'record_type': Issues.slug,
                'record_id': h['id'],
                'author_id': author.id,
                'author': author.label,
                'body': body,
                'at': at,
                '_author': author,
                '_seq': len(self.comments),
            }
        )

    def after(self, h: dict, at: dt.datetime, median_hours: float) -> dt.datetime:
        """When the next step comes after `at`: lognormal around `median_hours`. An issue planned to stop
        short of done takes its steps in time to stop there (within the time left until now)."""
        later = at + in_hours(max(0.05, self.lognormal(median_hours, 0.9)))
        if h['_plan'] != 'done' and later > self.now:
            later = at + (self.now - at) / 3
        return later.replace(microsecond=0)

    def lognormal(self, median: float, sigma: float) -> float:
        return self.rng.lognormvariate(math.log(median), sigma)

    # -- what the 30-minute job would have recorded

    def daily_stats(self, today: dt.date) -> list[dict[str, Any]]:
        """One `issue_daily_stats` row per day from `DAYS - 1` days before `today` up to yesterday: the
        issues raised by the end of that local day, by their status and severity at that moment."""
        first = today - dt.timedelta(days=DAYS - 1)
        size = (today - first).days  # the days before today
        columns = [state for state, _ in STATES] + [s.name.lower() for s in IssueSeverity]
        delta = {c: [0] * (size + 1) for c in columns}

        def index(at: dt.datetime) -> int:  # the first day whose end comes after `at`
            return min(size, max(0, (at.astimezone(self.tz).date() - first).days))

        for h in self.issues:
            events = h['_events']
            for k, (at, status, severity) in enumerate(events):
                start = index(at)
                stop = index(events[k + 1][0]) if k + 1 < len(events) else size
                if start < stop:
                    for column in (status, severity.name.lower()):
                        delta[column][start] += 1
                        delta[column][stop] -= 1
        rows, running = [], dict.fromkeys(columns, 0)
        for i in range(size):
            day = first + dt.timedelta(days=i)
            for c in columns:
                running[c] += delta[c][i]
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self.tz).astimezone(dt.UTC)
            total = sum(running[state] for state, _ in STATES)
            rows.append({'date': day, 'total': total, **running, 'computed_at': end})
        return rows
