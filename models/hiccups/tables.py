"""The hiccup module's tables: hiccups, non-conformances, their actions, SLA rules."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    Computed,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    literal,
    or_,
    text,
    true,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TimestampMixin, VersionMixin, utcnow


class Severity(enum.Enum):
    low = 'Low'
    medium = 'Medium'
    high = 'High'
    critical = 'Critical'


class Phase(enum.Enum):
    pre_analytical = 'Pre-analytical'
    analytical = 'Analytical'
    post_analytical = 'Post-analytical'
    non_technical = 'Non-technical'


class FollowUp(enum.Enum):
    satisfied = 'Satisfied'
    not_satisfied = 'Not satisfied'


class ActionKind(enum.Enum):
    immediate = 'Immediate'
    corrective = 'Corrective'
    preventive = 'Preventive'


def _enum(e: type[enum.Enum]) -> Enum:
    return Enum(e, native_enum=False, length=20, validate_strings=True)


def _now() -> dt.datetime:
    return utcnow().replace(tzinfo=None)  # compared with naive UTC columns in SQL


class NonConformance(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = 'non_conformances'
    reference: Mapped[str | None] = mapped_column(String(20), unique=True, info={'label': 'Reference'})
    title: Mapped[str] = mapped_column(String(200), info={'label': 'Title'})
    description: Mapped[str | None] = mapped_column(Text, info={'label': 'Description'})
    department_id: Mapped[int | None] = mapped_column(ForeignKey('departments.id'), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey('users.id'), index=True, info={'label': 'Owner'})
    status: Mapped[str] = mapped_column(String(30), default='open', index=True, info={'label': 'Status'})
    root_cause_analysis: Mapped[str | None] = mapped_column(Text, info={'label': 'Root-cause analysis'})
    effectiveness_check_date: Mapped[dt.date | None] = mapped_column(info={'label': 'Effectiveness check on'})
    effectiveness_result: Mapped[str | None] = mapped_column(Text, info={'label': 'Effectiveness result'})
    closed_at: Mapped[dt.datetime | None] = mapped_column(info={'label': 'Closed'})


class NcAction(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = 'nc_actions'
    nc_id: Mapped[int] = mapped_column(ForeignKey('non_conformances.id'), index=True, info={'label': 'Non-conformance'})
    kind: Mapped[ActionKind] = mapped_column(_enum(ActionKind), info={'label': 'Kind'})
    description: Mapped[str] = mapped_column(String(500), info={'label': 'Action'})
    owner_id: Mapped[int | None] = mapped_column(ForeignKey('users.id'), index=True, info={'label': 'Owner'})
    due_date: Mapped[dt.date | None] = mapped_column(index=True, info={'label': 'Due'})
    done: Mapped[bool] = mapped_column(Boolean, default=False, server_default='0', info={'label': 'Done'})


class SlaRule(IdMixin, TimestampMixin, VersionMixin, Base):
    """Response and closure times for a category and/or severity; the most specific rule wins."""

    __tablename__ = 'sla_rules'
    __table_args__ = (UniqueConstraint('category_id', 'severity'),)
    category_id: Mapped[int | None] = mapped_column(ForeignKey('categories.id'), info={'label': 'Category'})
    severity: Mapped[Severity | None] = mapped_column(_enum(Severity), info={'label': 'Severity'})
    response_hours: Mapped[int] = mapped_column(Integer, info={'label': 'Respond within (hours)'})
    closure_hours: Mapped[int] = mapped_column(Integer, info={'label': 'Close within (hours)'})
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true(), info={'label': 'Active'})


#: What `Hiccups.visible_to` reads of a hiccup.
VISIBILITY_COLUMNS = ('department_id', 'confidential', 'raised_by_id')

DASHBOARD_COLUMNS = (
    'category_id',
    'status',
    'confidential',
    'raised_by_id',
    'created_at',
    'responded_at',
    'closed_at',
    'response_due_at',
    'closure_due_at',
)


FINAL = ('closed', 'escalated', 'followed_up')
# A hiccup is settled when it is responded to, closed and in a final state: nothing about it changes with
# time any more (models/hiccups/summary.py). Migration 0011 holds this expression as it was then.
SETTLED_SQL = 'closed_at IS NOT NULL AND responded_at IS NOT NULL AND status IN ({})'.format(
    ', '.join(f"'{state}'" for state in FINAL)
)


class Hiccup(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = 'hiccups'
    __table_args__ = (
        UniqueConstraint('source_system', 'source_reference'),
        Index('ix_hiccups_department_created', 'department_id', 'created_at'),
        # Status, the list's default order and what staff visibility reads: a status filter's page and count
        # need no row reads. The id after the order makes it the list's exact order (ties by id).
        Index('ix_hiccups_status_created', 'status', 'created_at', 'id', *VISIBILITY_COLUMNS),
        # The dashboard's queries read only these columns of the hiccups in a date range (all departments,
        # or some): covering indexes spare a million row look-ups (bench/README.md).
        Index('ix_hiccups_dashboard', 'occurred_at', 'department_id', *DASHBOARD_COLUMNS),
        Index('ix_hiccups_dashboard_department', 'department_id', 'occurred_at', *DASHBOARD_COLUMNS),
        # The list's default order and the title sort with what staff visibility reads, so paging their list
        # reads only the page's rows (models.query.page).
        Index('ix_hiccups_created_visibility', 'created_at', 'id', *VISIBILITY_COLUMNS),
        Index('ix_hiccups_title', 'title', 'id', *VISIBILITY_COLUMNS),
        # What staff visibility reads, by id: SQLite checks a search's matches (ids from FTS5) there instead
        # of in their rows (the staff count of a common word at a million: 45 -> 14 ms).
        Index('ix_hiccups_id_visibility', 'id', *VISIBILITY_COLUMNS),
        # The few hiccups not settled, by date, with what the dashboard reads of them: it counts them from the
        # hiccups, and the rest from its day summary (a million hiccups over three years: 14,000 of them,
        # read from here instead of walking the range). SQLite indexes only them (a partial index).
        Index(
            'ix_hiccups_unsettled',
            'settled',
            'occurred_at',
            'department_id',
            *DASHBOARD_COLUMNS,
            sqlite_where=text('settled = 0'),
        ),
    )
    reference: Mapped[str | None] = mapped_column(String(20), unique=True, info={'label': 'Reference'})
    title: Mapped[str] = mapped_column(String(200), info={'label': 'Title'})
    description: Mapped[str] = mapped_column(Text, info={'label': 'What happened'})
    department_id: Mapped[int] = mapped_column(ForeignKey('departments.id'), index=True, info={'label': 'Department'})
    category_id: Mapped[int] = mapped_column(ForeignKey('categories.id'), index=True, info={'label': 'Category'})
    location_id: Mapped[int | None] = mapped_column(ForeignKey('locations.id'), index=True, info={'label': 'Location'})
    severity: Mapped[Severity] = mapped_column(_enum(Severity), index=True, info={'label': 'Severity'})
    phase: Mapped[Phase] = mapped_column(_enum(Phase), index=True, info={'label': 'Testing phase'})
    # active_history: a change keeps the old value, whose day the dashboard summary marks stale (summary.py)
    occurred_at: Mapped[dt.datetime] = mapped_column(index=True, active_history=True, info={'label': 'Occurred at'})
    detected_at: Mapped[dt.datetime | None] = mapped_column(info={'label': 'Detected at'})
    confidential: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default='0', index=True, info={'label': 'Confidential'}
    )
    immediate_action: Mapped[str | None] = mapped_column(Text, info={'label': 'Immediate action taken'})
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey('users.id'), index=True, info={'label': 'Raised by'})
    responder_id: Mapped[int | None] = mapped_column(ForeignKey('users.id'), index=True, info={'label': 'Responder'})
    status: Mapped[str] = mapped_column(String(30), default='open', info={'label': 'Status'})
    source_system: Mapped[str | None] = mapped_column(String(50), info={'label': 'Source system'})
    source_reference: Mapped[str | None] = mapped_column(String(100), info={'label': 'Source reference'})
    response: Mapped[str | None] = mapped_column(Text, info={'label': 'Response'})
    root_cause: Mapped[str | None] = mapped_column(Text, info={'label': 'Root cause'})
    corrective_action: Mapped[str | None] = mapped_column(Text, info={'label': 'Corrective action'})
    responded_at: Mapped[dt.datetime | None] = mapped_column(info={'label': 'Responded'})
    closure_remarks: Mapped[str | None] = mapped_column(Text, info={'label': 'Closure remarks'})
    lessons_learned: Mapped[str | None] = mapped_column(Text, info={'label': 'Lessons learned'})
    closed_at: Mapped[dt.datetime | None] = mapped_column(index=True, info={'label': 'Closed'})
    response_due_at: Mapped[dt.datetime | None] = mapped_column(index=True, info={'label': 'Response due'})
    closure_due_at: Mapped[dt.datetime | None] = mapped_column(index=True, info={'label': 'Closure due'})
    follow_up_due_at: Mapped[dt.datetime | None] = mapped_column(index=True, info={'label': 'Follow-up due'})
    follow_up_result: Mapped[FollowUp | None] = mapped_column(_enum(FollowUp), info={'label': 'Follow-up'})
    follow_up_comment: Mapped[str | None] = mapped_column(Text, info={'label': 'Follow-up comment'})
    response_breach_noticed_at: Mapped[dt.datetime | None] = mapped_column(info={'label': 'Late response noticed'})
    closure_breach_noticed_at: Mapped[dt.datetime | None] = mapped_column(info={'label': 'Late closure noticed'})
    follow_up_reminded_at: Mapped[dt.datetime | None] = mapped_column(info={'label': 'Follow-up reminded'})
    nc_id: Mapped[int | None] = mapped_column(
        ForeignKey('non_conformances.id'), index=True, info={'label': 'Non-conformance'}
    )
    # Computed by the database on every read (virtual), never written: `SETTLED_SQL`.
    settled: Mapped[bool] = mapped_column(
        Boolean,
        Computed(SETTLED_SQL),
        info={'label': 'Settled', 'help': 'Responded to, closed and in a final state: nothing about it changes now.'},
    )

    @hybrid_property
    def overdue(self) -> bool:
        now = utcnow()
        late_response = self.responded_at is None and self.response_due_at is not None and self.response_due_at < now
        late_closure = self.closed_at is None and self.closure_due_at is not None and self.closure_due_at < now
        return bool(self.status not in FINAL and (late_response or late_closure))

    @overdue.inplace.expression
    @classmethod
    def _overdue(cls):
        now = literal(_now())
        return and_(
            cls.status.not_in(FINAL),
            or_(
                and_(cls.responded_at.is_(None), cls.response_due_at < now),
                and_(cls.closed_at.is_(None), cls.closure_due_at < now),
            ),
        )
