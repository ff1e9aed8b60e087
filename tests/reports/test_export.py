"""Excel export of a list view: same rows, order, columns and visibility; audited; streamed."""

from __future__ import annotations

import datetime as dt
import enum
import inspect

import openpyxl
import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from models import db, records
from models.accounts import Role, User, user_roles
from models.audit import AuditEntry
from models.engine import Field, get
from models.permissions import PermissionDenied
from models.query import ListParams
from models.settings import reload_settings
from reports import export, xlsx
from reports.export import export_filename, export_list
from tests.conftest import make_user

DEPTS = get('departments')
USERS = get('users')


def _sheet(path) -> list[list]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    rows = [list(r) for r in workbook.active.iter_rows(values_only=True)]
    workbook.close()
    return rows


@pytest.fixture
def staffed(admin):
    """Two departments and three users besides the admin; Asha last signed in at 04:30 UTC."""
    with db.session() as s:
        roles = {r.name: r.id for r in s.scalars(select(Role))}
        haem = records.create(s, admin, DEPTS, {'name': 'Haematology', 'code': 'HAEM'})
        bio = records.create(s, admin, DEPTS, {'name': 'Biochemistry', 'code': 'BIO'})
        asha = records.create(
            s,
            admin,
            USERS,
            {
                'name': 'Asha',
                'email': 'asha@lab.test',
                'department_id': haem.id,
                'roles': [roles['staff'], roles['hod']],
            },
        )
        records.create(
            s,
            admin,
            USERS,
            {'name': 'Bala', 'email': 'bala@lab.test', 'department_id': bio.id, 'roles': [roles['staff']]},
        )
        records.create(
            s,
            admin,
            USERS,
            {
                'name': 'Chitra',
                'email': 'chitra@lab.test',
                'department_id': haem.id,
                'roles': [roles['staff']],
                'active': False,
            },
        )
        s.flush()
        s.get(User, asha.id).last_login_at = dt.datetime(2026, 1, 5, 4, 30, tzinfo=dt.UTC)
    return {'haem': haem.id, 'bio': bio.id}


def test_export_writes_the_filtered_sorted_chosen_columns_with_labels_titles_and_local_times(admin, staffed, tmp_path):
    path = tmp_path / 'users.xlsx'
    params = ListParams(
        filters={'department_id': str(staffed['haem'])},
        sort='-name',
        columns=['name', 'department_id', 'roles', 'active', 'last_login_at'],
    )
    assert export_list(admin, USERS, params, path) == 2
    assert _sheet(path) == [
        ['Name', 'Department', 'Roles', 'Active', 'Last login'],
        ['Chitra', 'Haematology', 'staff', False, None],
        ['Asha', 'Haematology', 'hod, staff', True, dt.datetime(2026, 1, 5, 10, 0)],  # Asia/Kolkata
    ]


def test_export_without_chosen_columns_uses_the_list_columns_and_default_sort(admin, staffed, tmp_path):
    path = tmp_path / 'users.xlsx'
    assert export_list(admin, USERS, ListParams(filters={'active': 'true'}), path) == 3
    rows = _sheet(path)
    assert rows[0] == [USERS.fields[n].label for n in USERS.list_columns]
    assert [r[0] for r in rows[1:]] == ['Asha', 'Bala', 'Boss']


def test_export_of_a_search_matches_the_list_count(admin, staffed, tmp_path):
    from models.query import count

    params = ListParams(q='lab.test h')
    with db.session() as s:
        listed, _ = count(s, admin, USERS, params)
    assert export_list(admin, USERS, params, tmp_path / 'search.xlsx') == listed == 2  # Asha and Chitra


def test_export_honours_the_record_types_visibility_rule(staffed, tmp_path, monkeypatch):
    monkeypatch.setattr(USERS, 'visible_to', classmethod(lambda cls, actor: User.department_id == actor.department_id))
    manager = make_user('mgr@lab.test', 'management', department_id=staffed['bio'])
    path = tmp_path / 'users.xlsx'
    assert export_list(manager, USERS, ListParams(columns=['email']), path) == 2
    assert _sheet(path) == [['Email'], ['bala@lab.test'], ['mgr@lab.test']]


def test_export_is_audited_with_the_row_count_and_the_view_query(admin, staffed, tmp_path):
    params = ListParams(filters={'active': 'true'}, sort='email', columns=['name', 'email'])
    export_list(admin, USERS, params, tmp_path / 'users.xlsx')
    with db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == 'export')).one()
    assert (entry.record_type, entry.actor, entry.actor_id) == ('users', 'boss@lab.test', admin.id)
    assert entry.details == {'rows': 3, 'query': {'sort': 'email', 'cols': 'name,email', 'f.active': 'true'}}


def test_export_is_refused_without_the_export_permission_and_leaves_no_file(database, tmp_path):
    staff = make_user('tech@lab.test', 'staff')  # staff may view departments, not export them
    path = tmp_path / 'departments.xlsx'
    with pytest.raises(PermissionDenied, match='You may not export departments'):
        export_list(staff, DEPTS, ListParams(), path)
    assert not path.exists()
    with db.session() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == 'export')) is None


def test_management_may_export_lookups_sorted_by_name(staffed, tmp_path):
    manager = make_user('mgr@lab.test', 'management')
    path = tmp_path / 'departments.xlsx'
    assert export_list(manager, DEPTS, ListParams(), path) == 2
    assert _sheet(path) == [['Name', 'Code', 'Active'], ['Biochemistry', 'BIO', True], ['Haematology', 'HAEM', True]]


def test_a_big_export_is_streamed_in_chunks_with_yield_per(admin, staffed, tmp_path, monkeypatch):
    total = 20_000
    with db.session() as s:
        staff_id = s.scalar(select(Role.id).where(Role.name == 'staff'))
        s.execute(
            insert(User),
            [
                {
                    'email': f'user{i:05d}@lab.test',
                    'name': f'User {i:05d}',
                    'department_id': staffed['haem'] if i % 2 else staffed['bio'],
                }
                for i in range(total)
            ],
        )
        every_third = [
            {'user_id': i, 'role_id': staff_id}
            for i, email in s.execute(select(User.id, User.email).where(User.email.like('user%')))
            if int(email[4:9]) % 3 == 0
        ]
        s.execute(insert(user_roles), every_third)

    options = []

    def spy_execute(state):
        if state.is_select:
            options.append(state.execution_options.get('yield_per'))

    chunks = []
    real_titles = export.ref_titles

    def spy_titles(session, rt, rows, names):
        chunks.append(len(rows))
        return real_titles(session, rt, rows, names)

    fed = []
    real_write = xlsx.write

    def spy_write(path, title, columns, rows, progress=None, every=1000):
        fed.append(inspect.isgenerator(rows))
        return real_write(path, title, columns, rows, progress, every)

    monkeypatch.setattr(export, 'ref_titles', spy_titles)
    monkeypatch.setattr(xlsx, 'write', spy_write)
    progress = []
    path = tmp_path / 'big.xlsx'
    event.listen(Session, 'do_orm_execute', spy_execute)
    try:
        params = ListParams(q='user', sort='email', columns=['email', 'department_id', 'roles'])
        written = export_list(admin, USERS, params, path, progress.append)
    finally:
        event.remove(Session, 'do_orm_execute', spy_execute)

    assert written == total
    assert export.CHUNK in options  # the rows query ran with yield_per
    assert fed == [True]  # rows reach the writer as a generator, never as a list
    assert chunks == [export.CHUNK] * (total // export.CHUNK)  # titles resolved per chunk
    assert progress == list(range(1000, total + 1, 1000))
    rows = _sheet(path)
    assert len(rows) == total + 1
    assert rows[1] == ['user00000@lab.test', 'Biochemistry', 'staff']
    assert rows[2] == ['user00001@lab.test', 'Haematology', None]
    assert rows[-1] == ['user19999@lab.test', 'Haematology', None]
    assert rows[-2] == ['user19998@lab.test', 'Biochemistry', 'staff']


class Severity(enum.Enum):
    HIGH = 'High'


def test_enums_are_exported_as_their_labels():
    tz = reload_settings().tz
    assert export._shown(Field('severity', 'Severity', 'enum', enum=Severity), Severity.HIGH, None, tz) == 'High'
    status = Field('status', 'Status', 'enum', choices=(('in_review', 'In review'),))
    assert export._shown(status, 'in_review', None, tz) == 'In review'


def test_export_filename_has_the_slug_and_the_local_time(data_dir):
    reload_settings()
    moment = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)  # 14:30 in Asia/Kolkata
    assert export_filename(DEPTS, now=moment) == 'departments-2026-11-22-1430.xlsx'
