"""Saving records through the engine: validation, permissions, versions, audit, lookups in use."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import db, records
from models.accounts import User
from models.audit import AuditEntry
from models.engine import get
from models.permissions import NotFound, PermissionDenied
from models.records import Conflict
from models.values import ValidationError
from tests.conftest import make_user

DEPTS = get('departments')


def test_create_validates_and_audits(admin):
    with db.session() as s:
        dept = records.create(s, admin, DEPTS, {'name': '  Haematology ', 'code': 'HAEM'})
    assert dept.name == 'Haematology'
    with db.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.record_type == 'departments'))
        assert entry.action == 'create'
        assert entry.details['name'] == [None, 'Haematology']
        assert entry.actor == 'boss@lab.test'


def test_missing_and_duplicate_names_are_refused_by_field(admin):
    with db.session() as s:
        records.create(s, admin, DEPTS, {'name': 'Biochemistry'})
    with pytest.raises(ValidationError) as missing, db.session() as s:
        records.create(s, admin, DEPTS, {'code': 'X'})
    assert missing.value.errors == {'name': 'Required.'}
    with pytest.raises(ValidationError) as dup, db.session() as s:
        records.create(s, admin, DEPTS, {'name': 'Biochemistry'})
    assert 'already used' in dup.value.errors['name']


def test_staff_may_not_create_lookup_values(database):
    staff = make_user('tech@lab.test', 'staff')
    with pytest.raises(PermissionDenied), db.session() as s:
        records.create(s, staff, DEPTS, {'name': 'Microbiology'})


def test_stale_version_is_refused_and_nothing_saved(admin):
    with db.session() as s:
        dept = records.create(s, admin, DEPTS, {'name': 'Serology'})
    with db.session() as s:
        records.update(s, admin, DEPTS, dept.id, {'code': 'SER'}, version=1)
    with pytest.raises(Conflict) as exc, db.session() as s:
        records.update(s, admin, DEPTS, dept.id, {'code': 'OLD'}, version=1)
    assert 'boss@lab.test' in str(exc.value)
    with db.session() as s:
        assert s.get(DEPTS.model, dept.id).code == 'SER'


def test_update_audits_each_field_old_and_new(admin):
    with db.session() as s:
        dept = records.create(s, admin, DEPTS, {'name': 'Histology', 'code': 'H'})
    with db.session() as s:
        records.update(s, admin, DEPTS, dept.id, {'code': 'HIS', 'name': 'Histopathology'}, version=1)
    with db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == 'update')).one()
        assert entry.details == {'code': ['H', 'HIS'], 'name': ['Histology', 'Histopathology']}


def test_lookup_in_use_is_deactivated_not_deleted(admin):
    with db.session() as s:
        used = records.create(s, admin, DEPTS, {'name': 'Cytology'})
        unused = records.create(s, admin, DEPTS, {'name': 'Genetics'})
    make_user('cyto@lab.test', 'staff', department_id=used.id)
    with db.session() as s:
        assert records.delete(s, admin, DEPTS, used.id) == 'deactivated'
        assert records.delete(s, admin, DEPTS, unused.id) == 'deleted'
    with db.session() as s:
        assert s.get(DEPTS.model, used.id).active is False
        assert s.get(DEPTS.model, unused.id) is None
        deleted = s.scalar(select(AuditEntry).where(AuditEntry.action == 'delete'))
        assert deleted.details['name'] == 'Genetics'


def test_inactive_lookup_values_cannot_be_chosen(admin):
    with db.session() as s:
        old = records.create(s, admin, DEPTS, {'name': 'Old lab', 'active': False})
    with pytest.raises(ValidationError) as exc, db.session() as s:
        records.create(s, admin, get('users'), {'name': 'New', 'email': 'new@lab.test', 'department_id': old.id})
    assert 'no longer active' in exc.value.errors['department_id']


def test_users_get_roles_through_the_multi_select(admin):
    with db.session() as s:
        roles = {r.name: r.id for r in s.scalars(select(get('roles').model))}
        user = records.create(
            s, admin, get('users'), {'name': 'Asha', 'email': 'Asha@Lab.test', 'roles': [roles['hod'], roles['staff']]}
        )
    with db.session() as s:
        saved = s.get(User, user.id)
        assert saved.email == 'asha@lab.test'
        assert saved.role_names == {'hod', 'staff'}


def test_unknown_record_ids_are_not_found(admin):
    with pytest.raises(NotFound), db.session() as s:
        records.update(s, admin, DEPTS, 'abc', {'code': 'x'}, version=1)


def test_a_missing_value_takes_the_default_on_create_but_cannot_blank_a_required_column(admin):
    with db.session() as s:
        dept = records.create(s, admin, DEPTS, {'name': 'Pathology', 'active': None})
    assert dept.active is True
    with pytest.raises(ValidationError) as exc, db.session() as s:
        records.update(s, admin, DEPTS, dept.id, {'active': None}, version=dept.version)
    assert exc.value.errors == {'active': 'Required.'}
