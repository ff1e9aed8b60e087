"""Excel round trip of lookup tables: export, edit, preview, apply all-or-nothing."""

from __future__ import annotations

import io
from collections.abc import Callable

import openpyxl
import pytest
from sqlalchemy import select

from models import db, records
from models.accounts import SEEDED_ROLES
from models.audit import AuditEntry
from models.engine import get
from models.permissions import PermissionDenied
from models.values import ValidationError
from reports import imports
from reports.imports import ImportRefused, apply, export_lookup, preview, template_columns
from tests.conftest import make_user

DEPTS = get('departments')
HEADERS = ['id', 'name', 'code', 'description', 'active']


@pytest.fixture
def depts(admin) -> dict[str, int]:
    with db.session() as s:
        made = {
            name: records.create(s, admin, DEPTS, {'name': name, 'code': code}).id
            for name, code in [('Haematology', 'HAEM'), ('Biochemistry', 'BIO'), ('Serology', 'SER')]
        }
    return made


def _file(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _exported(actor, tmp_path, edit: Callable | None = None) -> bytes:
    """The lookup export of departments, edited in 'Excel' (openpyxl) by `edit(sheet)`."""
    path = tmp_path / 'departments.xlsx'
    export_lookup(actor, DEPTS, path)
    if edit is None:
        return path.read_bytes()
    workbook = openpyxl.load_workbook(path)
    edit(workbook.active)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _edited(sheet) -> None:
    """Rows are Biochemistry (2), Haematology (3), Serology (4): recode one, close one, add one."""
    assert [c.value for c in sheet[1]] == HEADERS
    assert [sheet.cell(r, 2).value for r in (2, 3, 4)] == ['Biochemistry', 'Haematology', 'Serology']
    sheet['C3'] = 'HM'
    sheet['D4'] = 'closed'
    sheet['E4'] = False
    sheet.append([None, 'Microbiology', 'MIC', None, None])


def _summary(changes):
    return [(c.row, c.id, c.changes) for c in changes]


def _department(name):
    with db.session() as s:
        return s.scalar(select(DEPTS.model).where(DEPTS.model.name == name))


def _audit(action):
    with db.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_template_columns_are_id_then_the_form_fields(database):
    assert template_columns(DEPTS) == HEADERS
    assert template_columns(get('roles')) == ['id', 'name', 'label_text', 'active']
    with pytest.raises(ValueError, match='not a lookup table'):
        template_columns(get('users'))


def test_export_lookup_writes_every_row_by_field_name_inactive_included_and_audits(admin, depts, tmp_path):
    with db.session() as s:
        records.update(s, admin, DEPTS, depts['Serology'], {'active': False, 'description': 'Closed'}, version=1)
    path = tmp_path / 'departments.xlsx'
    assert export_lookup(admin, DEPTS, path) == 3
    workbook = openpyxl.load_workbook(path)
    assert [[c.value for c in row] for row in workbook.active.iter_rows()] == [
        HEADERS,
        [depts['Biochemistry'], 'Biochemistry', 'BIO', None, True],
        [depts['Haematology'], 'Haematology', 'HAEM', None, True],
        [depts['Serology'], 'Serology', 'SER', 'Closed', False],
    ]
    (entry,) = _audit('export')
    assert (entry.record_type, entry.details) == ('departments', {'rows': 3, 'query': {}})


def test_an_unchanged_round_trip_changes_nothing(admin, depts, tmp_path):
    result = preview(admin, DEPTS, _exported(admin, tmp_path))
    assert (result.inserts, result.updates, result.deactivations, result.errors) == ([], [], [], [])
    assert result.unchanged == 3
    assert result.columns == HEADERS


def test_an_unchanged_round_trip_of_roles_changes_nothing(admin, tmp_path):
    roles = get('roles')
    path = tmp_path / 'roles.xlsx'
    export_lookup(admin, roles, path)
    result = preview(admin, roles, path.read_bytes())
    assert (result.unchanged, result.changes, result.errors) == (len(SEEDED_ROLES), 0, [])


def test_preview_sorts_edited_rows_into_inserts_updates_and_deactivations(admin, depts, tmp_path):
    result = preview(admin, DEPTS, _exported(admin, tmp_path, _edited))
    assert result.errors == []
    assert _summary(result.inserts) == [(5, None, {'name': (None, 'Microbiology'), 'code': (None, 'MIC')})]
    assert _summary(result.updates) == [(3, depts['Haematology'], {'code': ('HAEM', 'HM')})]
    # a deactivation is listed only there, with the row's other changes
    assert _summary(result.deactivations) == [
        (4, depts['Serology'], {'description': (None, 'closed'), 'active': (True, False)})
    ]
    assert result.unchanged == 1
    assert _department('Haematology').code == 'HAEM'  # a preview saves nothing


def test_a_row_without_id_whose_name_exists_updates_that_record(admin, depts):
    result = preview(admin, DEPTS, _file([['name', 'code'], [' Biochemistry ', 'BCH'], ['serology', 'SER']]))
    assert result.inserts == []
    assert _summary(result.updates) == [
        (2, depts['Biochemistry'], {'code': ('BIO', 'BCH')}),
        (3, depts['Serology'], {'name': ('Serology', 'serology')}),
    ]


def test_headers_may_be_field_labels_in_any_case(admin, depts):
    result = preview(admin, DEPTS, _file([['ID', 'Name', 'CODE'], [depts['Serology'], 'Serology', 'SERO']]))
    assert result.errors == []
    assert _summary(result.updates) == [(2, depts['Serology'], {'code': ('SER', 'SERO')})]


def test_preview_reports_errors_by_row_and_field_with_the_form_messages(admin, depts):
    too_long = 'A' * 101
    result = preview(
        admin,
        DEPTS,
        _file(
            [
                ['id', 'name', 'code', 'active'],
                [999, 'Ghost', None, True],
                ['abc', 'Typo', None, True],
                [None, None, 'NONAME', None],
                [None, too_long, None, None],
                [depts['Haematology'], 'Haematology', None, 'maybe'],
                [depts['Serology'], 'Biochemistry', None, True],
                [depts['Biochemistry'], 'Biochem', 'BIO', None],
            ]
        ),
    )
    assert [(e.row, e.field, e.message) for e in result.errors] == [
        (2, 'id', 'No department with id 999.'),
        (3, 'id', 'Enter a whole number.'),
        (4, 'name', 'Required.'),
        (5, 'name', 'At most 100 characters (101 given).'),
        (6, 'active', 'Enter yes or no.'),
        (7, 'name', 'Biochemistry is already used.'),
        (8, 'active', 'Required.'),  # a blank cell cannot clear a yes/no that must have a value
    ]
    with pytest.raises(ValidationError) as form, db.session() as s:
        records.create(s, admin, DEPTS, {'name': too_long})
    assert form.value.errors == {'name': 'At most 100 characters (101 given).'}


def test_duplicate_names_or_records_in_the_file_are_errors_on_each_duplicate_row(admin, depts):
    result = preview(
        admin,
        DEPTS,
        _file(
            [
                ['id', 'name'],
                [None, 'Virology'],
                [None, 'virology '],
                [depts['Haematology'], 'Haematology'],
                [depts['Haematology'], 'Haem'],
                [None, 'Serology'],
                [depts['Serology'], 'Serology'],
            ]
        ),
    )
    assert [(e.row, e.field) for e in result.errors] == [
        (2, 'name'),
        (3, 'name'),
        (4, 'id'),
        (5, 'id'),
        (6, 'name'),
        (7, 'name'),
    ]
    assert result.errors[0].message == '"Virology" is on more than one row (rows 2 and 3).'
    assert result.errors[2].message == (
        f'Department {depts["Haematology"]} (Haematology) is on more than one row (rows 4 and 5).'
    )
    assert result.changes == 0


def test_unknown_columns_are_one_error_naming_them(admin, depts):
    result = preview(admin, DEPTS, _file([['id', 'name', 'colour', 'Owner'], [None, 'Virology', 'red', 'me']]))
    assert [(e.row, e.field) for e in result.errors] == [(1, '')]
    assert result.errors[0].message.startswith('Unknown columns: colour, Owner.')
    assert 'id, name, code, description, active' in result.errors[0].message


def test_apply_saves_inserts_updates_and_deactivations_and_audits_each(admin, depts, tmp_path):
    result = apply(admin, DEPTS, _exported(admin, tmp_path, _edited))
    assert (len(result.inserts), len(result.updates), len(result.deactivations)) == (1, 1, 1)
    micro = _department('Microbiology')
    assert (micro.code, micro.active, result.inserts[0].id) == ('MIC', True, micro.id)
    haem = _department('Haematology')
    assert (haem.code, haem.version) == ('HM', 2)
    sero = _department('Serology')
    assert (sero.active, sero.description) == (False, 'closed')
    assert _department('Biochemistry').version == 1
    created = _audit('create')[-1]
    assert (created.record_id, created.details) == (micro.id, {'name': [None, 'Microbiology'], 'code': [None, 'MIC']})
    assert {e.record_id: e.details for e in _audit('update')} == {
        haem.id: {'code': ['HAEM', 'HM']},
        sero.id: {'description': [None, 'closed'], 'active': [True, False]},
    }
    (summary,) = _audit('import')
    assert summary.details == {'inserts': 1, 'updates': 1, 'deactivations': 1, 'unchanged': 1}


def test_rows_missing_from_the_file_are_left_unchanged(admin, depts):
    apply(admin, DEPTS, _file([['id', 'code'], [depts['Serology'], 'SR']]))
    assert _department('Serology').code == 'SR'
    assert (_department('Haematology').active, _department('Haematology').version) == (True, 1)
    assert _department('Biochemistry').version == 1


def test_apply_with_one_bad_row_changes_nothing(admin, depts, tmp_path):
    def edit(sheet):
        _edited(sheet)
        sheet.append([12345, 'Ghost', None, None, True])

    with pytest.raises(ImportRefused) as refused:
        apply(admin, DEPTS, _exported(admin, tmp_path, edit))
    assert isinstance(refused.value, ValidationError)
    assert refused.value.errors == {'row 6, id': 'No department with id 12345.'}
    assert _department('Microbiology') is None
    assert _department('Haematology').code == 'HAEM'
    assert _department('Serology').active is True
    assert _audit('update') == [] and _audit('import') == []


def test_apply_that_fails_midway_saves_nothing(admin, depts, tmp_path, monkeypatch):
    real_update = records.update
    calls = []

    def update_then_fail(*args, **kwargs):
        calls.append(args[3])
        if len(calls) == 2:
            raise RuntimeError('disk full')
        return real_update(*args, **kwargs)

    monkeypatch.setattr(records, 'update', update_then_fail)
    with pytest.raises(RuntimeError, match='disk full'):
        apply(admin, DEPTS, _exported(admin, tmp_path, _edited))
    assert calls == [depts['Haematology'], depts['Serology']]  # the first update had gone through
    assert _department('Haematology').code == 'HAEM'
    assert _department('Microbiology') is None
    assert _audit('update') == [] and _audit('import') == []


def test_a_non_xlsx_upload_gives_a_clear_value_error(admin, depts):
    with pytest.raises(ValueError, match=r'not an Excel workbook \(.xlsx\)'):
        preview(admin, DEPTS, b'id,name\n1,Haematology\n')
    with pytest.raises(ValueError, match=r'not an Excel workbook \(.xlsx\)'):
        apply(admin, DEPTS, b'%PDF-1.7 not a spreadsheet')


def test_import_is_refused_to_roles_that_may_not_change_the_table(depts):
    manager = make_user('mgr@lab.test', 'management')  # may view and export departments only
    with pytest.raises(PermissionDenied, match='You may not edit departments'):
        preview(manager, DEPTS, _file([['name'], ['Virology']]))
    with pytest.raises(PermissionDenied):
        apply(manager, DEPTS, _file([['name'], ['Virology']]))
    assert _department('Virology') is None


def test_import_of_a_record_type_that_is_not_a_lookup_is_refused(admin):
    with pytest.raises(ValueError, match='Users is not a lookup table'):
        imports.preview(admin, get('users'), _file([['name'], ['x']]))
