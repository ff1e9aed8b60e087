"""A hiccup's life: raise, respond, review, close or escalate, follow up; SLA clocks."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select

import models.hiccups.tables as hiccups_tables
from models import db, query, records
from models.audit import AuditEntry
from models.hiccups import FollowUp, Hiccup, Hiccups, NonConformance, NonConformances, SlaRules
from models.notifications import Notification
from models.permissions import NotFound, PermissionDenied
from models.query import ListParams
from models.values import ValidationError
from tests.hiccups.conftest import Lab, hiccup_data


def raise_hiccup(lab: Lab, actor=None, **overrides) -> Hiccup:
    with db.session() as s:
        return records.create(s, actor or lab.staff, Hiccups, hiccup_data(lab, **overrides))


def step(actor, hiccup_id: int, name: str, **data):
    with db.session() as s:
        return records.transition(s, actor, Hiccups, hiccup_id, name, data)


def test_raising_gives_a_reference_the_department_hod_and_sla_due_times(lab: Lab):
    hiccup = raise_hiccup(lab)
    assert hiccup.reference == f'HIC-{hiccup.created_at.year}-{hiccup.id:05d}'
    assert hiccup.responder_id == lab.hod.id
    assert hiccup.raised_by_id == lab.staff.id
    assert hiccup.status == 'open'
    assert hiccup.response_due_at - hiccup.created_at == dt.timedelta(hours=24)
    assert hiccup.closure_due_at - hiccup.created_at == dt.timedelta(hours=72)
    assert hiccup.occurred_at == dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.UTC)  # 09:30 in Kolkata


def test_a_raise_writes_its_reference_responder_and_sla_clocks_in_one_update(lab: Lab):
    statements: list[str] = []

    def log(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(db.engine(), 'before_cursor_execute', log)
    try:
        hiccup = raise_hiccup(lab)
    finally:
        event.remove(db.engine(), 'before_cursor_execute', log)
    updates = [s for s in statements if s.startswith('UPDATE hiccups')]
    assert len(updates) == 1
    assert all(f'{name}=' in updates[0] for name in ('reference', 'responder_id', 'response_due_at', 'closure_due_at'))
    assert hiccup.reference and hiccup.responder_id == lab.hod.id and hiccup.closure_due_at


def test_the_notices_name_the_department_the_raiser_and_the_follow_up_days(lab: Lab):
    hiccup = raise_hiccup(lab)
    step(lab.hod, hiccup.id, 'respond', response='Restarted', root_cause='Power dip', corrective_action='UPS')
    step(lab.manager, hiccup.id, 'review')
    step(lab.manager, hiccup.id, 'close', closure_remarks='Fixed', lessons_learned='Check the UPS')
    with db.session() as s:
        told = {
            (n.user_id, n.subject): n.body
            for n in s.scalars(select(Notification).where(Notification.channel == 'inapp'))
        }
    ref = hiccup.reference
    assert told[lab.hod.id, f'New hiccup {ref}'] == 'Analyser down\nHigh · Haematology · raised by Tech'
    assert told[lab.manager.id, f'Response on {ref}'] == 'Analyser down\nRoot cause: Power dip\nAction: UPS'
    assert told[lab.staff.id, f'{ref} closed'] == ('Analyser down\nPlease say within 7 days whether you are satisfied.')


def test_the_most_specific_sla_rule_wins(lab: Lab):
    with db.session() as s:
        records.create(s, lab.admin, SlaRules, {'severity': 'high', 'response_hours': 8, 'closure_hours': 48})
        records.create(
            s,
            lab.admin,
            SlaRules,
            {'category_id': lab.equipment, 'severity': 'high', 'response_hours': 2, 'closure_hours': 12},
        )
    equipment = raise_hiccup(lab)
    sample = raise_hiccup(lab, category_id=lab.sample)
    low = raise_hiccup(lab, category_id=lab.sample, severity='low')
    assert equipment.response_due_at - equipment.created_at == dt.timedelta(hours=2)
    assert sample.closure_due_at - sample.created_at == dt.timedelta(hours=48)
    assert low.response_due_at - low.created_at == dt.timedelta(hours=24)


def test_full_lifecycle_with_follow_up_reopening_it(lab: Lab):
    hiccup = raise_hiccup(lab)
    with pytest.raises(ValidationError) as missing:
        step(lab.hod, hiccup.id, 'respond', response='Restarted')
    assert set(missing.value.errors) == {'root_cause', 'corrective_action'}
    step(lab.hod, hiccup.id, 'respond', response='Restarted', root_cause='Power dip', corrective_action='UPS')
    step(lab.manager, hiccup.id, 'review')
    closed = step(lab.manager, hiccup.id, 'close', closure_remarks='Fixed', lessons_learned='Check the UPS')
    assert closed.follow_up_due_at - closed.closed_at == dt.timedelta(days=7)
    with pytest.raises(PermissionDenied, match='Only the person who raised'):
        step(lab.other_staff, hiccup.id, 'reopen', follow_up_comment='Still failing')
    reopened = step(lab.staff, hiccup.id, 'reopen', follow_up_comment='Still failing')
    assert reopened.status == 'under_review' and reopened.follow_up_result == FollowUp.not_satisfied
    step(lab.manager, hiccup.id, 'close', closure_remarks='Replaced the UPS', lessons_learned='Test UPS monthly')
    done = step(lab.staff, hiccup.id, 'confirm')
    assert done.status == 'followed_up' and done.follow_up_result == FollowUp.satisfied
    with db.session() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.record_type == 'hiccups')))
    assert actions == [
        'create',
        'transition:respond',
        'transition:review',
        'transition:close',
        'transition:reopen',
        'transition:close',
        'transition:confirm',
    ]


def test_only_the_department_hod_responds(lab: Lab):
    hiccup = raise_hiccup(lab)
    with pytest.raises(NotFound):  # a biochemistry HOD cannot even see a haematology hiccup
        step(lab.bio_hod, hiccup.id, 'respond', response='x', root_cause='y', corrective_action='z')
    with pytest.raises(PermissionDenied):
        step(lab.staff, hiccup.id, 'respond', response='x', root_cause='y', corrective_action='z')


def test_escalation_creates_the_linked_non_conformance(lab: Lab):
    hiccup = raise_hiccup(lab)
    step(lab.hod, hiccup.id, 'respond', response='Restarted', root_cause='Firmware', corrective_action='Update')
    escalated = step(lab.manager, hiccup.id, 'escalate')
    assert escalated.status == 'escalated'
    with db.session() as s:
        nc = s.get(NonConformance, escalated.nc_id)
        assert nc.reference.startswith('NC-') and nc.title.startswith(hiccup.reference)
        assert nc.root_cause_analysis == 'Firmware' and nc.owner_id == lab.manager.id


def test_a_non_conformance_closes_only_with_its_effectiveness_result(lab: Lab):
    with db.session() as s:
        nc = records.create(s, lab.manager, NonConformances, {'title': 'Repeated analyser stops'})
    for name, data in [
        ('plan', {'root_cause_analysis': 'Firmware bug'}),
        ('start', {}),
        ('check', {'effectiveness_check_date': '2026-12-20'}),
    ]:
        with db.session() as s:
            records.transition(s, lab.manager, NonConformances, nc.id, name, data)
    with pytest.raises(ValidationError) as exc, db.session() as s:
        records.transition(s, lab.manager, NonConformances, nc.id, 'close', {})
    assert exc.value.errors == {'effectiveness_result': 'Required for this step.'}
    with db.session() as s:
        closed = records.transition(
            s, lab.manager, NonConformances, nc.id, 'close', {'effectiveness_result': 'No stops in 30 days'}
        )
    assert closed.status == 'closed' and closed.closed_at is not None


def test_overdue_is_computed_with_frozen_time_and_filterable(lab: Lab, monkeypatch):
    hiccup = raise_hiccup(lab)
    later = hiccup.created_at + dt.timedelta(hours=25)
    monkeypatch.setattr(hiccups_tables, 'utcnow', lambda: later)
    with db.session() as s:
        fresh = s.get(Hiccup, hiccup.id)
        assert fresh.overdue is True
        overdue = query.page(s, lab.manager, Hiccups, ListParams(filters={'overdue': 'true'}))
        assert [h.id for h in overdue] == [hiccup.id]
    step(lab.hod, hiccup.id, 'respond', response='r', root_cause='c', corrective_action='a')
    with db.session() as s:
        assert s.get(Hiccup, hiccup.id).overdue is False  # responded; closure due at 72 h
        assert query.count(s, lab.manager, Hiccups, ListParams(filters={'overdue': 'true'})) == (0, False)
