"""A hiccup's whole life through the JSON API only: raise with a photo, respond, review, close,
follow-up "not satisfied" (back to management), close again, follow-up "satisfied".

Each step runs as the person who does it in the lab, with that person's token; each checks
what the API answers (status, due times, the overdue flag with frozen time, 403/404/422),
who may see the hiccup (a staff member of another department may not, management may) and
the audit trail the detail page's timeline is drawn from.

The API has no route for a record's audit trail (the timeline is a page feature), so the
trail is read from the audit table the timeline reads, after each step went through the API.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from nicegui.testing import User
from sqlalchemy import select

import models.hiccups.tables as hiccup_tables
from models import audit, db
from models.notifications import Notification
from tests.api.helpers import assert_error, bearer
from tests.api.test_records import PNG, Api, as_user
from tests.hiccups import conftest as hiccup_fixtures
from tests.hiccups.conftest import Lab

lab = hiccup_fixtures.lab  # the small lab of tests/hiccups: departments, categories, a user of each role

PASSWORDS = {
    'tech@lab.test': 'tech-pass-1',
    'hod@lab.test': 'hod-pass-11',
    'mgr@lab.test': 'mgr-pass-11',
}


async def api_of(user: User, email: str) -> Api:
    """The hiccups API as `email` sees it (the lab's users have their own passwords)."""
    if email in PASSWORDS:
        return Api(user.http_client, await bearer(user.http_client, email, PASSWORDS[email]), 'hiccups')
    return await as_user(user, email, 'hiccups')  # tests.api.conftest.PASSWORD, the `make_user` default


def at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace('Z', '+00:00'))


def freeze(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    """The overdue flag's clock (Python and SQL side) reads `moment` from now on."""
    monkeypatch.setattr(hiccup_tables, 'utcnow', lambda: moment)


def trail(hiccup_id: int) -> list[tuple[str, str]]:
    """(action, who) of the hiccup's audit rows, oldest first: what its timeline shows."""
    with db.session() as s:
        return [(e.action, e.actor) for e in reversed(audit.history(s, 'hiccups', hiccup_id))]


def told(hiccup_id: int, subject: str) -> set[int]:
    """Who was notified (any channel) with `subject` in the subject, about the hiccup."""
    with db.session() as s:
        rows = s.scalars(
            select(Notification.user_id).where(
                Notification.record_type == 'hiccups',
                Notification.record_id == hiccup_id,
                Notification.subject.contains(subject),
            )
        )
        return set(rows)


async def overdue_ids(api: Api) -> list[int]:
    listed = await api.get('', **{'f.overdue': 'true'})
    assert listed.status_code == 200, listed.text
    return [h['id'] for h in listed.json()['items']]


@dataclasses.dataclass
class People:
    """The hiccups API as each person sees it."""

    staff: Api  # the raiser, haematology
    hod: Api  # haematology HOD: the default responder
    manager: Api
    colleague: Api  # haematology staff who did not raise it
    outsider: Api  # biochemistry staff
    bio_hod: Api  # biochemistry HOD


async def raise_it(p: People, lab: Lab) -> dict:
    # --- raise: the raiser's department's HOD is the responder; SLA clocks start (24 h / 72 h) ---
    raised = await p.staff.post(
        '',
        {
            'title': 'Analyser down',
            'description': 'Sysmex XN stopped mid-run; 14 CBCs waiting',
            'department_id': lab.haem,
            'category_id': lab.equipment,
            'severity': 'high',
            'phase': 'analytical',
            'occurred_at': '2026-11-20T09:30',
            'immediate_action': 'Samples moved to the backup analyser',
        },
    )
    assert raised.status_code == 201, raised.text
    hiccup = raised.json()
    hid = hiccup['id']
    created = at(hiccup['created_at'])
    assert hiccup['reference'] == f'HIC-{created.year}-{hid:05d}'
    assert hiccup['status'] == 'open'
    assert (hiccup['raised_by_id'], hiccup['responder_id']) == (lab.staff.id, lab.hod.id)
    assert at(hiccup['occurred_at']) == dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.UTC)  # 09:30 in Kolkata
    assert at(hiccup['response_due_at']) - created == dt.timedelta(hours=24)
    assert at(hiccup['closure_due_at']) - created == dt.timedelta(hours=72)
    assert hiccup['overdue'] is False
    assert hiccup['follow_up_result'] is None and hiccup['closed_at'] is None
    assert hiccup['settled'] is False  # computed by the database: not answered, not closed
    return hiccup


async def attach_a_photo(p: People, hid: int) -> dict:
    # --- attach a photo; it comes down byte for byte to those who may see the hiccup ---
    uploaded = await p.staff.upload(hid, 'analyser-screen.png')
    assert uploaded.status_code == 201, uploaded.text
    photo = uploaded.json()
    assert (photo['filename'], photo['content_type'], photo['size']) == ('analyser-screen.png', 'image/png', len(PNG))
    for api in (p.staff, p.hod, p.manager, p.colleague):
        assert [a['filename'] for a in (await api.get(f'/{hid}/attachments')).json()] == ['analyser-screen.png']
        download = await api.client.get(photo['url'], headers=api.headers)
        assert download.status_code == 200 and download.content == PNG
    return photo


async def only_those_who_may_see_it_do(p: People, hid: int, reference: str, photo: dict) -> None:
    # --- visibility: another department's staff and HOD learn nothing of it; management sees it ---
    for api in (p.outsider, p.bio_hod):
        assert_error(await api.get(f'/{hid}'), 404)
        assert_error(await api.get(f'/{hid}/attachments'), 404)
        assert_error(await api.get(f'/{hid}/comments'), 404)
        assert_error(await api.client.get(photo['url'], headers=api.headers), 404)
        assert hid not in [h['id'] for h in (await api.get()).json()['items']]
        assert_error(await api.post(f'/{hid}/comments', {'body': 'Seen it'}), 404)
    assert_error(
        await p.bio_hod.post(
            f'/{hid}/transitions/respond', {'response': 'x', 'root_cause': 'y', 'corrective_action': 'z'}
        ),
        404,
    )
    assert (await p.manager.get(f'/{hid}')).json()['reference'] == reference
    assert hid in [h['id'] for h in (await p.manager.get()).json()['items']]


async def respond_late(p: People, hid: int, created: dt.datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    # --- the response is late: overdue on the record and in the "overdue" filter ---
    freeze(monkeypatch, created + dt.timedelta(hours=25))
    assert (await p.manager.get(f'/{hid}')).json()['overdue'] is True
    assert await overdue_ids(p.manager) == [hid]
    assert await overdue_ids(p.staff) == [hid]
    assert await overdue_ids(p.outsider) == []  # the filter never shows what the caller may not see

    # --- respond: only the department's HOD, with response, root cause and corrective action ---
    respond = f'/{hid}/transitions/respond'
    full_response = {'response': 'Restarted the analyser', 'root_cause': 'Power dip', 'corrective_action': 'UPS fitted'}
    assert_error(await p.staff.post(respond, full_response), 403)
    missing = assert_error(await p.hod.post(respond, {'response': 'Restarted the analyser'}), 422)
    assert set(missing['fields']) == {'root_cause', 'corrective_action'}
    assert (await p.hod.get(f'/{hid}')).json()['status'] == 'open'  # a refused step changes nothing
    responded = await p.hod.post(respond, full_response)
    assert responded.status_code == 200, responded.text
    body = responded.json()
    assert body['status'] == 'responded'
    assert (body['response'], body['root_cause'], body['corrective_action']) == (
        'Restarted the analyser',
        'Power dip',
        'UPS fitted',
    )
    assert body['responded_at'] is not None
    assert body['overdue'] is False  # responded; closure is due at 72 h
    assert await overdue_ids(p.manager) == []


async def review_and_close_late(p: People, hid: int, created: dt.datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    # --- management: only management reviews and closes; closing needs remarks and lessons ---
    assert_error(await p.hod.post(f'/{hid}/transitions/review'), 403)
    reviewed = await p.manager.post(f'/{hid}/transitions/review')
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()['status'] == 'under_review'

    freeze(monkeypatch, created + dt.timedelta(hours=73))  # past the closure due time, still not closed
    assert (await p.manager.get(f'/{hid}')).json()['overdue'] is True
    assert await overdue_ids(p.manager) == [hid]

    close = f'/{hid}/transitions/close'
    missing = assert_error(await p.manager.post(close, {'closure_remarks': 'Analyser back in service'}), 422)
    assert set(missing['fields']) == {'lessons_learned'}
    closed = await p.manager.post(
        close, {'closure_remarks': 'Analyser back in service', 'lessons_learned': 'Put analysers on a UPS'}
    )
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body['status'] == 'closed'
    assert body['overdue'] is False  # closed is final
    assert body['settled'] is True  # answered, closed, final: as the database computes it after the step
    closed_at = at(body['closed_at'])
    assert at(body['follow_up_due_at']) - closed_at == dt.timedelta(days=7)  # the default follow-up setting
    assert await overdue_ids(p.manager) == []


async def not_satisfied_then_closed_again_and_satisfied(p: People, hid: int) -> None:
    # --- follow-up: only the raiser answers; "not satisfied" needs a comment and reopens it ---
    reopen = f'/{hid}/transitions/reopen'
    assert_error(await p.colleague.post(reopen, {'follow_up_comment': 'Not fixed'}), 403)
    assert_error(await p.manager.post(reopen, {'follow_up_comment': 'Not fixed'}), 403)
    assert_error(await p.staff.post(reopen, {}), 422, 'follow_up_comment')
    reopened = await p.staff.post(reopen, {'follow_up_comment': 'It stopped again on Friday'})
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert (body['status'], body['follow_up_result']) == ('under_review', 'not_satisfied')
    assert body['follow_up_comment'] == 'It stopped again on Friday'
    assert body['closed_at'] is None and body['settled'] is False
    assert body['overdue'] is True  # reopened after its closure due time: late again
    assert await overdue_ids(p.manager) == [hid]
    not_now = assert_error(await p.staff.post(f'/{hid}/transitions/confirm', {}), 403)  # not while it is open
    assert 'not possible while the hiccup is Under review' in not_now['message']

    # --- management closes it again; this time the raiser is satisfied ---
    close = f'/{hid}/transitions/close'
    closed = await p.manager.post(
        close, {'closure_remarks': 'UPS replaced', 'lessons_learned': 'Test every UPS monthly'}
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()['status'] == 'closed'
    assert closed.json()['closure_remarks'] == 'UPS replaced'
    assert_error(await p.colleague.post(f'/{hid}/transitions/confirm', {}), 403)
    confirmed = await p.staff.post(f'/{hid}/transitions/confirm', {'follow_up_comment': 'Running fine all week'})
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert (body['status'], body['follow_up_result']) == ('followed_up', 'satisfied')
    assert body['follow_up_comment'] == 'Running fine all week'
    assert body['overdue'] is False
    for step in ('respond', 'review', 'close', 'escalate'):  # followed up is the end of the road
        refused = assert_error(await p.manager.post(f'/{hid}/transitions/{step}'), 403)
        assert 'not possible while the hiccup is Followed up' in refused['message']
    assert_error(await p.staff.post(reopen, {'follow_up_comment': 'Changed my mind'}), 403)


async def test_a_hiccup_from_raising_to_a_reopened_and_finally_satisfied_follow_up(
    lab: Lab,
    user: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = People(
        staff=await api_of(user, 'tech@lab.test'),
        hod=await api_of(user, 'hod@lab.test'),
        manager=await api_of(user, 'mgr@lab.test'),
        colleague=await api_of(user, 'tech2@lab.test'),
        outsider=await api_of(user, 'biotech@lab.test'),
        bio_hod=await api_of(user, 'biohod@lab.test'),
    )
    hiccup = await raise_it(p, lab)
    hid, created = hiccup['id'], at(hiccup['created_at'])
    photo = await attach_a_photo(p, hid)
    await only_those_who_may_see_it_do(p, hid, hiccup['reference'], photo)
    await respond_late(p, hid, created, monkeypatch)
    await review_and_close_late(p, hid, created, monkeypatch)
    await not_satisfied_then_closed_again_and_satisfied(p, hid)

    # --- what everyone sees at the end ---
    final = (await p.staff.get(f'/{hid}')).json()
    assert (final['status'], final['lessons_learned'], final['root_cause']) == (
        'followed_up',
        'Test every UPS monthly',
        'Power dip',
    )
    assert_error(await p.outsider.get(f'/{hid}'), 404)
    assert (await p.manager.get(f'/{hid}')).json()['status'] == 'followed_up'

    # --- "not satisfied" went back to management (and the responder); the other department heard nothing ---
    assert told(hid, 'reopened: raiser not satisfied') == {lab.manager.id, lab.hod.id}
    assert told(hid, 'closed') == {lab.staff.id, lab.hod.id}  # each closure asks the raiser to follow up
    assert not told(hid, '') & {lab.bio_staff.id, lab.bio_hod.id}

    # --- every step is in the audit trail, by whom, through the API token ---
    assert trail(hid) == [
        ('create', 'tech@lab.test (api token)'),
        ('attach', 'tech@lab.test (api token)'),
        ('transition:respond', 'hod@lab.test (api token)'),
        ('transition:review', 'mgr@lab.test (api token)'),
        ('transition:close', 'mgr@lab.test (api token)'),
        ('transition:reopen', 'tech@lab.test (api token)'),
        ('transition:close', 'mgr@lab.test (api token)'),
        ('transition:confirm', 'tech@lab.test (api token)'),
    ]
