"""The record-type declarations: how hiccups, NCs, actions and SLA rules are listed and worked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    and_,
    exists,
    or_,
    select,
)
from sqlalchemy.orm import Session

from models.accounts import Actor
from models.base import utcnow
from models.engine import ALL, RecordType
from models.hiccups.rules import escalate, follow_up_days, notify, on_raised
from models.hiccups.tables import FINAL, FollowUp, Hiccup, NcAction, NonConformance, Phase, Severity, SlaRule
from models.lookups import LookupType
from models.workflow import Transition, Workflow

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
        'management': {'view', 'create', 'edit', 'export', 'transition:respond', *MANAGEMENT_STEPS, *STAFF_STEPS},
        'admin': ALL,
    }

    @classmethod
    def visible_to(cls, actor: Actor):
        """Managers and admins see every hiccup; anyone else those they raised (`raised_by`) and the
        hiccups of their department that are not confidential (`seen_in_department`). The dashboard's
        day summary counts by department and confidentiality, and takes these two parts as they are here
        (reports.hiccup_stats)."""
        if actor.has('management', 'admin'):
            return None
        department = cls.seen_in_department(actor, Hiccup)
        mine = cls.raised_by(actor)
        return mine if department is None else or_(mine, department)

    @classmethod
    def raised_by(cls, actor: Actor):
        return Hiccup.raised_by_id == actor.id

    @classmethod
    def seen_in_department(cls, actor: Actor, table: Any = Hiccup):
        """The condition, on `table` (hiccups, or the summary's rows of them, which have the same
        department_id and confidential columns), for the hiccups `actor` sees as a member of their
        department; None if they have none."""
        if actor.department_id is None:
            return None
        return and_(table.department_id == actor.department_id, table.confidential.is_(False))

    @classmethod
    def defaults(cls, actor: Actor) -> dict:
        return {'department_id': actor.department_id, 'severity': Severity.medium, 'phase': Phase.analytical}

    @classmethod
    def can_transition(cls, actor: Actor, record: Hiccup, transition: str) -> str | None:
        if transition in ('confirm', 'reopen') and record.raised_by_id != actor.id:
            return 'Only the person who raised this hiccup answers its follow-up.'
        if (
            transition == 'respond'
            and not actor.has('admin', 'management')
            and (actor.department_id != record.department_id)
        ):
            return "Only the HOD of the hiccup's department responds to it."
        return None

    @classmethod
    def on_change(cls, session: Session, record: Hiccup, action: str, actor: Actor) -> None:
        now = utcnow()
        if action == 'create':
            on_raised(session, record)
        elif action == 'transition:respond':
            record.responded_at = now
        elif action == 'transition:close':
            record.closed_at = now
            record.follow_up_due_at = now + dt.timedelta(days=follow_up_days(session))
        elif action == 'transition:escalate':
            record.closed_at = now
            escalate(session, record, actor)
        elif action == 'transition:confirm':
            record.follow_up_result = FollowUp.satisfied
        elif action == 'transition:reopen':
            record.follow_up_result = FollowUp.not_satisfied
            record.closed_at = None
        notify(session, record, action)


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
            from_confidential = exists().where(Hiccup.nc_id == NonConformance.id, Hiccup.confidential.is_(True))
            return or_(mine, and_(NonConformance.department_id == actor.department_id, ~from_confidential))
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
