"""Issues & Insights tracker (seeds 002 and 003) on the engine: issues, their tags, daily stats.

Reporters raise issues and see only their own; maintainers see all, triage, assign, tag and
move them through OPEN → TRIAGED → IN_PROGRESS → DONE (and reopen); admins may do everything,
deletion included. The description is Markdown, rendered safely (pages/markup.py).
"""

from __future__ import annotations

import datetime as dt
import enum
from pathlib import Path

from sqlalchemy import Column, Date, Enum, ForeignKey, Index, Integer, String, Table, Text, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import audit
from models.accounts import Actor
from models.attachments import Attachment, path_of
from models.base import Base, IdMixin, TimestampMixin, VersionMixin, utcnow
from models.engine import ALL, RecordType
from models.lookups import LookupMixin, LookupType
from models.workflow import Transition, Workflow

STATES = [('open', 'Open'), ('triaged', 'Triaged'), ('in_progress', 'In progress'), ('done', 'Done')]
UNRESOLVED = ('open', 'triaged', 'in_progress')


class IssueSeverity(enum.Enum):
    LOW = 'Low'
    MEDIUM = 'Medium'
    HIGH = 'High'
    CRITICAL = 'Critical'


class Tag(LookupMixin, Base):
    __tablename__ = 'tags'


issue_tags = Table(
    'issue_tags',
    Base.metadata,
    Column('issue_id', Integer, ForeignKey('issues.id', ondelete='CASCADE'), primary_key=True),
    Column('tag_id', Integer, ForeignKey('tags.id', ondelete='CASCADE'), primary_key=True, index=True),
)


class Issue(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = 'issues'
    __table_args__ = (
        Index('ix_issues_status_created', 'status', 'created_at'),
        Index('ix_issues_reporter_created', 'reporter_id', 'created_at'),
    )
    title: Mapped[str] = mapped_column(String(200), info={'label': 'Title'})
    description: Mapped[str | None] = mapped_column(
        Text, info={'label': 'Description', 'markdown': True, 'help': 'Markdown: **bold**, lists, links, code'}
    )
    severity: Mapped[IssueSeverity] = mapped_column(
        Enum(IssueSeverity, native_enum=False, length=10, validate_strings=True),
        default=IssueSeverity.MEDIUM,
        index=True,
        info={'label': 'Severity'},
    )
    status: Mapped[str] = mapped_column(String(20), default='open', info={'label': 'Status'})
    resolution: Mapped[str | None] = mapped_column(Text, info={'label': 'Resolution', 'markdown': True})
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey('users.id'), info={'label': 'Reporter'})
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey('users.id'), index=True, info={'label': 'Assignee'})
    due_date: Mapped[dt.date | None] = mapped_column(Date, index=True, info={'label': 'Due'})
    resolved_at: Mapped[dt.datetime | None] = mapped_column(index=True, info={'label': 'Resolved'})
    tags: Mapped[list[Tag]] = relationship(secondary=issue_tags, lazy='selectin', info={'label': 'Tags'})


class IssueDailyStats(IdMixin, Base):
    """Counts of all issues on a day, by status and severity: one row per date, upserted every 30 minutes."""

    __tablename__ = 'issue_daily_stats'
    date: Mapped[dt.date] = mapped_column(Date, unique=True, info={'label': 'Date'})
    total: Mapped[int] = mapped_column(Integer, default=0, info={'label': 'Total'})
    open: Mapped[int] = mapped_column(Integer, default=0, info={'label': 'Open'})
    triaged: Mapped[int] = mapped_column(Integer, default=0, info={'label': 'Triaged'})
    in_progress: Mapped[int] = mapped_column(Integer, default=0, info={'label': 'In progress'})
    done: Mapped[int] = mapped_column(Integer, default=0, info={'label': 'Done'})
    low: Mapped[int] = mapped_column(Integer, default=0, info={'label': 'Low'})
    medium: Mapped[int] = mapped_column(Integer, default=0, info={'label': 'Medium'})
    high: Mapped[int] = mapped_column(Integer, default=0, info={'label': 'High'})
    critical: Mapped[int] = mapped_column(Integer, default=0, info={'label': 'Critical'})
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, info={'label': 'Computed'})


MAINTAIN = {'transition:triage', 'transition:start', 'transition:resolve', 'transition:reopen'}


class Issues(RecordType, model=Issue):
    icon = 'bug_report'
    nav_group = 'Issues'
    list_columns = [
        Issue.title,
        Issue.severity,
        Issue.status,
        Issue.reporter_id,
        Issue.assignee_id,
        Issue.tags,
        Issue.due_date,
        Issue.created_at,
    ]
    form_fields = [Issue.title, Issue.description, Issue.severity, Issue.assignee_id, Issue.tags, Issue.due_date]
    readonly_fields = [Issue.reporter_id, Issue.resolved_at]
    search_fields = [Issue.title, Issue.description]
    filters = [Issue.severity, Issue.assignee_id, Issue.reporter_id, Issue.tags]
    owner_field = Issue.reporter_id
    assignee_field = Issue.assignee_id
    field_roles = {Issue.assignee_id: {'maintainer'}, Issue.tags: {'maintainer'}}
    workflow = Workflow(
        Issue.status,
        STATES,
        [
            Transition('triage', ['open'], 'triaged', fields=[Issue.severity, Issue.assignee_id, Issue.tags]),
            Transition('start', ['open', 'triaged'], 'in_progress', label='Start work', fields=[Issue.assignee_id]),
            Transition(
                'resolve',
                ['open', 'triaged', 'in_progress'],
                'done',
                label='Done',
                requires=[Issue.resolution],
                color='positive',
            ),
            Transition('reopen', ['done'], 'open', color='warning'),
        ],
        final=['done'],
    )
    permissions = {
        'reporter': {'view', 'create', 'edit'},
        'maintainer': {'view', 'create', 'edit', 'export', *MAINTAIN},
        'admin': ALL,
    }

    @classmethod
    def visible_to(cls, actor: Actor):
        return None if actor.has('maintainer', 'admin') else Issue.reporter_id == actor.id

    @classmethod
    def defaults(cls, actor: Actor) -> dict:
        return {'severity': IssueSeverity.MEDIUM}

    @classmethod
    def on_change(cls, session, record: Issue, action: str, actor: Actor) -> None:
        if action == 'transition:resolve':
            record.resolved_at = utcnow()
        elif action == 'transition:reopen':
            record.resolved_at = None


class Tags(LookupType, model=Tag):
    nav_group = 'Issues'
    icon = 'sell'
    permissions = {**LookupType.permissions, 'maintainer': frozenset({'view', 'export'}), 'reporter': {'view'}}


class IssueStats(RecordType, model=IssueDailyStats):
    label = 'Issue statistics'
    label_plural = 'Issue statistics'
    slug = 'issue_stats'
    nav_group = 'Issues'
    icon = 'query_stats'
    default_sort = IssueDailyStats.date.desc()
    date_field = IssueDailyStats.date
    permissions = {'maintainer': {'view', 'export'}, 'admin': {'view', 'export'}}


# ---- background jobs (tasks/issues.py runs them on schedule) ----


def record_daily_stats(session: Session, day: dt.date) -> IssueDailyStats:
    """Upsert `day`'s row of issue_daily_stats with the counts of all issues now."""
    by_status = dict(session.execute(select(Issue.status, func.count()).group_by(Issue.status)).all())
    by_severity = dict(session.execute(select(Issue.severity, func.count()).group_by(Issue.severity)).all())
    counts = {state: by_status.get(state, 0) for state, _ in STATES}
    counts |= {sev.name.lower(): by_severity.get(sev, 0) for sev in IssueSeverity}
    counts['total'] = sum(by_status.values())
    row = session.scalar(select(IssueDailyStats).where(IssueDailyStats.date == day))
    if row is None:
        try:
            with session.begin_nested():
                row = IssueDailyStats(date=day)
                session.add(row)
        except IntegrityError:  # a concurrent run inserted the day's row first
            row = session.scalar(select(IssueDailyStats).where(IssueDailyStats.date == day))
    for name, value in counts.items():
        setattr(row, name, value)
    row.computed_at = utcnow()
    session.flush()
    return row


def expire_attachments(session: Session, uploads: Path, now: dt.datetime, days: int) -> list[Path]:
    """Remove the attachment rows of issues DONE more than `days` days ago (files uploaded as long
    ago), with an audit row each; returns the files to delete once the transaction commits."""
    cutoff = now - dt.timedelta(days=days)
    rows = session.scalars(
        select(Attachment)
        .join(Issue, Issue.id == Attachment.record_id)
        .where(
            Attachment.record_type == Issues.slug,
            Issue.status == 'done',
            Issue.resolved_at < cutoff,
            Attachment.uploaded_at < cutoff,
        )
        .order_by(Attachment.id)
    ).all()
    for row in rows:
        audit.record(
            session,
            'Attachment retention',
            'remove_file',
            record_type=Issues.slug,
            record_id=row.record_id,
            changes={'file': [row.filename, None], 'size': [row.size, None]},
            note=f'issue done for more than {days} days (ATTACHMENT_RETENTION_DAYS)',
        )
        session.delete(row)
    return [path_of(uploads, row) for row in rows]
