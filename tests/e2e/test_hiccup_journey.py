"""A hiccup's life in a real browser, every step on a phone-sized screen (390 x 844, touch).

A haematology technician raises a hiccup from the New form with a photo attached; the
haematology HOD (the default responder) responds; a manager takes it under review and
closes it; the technician answers the follow-up (satisfied). Each person signs in in their
own browser session and checks what the detail page shows: status, responder, the
attachment (its link downloads the very bytes uploaded), the steps offered to them, and the
timeline of who did what.

The lab (departments, categories, users with their roles) is set up through the JSON API with
the administrator's token; the API cannot set passwords, so their hashes are written to the
app's database (see `give_passwords`).

Two tests at the end pin bugs found on the way: a live update must not delete the workflow
dialog being filled in, and the follow-up buttons are offered only to the raiser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import create_engine, text

from models.accounts import hash_password
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppServer

pytestmark = pytest.mark.e2e

PHONE = {'width': 390, 'height': 844}
#: Live updates are polled every second; allow for a slow machine.
LIVE = 10_000
#: A real (1 x 1 pixel) PNG: the server checks an upload's content, not its name.
PNG = bytes.fromhex(
    '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489'
    '0000000d4944415478da63f8cfc0f01f0005000201a1c5e5b20000000049454e44ae426082'
)


@dataclass
class Person:
    name: str
    email: str
    id: int = 0
    password: str = ''


@dataclass
class Lab:
    tech: Person  # haematology staff: raises the hiccup
    hod: Person  # haematology HOD: the default responder
    manager: Person
    haematology: int = 0  # the department's id
    equipment: int = 0  # the category's id


Phone = Callable[[], Page]


@pytest.fixture
def phone(browser: Browser, app_server: AppServer, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Phone]:
    """A factory of phone-sized browser sessions, one per person (separate cookies)."""
    contexts: list[BrowserContext] = []

    def new_page() -> Page:
        context = browser.new_context(
            base_url=app_server.url, viewport=PHONE, is_mobile=True, has_touch=True, accept_downloads=True
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield new_page
    report = getattr(request.node, 'rep_call', None)
    if report is not None and report.failed:
        for number, context in enumerate(contexts):
            for page in context.pages:
                shot = tmp_path / f'phone-{number}.png'
                page.screenshot(path=shot, full_page=True)
                print(f'session {number} was at {page.url}; screenshot: {shot}')
        print(f'--- app log ({app_server.log_path}) ---\n{app_server.log()[-8000:]}')
    for context in contexts:
        context.close()


def api_client(app_server: AppServer, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> httpx.Client:
    """The JSON API with `email`'s bearer token."""
    base = f'{app_server.url}/api/v1'
    token = httpx.post(f'{base}/auth/token', json={'email': email, 'password': password}, timeout=30)
    assert token.status_code == 200, token.text
    return httpx.Client(base_url=base, timeout=30, headers={'Authorization': f'Bearer {token.json()["access_token"]}'})


def create(client: httpx.Client, slug: str, body: dict) -> int:
    response = client.post(f'/{slug}', json=body)
    assert response.status_code == 201, response.text
    return response.json()['id']


def set_up_lab(app_server: AppServer) -> Lab:
    """Two departments, a category and the people, through the API as the administrator."""
    client = api_client(app_server)
    try:
        roles = {r['name']: r['id'] for r in client.get('/roles', params={'per_page': 100}).json()['items']}
        haem = create(client, 'departments', {'name': 'Haematology', 'code': 'HAEM'})
        bio = create(client, 'departments', {'name': 'Biochemistry', 'code': 'BIOC'})
        equipment = create(client, 'categories', {'name': 'Equipment'})
        create(client, 'categories', {'name': 'Sample handling'})
        # another department's HOD, created first: the responder must be the hiccup's department's HOD
        create(
            client,
            'users',
            {'name': 'Bina Bio', 'email': 'bina@lab.test', 'department_id': bio, 'roles': [roles['hod']]},
        )
        lab = Lab(
            tech=Person('Tara Tech', 'tara@lab.test'),
            hod=Person('Harish Hod', 'harish@lab.test'),
            manager=Person('Mina Manager', 'mina@lab.test'),
            haematology=haem,
            equipment=equipment,
        )
        for person, department, role_names in (
            (lab.tech, haem, ['staff']),
            (lab.hod, haem, ['hod', 'staff']),
            (lab.manager, None, ['management']),
        ):
            person.id = create(
                client,
                'users',
                {
                    'name': person.name,
                    'email': person.email,
                    'department_id': department,
                    'roles': [roles[r] for r in role_names],
                },
            )
    finally:
        client.close()
    return lab


def give_passwords(app_server: AppServer, people: list[Person]) -> None:
    """Store each person's password hash in the app's database.

    The API cannot set a password, and the admin page's "Reset password" dialog (which shows
    the new password once) lives inside the user page's live-redrawn container, so the echo
    of the users just created through the API can delete it before it is read: the same bug
    as `test_a_live_update_does_not_close_the_step_dialog_being_filled_in`. Setup must not
    depend on that race, so the hashes are written directly, as the app would store them.
    """
    engine = create_engine(f'sqlite:///{app_server.data_dir / "labdesk.db"}')
    try:
        with engine.begin() as conn:
            for person in people:
                person.password = f'{person.email.split("@")[0]}-pass-1'
                stored = conn.execute(
                    text('UPDATE users SET password_hash = :hash WHERE id = :id'),
                    {'hash': hash_password(person.password), 'id': person.id},
                )
                assert stored.rowcount == 1, person
    finally:
        engine.dispose()


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto('/login')
    page.get_by_label('Email').fill(email)
    page.get_by_label('Password').fill(password)
    page.get_by_role('button', name='Sign in').click()
    expect(page.get_by_text('Hello,')).to_be_visible()


def field(page: Page, name: str):
    """A field's value as the detail page shows it."""
    return page.locator(f'[data-field={name}]')


def expect_status(page: Page, label: str) -> None:
    """The status, in the fields and as the badge next to the title."""
    expect(field(page, 'status')).to_have_text(label)
    expect(page.locator('.q-badge').filter(has_text=re.compile(f'^{re.escape(label)}$'))).to_be_visible()


def timeline(page: Page):
    """The timeline's entries, newest first: what happened…"""
    return page.locator('.q-timeline .q-timeline__content')


def timeline_who(page: Page):
    """…and when, by whom."""
    return page.locator('.q-timeline .q-timeline__subtitle')


def run_step(page: Page, step: str, values: dict[str, str] | None = None) -> None:
    """Press a workflow button on the detail page, fill in the step's dialog and run it."""
    dialog = page.locator('.q-dialog')
    page.get_by_role('button', name=step, exact=True).click()
    for label, value in (values or {}).items():
        dialog.get_by_label(label).fill(value)
    dialog.get_by_role('button', name=step, exact=True).click()
    expect(page.get_by_text(f'{step}: done.')).to_be_visible()
    expect(dialog).to_have_count(0)


STEPS = ('Respond', 'Take under review', 'Close', 'Escalate to NC', 'Satisfied', 'Not satisfied')
FOLLOW_UP = ('Satisfied', 'Not satisfied')


def steps_offered(page: Page, *names: str, among: tuple[str, ...] = STEPS) -> None:
    """Exactly `names` of the steps `among` (default: all the hiccup's) are offered as buttons."""
    for name in among:
        expect(page.get_by_role('button', name=name, exact=True)).to_have_count(1 if name in names else 0)


@pytest.fixture(scope='module')
def lab(app_server: AppServer) -> Lab:
    """The lab, once per module: set up through the API, then each person given a password."""
    lab = set_up_lab(app_server)
    give_passwords(app_server, [lab.tech, lab.hod, lab.manager])
    return lab


@dataclass
class Raised:
    url: str  # its detail page
    reference: str
    photo: str  # the attachment's link


def raise_with_photo(tech: Page, lab: Lab, photo: Path) -> Raised:
    # --- the technician raises a hiccup from the phone, the photo attached on the New form ---
    tech.get_by_role('button', name='Menu').click()
    tech.get_by_role('complementary').get_by_role('link', name='Hiccups').click()
    expect(tech).to_have_url(re.compile(r'/r/hiccups$'))
    tech.get_by_role('button', name='New hiccup').click()
    expect(tech).to_have_url(re.compile(r'/r/hiccups/new$'))
    tech.get_by_label('Title *').fill('Analyser stopped mid-run')
    tech.get_by_label('What happened *').fill('Sysmex XN stopped during the morning run; 14 CBCs waiting.')
    tech.get_by_label('Category *').click()
    tech.get_by_role('option', name='Equipment', exact=True).click()
    tech.get_by_label('Immediate action taken').fill('Samples moved to the backup analyser.')
    tech.locator('input[type=file]').set_input_files(photo)
    expect(tech.get_by_text('To attach: analyser-screen.png')).to_be_visible()
    tech.get_by_role('button', name='Save').click()

    expect(tech).to_have_url(re.compile(r'/r/hiccups/\d+$'))
    expect(tech.get_by_text('Hiccup saved.')).to_be_visible()
    expect(field(tech, 'reference')).to_have_text(re.compile(r'^HIC-\d{4}-\d{5}$'))
    reference = field(tech, 'reference').inner_text()
    expect_status(tech, 'Open')
    expect(field(tech, 'title')).to_have_text('Analyser stopped mid-run')
    expect(field(tech, 'department_id')).to_have_text('Haematology')  # the raiser's department by default
    expect(field(tech, 'category_id')).to_have_text('Equipment')
    expect(field(tech, 'raised_by_id')).to_have_text(lab.tech.name)
    expect(field(tech, 'responder_id')).to_have_text(lab.hod.name)  # the department's HOD, not another's
    expect(field(tech, 'response_due_at')).not_to_have_text('—')
    expect(field(tech, 'closure_due_at')).not_to_have_text('—')
    steps_offered(tech)  # nothing for the raiser to do yet

    # the photo is listed, and its link downloads exactly what was uploaded
    expect(tech.get_by_text('Attachments (1)')).to_be_visible()
    link = tech.get_by_role('link', name='analyser-screen.png')
    expect(link).to_be_visible()
    href = link.get_attribute('href')
    assert href and re.fullmatch(r'/files/\d+', href), href
    download = tech.request.get(href)
    assert download.status == 200, download.status
    assert download.body() == PNG
    assert download.headers['content-type'] == 'image/png'
    expect(timeline(tech)).to_have_text(['Attached analyser-screen.png', 'Created'])
    expect(timeline_who(tech)).to_have_text([re.compile(re.escape(lab.tech.email))] * 2)
    return Raised(tech.url, reference, href)


def hod_responds(hod: Page, lab: Lab, hiccup: Raised) -> None:
    # --- the HOD responds; the step's fields are required ---
    hod.goto('/r/hiccups')
    hod.get_by_role('link', name=hiccup.reference).first.click()
    expect(hod).to_have_url(hiccup.url)
    expect_status(hod, 'Open')
    steps_offered(hod, 'Respond')
    assert hod.request.get(hiccup.photo).body() == PNG  # the HOD may see the photo too

    hod.get_by_role('button', name='Respond', exact=True).click()
    dialog = hod.locator('.q-dialog')
    dialog.get_by_label('Response').fill('Restarted the analyser; results re-run.')
    dialog.get_by_role('button', name='Respond', exact=True).click()
    expect(dialog.get_by_text('Required for this step.')).to_have_count(2)  # root cause, corrective action
    expect(hod.get_by_text('Respond: done.')).to_have_count(0)
    dialog.get_by_role('button', name='Cancel').click()
    expect(dialog).to_have_count(0)
    expect_status(hod, 'Open')

    run_step(
        hod,
        'Respond',
        {
            'Response': 'Restarted the analyser; results re-run.',
            'Root cause': 'A power dip reset the analyser.',
            'Corrective action': 'Analyser put on the UPS line.',
        },
    )
    expect_status(hod, 'Responded')
    expect(field(hod, 'root_cause')).to_have_text('A power dip reset the analyser.')
    expect(field(hod, 'responded_at')).not_to_have_text('—')
    steps_offered(hod)  # what follows is management's
    expect(timeline(hod).first).to_have_text('Respond')
    expect(timeline_who(hod).first).to_contain_text(lab.hod.email)


def management_reviews_and_closes(manager: Page, hiccup: Raised) -> None:
    # --- management takes it under review and closes it with remarks and lessons learned ---
    manager.goto(hiccup.url)
    expect_status(manager, 'Responded')
    steps_offered(manager, 'Take under review', 'Close', 'Escalate to NC')
    run_step(manager, 'Take under review')
    expect_status(manager, 'Under review')
    steps_offered(manager, 'Close', 'Escalate to NC')
    run_step(
        manager,
        'Close',
        {'Closure remarks': 'Analyser back in service.', 'Lessons learned': 'Every analyser on a UPS.'},
    )
    expect_status(manager, 'Closed')
    expect(field(manager, 'closure_remarks')).to_have_text('Analyser back in service.')
    expect(field(manager, 'lessons_learned')).to_have_text('Every analyser on a UPS.')
    expect(field(manager, 'closed_at')).not_to_have_text('—')
    expect(field(manager, 'follow_up_due_at')).not_to_have_text('—')
    # the follow-up is the raiser's; that the manager is nonetheless offered its buttons is a bug, pinned by
    # test_only_the_raiser_is_offered_the_follow_up
    steps_offered(manager, among=tuple(x for x in STEPS if x not in FOLLOW_UP))
    expect(timeline(manager)).to_have_text(
        ['Close', 'Take under review', 'Respond', 'Attached analyser-screen.png', 'Created']
    )


def raiser_is_satisfied(tech: Page, lab: Lab, hiccup: Raised) -> None:
    # --- the technician answers the follow-up: satisfied, with a comment ---
    tech.goto(hiccup.url)
    expect_status(tech, 'Closed')
    steps_offered(tech, 'Satisfied', 'Not satisfied')
    run_step(tech, 'Satisfied', {'Follow-up comment': 'No stops all week.'})
    expect_status(tech, 'Followed up')
    expect(field(tech, 'follow_up_result')).to_have_text('Satisfied')
    expect(field(tech, 'follow_up_comment')).to_have_text('No stops all week.')
    steps_offered(tech)
    expect(timeline(tech)).to_have_text(
        ['Satisfied', 'Close', 'Take under review', 'Respond', 'Attached analyser-screen.png', 'Created']
    )
    who = [lab.tech, lab.manager, lab.manager, lab.hod, lab.tech, lab.tech]
    expect(timeline_who(tech)).to_have_text([re.compile(re.escape(p.email)) for p in who])
    expect(tech.get_by_role('link', name='analyser-screen.png')).to_be_visible()  # still there at the end

    # --- the list (one card per hiccup on a phone) shows it followed up, and not overdue ---
    tech.goto('/r/hiccups')
    card = tech.locator('.q-card').filter(has=tech.get_by_role('link', name=hiccup.reference, exact=True))
    expect(card).to_have_count(1)
    expect(card).to_contain_text('Status: Followed up')
    expect(card).to_contain_text('Overdue: No')
    expect(card).to_contain_text('Title: Analyser stopped mid-run')


def test_a_hiccup_raised_with_a_photo_on_a_phone_is_answered_closed_and_followed_up(
    lab: Lab, phone: Phone, tmp_path: Path
) -> None:
    photo = tmp_path / 'analyser-screen.png'
    photo.write_bytes(PNG)
    tech, hod, manager = phone(), phone(), phone()  # each person in their own browser session
    sign_in(tech, lab.tech.email, lab.tech.password)
    hiccup = raise_with_photo(tech, lab, photo)
    anonymous = phone().request.get(hiccup.photo)  # a session that has not signed in is sent to sign in
    assert anonymous.url.endswith(f'/login?next={hiccup.photo}') and anonymous.body() != PNG, anonymous.url
    sign_in(hod, lab.hod.email, lab.hod.password)
    hod_responds(hod, lab, hiccup)
    sign_in(manager, lab.manager.email, lab.manager.password)
    management_reviews_and_closes(manager, hiccup)
    raiser_is_satisfied(tech, lab, hiccup)


def test_a_live_update_does_not_close_the_step_dialog_being_filled_in(
    app_server: AppServer, lab: Lab, phone: Phone
) -> None:
    """The HOD is typing a response when the raiser comments on the hiccup from elsewhere: the
    half-written response must still be there, and the comment shows once the step is done."""
    with api_client(app_server, lab.tech.email, lab.tech.password) as client:
        raised = client.post(
            '/hiccups',
            json={
                'title': 'Label printer jammed',
                'description': 'Barcode labels came out blank',
                'category_id': lab.equipment,
                'department_id': lab.haematology,
                'severity': 'low',
                'phase': 'pre_analytical',
                'occurred_at': '2026-11-20T08:00',
            },
        )
        assert raised.status_code == 201, raised.text
        hiccup = raised.json()['id']

        hod = phone()
        sign_in(hod, lab.hod.email, lab.hod.password)
        hod.goto(f'/r/hiccups/{hiccup}')
        expect_status(hod, 'Open')
        hod.get_by_role('button', name='Respond', exact=True).click()
        dialog = hod.locator('.q-dialog')
        dialog.get_by_label('Response').fill('Replaced the ribbon; reprinting now')

        assert (
            client.post(f'/hiccups/{hiccup}/comments', json={'body': 'Any news? Ward 3 is waiting.'}).status_code == 201
        )
    hod.wait_for_timeout(2_500)  # several live polls: the page holds its redraw while the dialog is open…
    # …so the HOD can still finish the half-written response and send it
    expect(dialog.get_by_label('Response')).to_have_value('Replaced the ribbon; reprinting now', timeout=2_000)
    dialog.get_by_label('Root cause').fill('Worn ribbon', timeout=2_000)
    dialog.get_by_label('Corrective action').fill('Ribbons checked at every shift change', timeout=2_000)
    dialog.get_by_role('button', name='Respond', exact=True).click(timeout=2_000)
    expect(hod.get_by_text('Respond: done.')).to_be_visible(timeout=5_000)
    expect_status(hod, 'Responded')
    expect(timeline(hod).filter(has_text='Any news? Ward 3 is waiting.')).to_have_count(1, timeout=LIVE)


def test_only_the_raiser_is_offered_the_follow_up(app_server: AppServer, lab: Lab, phone: Phone) -> None:
    """A closed hiccup asks its raiser for the follow-up; nobody else is offered those buttons."""
    as_tech = api_client(app_server, lab.tech.email, lab.tech.password)
    as_hod = api_client(app_server, lab.hod.email, lab.hod.password)
    as_manager = api_client(app_server, lab.manager.email, lab.manager.password)
    try:
        hiccup = create(
            as_tech,
            'hiccups',
            {
                'title': 'Fridge alarm',
                'description': 'Reagent fridge at 9 °C overnight',
                'department_id': lab.haematology,
                'category_id': lab.equipment,
                'severity': 'medium',
                'phase': 'pre_analytical',
                'occurred_at': '2026-11-21T06:00',
            },
        )
        answer = {'response': 'Reagents quarantined', 'root_cause': 'Door left ajar', 'corrective_action': 'Door alarm'}
        for client, step, body in (
            (as_hod, 'respond', answer),
            (as_manager, 'close', {'closure_remarks': 'Reagents replaced', 'lessons_learned': 'Check the door'}),
        ):
            ran = client.post(f'/hiccups/{hiccup}/transitions/{step}', json=body)
            assert ran.status_code == 200, ran.text
    finally:
        for client in (as_tech, as_hod, as_manager):
            client.close()

    tech = phone()
    sign_in(tech, lab.tech.email, lab.tech.password)
    tech.goto(f'/r/hiccups/{hiccup}')
    expect_status(tech, 'Closed')
    steps_offered(tech, *FOLLOW_UP)
    for person in (lab.manager, lab.hod):
        page = phone()
        sign_in(page, person.email, person.password)
        page.goto(f'/r/hiccups/{hiccup}')
        expect_status(page, 'Closed')
        steps_offered(page, among=FOLLOW_UP)
