"""Workflow buttons, the board, and live updates between two signed-in users."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from nicegui import ui
from nicegui.testing import User

from models import db, records
from models.accounts import SYSTEM
from models.engine import get
from tests.conftest import make_user
from tests.pages.helpers import sign_in, table_rows
from tests.workflow_fixture import samples  # noqa: F401 - fixture


async def test_detail_page_offers_only_the_steps_this_user_may_run(samples, user: User) -> None:  # noqa: F811
    tech = make_user('tech@lab.test', 'staff', password='tech-pass-1')
    with db.session() as s:
        sample = records.create(s, tech, samples, {'name': 'S-77'})
    await sign_in(user, 'tech@lab.test', 'tech-pass-1')
    await user.open(f'/r/test_samples/{sample.id}')
    await user.should_see('Received')
    user.find(kind=ui.button, content='Start').click()
    await user.should_see(marker='run-step')  # the dialog opens once its fields are read
    user.find(marker='run-step').click()  # the dialog's button runs it
    await user.should_see('Start: done.')
    with db.session() as s:
        assert s.get(samples.model, sample.id).status == 'testing'
    await user.should_not_see('Report result')


async def test_a_required_field_is_asked_for_in_the_step_dialog(samples, user: User) -> None:  # noqa: F811
    make_user('hod@lab.test', 'hod', password='hod-pass-1')
    with db.session() as s:
        sample = records.create(s, SYSTEM, samples, {'name': 'S-78'})
        records.transition(s, SYSTEM, samples, sample.id, 'start', {})
    await sign_in(user, 'hod@lab.test', 'hod-pass-1')
    await user.open(f'/r/test_samples/{sample.id}')
    user.find(kind=ui.button, content='Report result').click()
    await user.should_see(marker='run-step')  # the dialog opens once its fields are read
    user.find(marker='run-step').click()
    await user.should_see('Required for this step.')
    user.find(marker='field-result').type('Negative')
    user.find(marker='run-step').click()
    await user.should_see('Report result: done.')


async def test_dropping_a_card_runs_the_transition_between_the_columns(samples, user: User) -> None:  # noqa: F811
    with db.session() as s:
        sample = records.create(s, SYSTEM, samples, {'name': 'S-79'})
    await sign_in(user)
    await user.open('/r/test_samples/board')
    await user.should_see('Received (1)')
    user.find(marker=f'card-{sample.id}').trigger('dragstart')
    user.find(marker='column-testing').trigger('drop')
    await user.should_see(marker='run-step')  # the dialog opens once its fields are read
    user.find(marker='run-step').click()
    await user.should_see('Testing (1)', retries=20)
    with db.session() as s:
        assert s.get(samples.model, sample.id).status == 'testing'


async def test_a_move_the_workflow_does_not_allow_is_refused(samples, user: User) -> None:  # noqa: F811
    with db.session() as s:
        sample = records.create(s, SYSTEM, samples, {'name': 'S-80'})
    await sign_in(user)
    await user.open('/r/test_samples/board')
    await user.should_see('Received (1)')
    user.find(marker=f'card-{sample.id}').trigger('dragstart')
    user.find(marker='column-reported').trigger('drop')
    await user.should_see('The workflow does not move a sample from Received to Reported.')


async def test_a_second_user_sees_a_new_record_without_reloading(
    database, user: User, create_user: Callable[[], User]
) -> None:
    await sign_in(user)
    await user.open('/r/departments')
    other = create_user()
    await sign_in(other)
    await other.open('/r/departments')
    with db.session() as s:
        records.create(s, SYSTEM, get('departments'), {'name': 'Cytology'})
    for _ in range(50):
        if [r['name'] for r in await table_rows(user)] == ['Cytology']:
            break
        await user.should_see('Departments')  # yields to the event loop
        import asyncio

        await asyncio.sleep(0.1)
    assert [r['name'] for r in await table_rows(user)] == ['Cytology']


async def test_a_live_update_never_shows_rows_the_user_may_not_see(samples, user: User) -> None:  # noqa: F811
    make_user('bob@lab.test', 'staff', password='bob-pass-11')
    alice = make_user('alice@lab.test', 'staff')
    await sign_in(user, 'bob@lab.test', 'bob-pass-11')
    await user.open('/r/test_samples')
    await user.should_see('0 samples')
    with db.session() as s:
        records.create(s, alice, samples, {'name': 'Alice only'})
    import asyncio

    await asyncio.sleep(2.5)  # several live polls
    assert await table_rows(user) == []
    await user.should_see('0 samples')


async def test_a_change_made_by_another_process_shows_without_reloading(database, user: User) -> None:
    """Like the task consumer running as its own process: it can only reach the page through the database."""
    import asyncio
    import os
    import subprocess
    import sys

    await sign_in(user)
    await user.open('/r/departments')
    await user.should_see('0 departments')
    script = (
        'from models import db, records; from models.accounts import SYSTEM; from models.engine import get; '
        'from models.settings import get_settings; db.configure(get_settings().db_url)\n'
        "with db.session() as s: records.create(s, SYSTEM, get('departments'), {'name': 'From the worker'})"
    )
    env = {k: v for k, v in os.environ.items() if k != 'PYTEST_CURRENT_TEST'}
    subprocess.run([sys.executable, '-c', script], env=env, check=True, timeout=60)
    for _ in range(50):
        if await table_rows(user):
            break
        await asyncio.sleep(0.1)
    assert [r['name'] for r in await table_rows(user)] == ['From the worker']


async def test_a_list_slower_than_its_first_paint_fills_in_and_stays_live(
    database, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list whose rows are not read in time for the page itself gets them over the websocket, and
    live updates follow as for any other list."""
    import asyncio

    from pages import layout

    monkeypatch.setattr(layout, 'FIRST_PAINT_SECONDS', 0)  # the page is sent before its rows are read
    with db.session() as s:
        records.create(s, SYSTEM, get('departments'), {'name': 'Cytology'})
    await sign_in(user)
    await user.open('/r/departments')
    assert [r['name'] for r in await table_rows(user)] == ['Cytology']
    with db.session() as s:
        records.create(s, SYSTEM, get('departments'), {'name': 'Biochemistry'})
    for _ in range(50):
        if len(await table_rows(user)) == 2:
            break
        await asyncio.sleep(0.1)
    assert sorted(r['name'] for r in await table_rows(user)) == ['Biochemistry', 'Cytology']
