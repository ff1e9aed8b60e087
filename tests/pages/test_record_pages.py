"""The generated pages of every record type: list, form, detail, and what they do."""

from __future__ import annotations

import threading

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlalchemy import select

from models import db, notifications, records, views
from models.accounts import SYSTEM
from models.accounts import User as UserRow
from models.engine import REGISTRY, get
from tests.conftest import statements
from tests.pages.helpers import sign_in, table_rows


def sample_values(rt) -> dict:
    """Valid values for every required field of any record type (references: an existing record)."""
    import datetime as dt

    values = {}
    with db.session() as s:
        for name in rt.form_fields:
            field = rt.fields[name]
            if not field.required:
                continue
            if field.kind == 'ref':
                values[name] = s.scalar(select(field.target.id).limit(1))
            elif field.kind == 'enum':
                values[name] = next(iter(field.enum)).name if field.enum else field.choices[0][0]
            else:
                values[name] = {
                    'int': 1,
                    'float': 1.0,
                    'bool': False,
                    'date': dt.date.today(),
                    'datetime': dt.datetime.now(dt.UTC),
                }.get(field.kind, f'Any {rt.slug}')
    if 'email' in values:
        values['email'] = f'any-{rt.slug}@lab.test'
    return values


async def test_every_record_type_opens_its_list_form_and_detail(database, user: User) -> None:
    await sign_in(user)
    for rt in REGISTRY.values():  # declaration order: what a type refers to is created before it
        creatable = rt.default_allows('admin', 'create')
        with db.session() as s:
            if creatable:
                record = records.create(s, SYSTEM, rt, sample_values(rt))
            else:  # read-only to everyone (e.g. issue statistics, written by a job): the row goes in directly
                record = rt.model(**records.clean(s, rt, sample_values(rt), list(rt.form_fields), None))
                s.add(record)
                s.flush()
        await user.open(f'/r/{rt.slug}')
        await user.should_see(rt.label_plural)
        await user.open(f'/r/{rt.slug}/new')
        await user.should_see(
            f'New {rt.label.lower()}' if creatable else f'You may not create {rt.label_plural.lower()}'
        )
        await user.open(f'/r/{rt.slug}/{record.id}')
        await user.should_see('Timeline')


async def test_add_a_department_through_the_form_and_find_it_in_the_list(database, user: User) -> None:
    await sign_in(user)
    await user.open('/r/departments/new')
    user.find('Name *').type('Haematology')
    user.find('Code').type('HAEM')
    user.find(kind=ui.button, content='Save').click()
    await user.should_see('Department saved.')
    await user.open('/r/departments')
    await user.should_see('1 department')
    assert [r['name'] for r in await table_rows(user)] == ['Haematology']


async def test_form_shows_errors_on_the_field_and_saves_nothing(database, user: User) -> None:
    await sign_in(user)
    await user.open('/r/departments/new')
    user.find('Code').type('X')
    user.find(kind=ui.button, content='Save').click()
    await user.should_see('Required.')
    with db.session() as s:
        assert s.query(get('departments').model).count() == 0


async def test_list_search_and_filters_live_in_the_url(database, user: User) -> None:
    with db.session() as s:
        for name, active in [('Biochemistry', True), ('Microbiology', True), ('Old stores', False)]:
            records.create(s, SYSTEM, get('departments'), {'name': name, 'active': active})
    await sign_in(user)
    await user.open('/r/departments?q=bio')
    assert [r['name'] for r in await table_rows(user)] == ['Biochemistry', 'Microbiology']
    await user.open('/r/departments?f.active=false')
    assert [r['name'] for r in await table_rows(user)] == ['Old stores']
    await user.open('/r/departments?sort=-name&cols=name,code')
    rows = await table_rows(user)
    assert [r['name'] for r in rows] == ['Old stores', 'Microbiology', 'Biochemistry']
    assert set(rows[0]) == {'id', 'name', 'code'}


async def test_the_filter_panel_is_built_when_opened_and_filters_the_list(database, user: User) -> None:
    with db.session() as s:
        for name, active in [('Biochemistry', True), ('Old stores', False)]:
            records.create(s, SYSTEM, get('departments'), {'name': name, 'active': active})
    await sign_in(user)
    await user.open('/r/departments')
    assert len(await table_rows(user)) == 2
    assert _selects(user) == ['Saved views']  # the closed panel has no inputs yet
    user.find(ui.expansion).elements.pop().open()
    await user.should_see('Columns')
    assert {'Active', 'Columns'} <= set(_selects(user))
    _select(user, 'Active').set_value('false')  # choosing 'No'
    await user.should_see('1 department')
    assert [r['name'] for r in await table_rows(user)] == ['Old stores']
    await user.open('/r/departments?f.active=false')  # a filtered link opens the panel with its filter shown
    await user.should_see('Columns')
    assert _select(user, 'Active').value == 'false'


async def test_opening_a_list_waits_for_no_query_on_the_event_loop(database, user: User) -> None:
    """Everything a list page reads (the user, their unread count, permissions, saved views, filter
    choices, rows) is read on worker threads: one slow query must not freeze every other open page."""
    with db.session() as s:
        records.create(s, SYSTEM, get('departments'), {'name': 'Biochemistry'})
    await sign_in(user)
    with db.session() as s:
        admin_id = s.scalar(select(UserRow.id).where(UserRow.email == 'admin@lab.test'))
        views.save(s, admin_id, 'departments', 'Active ones', 'f.active=true')
        notifications.send(s, user_ids=[admin_id], subject='Something to read', body='', channels=['inapp'])
    with statements(threading.main_thread()) as on_loop:
        await user.open('/r/departments?f.active=true')
        await user.should_see('1 department')
    assert user.find(marker='bell-count').elements.pop().text == '1'
    saved = next(e for e in user.find(ui.select).elements if e.options.get('') == 'Saved views')
    assert saved.options['f.active=true'] == 'Active ones'
    assert _select(user, 'Active').value == 'true'
    assert on_loop == []


async def test_a_list_is_saved_as_a_named_view_without_a_query_on_the_event_loop(database, user: User) -> None:
    await sign_in(user)
    await user.open('/r/departments?f.active=true')
    await user.should_see('Departments')
    with statements(threading.main_thread()) as on_loop:
        user.find(kind=ui.button, marker='save-view').click()
        user.find('Name of this view').type('  Active ones ')
        user.find(kind=ui.button, content='Save').click()
        await user.should_see('Saved view "Active ones".')
    assert on_loop == []
    with db.session() as s:
        admin_id = s.scalar(select(UserRow.id).where(UserRow.email == 'admin@lab.test'))
        assert [(v.name, v.query) for v in views.for_user(s, admin_id, 'departments')] == [
            ('Active ones', 'f.active=true')
        ]
    saved = next(e for e in user.find(ui.select).elements if e.options.get('') == 'Saved views')
    assert saved.options['f.active=true'] == 'Active ones'


def _select(user: User, label: str) -> ui.select:
    return next(e for e in user.find(ui.select).elements if e.props.get('label') == label)


def _selects(user: User) -> list[str]:
    return sorted(e.props.get('label') or e.options.get('', '') for e in user.find(ui.select).elements)


async def test_a_stale_edit_is_refused_with_a_conflict_message(database, user: User) -> None:
    with db.session() as s:
        dept = records.create(s, SYSTEM, get('departments'), {'name': 'Serology'})
    await sign_in(user)
    await user.open(f'/r/departments/{dept.id}/edit')
    with db.session() as s:
        records.update(s, SYSTEM, get('departments'), dept.id, {'code': 'SER'}, version=1)
    user.find('Code').type('MINE')
    user.find(kind=ui.button, content='Save').click()
    await user.should_see('was changed by system')
    with db.session() as s:
        assert s.get(get('departments').model, dept.id).code == 'SER'


async def test_staff_cannot_open_the_new_department_form_actions(database, user: User) -> None:
    from tests.conftest import make_user

    make_user('tech@lab.test', 'staff', password='tech-pass-1')
    await sign_in(user, 'tech@lab.test', 'tech-pass-1')
    await user.open('/r/departments')
    await user.should_not_see('New department')
    await user.open('/r/users')
    await user.should_see('You may not')


@pytest.mark.parametrize(
    ('path', 'message'), [('/r/nothing', 'There is no list'), ('/r/departments/999', 'No department 999')]
)
async def test_unknown_lists_and_records_show_not_found(data_dir, user: User, path: str, message: str) -> None:
    await sign_in(user)
    await user.open(path)
    await user.should_see(message)


async def test_a_link_with_several_values_or_an_unknown_id_still_opens_the_list(database, user: User) -> None:
    with db.session() as s:
        ids = [records.create(s, SYSTEM, get('departments'), {'name': n}).id for n in ('Haem', 'Bio', 'Micro')]
    await sign_in(user)
    await user.open(f'/r/users?f.department_id={ids[0]}|{ids[1]}')
    await user.should_see('Users')
    await user.open('/r/users?f.department_id=999')
    assert await table_rows(user) == []
