"""`python -m tools.demo`'s Issues tracker: a year of issues, checked against the engine, the stats job and the
dashboard."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from models import db, records
from models.accounts import Actor, User, authenticate
from models.audit import AuditEntry
from models.comments import Comment
from models.issues import STATES, UNRESOLVED, Issue, IssueDailyStats, Issues, IssueSeverity, Tag, issue_tags
from models.settings import get_settings
from reports import issue_stats
from tools import demo
from tools.demo import loader

SMALL = ['--hiccups', '40', '--issues', '30', '--seed', '11']
#: The demo's year ends here rather than at the clock: which steps of the simulation lie in the past
#: (and so the issues' severities after triage, say) depends on the instant, and these tests check one year.
NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
STATUSES = [state for state, _ in STATES]
SEVERITIES = [s.name.lower() for s in IssueSeverity]


@pytest.fixture
def loaded(database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    """A demo lab of 40 hiccups and 30 issues, its year ending at NOW; returns what the command printed."""
    monkeypatch.setattr(loader, 'utcnow', lambda: NOW)
    assert demo.main(SMALL) == 0
    return capsys.readouterr().out


def count(model, *where) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def today() -> dt.date:
    """The demo's last day (NOW's local date)."""
    return NOW.astimezone(get_settings().tz).date()


def someone(s, role: str) -> Actor:
    return Actor.of(s.scalar(select(User).where(User.roles.any(name=role)).order_by(User.id).limit(1)))


def test_issues_in_every_state_raised_by_reporters_and_worked_by_maintainers(loaded: str):
    now = NOW
    with db.session() as s:
        issues = s.scalars(select(Issue)).all()
        assert len(issues) == 30
        assert {i.status for i in issues} == set(STATUSES)
        assert {i.severity for i in issues} >= {IssueSeverity.MEDIUM, IssueSeverity.HIGH}
        assert max(IssueSeverity, key=lambda sev: sum(i.severity == sev for i in issues)) == IssueSeverity.MEDIUM
        assert now - min(i.created_at for i in issues) > dt.timedelta(days=200)
        reopen = (AuditEntry.record_type == 'issues', AuditEntry.action == 'transition:reopen')
        reopened = set(s.scalars(select(AuditEntry.record_id).where(*reopen)))
        assert reopened
        assert any('\n- ' in i.description for i in issues)  # and lists
        for i in issues:
            assert i.created_at <= i.updated_at <= now
            reporter = Actor.of(s.get(User, i.reporter_id))
            assert reporter.has('reporter')
            assert '*' in i.description or '`' in i.description  # Markdown: bold, italics, code
            if i.status == 'open':
                assert i.resolved_at is None
                assert (i.assignee_id is None) == (i.id not in reopened)
            else:
                assert Actor.of(s.get(User, i.assignee_id)).has('maintainer')
                assert i.tags and all(t.active for t in i.tags)
            if i.status == 'done':
                assert i.resolution and i.resolved_at > i.created_at
            else:
                assert i.resolved_at is None
            if i.due_date is not None:
                assert i.severity != IssueSeverity.LOW
        assert count(Tag) == len(demo.ISSUE_TAGS)
        assert count(issue_tags) >= sum(i.status != 'open' for i in issues)
        comments = s.scalars(select(Comment).where(Comment.record_type == 'issues')).all()
        assert comments and all(c.record_id in {i.id for i in issues} for c in comments)
        for i in issues:
            if i.id in reopened:  # the reporter said why, before it was reopened
                said = [c for c in comments if c.record_id == i.id and c.author_id == i.reporter_id]
                assert said


def test_maintainers_and_reporters_sign_in_with_the_printed_password(loaded: str):
    assert '30 issues in the Issues tracker (' in loaded
    assert 'days of issue statistics' in loaded
    rows = [line.split() for line in loaded.splitlines() if line.strip().endswith(demo.DEFAULT_PASSWORD)]
    for role in ('maintainer', 'reporter'):
        emails = [r[0] for r in rows if r[1] == role]
        assert len(emails) == (demo.MAINTAINERS if role == 'maintainer' else len(demo.REPORTER_DEPARTMENTS))
        for email in emails:
            assert email in loaded.partition('Sign in with')[0]  # named in the summary too
            assert authenticate(email, demo.DEFAULT_PASSWORD).roles == frozenset({role})
    with db.session() as s:
        reporters = s.scalars(select(User).where(User.roles.any(name='reporter'))).all()
        assert len(reporters) > len(demo.REPORTER_DEPARTMENTS)  # HODs and some staff report issues too
        assert all(Actor.of(u).has('hod') for u in s.scalars(select(User).where(User.roles.any(name='hod'))))
        assert all(Actor.of(u).has('reporter') for u in s.scalars(select(User).where(User.roles.any(name='hod'))))


def test_every_issue_step_has_its_audit_row_in_order(loaded: str):
    with db.session() as s:
        trail: dict[int, list] = {}
        for record_id, action, at, changes in s.execute(
            select(AuditEntry.record_id, AuditEntry.action, AuditEntry.at, AuditEntry.changes)
            .where(AuditEntry.record_type == 'issues')
            .order_by(AuditEntry.id)
        ):
            trail.setdefault(record_id, []).append((action, at, json.loads(changes or '{}')))
        comment_ids = {c.id for c in s.scalars(select(Comment).where(Comment.record_type == 'issues'))}
        logged = {changes['comment_id'] for steps in trail.values() for a, _, changes in steps if a == 'comment'}
        assert logged == comment_ids
        for i in s.scalars(select(Issue)):
            steps = trail[i.id]
            assert steps[0][:2] == ('create', i.created_at)
            assert [at for _, at, _ in steps] == sorted(at for _, at, _ in steps)
            changed = [(a, at) for a, at, _ in steps if a != 'comment']
            assert changed[-1][1] == i.updated_at
            assert i.version >= len(changed)
            moves = [c['status'][1] for a, _, c in steps if a.startswith('transition:')]
            assert (moves or ['open'])[-1] == i.status
            if i.status == 'done':
                assert [at for a, at, _ in steps if a == 'transition:resolve'][-1] == i.resolved_at


def test_daily_stats_for_a_year_agree_with_the_issues(loaded: str):
    with db.session() as s:
        rows = s.scalars(select(IssueDailyStats).order_by(IssueDailyStats.date)).all()
        assert len(rows) == demo.DAYS
        assert rows[-1].date == today()
        assert [r.date for r in rows] == [today() - dt.timedelta(days=demo.DAYS - 1 - k) for k in range(demo.DAYS)]
        previous = 0
        for r in rows:
            assert r.total == sum(getattr(r, name) for name in STATUSES) == sum(getattr(r, n) for n in SEVERITIES)
            assert r.total >= previous  # issues are never deleted here
            previous = r.total
        assert rows[-1].total == 30 and rows[len(rows) // 2].total > 0
        assert sum(1 for r in rows if r.open + r.triaged + r.in_progress) > 30  # something open on many days
        now = {state: count(Issue, Issue.status == state) for state in STATUSES}
        assert {state: getattr(rows[-1], state) for state in STATUSES} == now
        # the dashboard's other way to get the same line: from created_at and (the last) resolved_at
        admin = someone(s, 'admin')
        first = rows[0].date
        computed = issue_stats.open_over_time(
            s, admin, start=first, end=today(), severities=[sev.name for sev in IssueSeverity]
        )
        reopened = count(AuditEntry, AuditEntry.record_type == 'issues', AuditEntry.action == 'transition:reopen')
        by_day = dict(zip(computed['date'], computed['unresolved'], strict=True))
        for r in rows[:-1]:
            unresolved = r.open + r.triaged + r.in_progress
            assert abs(unresolved - by_day[r.date]) <= reopened  # they differ only while reopened


def test_the_maintainers_dashboard_has_a_year_and_a_reporter_sees_their_own(loaded: str):
    year = issue_stats.IssueFilters(today() - dt.timedelta(days=demo.DAYS - 1), today())
    with db.session() as s:
        maintainer = someone(s, 'maintainer')
        stats = issue_stats.dashboard_stats(s, maintainer, year)
        assert stats['total'] == 30
        assert stats['resolved'] > 0 and stats['mean_hours_to_resolve'] > 0
        assert stats['unresolved'] == count(Issue, Issue.status.in_(UNRESOLVED))
        assert sum(row['count'] for row in stats['by_status']) == 30
        assert len(stats['open_over_time']) == demo.DAYS
        over_time = issue_stats.open_over_time(s, maintainer, **year.kwargs())
        assert over_time.attrs['note'] == issue_stats.NOTES[issue_stats.SOURCE_TABLE]
        assert len(over_time) == demo.DAYS and over_time['unresolved'].max() > 0
        reporter = Actor.of(
            s.scalar(
                select(User)
                .where(User.roles.any(name='reporter'), User.id.in_(select(Issue.reporter_id)))
                .order_by(User.id)
                .limit(1)
            )
        )
        own = count(Issue, Issue.reporter_id == reporter.id)
        mine = issue_stats.dashboard_stats(s, reporter, year)
        assert 0 < mine['total'] == own < 30
        assert mine['open_over_time'] is None


def test_reset_force_wipes_and_reloads_the_issues_too(loaded: str, capsys: pytest.CaptureFixture[str]):
    assert demo.main(SMALL) == 1
    assert 'issues' in capsys.readouterr().err.lower()
    assert demo.main(['--hiccups', '10', '--issues', '8', '--reset', '--force']) == 0
    assert count(Issue) == 8
    assert count(Tag) == len(demo.ISSUE_TAGS)
    assert count(IssueDailyStats) == demo.DAYS
    assert count(issue_tags, issue_tags.c.issue_id.not_in(select(Issue.id))) == 0
    assert count(Comment, Comment.record_type == 'issues', Comment.record_id.not_in(select(Issue.id))) == 0
    assert demo.main(['--hiccups', '0', '--issues', '0', '--reset', '--force']) == 0
    assert count(Issue) == 0 and count(IssueDailyStats) == demo.DAYS
    with db.session() as s:
        assert s.scalar(select(func.max(IssueDailyStats.total))) == 0
    with pytest.raises(SystemExit):
        demo.main(['--issues', '-1'])


def test_demo_issues_are_what_the_engine_makes_of_the_same_steps(loaded: str):
    """Replay demo issue trails through records.create/update/transition/comment: same rows, same audit."""
    with db.session() as s:
        trails: dict[int, list[AuditEntry]] = {}
        for row in s.scalars(select(AuditEntry).where(AuditEntry.record_type == 'issues').order_by(AuditEntry.id)):
            trails.setdefault(row.record_id, []).append(row)
        shapes: dict[tuple[str, ...], int] = {}
        for issue_id, trail in trails.items():
            shapes.setdefault(tuple(r.action for r in trail), issue_id)
    assert len(shapes) >= 4
    assert any('transition:reopen' in shape for shape in shapes)
    for shape, issue_id in shapes.items():
        with db.session() as s:
            ours = s.get(Issue, issue_id)
            trail = list(
                s.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.record_type == 'issues', AuditEntry.record_id == issue_id)
                    .order_by(AuditEntry.id)
                )
            )
            last_id = s.scalar(select(func.max(AuditEntry.id)))
            new_id = None
            for row in trail:
                actor = Actor.of(s.get(User, row.actor_id))
                changes = json.loads(row.changes or '{}')
                data = {} if row.action == 'comment' else {k: v[1] for k, v in changes.items()}
                data = {k: v for k, v in data.items() if k not in ('status', 'reporter_id')}
                if row.action == 'create':
                    new_id = records.create(s, actor, Issues, data).id
                elif row.action == 'update':
                    records.update(s, actor, Issues, new_id, data, s.get(Issue, new_id).version)
                elif row.action == 'comment':
                    records.comment(s, actor, Issues, new_id, s.get(Comment, changes['comment_id']).body)
                else:
                    records.transition(s, actor, Issues, new_id, row.action.split(':', 1)[1], data)
            theirs = s.get(Issue, new_id)
            engine_rows = s.scalars(
                select(AuditEntry)
                .where(AuditEntry.id > last_id, AuditEntry.record_type == 'issues')
                .order_by(AuditEntry.id)
            ).all()
            assert [(r.action, r.actor_id) for r in engine_rows] == [(r.action, r.actor_id) for r in trail], shape
            for mine, engine in zip(trail, engine_rows, strict=True):
                if mine.action != 'comment':
                    assert json.loads(engine.changes or '{}') == json.loads(mine.changes or '{}'), shape
            for name in ('title', 'description', 'severity', 'status', 'resolution', 'reporter_id', 'assignee_id'):
                assert getattr(theirs, name) == getattr(ours, name), (shape, name)
            assert theirs.due_date == ours.due_date
            assert theirs.version == ours.version, (shape, 'see demo.ISSUE_WRITES')
            assert (theirs.resolved_at is None) == (ours.resolved_at is None)
            assert sorted(t.id for t in theirs.tags) == sorted(t.id for t in ours.tags)
            s.rollback()
