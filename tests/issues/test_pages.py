"""Issues through the pages: a reporter's form, safe Markdown, the maintainer's triage, live lists."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nicegui import ui
from nicegui.testing import User
from sqlalchemy import select

from models import db, records
from models.issues import Issue, Issues
from tests.issues.conftest import PASSWORD, Team, raise_issue
from tests.pages.helpers import sign_in, table_rows


async def test_a_reporter_raises_an_issue_without_assignee_or_tags_fields(team: Team, user: User) -> None:
    await sign_in(user, team.email('reporter'), PASSWORD)
    await user.open('/r/issues/new')
    await user.should_see(marker='field-title')
    await user.should_not_see(marker='field-assignee_id')
    await user.should_not_see(marker='field-tags')
    user.find(marker='field-title').type('Centrifuge alarm')
    user.find(marker='field-description').type('**Loud** alarm <script>alert("x")</script> [see](javascript:alert(1))')
    user.find(kind=ui.button, content='Save').click()
    await user.should_see('Issue saved.', retries=100)  # the save runs on a worker thread
    with db.session() as s:
        issue = s.scalar(select(Issue))
        assert (issue.reporter_id, issue.status, issue.assignee_id) == (team.reporter.id, 'open', None)
    html = await _description(user)  # the detail page is built after the flash (slower on a busy machine)
    assert '<strong>Loud</strong>' in html.content
    assert '<script' not in html.content and '&lt;script&gt;' in html.content
    assert 'javascript:' not in html.content


async def _description(user: User) -> ui.html:
    for _ in range(200):
        found = [e for e in user.find(kind=ui.html).elements if e.props.get('data-field') == 'description']
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError('the detail page shows no description')


async def test_a_maintainer_triages_with_assignee_and_tags_from_the_detail_page(team: Team, user: User) -> None:
    issue = raise_issue(team.reporter)
    await sign_in(user, team.email('maintainer'), PASSWORD)
    await user.open(f'/r/issues/{issue}')
    user.find(kind=ui.button, content='Triage').click()
    await user.should_see(marker='run-step')  # the dialog opens once its fields are read
    user.find(marker='field-assignee_id').elements.pop().value = team.maintainer.id
    user.find(marker='field-tags').elements.pop().value = [team.bug]
    user.find(marker='run-step').click()
    await user.should_see('Triage: done.')
    with db.session() as s:
        saved = s.get(Issue, issue)
        assert (saved.status, saved.assignee_id, [t.name for t in saved.tags]) == (
            'triaged',
            team.maintainer.id,
            ['bug'],
        )


async def test_a_reporter_sees_no_triage_or_delete_buttons(team: Team, user: User) -> None:
    issue = raise_issue(team.reporter)
    await sign_in(user, team.email('reporter'), PASSWORD)
    await user.open(f'/r/issues/{issue}')
    await user.should_see('Printer jams')
    for label in ('Triage', 'Start work', 'Done', 'Delete'):
        await user.should_not_see(kind=ui.button, content=label)


async def rows_after_polls(user: User, expected: list[str]) -> list[str]:
    """The list's titles once they equal `expected`, or after several live polls."""
    for _ in range(40):
        titles = [r['title'] for r in await table_rows(user)]
        if titles == expected:
            break
        await asyncio.sleep(0.1)
    return titles


async def test_a_new_issue_and_a_status_change_go_live_only_to_those_who_may_see_them(
    team: Team, user: User, create_user: Callable[[], User]
) -> None:
    await sign_in(user, team.email('maintainer'), PASSWORD)
    await user.open('/r/issues')
    await user.should_see('0 issues')
    other = create_user()
    await sign_in(other, team.email('other_reporter'), PASSWORD)
    await other.open('/r/issues')
    await other.should_see('0 issues')

    issue = raise_issue(team.reporter, title='Fridge too warm')
    assert await rows_after_polls(user, ['Fridge too warm']) == ['Fridge too warm']
    await asyncio.sleep(2.5)  # several live polls later the other reporter still sees nothing
    assert await table_rows(other) == []
    await other.should_see('0 issues')

    with db.session() as s:
        records.transition(s, team.maintainer, Issues, issue, 'start', {})
    for _ in range(40):
        if [r.get('status') for r in await table_rows(user)] != ['Open']:
            break
        await asyncio.sleep(0.1)
    assert [r.get('status') for r in await table_rows(user)] == ['In progress']
    assert await table_rows(other) == []


async def test_a_reporter_edits_their_issue_but_the_form_has_no_assignee(team: Team, user: User) -> None:
    issue = raise_issue(team.reporter)
    await sign_in(user, team.email('reporter'), PASSWORD)
    await user.open(f'/r/issues/{issue}/edit')
    await user.should_see(marker='field-title')
    await user.should_not_see(marker='field-assignee_id')
    user.find(marker='field-title').type(' again')
    user.find(kind=ui.button, content='Save').click()
    await user.should_see('Printer jams again', retries=30)


async def test_a_maintainer_may_not_delete_and_an_admin_may(team: Team, user: User) -> None:
    issue = raise_issue(team.reporter)
    await sign_in(user, team.email('maintainer'), PASSWORD)
    await user.open(f'/r/issues/{issue}')
    await user.should_see(kind=ui.button, content='Triage')
    await user.should_not_see(kind=ui.button, content='Delete')
    await user.open('/logout')
    await sign_in(user, team.email('admin'), PASSWORD)
    await user.open(f'/r/issues/{issue}')
    user.find(kind=ui.button, content='Delete').click()
    user.find(marker='confirm-delete').click()
    await user.should_see('Issue deleted.')
    with db.session() as s:
        assert s.get(Issue, issue) is None


async def test_a_live_update_waits_while_a_step_dialog_is_being_filled_in(team: Team, user: User) -> None:
    issue = raise_issue(team.reporter)
    await sign_in(user, team.email('maintainer'), PASSWORD)
    await user.open(f'/r/issues/{issue}')
    user.find(kind=ui.button, content='Start work').click()
    await user.should_see(marker='run-step')
    dialog = user.find(kind=ui.dialog).elements.pop()
    with db.session() as s:
        records.comment(s, team.reporter, Issues, issue, 'Any news?')
    await asyncio.sleep(2.5)  # several live polls
    assert dialog.value and not dialog.is_deleted
    user.find(marker='run-step').click()
    await user.should_see('Start work: done.')
    await user.should_see('Any news?', retries=30)  # the redraw happened once the dialog closed
