"""Each role and each action on issues through the JSON API (seeds 002/003: reporter, maintainer, admin)."""

from __future__ import annotations

from nicegui.testing import User
from sqlalchemy import select

from models import db
from models.audit import AuditEntry
from tests.api.helpers import assert_error, bearer
from tests.api.test_records import Api
from tests.issues.conftest import PASSWORD, Team, raise_issue


async def api_as(user: User, email: str) -> Api:
    return Api(user.http_client, await bearer(user.http_client, email, PASSWORD), 'issues')


async def test_a_reporter_creates_and_edits_only_their_own_issues(team: Team, user: User) -> None:
    api = await api_as(user, team.email('reporter'))
    created = await api.post('', {'title': 'Label printer offline', 'description': '**Ward 3**', 'severity': 'HIGH'})
    assert created.status_code == 201, created.text
    issue = created.json()
    assert (issue['status'], issue['severity'], issue['reporter_id']) == ('open', 'HIGH', team.reporter.id)
    theirs = raise_issue(team.other_reporter, title='Not yours')
    listed = (await api.get()).json()
    assert [i['title'] for i in listed['items']] == ['Label printer offline'] and listed['total'] == 1
    assert_error(await api.get(f'/{theirs}'), 404)
    assert_error(await api.patch(theirs, {'title': 'Mine now', 'version': 1}), 404)
    edited = await api.patch(issue['id'], {'title': 'Label printer offline (ward 3)', 'version': issue['version']})
    assert edited.status_code == 200 and edited.json()['title'] == 'Label printer offline (ward 3)'


async def test_a_reporter_cannot_assign_tag_change_status_or_delete(team: Team, user: User) -> None:
    api = await api_as(user, team.email('reporter'))
    assert_error(await api.post('', {'title': 'X', 'assignee_id': team.maintainer.id}), 422, 'assignee_id')
    assert_error(await api.post('', {'title': 'X', 'tags': [team.bug]}), 422, 'tags')
    issue = (await api.post('', {'title': 'Mine'})).json()
    assert_error(await api.patch(issue['id'], {'tags': [team.bug], 'version': issue['version']}), 422, 'tags')
    for step, body in (('triage', {}), ('start', {}), ('resolve', {'resolution': 'Fixed'})):
        assert_error(await api.post(f'/{issue["id"]}/transitions/{step}', body), 403)
    assert_error(await api.delete(issue['id']), 403)
    assert_error(await api.get('/export'), 403)
    assert (await api.get(f'/{issue["id"]}')).json()['status'] == 'open'


async def test_a_reporter_uploads_files_to_their_own_issue_only(team: Team, user: User) -> None:
    api = await api_as(user, team.email('reporter'))
    mine = (await api.post('', {'title': 'Mine'})).json()['id']
    theirs = raise_issue(team.other_reporter)
    assert (await api.upload(mine, 'screen.png')).status_code == 201
    assert_error(await api.upload(theirs, 'screen.png'), 404)
    assert [a['filename'] for a in (await api.get(f'/{mine}/attachments')).json()] == ['screen.png']


async def test_a_maintainer_sees_all_triages_assigns_tags_and_resolves_but_cannot_delete(
    team: Team, user: User
) -> None:
    first, second = raise_issue(team.reporter, title='One'), raise_issue(team.other_reporter, title='Two')
    api = await api_as(user, team.email('maintainer'))
    assert {i['title'] for i in (await api.get()).json()['items']} == {'One', 'Two'}
    triaged = await api.post(
        f'/{first}/transitions/triage', {'assignee_id': team.maintainer.id, 'tags': [team.bug, team.ui]}
    )
    assert triaged.status_code == 200, triaged.text
    body = triaged.json()
    assert (body['status'], body['assignee_id'], sorted(body['tags'])) == (
        'triaged',
        team.maintainer.id,
        sorted([team.bug, team.ui]),
    )
    assert (await api.post(f'/{first}/transitions/start')).json()['status'] == 'in_progress'
    assert_error(await api.post(f'/{first}/transitions/resolve'), 422, 'resolution')
    done = (await api.post(f'/{first}/transitions/resolve', {'resolution': 'Replaced the roller'})).json()
    assert done['status'] == 'done' and done['resolved_at']
    reopened = (await api.post(f'/{first}/transitions/reopen')).json()
    assert (reopened['status'], reopened['resolved_at']) == ('open', None)
    assert (await api.patch(second, {'tags': [team.ui], 'version': 1})).json()['tags'] == [team.ui]
    assert_error(await api.delete(second), 403)
    assert (await api.get('/export')).status_code == 200
    listed = (await api.get('', **{'f.tags': str(team.bug)})).json()
    assert [i['title'] for i in listed['items']] == ['One']


async def test_an_admin_deletes_an_issue_with_its_tags_and_the_deletion_is_audited(team: Team, user: User) -> None:
    maintainer = await api_as(user, team.email('maintainer'))
    issue = raise_issue(team.reporter)
    await maintainer.post(f'/{issue}/transitions/triage', {'tags': [team.bug]})
    admin = await api_as(user, team.email('admin'))
    assert (await admin.delete(issue)).status_code in (200, 204)
    assert_error(await admin.get(f'/{issue}'), 404)
    with db.session() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.record_type == 'issues')).all()
    assert actions == ['create', 'transition:triage', 'delete']


async def test_the_admin_manages_users_through_the_api_and_a_maintainer_may_not(team: Team, user: User) -> None:
    admin = Api(user.http_client, await bearer(user.http_client, team.email('admin'), PASSWORD), 'users')
    assert team.email('reporter') in {u['email'] for u in (await admin.get('', per_page='100')).json()['items']}
    maintainer = Api(user.http_client, await bearer(user.http_client, team.email('maintainer'), PASSWORD), 'users')
    assert_error(await maintainer.get(), 403)


async def test_markdown_and_html_are_stored_as_written_and_never_rendered_by_the_api(team: Team, user: User) -> None:
    api = await api_as(user, team.email('reporter'))
    text = '<script>alert(1)</script> **bold**'
    issue = (await api.post('', {'title': 'XSS try', 'description': text})).json()
    assert (await api.get(f'/{issue["id"]}')).json()['description'] == text
