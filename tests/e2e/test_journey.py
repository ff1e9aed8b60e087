"""An administrator's journey through Departments in a real browser, on a phone and on a desktop.

The phone session signs in, opens Departments from the menu, adds departments through the
form and runs the Excel round trip (download, edit with openpyxl, upload, preview, apply).
A second session (another browser context, desktop-sized, also the admin) keeps the list
open and must see every change arrive without a reload; it also exports the list to Excel.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppServer

pytestmark = pytest.mark.e2e

PHONE = {'width': 390, 'height': 844}
DESKTOP = {'width': 1366, 'height': 900}
#: Live updates are polled every second; allow for a slow machine.
LIVE = 10_000


@dataclass
class Sessions:
    phone: Page
    desktop: Page


@pytest.fixture
def sessions(
    browser: Browser, app_server: AppServer, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Sessions]:
    """Two independent browser sessions (separate cookies) on the running app."""
    contexts = []
    for size in (PHONE, DESKTOP):
        context = browser.new_context(
            base_url=app_server.url,
            viewport=size,
            accept_downloads=True,
            is_mobile=size is PHONE,
            has_touch=size is PHONE,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
    pages = Sessions(contexts[0].new_page(), contexts[1].new_page())
    yield pages
    report = getattr(request.node, 'rep_call', None)
    if report is not None and report.failed:
        for name, page in (('phone', pages.phone), ('desktop', pages.desktop)):
            shot = tmp_path / f'{name}.png'
            page.screenshot(path=shot, full_page=True)
            print(f'{name} was at {page.url}; screenshot: {shot}')
        print(f'--- app log ({app_server.log_path}) ---\n{app_server.log()[-8000:]}')
    for context in contexts:
        context.close()


def sign_in(page: Page) -> None:
    page.goto('/login')
    page.get_by_label('Email').fill(ADMIN_EMAIL)
    page.get_by_label('Password').fill(ADMIN_PASSWORD)
    page.get_by_role('button', name='Sign in').click()
    expect(page.get_by_text('Hello,')).to_be_visible()


def department_link(page: Page, name: str) -> Locator:
    """The link to a department's page: a table cell on a desktop, a card in the phone's grid."""
    return page.get_by_role('link', name=name, exact=True)


def add_department(page: Page, name: str, code: str) -> None:
    page.get_by_role('button', name='New department').click()
    expect(page).to_have_url(re.compile(r'/r/departments/new$'))
    page.get_by_label('Name *').fill(name)
    page.get_by_label('Code').fill(code)
    page.get_by_role('button', name='Save').click()
    # saved: the browser is sent on to the new department's page
    expect(page).to_have_url(re.compile(r'/r/departments/\d+$'))
    expect(page.locator('[data-field=name]')).to_have_text(name)
    expect(page.locator('[data-field=code]')).to_have_text(code)
    page.goto('/r/departments')


def download(page: Page, button: str, folder: Path) -> Path:
    with page.expect_download() as info:
        page.get_by_role('button', name=button).click()
    file = info.value
    assert file.failure() is None, file.failure()
    assert re.fullmatch(r'departments-\d{4}-\d{2}-\d{2}-\d{4}\.xlsx', file.suggested_filename), file.suggested_filename
    path = folder / f'{button.lower().replace(" ", "-")}.xlsx'
    file.save_as(path)
    return path


def check_export(path: Path) -> None:
    """The list export: the columns the list shows, under a frozen header, with typed cells."""
    sheet = openpyxl.load_workbook(path).active
    assert sheet.title == 'Departments'
    assert sheet.freeze_panes == 'A2'
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ('Name', 'Code', 'Active')
    assert sorted(rows[1:]) == [('Haematology', 'HAEM', True), ('Old Stores', 'OLD', True)]
    haem = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == 'Haematology')
    assert [c.data_type for c in haem] == ['s', 's', 'b']  # text, text, a real TRUE (not the text "Yes")


def edit_lookup_file(path: Path, out: Path) -> Path:
    """As a user would in Excel: rename Haematology, deactivate Old Stores, add Biochemistry (no id)."""
    book = openpyxl.load_workbook(path)
    sheet = book.active
    headers = [c.value for c in sheet[1]]
    assert headers == ['id', 'name', 'code', 'description', 'active']
    col = {h: i for i, h in enumerate(headers)}
    by_name = {row[col['name']].value: row for row in sheet.iter_rows(min_row=2)}
    assert set(by_name) == {'Haematology', 'Old Stores'}
    assert all(isinstance(row[col['id']].value, int) for row in by_name.values())
    assert all(row[col['active']].value is True for row in by_name.values())
    by_name['Haematology'][col['name']].value = 'Haematology & Coagulation'
    by_name['Old Stores'][col['active']].value = False
    sheet.append([None, 'Biochemistry', 'BIOC', None, True])
    book.save(out)
    return out


def test_departments_journey_on_phone_and_desktop(sessions: Sessions, tmp_path: Path) -> None:
    phone, desktop = sessions.phone, sessions.desktop

    # --- the phone signs in and finds Departments in the menu ---
    sign_in(phone)
    phone.get_by_role('button', name='Menu').click()
    phone.get_by_role('complementary').get_by_role('link', name='Departments').click()
    expect(phone).to_have_url(re.compile(r'/r/departments$'))
    expect(phone.get_by_text('0 departments')).to_be_visible()

    # --- a second session (desktop) keeps the list open ---
    sign_in(desktop)
    desktop.goto('/r/departments')
    expect(desktop.get_by_text('0 departments')).to_be_visible()
    desktop.evaluate('window.e2eNotReloaded = true')  # gone if the page ever reloads

    # --- add a department through the form; it shows in both lists ---
    add_department(phone, 'Haematology', 'HAEM')
    expect(department_link(phone, 'Haematology')).to_be_visible()
    expect(phone.get_by_text('1 department', exact=True)).to_be_visible()
    expect(department_link(desktop, 'Haematology')).to_be_visible(timeout=LIVE)
    expect(desktop.get_by_text('1 department', exact=True)).to_be_visible(timeout=LIVE)
    expect(desktop.get_by_role('row').filter(has_text='Haematology')).to_contain_text('HAEM')
    # a table on the desktop; on the phone the list's `item` slot draws one card per row (Quasar grid mode)
    expect(desktop.get_by_role('columnheader', name='Name')).to_be_visible()
    expect(phone.get_by_role('columnheader')).to_have_count(0)

    # the department the round trip will deactivate
    add_department(phone, 'Old Stores', 'OLD')
    expect(department_link(phone, 'Old Stores')).to_be_visible()
    expect(department_link(desktop, 'Old Stores')).to_be_visible(timeout=LIVE)

    # --- export the list from the desktop: the columns it shows, typed cells ---
    exported = download(desktop, 'Export', tmp_path)
    expect(desktop.get_by_text('Exported 2 rows.')).to_be_visible()
    check_export(exported)

    # --- Excel round trip from the phone ---
    phone.get_by_role('button', name='Excel round trip').click()
    expect(phone).to_have_url(re.compile(r'/admin/import/departments$'))
    current = download(phone, 'Download current table', tmp_path)
    edited = edit_lookup_file(current, tmp_path / 'edited.xlsx')

    phone.locator('input[type=file]').set_input_files(edited)
    summary = phone.locator('[data-test="preview-summary"]')
    expect(summary).to_have_text('Preview: 1 new, 1 changed, 1 deactivated, 0 unchanged, 0 errors')
    phone.get_by_role('button', name='Apply all changes').click()
    expect(phone.get_by_text('Applied: 1 new, 1 changed, 1 deactivated.')).to_be_visible()

    # --- both lists show the new names; the desktop without reloading ---
    opened = phone.goto('/r/departments')
    assert opened is not None and 'Biochemistry' in opened.text()  # the rows come with the page itself
    for name in ('Haematology & Coagulation', 'Biochemistry', 'Old Stores'):
        expect(department_link(phone, name)).to_be_visible()
    expect(department_link(phone, 'Haematology')).to_have_count(0)
    expect(phone.get_by_text('3 departments')).to_be_visible()

    expect(department_link(desktop, 'Haematology & Coagulation')).to_be_visible(timeout=LIVE)
    expect(department_link(desktop, 'Biochemistry')).to_be_visible(timeout=LIVE)
    expect(department_link(desktop, 'Haematology')).to_have_count(0)
    old_stores = desktop.get_by_role('row').filter(has_text='Old Stores')
    expect(old_stores.get_by_role('cell', name='No', exact=True)).to_be_visible(timeout=LIVE)  # Active: No
    expect(desktop.get_by_text('3 departments')).to_be_visible()
    assert desktop.evaluate('window.e2eNotReloaded === true'), 'the desktop page reloaded'
