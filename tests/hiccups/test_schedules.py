"""The scheduled hiccup jobs, with time passed in (frozen): SLA once per breach, follow-ups,
daily summary, trends, and the monthly learning digest that leaks nothing confidential."""

from __future__ import annotations

import datetime as dt

from openpyxl import load_workbook
from sqlalchemy import select

from models import db, records
from models.hiccups import Hiccup, Hiccups
from models.notifications import Notification
from models.settings import get_settings
from reports.hiccup_digests import is_trend
from tasks import hiccups as jobs
from tests.hiccups.conftest import Lab, hiccup_data


def _raise(lab: Lab, **overrides) -> Hiccup:
    with db.session() as s:
        return records.create(s, lab.staff, Hiccups, hiccup_data(lab, **overrides))


def _messages(subject_part: str) -> list[Notification]:
    with db.session() as s:
        return list(s.scalars(select(Notification).where(Notification.subject.contains(subject_part))))


def test_a_late_response_is_told_once_to_responder_and_management(lab: Lab):
    hiccup = _raise(lab)
    assert jobs.check_sla(hiccup.created_at + dt.timedelta(hours=23)) == 0
    assert jobs.check_sla(hiccup.created_at + dt.timedelta(hours=25)) == 1
    assert jobs.check_sla(hiccup.created_at + dt.timedelta(hours=26)) == 0
    told = {(n.user_id, n.channel) for n in _messages('response overdue')}
    assert {u for u, _ in told} == {lab.hod.id, lab.manager.id}


def test_a_confidential_breach_is_not_told_to_the_hod_who_may_not_see_it(lab: Lab):
    hiccup = _raise(lab, confidential=True)
    jobs.check_sla(hiccup.created_at + dt.timedelta(hours=25))
    assert {n.user_id for n in _messages('response overdue')} == {lab.manager.id}


def test_follow_up_reminders_go_to_the_raiser_once_a_day(lab: Lab):
    hiccup = _raise(lab)
    with db.session() as s:
        records.transition(
            s, lab.hod, Hiccups, hiccup.id, 'respond', {'response': 'r', 'root_cause': 'c', 'corrective_action': 'a'}
        )
        closed = records.transition(
            s, lab.manager, Hiccups, hiccup.id, 'close', {'closure_remarks': 'ok', 'lessons_learned': 'l'}
        )
    due = closed.follow_up_due_at
    assert jobs.remind_follow_ups(due - dt.timedelta(hours=1)) == 0
    assert jobs.remind_follow_ups(due + dt.timedelta(hours=1)) == 1
    assert jobs.remind_follow_ups(due + dt.timedelta(hours=7)) == 0
    assert jobs.remind_follow_ups(due + dt.timedelta(hours=26)) == 1
    assert {n.user_id for n in _messages('are you satisfied')} == {lab.staff.id}


def test_the_daily_summary_counts_and_goes_to_management(lab: Lab):
    _raise(lab)
    _raise(lab, department_id=lab.bio)
    jobs.send_daily_summary(dt.datetime.now(dt.UTC))
    sent = _messages('Hiccups daily summary')
    assert {n.user_id for n in sent} == {lab.manager.id}
    assert 'Last 24 hours: 2 raised, 0 closed.' in sent[0].body
    assert 'Haematology: 1' in sent[0].body


def test_trend_rule_ignores_small_numbers():
    assert not is_trend(3, 0.5)  # tiny numbers never alert
    assert not is_trend(12, 10.0)  # within the usual rate
    assert is_trend(8, 1.0)
    assert is_trend(30, 10.0)


def test_a_burst_in_one_category_alerts_once_a_week(lab: Lab):
    for i in range(6):
        _raise(lab, title=f'Analyser fault {i}')
    now = dt.datetime.now(dt.UTC)
    trends = jobs.alert_trends(now)
    assert {(t.kind, t.name) for t in trends} == {('department', 'Haematology'), ('category', 'Equipment')}
    assert jobs.alert_trends(now + dt.timedelta(days=1)) == []
    assert 'Haematology: 6 hiccups in 7 days' in _messages('trend alert')[0].body


def test_the_learning_digest_gives_each_reader_only_what_they_may_see(lab: Lab):
    for title, confidential in [('Open lesson', False), ('Secret lesson', True)]:
        hiccup = _raise(lab, title=title, confidential=confidential)
        with db.session() as s:
            records.transition(
                s,
                lab.hod if not confidential else lab.admin,
                Hiccups,
                hiccup.id,
                'respond',
                {'response': 'r', 'root_cause': 'cause', 'corrective_action': 'a'},
            )
            records.transition(
                s,
                lab.manager,
                Hiccups,
                hiccup.id,
                'close',
                {'closure_remarks': 'ok', 'lessons_learned': f'learned from {title}'},
            )
    # the lab's month, not UTC's: on the evening of the 30th UTC it is already the 1st in the lab
    this_month = dt.datetime.now(get_settings().tz).replace(day=1)
    next_month = (this_month + dt.timedelta(days=32)).replace(day=2)
    assert jobs.send_learning_digest(next_month) == 3  # two HODs and the manager
    digests = {n.user_id: n for n in _messages('Learning digest') if n.channel == 'inapp'}
    assert 'Secret lesson' in digests[lab.manager.id].body
    assert 'Secret lesson' not in digests[lab.hod.id].body and 'Open lesson' in digests[lab.hod.id].body
    hod_file = next(
        n.attachment_path for n in _messages('Learning digest') if n.user_id == lab.hod.id and n.attachment_path
    )
    rows = list(load_workbook(hod_file).active.iter_rows(min_row=2, values_only=True))
    assert [r[4] for r in rows] == ['Open lesson']


def test_the_dashboard_summary_task_sums_past_days_and_then_only_what_changed(lab: Lab):
    from models.hiccups.summary import HiccupDay, StaleDay

    with db.session() as s:
        h = records.create(s, lab.staff, Hiccups, hiccup_data(lab, occurred_at='2026-03-02T10:00'))
        h.status, h.responded_at, h.closed_at = 'closed', h.created_at, h.created_at
    assert jobs.summarize_days.call_local() is None
    with db.session() as s:
        assert s.scalars(select(HiccupDay.day)).all() == [dt.date(2026, 3, 2)]
        s.get(Hiccup, h.id).category_id = lab.sample
    with db.session() as s:
        assert s.scalars(select(StaleDay.day)).all() == [dt.date(2026, 3, 2)]
    jobs.summarize_days.call_local()
    with db.session() as s:
        assert s.scalars(select(StaleDay.day)).all() == []
        assert s.scalars(select(HiccupDay.category_id)).all() == [lab.sample]
