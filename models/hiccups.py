"""Hiccups (lab process interruptions) and non-conformances (NC/CAPA): seed 000 on the engine.

A hiccup is raised by any staff member, answered by its department's HOD, reviewed by
management and then closed (or escalated to a non-conformance); after closure the raiser
says whether they are satisfied, and "not satisfied" reopens it for management.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
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
    select,
    true,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, Session, mapped_column

from models import appstate
from models.accounts import Actor, Role, User, user_roles
from models.base import Base, IdMixin, TimestampMixin, VersionMixin, utcnow
from models.engine import ALL, RecordType
from models.lookups import LookupType
from models.workflow import Transition, Workflow

FOLLOW_UP_DAYS_KEY = 'hiccups.follow_up_days'
DEFAULT_FOLLOW_UP_DAYS = 7
DEFAULT_RESPONSE_HOURS = 24
DEFAULT_CLOSURE_HOURS = 72


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


class Hiccup(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = 'hiccups'
    __table_args__ = (
        UniqueConstraint('source_system', 'source_reference'),
        Index('ix_hiccups_department_created', 'department_id', 'created_at'),
        Index('ix_hiccups_status_created', 'status', 'created_at'),
    )
    reference: Mapped[str | None] = mapped_column(String(20), unique=True, info={'label': 'Reference'})
    title: Mapped[str] = mapped_column(String(200), info={'label': 'Title'})
    description: Mapped[str] = mapped_column(Text, info={'label': 'What happened'})
    department_id: Mapped[int] = mapped_column(ForeignKey('departments.id'), index=True, info={'label': 'Department'})
    category_id: Mapped[int] = mapped_column(ForeignKey('categories.id'), index=True, info={'label': 'Category'})
    location_id: Mapped[int | None] = mapped_column(ForeignKey('locations.id'), index=True, info={'label': 'Location'})
    severity: Mapped[Severity] = mapped_column(_enum(Severity), index=True, info={'label': 'Severity'})
    phase: Mapped[Phase] = mapped_column(_enum(Phase), index=True, info={'label': 'Testing phase'})
    occurred_at: Mapped[dt.datetime] = mapped_column(index=True, info={'label': 'Occurred at'})
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
    nc_id: Mapped[int | None] = mapped_column(
        ForeignKey('non_conformances.id'), index=True, info={'label': 'Non-conformance'}
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


FINAL = ('closed', 'escalated', 'followed_up')


# ---- rules ----


def sla_hours(session: Session, category_id: int | None, severity: Severity | None) -> tuple[int, int]:
    """(response, closure) hours: the most specific active rule, else the defaults."""
    rules = session.scalars(
        select(SlaRule).where(
            SlaRule.active.is_(True),
            or_(SlaRule.category_id.is_(None), SlaRule.category_id == category_id),
            or_(SlaRule.severity.is_(None), SlaRule.severity == severity),
        )
    ).all()
    if not rules:
        return DEFAULT_RESPONSE_HOURS, DEFAULT_CLOSURE_HOURS
    best = max(rules, key=lambda r: (r.category_id is not None, r.severity is not None))
    return best.response_hours, best.closure_hours


def department_hod(session: Session, department_id: int | None) -> int | None:
    """The (first active) HOD of a department: a hiccup's default responder."""
    stmt = (
        select(User.id)
        .join(user_roles)
        .join(Role)
        .where(Role.name == 'hod', User.department_id == department_id, User.active.is_(True))
        .order_by(User.id)
        .limit(1)
    )
    return session.scalar(stmt)


def follow_up_days(session: Session) -> int:
    row = appstate.get(session, FOLLOW_UP_DAYS_KEY)
    try:
        return max(1, int(row.value)) if row else DEFAULT_FOLLOW_UP_DAYS
    except ValueError:
        return DEFAULT_FOLLOW_UP_DAYS


def _raised(session: Session, hiccup: Hiccup) -> None:
    hiccup.reference = f'HIC-{hiccup.created_at.year}-{hiccup.id:05d}'
    if hiccup.responder_id is None:
        hiccup.responder_id = department_hod(session, hiccup.department_id)
    response_h, closure_h = sla_hours(session, hiccup.category_id, hiccup.severity)
    start = hiccup.created_at
    hiccup.response_due_at = start + dt.timedelta(hours=response_h)
    hiccup.closure_due_at = start + dt.timedelta(hours=closure_h)


def _escalate(session: Session, hiccup: Hiccup, actor: Actor) -> None:
    from models import records

    nc = records.create(
        session,
        actor,
        NonConformances,
        {
            'title': f'{hiccup.reference}: {hiccup.title}'[:200],
            'description': hiccup.description,
            'department_id': hiccup.department_id,
            'owner_id': actor.id,
            'root_cause_analysis': hiccup.root_cause,
        },
    )
    hiccup.nc_id = nc.id


def users_with_role(session: Session, role: str) -> list[User]:
    stmt = select(User).join(user_roles).join(Role).where(Role.name == role, User.active.is_(True))
    return list(session.scalars(stmt))


_MESSAGES = {
    'create': ('New hiccup {ref}', '{title}\n{severity} · {department} · raised by {raiser}'),
    'transition:respond': ('Response on {ref}', '{title}\nRoot cause: {root_cause}\nAction: {corrective_action}'),
    'transition:close': ('{ref} closed', '{title}\nPlease say within {days} days whether you are satisfied.'),
    'transition:escalate': ('{ref} escalated to a non-conformance', '{title}'),
    'transition:reopen': ('{ref} reopened: raiser not satisfied', '{title}\n{follow_up_comment}'),
}


def _recipients(session: Session, record: Hiccup, action: str) -> set[int]:
    management = {u.id for u in users_with_role(session, 'management')}
    if action == 'create':
        return management | {record.responder_id}
    if action in ('transition:respond', 'transition:escalate'):
        return management | {record.raised_by_id}
    if action == 'transition:close':
        return {record.raised_by_id, record.responder_id}
    if action == 'transition:reopen':
        return management | {record.responder_id}
    return set()


def _notify(session: Session, hiccup: Hiccup, action: str) -> None:
    """Tell the people concerned, but only those who may see this hiccup (confidential ones too)."""
    from models import notifications
    from models.permissions import may_see

    if action not in _MESSAGES:
        return
    session.flush()
    users = session.scalars(select(User).where(User.id.in_(_recipients(session, hiccup, action) - {None})))
    allowed = [u.id for u in users if u.active and may_see(session, Actor.of(u), Hiccups, hiccup.id)]
    subject, body = (t.format(**_message_values(session, hiccup)) for t in _MESSAGES[action])
    notifications.send(
        session, user_ids=allowed, subject=subject, body=body, record_type='hiccups', record_id=hiccup.id
    )


def _message_values(session: Session, h: Hiccup) -> dict[str, str]:
    from models.lookups import Department

    department = session.get(Department, h.department_id)
    raiser = session.get(User, h.raised_by_id) if h.raised_by_id else None
    return {
        'ref': h.reference or f'#{h.id}',
        'title': h.title,
        'severity': h.severity.value,
        'department': department.name if department else '',
        'raiser': raiser.name if raiser else 'system',
        'root_cause': h.root_cause or '',
        'corrective_action': h.corrective_action or '',
        'follow_up_comment': h.follow_up_comment or '',
        'days': str(follow_up_days(session)),
    }


# ---- declarations ----

STAFF_STEPS = {'transition:confirm', 'transition:reopen'}
MANAGEMENT_STEPS = {'transition:review', 'transition:close', 'transition:escalate'}


class Hiccups(RecordType, model=Hiccup):
    icon = 'report_problem'
    nav_group = 'Quality'
    list_columns = [
        Hiccup.reference,
        Hiccup.title,
        Hiccup.department_id,
        Hiccup.category_id,
        Hiccup.severity,
        Hiccup.status,
        Hiccup.occurred_at,
        Hiccup.overdue,
    ]
    form_fields = [
        Hiccup.title,
        Hiccup.description,
        Hiccup.department_id,
        Hiccup.category_id,
        Hiccup.location_id,
        Hiccup.severity,
        Hiccup.phase,
        Hiccup.occurred_at,
        Hiccup.detected_at,
        Hiccup.immediate_action,
        Hiccup.confidential,
    ]
    search_fields = [Hiccup.reference, Hiccup.title, Hiccup.description]
    filters = [
        Hiccup.department_id,
        Hiccup.category_id,
        Hiccup.location_id,
        Hiccup.severity,
        Hiccup.phase,
        Hiccup.confidential,
        Hiccup.overdue,
    ]
    title_field = Hiccup.title
    owner_field = Hiccup.raised_by_id
    assignee_field = Hiccup.responder_id
    date_field = Hiccup.occurred_at
    workflow = Workflow(
        Hiccup.status,
        [
            ('open', 'Open'),
            ('responded', 'Responded'),
            ('under_review', 'Under review'),
            ('closed', 'Closed'),
            ('escalated', 'Escalated to NC'),
            ('followed_up', 'Followed up'),
        ],
        [
            Transition(
                'respond',
                ['open'],
                'responded',
                label='Respond',
                roles=['hod'],
                requires=[Hiccup.response, Hiccup.root_cause, Hiccup.corrective_action],
            ),
            Transition('review', ['responded'], 'under_review', label='Take under review', roles=['management']),
            Transition(
                'close',
                ['responded', 'under_review'],
                'closed',
                label='Close',
                roles=['management'],
                requires=[Hiccup.closure_remarks, Hiccup.lessons_learned],
                color='positive',
            ),
            Transition(
                'escalate',
                ['responded', 'under_review'],
                'escalated',
                label='Escalate to NC',
                roles=['management'],
                color='negative',
            ),
            Transition(
                'confirm',
                ['closed'],
                'followed_up',
                label='Satisfied',
                roles=['staff'],
                fields=[Hiccup.follow_up_comment],
            ),
            Transition(
                'reopen',
                ['closed'],
                'under_review',
                label='Not satisfied',
                roles=['staff'],
                requires=[Hiccup.follow_up_comment],
                color='warning',
            ),
        ],
        final=FINAL,
    )
    permissions = {
        'staff': {'view', 'create', *STAFF_STEPS},
        'hod': {'view', 'create', 'transition:respond', *STAFF_STEPS},
        'management': {'view', 'create', 'edit', 'export', *MANAGEMENT_STEPS, *STAFF_STEPS},
        'admin': ALL,
    }

    @classmethod
    def visible_to(cls, actor: Actor):
        if actor.has('management', 'admin'):
            return None
        mine = Hiccup.raised_by_id == actor.id
        department = and_(Hiccup.department_id == actor.department_id, Hiccup.confidential.is_(False))
        return or_(mine, department) if actor.department_id is not None else mine

    @classmethod
    def can_transition(cls, actor: Actor, record: Hiccup, transition: str) -> str | None:
        if transition in ('confirm', 'reopen') and record.raised_by_id != actor.id:
            return 'Only the person who raised this hiccup answers its follow-up.'
        if transition == 'respond' and not actor.has('admin') and actor.department_id != record.department_id:
            return "Only the HOD of the hiccup's department responds to it."
        return None

    @classmethod
    def on_change(cls, session: Session, record: Hiccup, action: str, actor: Actor) -> None:
        now = utcnow()
        if action == 'create':
            _raised(session, record)
        elif action == 'transition:respond':
            record.responded_at = now
        elif action == 'transition:close':
            record.closed_at = now
            record.follow_up_due_at = now + dt.timedelta(days=follow_up_days(session))
        elif action == 'transition:escalate':
            record.closed_at = now
            _escalate(session, record, actor)
        elif action == 'transition:confirm':
            record.follow_up_result = FollowUp.satisfied
        elif action == 'transition:reopen':
            record.follow_up_result = FollowUp.not_satisfied
            record.closed_at = None
        _notify(session, record, action)


class NonConformances(RecordType, model=NonConformance):
    label = 'Non-conformance'
    icon = 'gpp_maybe'
    nav_group = 'Quality'
    list_columns = [
        NonConformance.reference,
        NonConformance.title,
        NonConformance.owner_id,
        NonConformance.status,
        NonConformance.effectiveness_check_date,
        NonConformance.created_at,
    ]
    form_fields = [
        NonConformance.title,
        NonConformance.description,
        NonConformance.department_id,
        NonConformance.owner_id,
        NonConformance.root_cause_analysis,
        NonConformance.effectiveness_check_date,
    ]
    owner_field = NonConformance.owner_id
    workflow = Workflow(
        NonConformance.status,
        [
            ('open', 'Open'),
            ('action_plan', 'Action plan'),
            ('in_progress', 'In progress'),
            ('effectiveness_check', 'Effectiveness check'),
            ('closed', 'Closed'),
        ],
        [
            Transition(
                'plan',
                ['open'],
                'action_plan',
                label='Plan actions',
                roles=['management'],
                requires=[NonConformance.root_cause_analysis],
            ),
            Transition('start', ['action_plan'], 'in_progress', label='Start actions', roles=['management']),
            Transition(
                'check',
                ['in_progress'],
                'effectiveness_check',
                label='Check effectiveness',
                roles=['management'],
                requires=[NonConformance.effectiveness_check_date],
            ),
            Transition(
                'close',
                ['effectiveness_check'],
                'closed',
                label='Close',
                roles=['management'],
                requires=[NonConformance.effectiveness_result],
                color='positive',
            ),
            Transition(
                'reopen',
                ['effectiveness_check', 'closed'],
                'in_progress',
                label='Not effective: reopen',
                roles=['management'],
                fields=[NonConformance.effectiveness_result],
                color='warning',
            ),
        ],
        final=('closed',),
    )
    permissions = {
        'staff': {'view'},
        'hod': {'view', 'edit'},
        'management': {
            'view',
            'create',
            'edit',
            'export',
            'transition:plan',
            'transition:start',
            'transition:check',
            'transition:close',
            'transition:reopen',
        },
        'admin': ALL,
    }

    @classmethod
    def visible_to(cls, actor: Actor):
        if actor.has('management', 'admin'):
            return None
        mine = NonConformance.owner_id == actor.id
        if actor.has('hod') and actor.department_id is not None:
            return or_(mine, NonConformance.department_id == actor.department_id)
        return mine

    @classmethod
    def on_change(cls, session: Session, record: NonConformance, action: str, actor: Actor) -> None:
        if action == 'create':
            record.reference = f'NC-{record.created_at.year}-{record.id:05d}'
        elif action == 'transition:close':
            record.closed_at = utcnow()
        elif action == 'transition:reopen':
            record.closed_at = None


class NcActions(RecordType, model=NcAction):
    label = 'NC action'
    icon = 'task_alt'
    nav_group = 'Quality'
    list_columns = [
        NcAction.nc_id,
        NcAction.kind,
        NcAction.description,
        NcAction.owner_id,
        NcAction.due_date,
        NcAction.done,
    ]
    title_field = NcAction.description
    assignee_field = NcAction.owner_id
    date_field = NcAction.due_date
    permissions = {
        'hod': {'view', 'edit'},
        'management': {'view', 'create', 'edit', 'delete', 'export'},
        'staff': {'view'},
        'admin': ALL,
    }

    @classmethod
    def visible_to(cls, actor: Actor):
        if actor.has('management', 'admin'):
            return None
        return or_(
            NcAction.owner_id == actor.id,
            NcAction.nc_id.in_(select(NonConformance.id).where(NonConformances.visible_to(actor))),
        )


class SlaRules(LookupType, model=SlaRule):
    label = 'SLA rule'
    icon = 'timer'
    nav_group = 'Quality'
    list_columns = [
        SlaRule.category_id,
        SlaRule.severity,
        SlaRule.response_hours,
        SlaRule.closure_hours,
        SlaRule.active,
    ]
    default_sort = SlaRule.id.asc()
    permissions = {'admin': ALL, 'management': frozenset({'view', 'export'})}
