"""The 30-minute stats job and the nightly attachment retention job, with time passed in (frozen)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models import db, records
from models.attachments import Attachment
from models.audit import AuditEntry
from models.issues import Issue, IssueDailyStats, Issues
from models.settings import get_settings, reload_settings
from tasks.issues import remove_expired_attachments, update_daily_stats
from tests.api.test_records import PNG
from tests.issues.conftest import Team, raise_issue

UTC = dt.UTC


def resolve(team: Team, issue_id: int) -> None:
    with db.session() as s:
        records.transition(s, team.maintainer, Issues, issue_id, 'resolve', {'resolution': 'Fixed'})


def stats_rows() -> list[tuple]:
    with db.session() as s:
        rows = s.scalars(select(IssueDailyStats).order_by(IssueDailyStats.date)).all()
        return [(r.date, r.total, r.open, r.done, r.high, r.critical) for r in rows]


def test_the_stats_job_upserts_one_row_per_local_date(team: Team) -> None:
    raise_issue(team.reporter, severity='HIGH')
    second = raise_issue(team.reporter, severity='CRITICAL')
    # 20:00 UTC is already the next day in Asia/Kolkata (the default TIMEZONE)
    update_daily_stats(dt.datetime(2026, 11, 29, 20, 0, tzinfo=UTC))
    assert stats_rows() == [(dt.date(2026, 11, 30), 2, 2, 0, 1, 1)]
    resolve(team, second)
    raise_issue(team.other_reporter, severity='HIGH')
    update_daily_stats(dt.datetime(2026, 11, 30, 6, 30, tzinfo=UTC))  # same local day: the row is updated
    assert stats_rows() == [(dt.date(2026, 11, 30), 3, 2, 1, 2, 1)]
    update_daily_stats(dt.datetime(2026, 12, 1, 6, 0, tzinfo=UTC))  # next day: a new row
    assert stats_rows()[-1] == (dt.date(2026, 12, 1), 3, 2, 1, 2, 1) and len(stats_rows()) == 2


def test_an_empty_tracker_gives_a_row_of_zeros(team: Team) -> None:
    update_daily_stats(dt.datetime(2026, 11, 30, 6, 0, tzinfo=UTC))
    assert stats_rows() == [(dt.date(2026, 11, 30), 0, 0, 0, 0, 0)]


def attach(team: Team, issue_id: int, name: str, uploaded_at: dt.datetime) -> Attachment:
    with db.session() as s:
        row = records.attach(s, team.reporter, Issues, issue_id, name, PNG)
        row.uploaded_at = uploaded_at
        return row


def set_resolved(issue_id: int, at: dt.datetime) -> None:
    with db.session() as s:
        s.get(Issue, issue_id).resolved_at = at


@pytest.fixture
def old_and_new(team: Team) -> dict[str, int]:
    """Files on: an issue done 40 days ago, one done yesterday, and one still open."""
    now = dt.datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    long_ago = now - dt.timedelta(days=45)
    done_long_ago, done_lately, still_open = (
        raise_issue(team.reporter),
        raise_issue(team.reporter),
        raise_issue(team.reporter),
    )
    for issue in (done_long_ago, done_lately):
        resolve(team, issue)
    set_resolved(done_long_ago, now - dt.timedelta(days=40))
    set_resolved(done_lately, now - dt.timedelta(days=1))
    return {
        'old': attach(team, done_long_ago, 'old.png', long_ago).id,
        'recent_issue': attach(team, done_lately, 'recent.png', long_ago).id,
        'open_issue': attach(team, still_open, 'open.png', long_ago).id,
    }


def files_left() -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(Attachment.filename)))


def test_by_default_retention_removes_nothing(old_and_new: dict[str, int]) -> None:
    assert remove_expired_attachments(dt.datetime(2026, 11, 30, 2, 0, tzinfo=UTC)) == 0
    assert files_left() == {'old.png', 'recent.png', 'open.png'}
    assert len(list(get_settings().uploads_dir.iterdir())) == 3


def test_retention_removes_only_files_of_issues_done_long_ago_with_an_audit_row_each(
    old_and_new: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('ATTACHMENT_RETENTION_DAYS', '30')
    uploads = reload_settings().uploads_dir
    with db.session() as s:
        old_file = uploads / s.get(Attachment, old_and_new['old']).stored_name
    assert old_file.exists()
    assert remove_expired_attachments(dt.datetime(2026, 11, 30, 2, 0, tzinfo=UTC)) == 1
    assert files_left() == {'recent.png', 'open.png'}
    assert not old_file.exists() and len(list(uploads.iterdir())) == 2
    with db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == 'remove_file')).one()
        assert (entry.record_type, entry.actor) == ('issues', 'Attachment retention')
        assert entry.details['file'] == ['old.png', None]
    assert remove_expired_attachments(dt.datetime(2026, 11, 30, 2, 0, tzinfo=UTC)) == 0  # nothing twice
