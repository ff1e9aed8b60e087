"""`python -m tools.demo`: a small demo lab, checked against the engine's own rules and queries."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import func, select

import models.hiccups as hiccups_module
from models import db, migrate, query, records
from models.accounts import Actor, User, authenticate
from models.audit import AuditEntry
from models.engine import get
from models.hiccups import (
    FINAL,
    FollowUp,
    Hiccup,
    Hiccups,
    NcAction,
    NcActions,
    NonConformance,
    NonConformances,
    sla_hours,
)
from models.lookups import Department
from models.query import ListParams
from models.search import words_of
from tools import demo
from tools.demo import loader

SMALL = ['--hiccups', '200', '--seed', '7']
#: The demo's year ends here rather than at the clock: which steps of the simulation lie in the past
#: (and so which hiccups were escalated, say) depends on the instant, and these tests check one year.
NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def loaded(database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    """A demo lab of 200 hiccups, its year ending at NOW; returns what the command printed."""
    monkeypatch.setattr(loader, 'utcnow', lambda: NOW)
    assert demo.main(SMALL) == 0
    return capsys.readouterr().out


def credentials(output: str) -> list[tuple[str, str, str]]:
    """(email, role, password) of each row of the printed table."""
    rows = []
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 4 and '@' in parts[0]:
            rows.append((parts[0], parts[1], parts[-1]))
    return rows


def count(model, *where) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_users_of_every_role_sign_in_with_the_printed_password(loaded: str):
    rows = credentials(loaded)
    assert {role for _, role, _ in rows} == {'admin', 'management', 'hod', 'staff', 'maintainer', 'reporter'}
    assert all(password == demo.DEFAULT_PASSWORD for _, _, password in rows)
    for role in ('admin', 'management', 'hod', 'staff', 'maintainer', 'reporter'):
        email, _, password = next(r for r in rows if r[1] == role)
        assert role in authenticate(email, password).roles
    with db.session() as s:
        departments = s.scalars(select(Department)).all()
        assert len(departments) == len(demo.DEPARTMENTS)
        for department in departments:  # one HOD each, the default responder
            assert hiccups_module.department_hod(s, department.id) is not None
    staff = sum(d.staff for d in demo.DEPARTMENTS.values())
    desk = demo.MAINTAINERS + len(demo.REPORTER_DEPARTMENTS)  # the Issues tracker's maintainers and reporters
    assert len(rows) == count(User) == 1 + 2 + len(demo.DEPARTMENTS) + staff + desk  # admin, managers, HODs, staff
    assert re.match(r'Demo data loaded into \S+ in [0-9.]+ s\n', loaded)  # how long it took
    assert '200 hiccups over the last 365 days' in loaded


def test_a_year_of_hiccups_in_every_stage_consistent_with_the_rules(loaded: str):
    now = NOW
    with db.session() as s:
        hiccups = s.scalars(select(Hiccup)).all()
        assert len(hiccups) == 200
        statuses = {h.status for h in hiccups}
        assert {'followed_up', 'closed', 'escalated'} <= statuses
        assert statuses & {'open', 'responded', 'under_review'}
        assert len({h.reference for h in hiccups}) == 200
        oldest = min(h.created_at for h in hiccups)
        assert now - oldest > dt.timedelta(days=300)
        assert all(h.created_at <= now for h in hiccups)
        for h in hiccups:
            assert h.reference == f'HIC-{h.created_at.year}-{h.id:05d}'
            response_h, closure_h = sla_hours(s, h.category_id, h.severity)
            assert h.response_due_at == h.created_at + dt.timedelta(hours=response_h)
            assert h.closure_due_at == h.created_at + dt.timedelta(hours=closure_h)
            hod = None if h.confidential else hiccups_module.department_hod(s, h.department_id)
            assert h.responder_id == hod  # confidential ones have none: management answer them
            assert h.occurred_at <= h.created_at
            if h.status != 'open':
                assert h.responded_at is not None and h.root_cause and h.response
            if h.status in ('closed', 'followed_up'):
                assert h.closed_at is not None and h.closure_remarks and h.lessons_learned
                assert h.follow_up_due_at is not None
            if h.status == 'followed_up':
                assert h.follow_up_result == FollowUp.satisfied
            if h.status == 'escalated':
                nc = s.get(NonConformance, h.nc_id)
                assert nc.title.startswith(h.reference) and h.closed_at is not None
                assert nc.reference == f'NC-{nc.created_at.year}-{nc.id:05d}'
            else:
                assert h.nc_id is None
        old = [h for h in hiccups if now - h.created_at > dt.timedelta(days=90)]
        assert sum(h.status in FINAL for h in old) / len(old) > 0.95
        assert any(h.confidential for h in hiccups)
        assert any(h.source_system for h in hiccups)  # some raised by the LIS
        closed_ncs = s.scalars(select(NonConformance).where(NonConformance.status == 'closed')).all()
        assert closed_ncs and all(nc.effectiveness_result and nc.closed_at for nc in closed_ncs)
        assert count(NcAction) >= 3 * count(NonConformance) - 3


def test_every_step_has_its_audit_row_in_order(loaded: str):
    with db.session() as s:
        rows = s.execute(
            select(AuditEntry.record_id, AuditEntry.action, AuditEntry.at)
            .where(AuditEntry.record_type == 'hiccups')
            .order_by(AuditEntry.id)
        ).all()
        trail: dict[int, list] = {}
        for record_id, action, at in rows:
            trail.setdefault(record_id, []).append((action, at))
        for h in s.scalars(select(Hiccup)):
            steps = trail[h.id]
            assert steps[0] == ('create', h.created_at)
            assert h.version >= len(steps)  # at least a write per step
            assert [at for _, at in steps] == sorted(at for _, at in steps)
            assert steps[-1][1] == h.updated_at
        assert count(AuditEntry, AuditEntry.record_type == 'non_conformances') > 0


def test_the_list_query_shows_managers_everything_and_staff_their_share(loaded: str):
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(Hiccup))
        manager = Actor.of(s.scalar(select(User).where(User.roles.any(name='management')).order_by(User.id).limit(1)))
        assert query.count(s, manager, Hiccups, ListParams()) == (total, False)
        for user in s.scalars(select(User).where(User.roles.any(name='staff'), ~User.roles.any(name='hod'))):
            actor = Actor.of(user)
            expected = s.scalar(
                select(func.count())
                .select_from(Hiccup)
                .where(
                    (Hiccup.raised_by_id == user.id)
                    | ((Hiccup.department_id == user.department_id) & Hiccup.confidential.is_(False))
                )
            )
            assert query.count(s, actor, Hiccups, ListParams()) == (expected, False)
            assert 0 < expected < total
            shown = query.page(s, actor, Hiccups, ListParams(per_page=200))
            assert all(h.raised_by_id == user.id or not h.confidential for h in shown)
            assert all(h.department_id == user.department_id or h.raised_by_id == user.id for h in shown)


def test_management_answer_confidential_hiccups_and_hods_see_neither_them_nor_their_ncs(loaded: str):
    with db.session() as s:
        secret = s.scalars(select(Hiccup).where(Hiccup.confidential)).all()
        assert any(h.nc_id for h in secret)  # the seed escalates one, so its NC is checked too
        for h in secret:
            assert h.responder_id is None
            responded = s.scalar(
                select(AuditEntry.actor_id).where(
                    AuditEntry.record_type == 'hiccups',
                    AuditEntry.record_id == h.id,
                    AuditEntry.action == 'transition:respond',
                )
            )
            assert responded is None or Actor.of(s.get(User, responded)).has('management')
        everything = ListParams(per_page=500)
        ncs = s.scalars(select(NonConformance)).all()
        from_secret = {h.nc_id for h in secret if h.nc_id}
        for user in s.scalars(select(User).where(User.roles.any(name='hod'))):
            hod = Actor.of(user)
            hidden = {h.id for h in secret if h.department_id == user.department_id and h.raised_by_id != user.id}
            assert not hidden & {h.id for h in query.page(s, hod, Hiccups, everything)}
            expected = {nc.id for nc in ncs if nc.department_id == user.department_id and nc.id not in from_secret}
            assert {nc.id for nc in query.page(s, hod, NonConformances, everything)} == expected


def test_a_second_run_refuses_and_reset_force_reloads(loaded: str, capsys: pytest.CaptureFixture[str]):
    assert demo.main(SMALL) == 1
    assert demo.main([*SMALL, '--reset']) == 1
    assert 'already holds records' in capsys.readouterr().err
    assert count(Hiccup) == 200
    assert demo.main(['--hiccups', '30', '--reset', '--force']) == 0
    assert count(Hiccup) == 30
    assert count(User) == len(credentials(capsys.readouterr().out))
    with pytest.raises(SystemExit):
        demo.main(['--force'])  # --force alone would be a mistake


def test_loads_next_to_the_first_administrator_the_app_creates(database: str, capsys):
    assert migrate.ensure_admin('first@lab.test', 'first-pass-123') is None
    assert demo.main(['--hiccups', '0']) == 0
    assert authenticate('first@lab.test', 'first-pass-123').roles == frozenset({'admin'})
    assert count(Hiccup) == 0 and count(User) == 1 + len(credentials(capsys.readouterr().out))


def test_production_is_refused(database: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv('ENV', 'production')
    assert demo.main(SMALL) == 2
    assert count(User) == 0


def _normal(changes: str | None, mapping: dict[str, str]) -> dict:
    text = changes or '{}'
    for old, new in mapping.items():
        text = text.replace(old, new)
    return json.loads(text)


def _replay(s, hiccup_id: int, trail: list[AuditEntry], mapping: dict[str, str]) -> dict[tuple[str, int], int]:
    """Run a demo hiccup's trail (and its NC's) through the engine; returns demo (type, id) → engine id."""
    ids: dict[tuple[str, int], int] = {}
    for row in trail:
        actor = Actor.of(s.get(User, row.actor_id))
        rt = get(row.record_type)
        data = {k: new for k, (_, new) in _normal(row.changes, mapping).items() if k != 'status'}
        key = (row.record_type, row.record_id)
        if row.action == 'create' and rt is NonConformances:
            ids[key] = s.get(Hiccup, ids[('hiccups', hiccup_id)]).nc_id  # the engine made it on escalation
        elif row.action == 'create':
            if rt is NcActions:
                data['nc_id'] = ids[('non_conformances', data['nc_id'])]
            ids[key] = records.create(s, actor, rt, {k: v for k, v in data.items() if k in rt.form_fields}).id
            if rt is Hiccups:
                mapping[s.get(Hiccup, row.record_id).reference] = s.get(Hiccup, ids[key]).reference
        elif row.action == 'update':
            records.update(s, actor, rt, ids[key], data, s.get(rt.model, ids[key]).version)
        else:
            records.transition(s, actor, rt, ids[key], row.action.split(':', 1)[1], data)
    return ids


def test_demo_records_are_what_the_engine_makes_of_the_same_steps(loaded: str):
    """Replay demo trails through records.create/transition/update; rows and audit rows must agree."""
    with db.session() as s:
        trails: dict[int, list[AuditEntry]] = {}
        for row in s.scalars(select(AuditEntry).where(AuditEntry.record_type == 'hiccups').order_by(AuditEntry.id)):
            trails.setdefault(row.record_id, []).append(row)
        confidential = set(s.scalars(select(Hiccup.id).where(Hiccup.confidential)))
        shapes: dict[tuple[bool, tuple[str, ...]], int] = {}
        for hiccup_id, trail in trails.items():
            if trail[0].actor_id is not None:  # raised by a person, not by the LIS
                shapes.setdefault((hiccup_id in confidential, tuple(r.action for r in trail)), hiccup_id)
    assert len(shapes) >= 4
    assert any(secret for secret, _ in shapes)  # no default responder, and a manager responds
    for shape, hiccup_id in shapes.items():
        with db.session() as s:
            demo_h = s.get(Hiccup, hiccup_id)
            trail = list(
                s.scalars(
                    select(AuditEntry).where(AuditEntry.record_type == 'hiccups', AuditEntry.record_id == hiccup_id)
                )
            )
            nc_rows, action_ids = [], []
            if demo_h.nc_id:
                nc_rows = list(
                    s.scalars(
                        select(AuditEntry).where(
                            AuditEntry.record_type == 'non_conformances', AuditEntry.record_id == demo_h.nc_id
                        )
                    )
                )
                action_ids = list(s.scalars(select(NcAction.id).where(NcAction.nc_id == demo_h.nc_id)))
                nc_rows += list(
                    s.scalars(
                        select(AuditEntry).where(
                            AuditEntry.record_type == 'nc_actions', AuditEntry.record_id.in_(action_ids)
                        )
                    )
                )
            everything = sorted(trail + nc_rows, key=lambda r: r.id)
            last_id = s.scalar(select(func.max(AuditEntry.id)))
            mapping: dict[str, str] = {}
            ids = _replay(s, hiccup_id, everything, mapping)
            engine_rows = list(
                s.scalars(
                    select(AuditEntry)
                    .where(
                        AuditEntry.id > last_id,
                        AuditEntry.record_type.in_(['hiccups', 'non_conformances', 'nc_actions']),
                    )
                    .order_by(AuditEntry.id)
                )
            )
            inverse = {(kind, new): (kind, old) for (kind, old), new in ids.items()}
            assert len(engine_rows) == len(everything), shape
            for theirs, ours in zip(engine_rows, everything, strict=True):
                assert (inverse[(theirs.record_type, theirs.record_id)], theirs.action) == (
                    (ours.record_type, ours.record_id),
                    ours.action,
                )
                expected = _normal(ours.changes, mapping)
                if ours.record_type == 'nc_actions' and 'nc_id' in expected:
                    expected['nc_id'][1] = ids[('non_conformances', expected['nc_id'][1])]
                assert _normal(theirs.changes, {}) == expected, (shape, ours.action)
            new_h = s.get(Hiccup, ids[('hiccups', hiccup_id)])
            _same_row(demo_h, new_h)
            if demo_h.nc_id:
                _same_row(s.get(NonConformance, demo_h.nc_id), s.get(NonConformance, new_h.nc_id))
                for action_id in action_ids:
                    _same_row(s.get(NcAction, action_id), s.get(NcAction, ids[('nc_actions', action_id)]))
            s.rollback()


TIMES = re.compile(r'.*_(at)$')


def _same_row(ours, theirs) -> None:
    """Same values and timestamps set alike (the engine's are now, ours were then); the same
    version too, so an engine that writes a step more or less often needs `demo.WRITES` updated."""
    skip = {'id', 'reference', 'title', 'nc_id', 'created_at', 'updated_at'}
    for column in type(ours).__table__.columns:
        name = column.key
        if name in skip:
            continue
        a, b = getattr(ours, name), getattr(theirs, name)
        if TIMES.match(name) and name not in ('occurred_at', 'detected_at'):
            assert (a is None) == (b is None), name
            if a is not None and name in ('response_due_at', 'closure_due_at', 'follow_up_due_at'):
                base = 'closed_at' if name == 'follow_up_due_at' else 'created_at'
                if name != 'follow_up_due_at' or ours.closed_at is not None:
                    assert a - getattr(ours, base) == b - getattr(theirs, base), name
        else:
            assert a == b, name


def test_the_dashboard_summary_of_the_demo_year_gives_what_its_hiccups_give(loaded: str, monkeypatch):
    """The bulk load marks its past days for the dashboard's summary (it bypasses the flush hook); once
    summed, every chart of the demo's year (every stage, clocks met and missed) is what the hiccups give."""
    import pandas as pd

    from models import changes
    from models.hiccups.summary import StaleDay, summarize
    from models.settings import local_day
    from reports import hiccup_stats as stats

    with db.session() as s:
        days = [local_day(at) for at in s.scalars(select(Hiccup.occurred_at))]
        today = local_day(dt.datetime.now(dt.UTC))
        assert set(s.scalars(select(StaleDay.day))) == {d for d in days if d < today}
    assert summarize() > 360
    for filters in (stats.Filters(dt.date(2025, 12, 2), dt.date(2026, 12, 1)), stats.Filters.default()):
        changes.forget_shared()
        with db.session() as s:
            manager = Actor.of(s.scalar(select(User).where(User.roles.any(name='management')).limit(1)))
        got = {key: chart.load(manager, filters) for key, chart in stats.CHARTS.items()}
        changes.forget_shared()
        with monkeypatch.context() as m:
            m.setattr(stats, '_summary', lambda *args: None)
            expected = {key: chart.load(manager, filters) for key, chart in stats.CHARTS.items()}
        assert got['headline']['hiccups'].iloc[0] == sum(filters.start <= d <= filters.end for d in days)
        for key in stats.CHARTS:
            pd.testing.assert_frame_equal(got[key], expected[key], check_dtype=False, obj=key)


def test_the_demo_hiccups_are_found_by_search(loaded: str):
    """Loaded without the ORM, every demo hiccup is in the search's index all the same (SQLite's triggers,
    MariaDB's words table): a search counts the hiccups with a word starting so, for words of their titles."""
    with db.session() as s:
        manager = Actor.of(s.scalar(select(User).where(User.roles.any(name='management')).order_by(User.id).limit(1)))
        texts = s.execute(select(Hiccup.reference, Hiccup.title, Hiccup.description)).all()
        starts = {title.split()[0][:5] for _, title, _ in texts[:40] if title.split()[0].isalpha()}
        assert len(starts) >= 3
        for start in sorted(starts):
            expected = sum(any(w.startswith(start.lower()) for w in words_of(row)) for row in texts)
            assert query.count(s, manager, Hiccups, ListParams(q=start)) == (expected, False), start
