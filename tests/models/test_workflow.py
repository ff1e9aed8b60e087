"""Workflow transitions: states, roles, required fields, audit; and row visibility."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import db, query, records
from models.audit import AuditEntry
from models.permissions import NotFound, PermissionDenied
from models.query import ListParams
from models.values import ValidationError
from tests.conftest import make_user
from tests.workflow_fixture import samples  # noqa: F401 - fixture


def test_a_step_runs_for_an_allowed_role_and_is_audited(samples):  # noqa: F811
    tech = make_user('tech@lab.test', 'staff')
    with db.session() as s:
        sample = records.create(s, tech, samples, {'name': 'S-1'})
    assert sample.status == 'received' and sample.owner_id == tech.id
    with db.session() as s:
        records.transition(s, tech, samples, sample.id, 'start', {})
    with db.session() as s:
        assert s.get(samples.model, sample.id).status == 'testing'
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == 'transition:start'))
        assert entry.details == {'status': ['received', 'testing']}


def test_a_role_without_the_step_is_refused(samples):  # noqa: F811
    tech = make_user('tech@lab.test', 'staff')
    with db.session() as s:
        sample = records.create(s, tech, samples, {'name': 'S-1'})
        records.transition(s, tech, samples, sample.id, 'start', {})
    with pytest.raises(PermissionDenied, match='may not report'), db.session() as s:
        records.transition(s, tech, samples, sample.id, 'report', {'result': 'ok'})


def test_a_step_from_the_wrong_state_is_refused_with_the_state_named(samples):  # noqa: F811
    hod = make_user('hod@lab.test', 'hod', 'staff')
    with db.session() as s:
        sample = records.create(s, hod, samples, {'name': 'S-1'})
    with pytest.raises(PermissionDenied, match='not possible while the sample is Received'), db.session() as s:
        records.transition(s, hod, samples, sample.id, 'report', {'result': 'ok'})


def test_a_step_needs_its_required_fields(samples):  # noqa: F811
    hod = make_user('hod@lab.test', 'hod', 'staff')
    with db.session() as s:
        sample = records.create(s, hod, samples, {'name': 'S-1'})
        records.transition(s, hod, samples, sample.id, 'start', {})
    with pytest.raises(ValidationError) as exc, db.session() as s:
        records.transition(s, hod, samples, sample.id, 'report', {'result': ''})
    assert exc.value.errors == {'result': 'Required for this step.'}
    with db.session() as s:
        records.transition(s, hod, samples, sample.id, 'report', {'result': 'Negative'})
        assert s.get(samples.model, sample.id).status == 'reported'


def test_rows_others_may_not_see_are_not_found_and_not_listed(samples):  # noqa: F811
    alice = make_user('alice@lab.test', 'staff')
    bob = make_user('bob@lab.test', 'staff')
    hod = make_user('hod@lab.test', 'hod')
    with db.session() as s:
        mine = records.create(s, alice, samples, {'name': 'Alice sample'})
    with pytest.raises(NotFound), db.session() as s:
        records.transition(s, bob, samples, mine.id, 'start', {})
    with db.session() as s:
        assert query.count(s, bob, samples, ListParams()) == (0, False)
        assert query.count(s, alice, samples, ListParams()) == (1, False)
        assert [r.name for r in query.page(s, hod, samples, ListParams())] == ['Alice sample']
