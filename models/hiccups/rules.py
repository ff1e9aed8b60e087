"""What happens around a hiccup: SLA clocks, default responder, follow-up, escalation, notices."""

from __future__ import annotations

import datetime as dt
import string
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    or_,
    select,
)
from sqlalchemy.orm import Session

from models import appstate
from models.accounts import Actor, Role, User, user_roles
from models.hiccups.tables import Hiccup, Severity, SlaRule

FOLLOW_UP_DAYS_KEY = 'hiccups.follow_up_days'
DEFAULT_FOLLOW_UP_DAYS = 7
DEFAULT_RESPONSE_HOURS = 24
DEFAULT_CLOSURE_HOURS = 72


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


def met_missed(done: Any, due: Any, now: dt.datetime) -> tuple[Any, Any]:
    """Whether an SLA clock was met (done by its due time) and whether it was missed (done later, or
    still not done past due): two conditions. A settled hiccup's clocks are done, so `now` does not
    matter to them."""
    return and_(done.is_not(None), done <= due), or_(done > due, and_(done.is_(None), due < now))


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


def set_follow_up_days(session: Session, actor: Actor, value: Any) -> None:
    """The admin setting: days after closure within which the raiser answers the follow-up."""
    from models import audit
    from models.values import ValidationError

    try:
        days = int(value)
    except (TypeError, ValueError):
        days = 0
    if not actor.has('admin'):
        raise ValidationError({'': 'Only administrators change settings.'})
    if not 1 <= days <= 90:
        raise ValidationError({'days': 'Between 1 and 90 days.'})
    before = follow_up_days(session)
    appstate.put(session, FOLLOW_UP_DAYS_KEY, str(days))
    audit.record(session, actor, 'setting', changes={FOLLOW_UP_DAYS_KEY: [before, days]})


def on_raised(session: Session, hiccup: Hiccup) -> None:
    """Reference, default responder and SLA clocks of a new hiccup: read first, then set, so that the
    three go to the database in one UPDATE (a read after setting one would flush it on its own)."""
    responder_id = hiccup.responder_id
    if responder_id is None and not hiccup.confidential:  # management answer confidential ones
        responder_id = department_hod(session, hiccup.department_id)
    response_h, closure_h = sla_hours(session, hiccup.category_id, hiccup.severity)
    start = hiccup.created_at
    hiccup.reference = f'HIC-{start.year}-{hiccup.id:05d}'
    hiccup.responder_id = responder_id
    hiccup.response_due_at = start + dt.timedelta(hours=response_h)
    hiccup.closure_due_at = start + dt.timedelta(hours=closure_h)


def escalate(session: Session, hiccup: Hiccup, actor: Actor) -> None:
    from models import records
    from models.hiccups.types import NonConformances

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
    return list(session.scalars(_with_role(select(User), role)))


def user_ids_with_role(session: Session, role: str) -> list[int]:
    """The ids of the active users with `role` (one query; `users_with_role` also loads each user's roles)."""
    return list(session.scalars(_with_role(select(User.id), role)))


def _with_role(stmt: Select, role: str) -> Select:
    return stmt.join(user_roles).join(Role).where(Role.name == role, User.active.is_(True))


#: What each event tells whom: subject, body, and who of management / responder / raiser.
_MESSAGES = {
    'create': (
        'New hiccup {ref}',
        '{title}\n{severity} · {department} · raised by {raiser}',
        {'management', 'responder'},
    ),
    'transition:respond': (
        'Response on {ref}',
        '{title}\nRoot cause: {root_cause}\nAction: {corrective_action}',
        {'management', 'raiser'},
    ),
    'transition:close': (
        '{ref} closed',
        '{title}\nPlease say within {days} days whether you are satisfied.',
        {'raiser', 'responder'},
    ),
    'transition:escalate': ('{ref} escalated to a non-conformance', '{title}', {'management', 'raiser'}),
    'transition:reopen': (
        '{ref} reopened: raiser not satisfied',
        '{title}\n{follow_up_comment}',
        {'management', 'responder'},
    ),
    'sla:response': (
        '{ref}: response overdue',
        '{title}\nA response was due by {response_due}.',
        {'management', 'responder'},
    ),
    'sla:closure': (
        '{ref}: closure overdue',
        '{title}\nIt was due to close by {closure_due}.',
        {'management', 'responder'},
    ),
    'follow_up': ('{ref}: are you satisfied?', '{title}\nIt was closed; please answer its follow-up.', {'raiser'}),
}


def _recipients(session: Session, record: Hiccup, who: set[str]) -> set[int]:
    ids = set(user_ids_with_role(session, 'management')) if 'management' in who else set()
    ids |= {record.responder_id} if 'responder' in who else set()
    ids |= {record.raised_by_id} if 'raiser' in who else set()
    return ids - {None}


def notify(session: Session, hiccup: Hiccup, action: str) -> None:
    """Tell the people concerned, but only those who may see this hiccup (confidential ones too)."""
    from models import notifications
    from models.hiccups.types import Hiccups
    from models.permissions import seers

    if action not in _MESSAGES:
        return
    session.flush()
    subject, body, who = _MESSAGES[action]
    users = list(Actor.load_many(session, _recipients(session, hiccup, who)).values())  # the active ones
    allowed = sorted(users[p].id for p in seers(session, users, Hiccups, [hiccup.id])[hiccup.id])
    values = _message_values(session, hiccup, _fields(subject) | _fields(body))
    subject, body = subject.format(**values), body.format(**values)
    notifications.send(
        session, user_ids=allowed, subject=subject, body=body, record_type='hiccups', record_id=hiccup.id
    )


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _message_values(session: Session, h: Hiccup, names: set[str]) -> dict[str, str]:
    """The values a message's `names` stand for; only those are read (each event's message is sent within
    the request that caused it, and most need neither the department nor the raiser nor a setting)."""
    from models.lookups import Department

    values = {
        'ref': lambda: h.reference or f'#{h.id}',
        'title': lambda: h.title,
        'severity': lambda: h.severity.value,
        'department': lambda: session.scalar(select(Department.name).where(Department.id == h.department_id)) or '',
        'raiser': lambda: session.scalar(select(User.name).where(User.id == h.raised_by_id)) or 'system',
        'root_cause': lambda: h.root_cause or '',
        'corrective_action': lambda: h.corrective_action or '',
        'follow_up_comment': lambda: h.follow_up_comment or '',
        'days': lambda: str(follow_up_days(session)),
        'response_due': lambda: _local(h.response_due_at),
        'closure_due': lambda: _local(h.closure_due_at),
    }
    return {name: values[name]() for name in names}


def _local(moment: dt.datetime | None) -> str:
    from models.settings import get_settings

    return moment.astimezone(get_settings().tz).strftime('%d %b %Y %H:%M') if moment else ''
