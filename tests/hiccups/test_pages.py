"""Raising and working hiccups through the pages (NiceGUI's simulated user)."""

from __future__ import annotations

import threading

from nicegui import ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User
from sqlalchemy import select

from models import attachments, db
from models.hiccups import Hiccup
from tests.conftest import statements
from tests.hiccups.conftest import Lab
from tests.pages.helpers import sign_in

PNG = b'\x89PNG\r\n\x1a\n' + b'\x00' * 64


async def test_staff_raise_a_hiccup_with_a_photo_in_one_go(lab: Lab, user: User) -> None:
    await sign_in(user, 'tech@lab.test', 'tech-pass-1')
    with statements(threading.main_thread()) as on_loop:  # the form's choices are read on a worker thread
        await user.open('/r/hiccups/new')
        await user.should_see(marker='field-category_id')
    assert on_loop == []
    user.find(marker='field-title').type('Haemolysed samples from ward 3')
    user.find(marker='field-description').type('Six EDTA tubes haemolysed')
    user.find(marker='field-category_id').elements.pop().value = lab.equipment
    upload = user.find(marker='new-files').elements.pop()
    await upload.handle_uploads([SmallFileUpload(name='tubes.png', content_type='image/png', _data=PNG)])
    await user.should_see('To attach: tubes.png')
    with statements(threading.main_thread()) as on_loop:  # the save (and the saved hiccup's page) run on worker threads
        user.find(kind=ui.button, content='Save').click()
        await user.should_see('Hiccup saved.', retries=100)
    assert on_loop == []
    with db.session() as s:
        hiccup = s.scalar(select(Hiccup))
        assert hiccup.department_id == lab.haem  # the raiser's department by default
        assert hiccup.responder_id == lab.hod.id
        assert [a.filename for a in attachments.for_record(s, 'hiccups', hiccup.id)] == ['tubes.png']
    await user.should_see(hiccup.reference)


async def test_a_rejected_photo_saves_nothing(lab: Lab, user: User) -> None:
    await sign_in(user, 'tech@lab.test', 'tech-pass-1')
    await user.open('/r/hiccups/new')
    user.find(marker='field-title').type('Label printer jam')
    user.find(marker='field-description').type('Jammed twice')
    user.find(marker='field-category_id').elements.pop().value = lab.equipment
    upload = user.find(marker='new-files').elements.pop()
    await upload.handle_uploads([SmallFileUpload(name='virus.png', content_type='image/png', _data=b'MZ' + PNG)])
    await user.should_see('To attach: virus.png')
    user.find(kind=ui.button, content='Save').click()
    await user.should_see('Nothing was saved')
    with db.session() as s:
        assert s.scalar(select(Hiccup)) is None


async def test_the_hod_responds_from_the_detail_page(lab: Lab, user: User) -> None:
    from models import records
    from models.hiccups import Hiccups
    from tests.hiccups.conftest import hiccup_data

    with db.session() as s:
        hiccup = records.create(s, lab.staff, Hiccups, hiccup_data(lab))
    await sign_in(user, 'hod@lab.test', 'hod-pass-11')
    await user.open(f'/r/hiccups/{hiccup.id}')
    with statements(threading.main_thread()) as on_loop:
        user.find(kind=ui.button, content='Respond').click()
        await user.should_see(marker='run-step')  # the dialog opens once its fields are read
    assert on_loop == []
    user.find(marker='field-response').type('Restarted the analyser')
    user.find(marker='field-root_cause').type('Power dip')
    user.find(marker='field-corrective_action').type('UPS installed')
    with statements(threading.main_thread()) as on_loop:  # the step and the redraw run on worker threads
        user.find(marker='run-step').click()
        await user.should_see('Respond: done.')
        await user.should_see('UPS installed', retries=50)  # the page is drawn again with the response
    assert on_loop == []
    with db.session() as s:
        assert s.get(Hiccup, hiccup.id).status == 'responded'


async def test_a_detail_page_shows_the_hiccup_again_when_its_reader_may_see_it_again(lab: Lab, user: User) -> None:
    """The record itself does not change: its reader leaves the department and comes back."""
    from models import records
    from models.accounts import User as Account
    from models.hiccups import Hiccups
    from tests.hiccups.conftest import hiccup_data

    def move_hod_and_touch_hiccups(department_id: int, title: str) -> None:
        with db.session() as s:
            s.get(Account, lab.hod.id).department_id = department_id
            records.create(s, lab.bio_staff, Hiccups, hiccup_data(lab, title=title, department_id=lab.bio))

    with db.session() as s:
        hiccup = records.create(s, lab.staff, Hiccups, hiccup_data(lab, title='Centrifuge lid cracked'))
    await sign_in(user, 'hod@lab.test', 'hod-pass-11')
    await user.open(f'/r/hiccups/{hiccup.id}')
    await user.should_see('Centrifuge lid cracked')
    move_hod_and_touch_hiccups(lab.bio, 'Another one')  # the new hiccup is what makes the open page refresh
    await user.should_see('This hiccup is no longer available to you.', retries=50)
    move_hod_and_touch_hiccups(lab.haem, 'And another')
    await user.should_see('Sysmex XN stopped mid-run', retries=50)  # its description: the page is drawn again
    await user.should_not_see('no longer available')


async def test_a_detail_page_opens_checks_and_redraws_without_a_query_on_the_event_loop(
    lab: Lab, user: User, monkeypatch
) -> None:
    """A detail page reads on worker threads: when it opens, when it checks a change of its record type
    (every open page of the type checks every change: a hundred of them must not hold the event loop
    on the database) and when it redraws its record's own change."""
    import asyncio

    from models import records
    from models.accounts import SYSTEM
    from models.hiccups import Hiccups
    from pages.detail import RecordDetail
    from tests.hiccups.conftest import hiccup_data

    with db.session() as s:
        hiccup = records.create(s, lab.staff, Hiccups, hiccup_data(lab, title='Centrifuge lid cracked'))
    await sign_in(user, 'hod@lab.test', 'hod-pass-11')
    checks = []
    check = RecordDetail._seen_now
    monkeypatch.setattr(RecordDetail, '_seen_now', lambda self: checks.append(check(self)) or checks[-1])
    with statements(threading.main_thread()) as on_loop:
        await user.open(f'/r/hiccups/{hiccup.id}')
        await user.should_see('Centrifuge lid cracked')
        await user.should_see('Created')  # the timeline
    assert on_loop == []
    with db.session() as s:  # another hiccup: the open page checks whether its own changed
        records.create(s, lab.staff, Hiccups, hiccup_data(lab, title='Another one'))
    with statements(threading.main_thread()) as on_loop:
        for _ in range(100):
            if checks:
                break
            await asyncio.sleep(0.1)
    assert len(checks) == 1 and on_loop == []
    with db.session() as s:
        version = s.get(Hiccup, hiccup.id).version
        records.update(s, SYSTEM, Hiccups, hiccup.id, {'title': 'Centrifuge lid replaced'}, version=version)
    with statements(threading.main_thread()) as on_loop:
        await user.should_see('Centrifuge lid replaced', retries=50)
    assert on_loop == []
    await user.should_not_see('Another one')
